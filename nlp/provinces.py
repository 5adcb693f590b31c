"""The province an article is about, on the 34-province map in force since 1 July 2025."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import underthesea.address

from nlp.names import NAME_PARTS
from nlp.text import lines, normalize

# The old (63-province) -> new (34-province) table that underthesea ships with its address
# converter (source: vietnamadminunits, effective 2025-07-01), plus its 2024 district list.
MAPPING_PATH = Path(underthesea.address.__file__).parent / "data" / "mapping.json"
TITLE_WEIGHT = 3.0

# Spellings the press uses besides the official short names, keyed by the table's old province key.
# "Hồ Chí Minh" alone is left out on purpose: it is mostly the president, the ideology or a road.
EXTRA_NAMES: dict[str, tuple[str, ...]] = {
    "thanhphohochiminh": (
        "TP.HCM",
        "TP. HCM",
        "TP HCM",
        "TPHCM",
        "Tp.HCM",
        "Tp. HCM",
        "Tp HCM",
        "TP.Hồ Chí Minh",
        "TP. Hồ Chí Minh",
        "TP Hồ Chí Minh",
        "Tp. Hồ Chí Minh",
        "Tp Hồ Chí Minh",
        "Thành phố Hồ Chí Minh",
        "thành phố Hồ Chí Minh",
        "Sài Gòn",
    ),
    "thanhphohue": ("Thừa Thiên Huế", "Thừa Thiên - Huế", "Thừa Thiên-Huế", "TT-Huế"),
    "tinhbariavungtau": ("Bà Rịa-Vũng Tàu", "Bà Rịa – Vũng Tàu", "BR-VT", "Vũng Tàu", "Bà Rịa"),
    "tinhdaklak": ("Đắc Lắc", "Đắk Lắc", "Đăk Lăk", "Đắc Lắk", "Đắk Lăk", "Daklak", "Đaklak"),
    "tinhdaknong": ("Đăk Nông", "Đắc Nông", "Daknong"),
    "tinhkontum": ("Kontum", "KonTum"),
    "tinhbackan": ("Bắc Cạn",),
}
# Merged before the 2025 reform, absent from the table, frequent in older press (the VNTC corpus
# is 2006-2007): Hà Tây became part of Hà Nội on 1 August 2008.
HISTORIC_NAMES: dict[str, str] = {"Hà Tây": "thanhphohanoi"}
# A capitalised word right before a match that still lets it be a place ("Tỉnh Quảng Nam").
PLACE_WORDS = {"Tỉnh", "Thành", "Thủ", "TP", "TP.", "Tp", "Tp.", "UBND", "HĐND", "Q.", "H."}
# What ends a sentence or opens a quote: a capitalised word after it may just start a sentence.
SENTENCE_ENDS = set('.!?:;"“(-–')
_WORD_AFTER_RE = re.compile(r" +(\w+)")
# The words of an administrative unit before its name ("Huyện Thăng Bình", "Phường An Bình").
ADMIN_UNITS = "thành phố|tỉnh|quận|huyện|thị xã|thị trấn|phường|xã"
ADMIN_PREFIX_RE = re.compile(rf"^(?i:{ADMIN_UNITS})\s+")
# A district counts only after its administrative word: "huyện Thăng Bình", "TP.Nha Trang".
DISTRICT_PREFIX = r"(?<!\w)(?i:huyện|quận|thị xã|thành phố|tp\.?|tx\.?|q\.)\s*"
# Quotes around a nickname: a given name and a quoted place is a person (Dũng “Huế”, Tiến "Sài
# Gòn"), as every quoted province name after a capitalised word in the corpus is.
OPENING_QUOTES = "\"“'‘"
CLOSING_QUOTES = "\"”'’"
# A sports team or club is named after its place ("đội bóng CA TP.HCM", "đội Huda Huế", "CLB Đà
# Nẵng", "CLB Cầu lông Phú Thọ"), and plays away as much as at home: its place is not where the
# story happens. The team word, then up to three words of its sport or sponsor, each a
# capitalised word with up to two lower-case ones ("Công an", "Cầu lông") or "CA" (Công an's
# team). Bodies of the state ("Công an TP.HCM", "đội 4A QLTT TPHCM") and schools ("ĐH Huế") are
# no such names: they act where they are (on a seeded sample of 3,000 articles, not counting a
# school's place changed 35 provinces, most to a wrong one).
_LINKS = r"(?:ở|tại|của|và|cho|với|từ|đến|về|thuộc|là|có|đã|được)\b"  # a name's end
# The capital letters of Vietnamese (lines are NFC, see nlp.text.normalize).
_UPPER = "A-ZĐÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
_LOWER = rf"[^\W\d_{_UPPER}]"
_FIELD = rf"(?:CA|[{_UPPER}]{_LOWER}*(?: (?!{_LINKS}){_LOWER}+){{0,2}})"
TEAM_RE = re.compile(
    r"(?:(?<!\w)(?:CLB|[Cc]âu lạc bộ|FC)"
    r"|(?P<before>\w+ )?đội(?: bóng(?: đá| chuyền| rổ| ném)?| tuyển(?: bóng đá)?)?)"
    rf"(?: {_FIELD}){{0,3}} +$"
)
# Words that make "đội" part of another noun, an army unit or a comrade, not a team.
DOI_COMPOUNDS = {
    "quân", "hạm", "bộ", "tỉnh", "huyện", "đại", "trung", "tiểu", "phân", "liên", "biên", "đồng",
    "chi", "thành",
}  # fmt: skip


@dataclass(frozen=True)
class Province:
    """A province an article names: its current name, the name the article used, and weight."""

    name: str  # current (since 1 July 2025) short name, e.g. "Đà Nẵng"
    original: str  # the pre-merger province the article named, e.g. "Quảng Nam"
    code: str  # current province code
    mentions: int
    in_title: bool
    score: float  # mentions, the title's counting TITLE_WEIGHT times


@dataclass(frozen=True)
class _Place:
    """What one matched name stands for: an old province key and the old province's short name."""

    old_key: str
    original: str


@cache
def _table() -> tuple[dict, re.Pattern[str], re.Pattern[str], dict[str, _Place]]:
    """Load the shipped table; build the province and district patterns and the name index."""
    data = json.loads(MAPPING_PATH.read_text(encoding="utf-8"))
    old = data["old_province_names"]
    places: dict[str, _Place] = {}
    for key, info in old.items():
        names = [info["short"], info["name"], *EXTRA_NAMES.get(key, ())]
        for name in names:
            if key == "thanhphohochiminh" and name == info["short"]:
                continue
            places[normalize(name)] = _Place(key, normalize(info["short"]))
    for name, key in HISTORIC_NAMES.items():
        places[normalize(name)] = _Place(key, name)
    province_re = re.compile(_alternation(places))
    districts: dict[str, set[str]] = defaultdict(set)
    for record in data["ward_mapping"]:
        name = ADMIN_PREFIX_RE.sub("", record["old_district"])
        districts[normalize(name)].add(record["old_province_key"])
    district_places = {}
    for name, keys in districts.items():
        if len(keys) == 1 and name not in places:
            (key,) = keys
            district_places[name] = _Place(key, normalize(old[key]["short"]))
    district_re = re.compile(DISTRICT_PREFIX + _alternation(district_places, lookbehind=False))
    for name, place in district_places.items():
        places.setdefault("district:" + name, place)
    return data, province_re, district_re, places


def _alternation(names: dict[str, _Place], lookbehind: bool = True) -> str:
    """A pattern matching any of the names as whole words, longest first, in group 1."""
    ordered = sorted(names, key=len, reverse=True)
    body = "|".join(r"\s+".join(map(re.escape, n.split())) for n in ordered)
    return (r"(?<![\w.])" if lookbehind else "") + rf"({body})(?!\w)"


def _is_in_a_name(line: str, start: int, end: int) -> bool:
    """Return whether a match is part of a longer proper name: "Nguyễn Thái Bình", "Thái Bình
    Dương" (a capitalised word joined to it by a space, other than a place word).

    Only the words next to the match are read, never the whole line before it, which made a
    long line (a page without line breaks) quadratic.
    """
    previous = _word_before(line, start)
    if previous is not None:
        begin, word = previous
        rest = begin  # the last character before the word that is not a space
        while rest > 0 and line[rest - 1].isspace():
            rest -= 1
        opens_sentence = rest == 0 or line[rest - 1] in SENTENCE_ENDS
        if (
            word[:1].isupper()
            and word[-1].isalnum()
            and not word.isupper()
            and word not in PLACE_WORDS
            and (word in NAME_PARTS or not opens_sentence)
        ):
            return True
    after = _WORD_AFTER_RE.match(line, end)
    return bool(after and after.group(1)[:1].isupper() and not after.group(1).isupper())


def _is_not_the_place(line: str, start: int, end: int) -> bool:
    """Return whether a match is part of a nickname or of a team's name, not a place."""
    if start > 0 and end < len(line) and line[start - 1] in OPENING_QUOTES:
        previous = _word_before(line, start - 1)
        if line[end] in CLOSING_QUOTES and previous and previous[1].lstrip("(")[:1].isupper():
            return True
    # Only the few words before the match are read (a long line must stay linear).
    head = TEAM_RE.search(line, max(0, start - 60), start)
    return bool(head) and (head["before"] or " ").strip().lower() not in DOI_COMPOUNDS


def _word_before(line: str, start: int) -> tuple[int, str] | None:
    """The word that ends, followed by spaces, right before line[start]: (its start, the word)."""
    end = start
    while end > 0 and line[end - 1] == " ":
        end -= 1
    begin = end
    while begin > 0 and not line[begin - 1].isspace():
        begin -= 1
    if end == start or begin == end:
        return None
    return begin, line[begin:end]


def mentions(text: str) -> list[tuple[_Place, bool]]:
    """Return every province or unique district named in a text, with whether it is in the title."""
    _, province_re, district_re, places = _table()
    found = []
    for i, line in enumerate(lines(text)):
        taken: list[tuple[int, int]] = []
        for m in province_re.finditer(line):
            if not _is_in_a_name(line, m.start(1), m.end(1)) and not _is_not_the_place(
                line, m.start(1), m.end(1)
            ):
                found.append((places[re.sub(r"\s+", " ", m.group(1))], i == 0))
            taken.append(m.span(1))
        # Both kinds of match come in order: the first province span not ending before a
        # district match is the only one that can overlap it.
        first = 0
        for m in district_re.finditer(line):
            while first < len(taken) and taken[first][1] <= m.start(1):
                first += 1
            if first < len(taken) and taken[first][0] < m.end(1):
                continue
            if not _is_in_a_name(line, m.start(), m.end(1)) and not _is_not_the_place(
                line, m.start(), m.end(1)
            ):
                found.append((places["district:" + re.sub(r"\s+", " ", m.group(1))], i == 0))
    return found


def provinces(text: str) -> list[Province]:
    """Return each (current province, old name) an article names, the highest score first."""
    data = _table()[0]
    new_key = data["province_mapping"]
    new_names = data["province_names"]
    counts: dict[tuple[str, str], list] = {}
    for order, (place, in_title) in enumerate(mentions(text)):
        entry = counts.setdefault((new_key[place.old_key], place.original), [0, False, 0.0, order])
        entry[0] += 1
        entry[1] = entry[1] or in_title
        entry[2] += TITLE_WEIGHT if in_title else 1.0
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1][2], kv[1][3]))
    return [
        Province(
            normalize(new_names[key]["short"]), original, new_names[key]["code"], n, title, score
        )
        for (key, original), (n, title, score, _) in ranked
    ]


def main_province(text: str) -> Province | None:
    """Return the current province an article is mainly about (by weighted mentions), or None."""
    found = provinces(text)
    if not found:
        return None
    totals: dict[str, float] = defaultdict(float)
    for p in found:
        totals[p.name] += p.score
    best = max(totals, key=lambda name: (totals[name], -[p.name for p in found].index(name)))
    group = [p for p in found if p.name == best]
    return Province(
        best,
        group[0].original,
        group[0].code,
        sum(p.mentions for p in group),
        any(p.in_title for p in group),
        totals[best],
    )


def province_names() -> list[str]:
    """The 34 current provinces and cities by the short names article_places stores, sorted."""
    return sorted(normalize(p["short"]) for p in _table()[0]["province_names"].values())


@cache
def place_names() -> frozenset[str]:
    """Every province, district, commune and ward name of the table, old and new, unprefixed."""
    data = _table()[0]
    fields = ("old_province", "old_district", "old_ward", "new_province", "new_ward")
    names = {record[field] for record in data["ward_mapping"] for field in fields}
    names |= {info["name"] for info in data["old_province_names"].values()}
    return frozenset(normalize(ADMIN_PREFIX_RE.sub("", name)) for name in names if name)
