"""Named entities (persons, organisations, locations) with underthesea's shipped CRF models."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from itertools import pairwise
from typing import NamedTuple

from underthesea import word_tokenize

from nlp.names import HONORIFICS, SURNAMES
from nlp.provinces import ADMIN_UNITS, place_names
from nlp.text import normalize, sentences
from nlp.underthesea_internals import shipped_crf_models, template_function

KINDS = {"PER": "person", "ORG": "organization", "LOC": "location"}
# Articles are long and the CRF chain is slow (about 6,000 characters a second); who and where an
# article is about is nearly always named in its first paragraphs.
DEFAULT_MAX_CHARS = 3000
# A "sentence" longer than this (a page without full stops) is tagged only this far: the chain's
# features take memory in proportion to its length, about 2 GB per million characters. The
# longest sentence tagged in 5,000 corpus articles has 1,858 characters.
MAX_SENTENCE_CHARS = 3000

_TEMPLATE_RE = re.compile(
    r"T\[(?P<index1>\-?\d+)(\,(?P<index2>\-?\d+))?\](\[(?P<column>.*)\])?(\.(?P<function>.*))?"
)
# Job titles the CRF folds into a following name or place ("Chủ tịch UBND huyện Thăng Bình").
TITLES = {
    "Chủ tịch", "Phó Chủ tịch", "Giám đốc", "Phó Giám đốc", "Bí thư", "Phó Bí thư", "Trưởng", "Phó",
    "Thủ tướng", "Phó Thủ tướng", "Bộ trưởng", "Thứ trưởng", "Nguyên", "Chánh", "Tổng",
    "Cục trưởng", "Trưởng phòng", "Chánh án", "Viện trưởng", "Đại tá", "Thượng tá", "Trung tá",
    "Thiếu tá", "Đại úy", "Thượng úy", "Trung úy", "Thiếu úy", "Đại tướng", "Thượng tướng",
    "Trung tướng", "Thiếu tướng", "Bác sĩ", "BS", "Luật sư", "LS", "Giáo sư", "GS", "PGS",
    "Tiến sĩ", "TS", "Thạc sĩ", "ThS", "Nhân viên", "Đại biểu", "ĐB",
}  # fmt: skip
# First words of public bodies and companies, which the CRF often calls locations.
ORG_HEADS = {
    "Sở", "Bộ", "UBND", "HĐND", "Ủy ban", "Văn phòng", "Ban", "Cục", "Chi cục", "Tổng cục",
    "Công ty", "Tổng công ty", "Tập đoàn", "Ngân hàng", "Trường", "Bệnh viện", "Công an",
    "Tòa án", "TAND", "Viện", "VKSND", "Hội", "Đảng ủy", "Tỉnh ủy", "Thành ủy", "Huyện ủy",
    "Thanh tra", "Quốc hội", "Chính phủ", "Phòng", "Đài", "Báo", "Liên đoàn", "Hiệp hội",
}  # fmt: skip
# Heads that name one body on their own; any other head alone ("Bộ", "UBND") names none.
WHOLE_NAMES = {"Quốc hội", "Chính phủ", "Tỉnh ủy", "Thành ủy", "Huyện ủy", "Đảng ủy"}
# Words before a full name that make it the name of a school, prize, street or firm named after a
# person ("Trường THPT Lê Quý Đôn", "Giải thưởng Hồ Chí Minh"), not a person the article names.
NAMED_AFTER = {
    "Trường", "THPT", "THCS", "PTTH", "PTCS", "Tiểu học", "Đại học", "ĐH", "Học viện", "Bệnh viện",
    "BV", "Nhà máy", "Xí nghiệp", "Công ty", "Tổng công ty", "Giải thưởng", "Giải", "Quỹ",
    "Huân chương", "Học bổng", "Đường", "đường", "Phố", "phố", "Cầu", "cầu", "Chợ", "Cung",
    "Nhà văn hóa", "Bảo tàng", "Lăng", "Tượng đài", "Tư tưởng", "Đoàn", "Đội", "Thư viện",
    "Trung tâm", "Khu", "Hẻm", "Quảng trường", "Công viên", "Nhà thiếu nhi",
}  # fmt: skip
# Forms of address, with the elders' "Bác" and "Cụ": one and a family name refer to a person
# ("Bác Hồ"), unless they are the name of a place of the address table ("Cô Tô").
ADDRESS_FORMS = HONORIFICS | {"Bác", "Cụ"}
# The numbers that follow "thứ" in a weekday's name ("thứ Bảy"); Sunday is "Chủ nhật".
WEEKDAY_NUMBERS = {"hai", "ba", "tư", "năm", "sáu", "bảy"}
DAY_SYLLABLES = WEEKDAY_NUMBERS | {"thứ", "chủ", "nhật"}
# Words before the name of a province, city, district, commune or ward ("tỉnh", "TP").
ADMIN_WORDS = rf"(?i:{ADMIN_UNITS}|tp\.?)"
# Their abbreviations, which the CRF takes into a person's name ("TP Lạng Sơn", "P Tân Quy").
ADMIN_ABBREVIATIONS = {"TP", "TX", "TT", "P", "Q"}
# A number written in Roman numerals ("khóa XV", "Đại hội XIII", "giai đoạn II").
ROMAN_RE = re.compile(r"(?=[MDCLXVI])M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")
_PUNCT = " \"'“”‘’()[],.:;!?-–—"
Feature = Callable[[list[list[str]], int], str]
Tagged = tuple[str, str, str, str]  # word, part of speech, chunk, NER tag


class Entity(NamedTuple):
    """One named entity of an article: kind (person, organization, location) and its text."""

    kind: str
    text: str


def _compile(template: str, apply_function: Callable[[str, str], str]) -> Feature:
    """Compile one underthesea feature template ("T[-1,0][1]", "T[0].istitle") to a function."""
    # Same strings as underthesea.pipeline.*.tagged_feature.template2features, which rebuilds
    # every column of the sentence for every token and template (quadratic in sentence length).
    m = _TEMPLATE_RE.match(template)
    if m is None:
        raise ValueError(f"unknown feature template {template!r}")
    index1 = int(m.group("index1"))
    index2 = int(m.group("index2")) if m.group("index2") else None
    column = int(m.group("column")) if m.group("column") else 0
    function = m.group("function")
    prefix = f"{template}="

    def feature(columns: list[list[str]], i: int) -> str:
        n = len(columns[0])
        if i + index1 < 0:
            return prefix + "BOS"
        if i + index1 >= n:
            return prefix + "EOS"
        if index2 is not None:
            if i + index2 >= n:
                return prefix + "EOS"
            word = " ".join(columns[column][i + index1 : i + index2 + 1])
        else:
            word = columns[column][i + index1]
        if function is not None:
            return f"{prefix}{apply_function(function, word)}"
        return prefix + word

    return feature


class _Tagger(NamedTuple):
    """A shipped underthesea CRF model and its compiled feature templates."""

    model: object
    features: tuple[Feature, ...]

    def tag(self, columns: list[list[str]]) -> list[str]:
        """Tag one sentence given as columns (words, then earlier tags, then a placeholder)."""
        n = len(columns[0])
        x = [[f(columns, i) for f in self.features] for i in range(n)]
        return list(self.model.tag(x))  # type: ignore[attr-defined]


@cache
def _taggers() -> tuple[_Tagger, _Tagger, _Tagger]:
    """Load the part-of-speech, chunking and NER models that ship inside underthesea."""
    apply_function = template_function()
    out = [
        _Tagger(model, tuple(_compile(t, apply_function) for t in templates))
        for model, templates in shipped_crf_models()
    ]
    return out[0], out[1], out[2]


def tag_sentence(sentence: str) -> list[tuple[str, str, str, str]]:
    """Return (word, POS, chunk, NER tag) per word, exactly as underthesea.ner(sentence)."""
    words = word_tokenize(sentence)
    if not words:
        return []
    pos, chunk, ner = _taggers()
    placeholder = ["X"] * len(words)
    pos_tags = pos.tag([words, placeholder])
    chunk_tags = chunk.tag([words, pos_tags, placeholder])
    ner_tags = ner.tag([words, pos_tags, chunk_tags, placeholder])
    return list(zip(words, pos_tags, chunk_tags, ner_tags, strict=True))


class _Span(NamedTuple):
    """A run of words the CRF tagged as one entity: its CRF kind and underthesea's words."""

    kind: str
    words: tuple[str, ...]


def _spans(tagged: Sequence[tuple[str, str, str, str]]) -> list[_Span]:
    """Join B-/I- tagged words into spans; an I- tag that continues nothing starts one."""
    found: list[_Span] = []
    kind = ""
    words: list[str] = []
    for word, _, _, tag in [*tagged, ("", "", "", "O")]:
        prefix, _, label = tag.partition("-")
        if prefix == "I" and label == kind and words:
            words.append(word)
            continue
        if kind and words:
            found.append(_Span(KINDS[kind], tuple(words)))
        kind, words = (label, [word]) if label in KINDS else ("", [])
    return found


def entities(text: str, max_chars: int | None = DEFAULT_MAX_CHARS) -> list[Entity]:
    """Return the distinct persons, organisations and locations of a text, in order of first use."""
    return list(entity_counts(text, max_chars))


def entity_counts(text: str, max_chars: int | None = DEFAULT_MAX_CHARS) -> dict[Entity, int]:
    """Return each distinct entity of a text with its number of mentions, in order of first use."""
    found = _reconciled(_tagged_counts(text, max_chars))
    head = normalize(text if max_chars is None else text[:max_chars])
    return {_placed(entity, head): mentions for entity, mentions in found.items()}


def _placed(entity: Entity, text: str) -> Entity:
    """A person the normalised text names as a place ("tỉnh Vĩnh Long", "TP Quy Nhơn") is one.

    The CRF often tags a place in a headline or after a colon as a person ("Vĩnh Long: ...").
    A full name is left alone: it follows a body's title ("Chủ tịch UBND TP Nguyễn Thiện Nhân").
    """
    if entity.kind != "person" or _is_full_name(entity.text):
        return entity
    after = re.search(rf"(?<!\w){ADMIN_WORDS}\s+{re.escape(entity.text)}(?!\w)", text)
    return Entity("location", entity.text) if after else entity


def _tagged_counts(text: str, max_chars: int | None) -> dict[Entity, int]:
    """Each (kind, name) the CRF tags in the text's head, with its number of mentions."""
    found: dict[Entity, int] = {}
    used = 0
    for sentence in sentences(text):
        if max_chars is not None and used >= max_chars:
            break
        used += len(sentence)
        if len(sentence) > MAX_SENTENCE_CHARS:
            sentence = sentence[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0]
        tagged = _opening_noun_lowered(_without_weekdays(tag_sentence(sentence)))
        for span in _spans(tagged):
            for entity in _named(_trim(span.words, span.kind), span.kind, span.words):
                found[entity] = found.get(entity, 0) + 1
    return found


def _without_weekdays(tagged: list[Tagged]) -> list[Tagged]:
    """The tagged words with the words of a weekday ("thứ Bảy", "Chủ nhật") tagged as no name."""
    out = list(tagged)
    syllables = [(i, s.lower()) for i, (word, *_) in enumerate(out) for s in word.split(" ")]
    for (i, syllable), (j, following) in pairwise(syllables):
        sunday = (syllable, following) == ("chủ", "nhật")
        if sunday or (syllable == "thứ" and following in WEEKDAY_NUMBERS):
            for k in {i, j}:  # a word only of the weekday's syllables, not "Tuổi Trẻ Chủ Nhật"
                if all(s.lower() in DAY_SYLLABLES for s in out[k][0].split(" ")):
                    out[k] = (*out[k][:3], "O")
    return out


def _opening_noun_lowered(tagged: list[Tagged]) -> list[Tagged]:
    """The tagged words, the sentence's first in lower case when a common noun ("Điểm", "Năm").

    Its capital is the sentence's, not a name's; a body's first word ("Sở GTCC") keeps it.
    """
    out = list(tagged)
    first = next((i for i, (word, *_) in enumerate(out) if word.strip(_PUNCT)), None)
    if first is not None:
        word, pos, chunk, tag = out[first]
        if pos == "N" and not _is_body([w for w, *_ in out[first:]]):
            out[first] = (word[:1].lower() + word[1:], pos, chunk, tag)
    return out


def _named(words: list[str], kind: str, span: Sequence[str]) -> list[Entity]:
    """The entities of a trimmed span; a full name the CRF glued to a body or place is a person.

    "Chủ tịch UBND tỉnh Lâm Quang Vinh", "xã Tân Phú Trần Thị Mai Hương": underthesea keeps a
    full name as one word, so a last word that is a full name and no place's name is a person,
    whatever the CRF called it, unless the span names a thing after a person ("Trường THPT Lê
    Quý Đôn", "số 45 Nguyễn Chí Thanh").
    """
    if words and _is_full_name(words[-1]) and not _names_a_thing(span, words[-1]):
        rest = _trim(words[:-1], kind)
        bare = len(rest) == 1 and _is_body(rest)  # "UBND" of "UBND tỉnh Lâm Quang Vinh"
        glued = [] if kind == "person" or bare or not rest else _named(rest, kind, rest)
        return [*glued, Entity("person", words[-1])]
    text = " ".join(words)
    if not text or _is_number_or_letter(text) or text in ORG_HEADS - WHOLE_NAMES:
        return []
    form, _, name = text.partition(" ")  # "Bác Hồ": a person referred to, not a place
    if form in ADDRESS_FORMS and name.split(" ")[0] in SURNAMES and text not in place_names():
        return [Entity("person", name)] if _is_full_name(name) else []
    if kind == "person" and form.rstrip(".") in ADMIN_ABBREVIATIONS and name:
        return [Entity("location", name)]  # "TP Lạng Sơn": the city, not a person
    return [Entity("organization" if _is_body(words) else kind, text)]


def _is_number_or_letter(text: str) -> bool:
    """Whether a span's text holds a digit, or is one letter or a Roman numeral ("khối A", "XV")."""
    return any(c.isdigit() for c in text) or len(text) == 1 or bool(ROMAN_RE.fullmatch(text))


def _names_a_thing(span: Sequence[str], name: str) -> bool:
    """Whether a span makes a full name a school's, prize's or street's, or part of an address."""
    others = [w for w in span if w != name]
    return bool(NAMED_AFTER & set(others)) or any(c.isdigit() for w in others for c in w)


def _is_full_name(word: str) -> bool:
    """Whether one underthesea word is a person's full name: a family name and two or three more."""
    parts = word.split(" ")
    return (
        2 < len(parts) <= 4
        and parts[0] in SURNAMES
        and all(p[:1].isupper() for p in parts)
        and word not in place_names()
    )


def _reconciled(found: dict[Entity, int]) -> dict[Entity, int]:
    """One kind per name, no initials as people, a given name counted into its full name.

    The CRF tags one name as a person in one sentence and a place in the next ("Hồ Văn Cư"):
    the name takes the kind of most of its mentions (the first used on a tie). Initials and
    acronyms have no lower-case letter ("H.H.T", "BV", "TP.HCM") and are never a person's name.
    Vietnamese articles give the full name once and the given name after it ("ông Cư", "ĐB Bá
    Thanh"): a given name counts into the one full name of the article that ends with it, which
    is a person then even where the CRF called it a place ("Đào Thị Phượng" ... "Phượng").
    """
    kinds: dict[str, dict[str, int]] = {}  # name -> kind -> mentions, in order of first use
    for entity, mentions in found.items():
        counts = kinds.setdefault(entity.text, {})
        counts[entity.kind] = counts.get(entity.kind, 0) + mentions
    kind = {name: max(counts, key=lambda k: counts[k]) for name, counts in kinds.items()}
    full_name: dict[str, str] = {}  # given name -> the one full name ending with it
    for given in kinds:
        if kind[given] == "person" and _is_given_name(given):
            ending = [n for n in kinds if kind[n] != "organization" and n.endswith(" " + given)]
            if " " in given:  # two words: only a full name ends so, not "ĐH Nam Columbia"
                ending = [n for n in ending if _is_full_name(n)]
            if len(ending) == 1:
                full_name[given] = ending[0]
    mentions = {name: sum(counts.values()) for name, counts in kinds.items()}
    for given, name in full_name.items():
        mentions[name] += mentions.pop(given)
        kind[name] = "person"
    return {
        Entity(kind[name], name): count
        for name, count in mentions.items()
        if kind[name] != "person" or (_has_lower(name) and " " in name)
    }


def _is_given_name(name: str) -> bool:
    """Whether a name may be a given name used alone: one word, or two not opening with a family
    name ("Bá Thanh" of "Nguyễn Bá Thanh", but not "Hoàng Hải", a full name of its own)."""
    parts = name.split(" ")
    return _has_lower(name) and (len(parts) == 1 or (len(parts) == 2 and parts[0] not in SURNAMES))


def _has_lower(name: str) -> bool:
    """Whether a name has a lower-case letter (a personal name does; "H.H.T", "BV" do not)."""
    return any(c.islower() for c in name)


def _trim(span: Sequence[str], kind: str) -> list[str]:
    """Keep a span's words from the first to the last capitalised one, titles cut from the front.

    The words are underthesea's, so "Bộ Công an" keeps "Công an" and "Bộ trưởng" is a title.
    """
    words = [w.strip(_PUNCT) for w in span]
    capitalised = [i for i, w in enumerate(words) if w[:1].isupper()]
    if not capitalised:
        return []
    words = words[capitalised[0] : capitalised[-1] + 1]
    titles = TITLES | HONORIFICS if kind == "person" else TITLES
    # A title, and what follows it in lower case ("Phó chủ tịch UBND xã ..."), up to a body.
    while words:
        if len(words) > 1 and " ".join(words[:2]) in titles:
            words = words[2:]
        elif _is_body(words):
            break
        elif words[0] in titles or not words[0][:1].isupper():
            words = words[1:]
        else:
            break
    return words


def _is_body(words: Sequence[str]) -> bool:
    """Whether words begin like a public body or company ("Sở", "Viện kiểm sát").

    A head ends a word of underthesea's or goes on in lower case within it: "Bộ trưởng" is a
    title and "Hội An", "Đài Loan", "Trường Sơn" are places, though they begin with a head.
    """
    if not words or words[0] in TITLES:
        return False
    first = words[0].split(" ")
    syllables = " ".join(words).split(" ")
    for n in (1, 2, 3):
        head = " ".join(syllables[:n])
        if head in ORG_HEADS and (len(first) <= n or first[n].islower()):
            return True
    return False
