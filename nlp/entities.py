"""Named entities (persons, organisations, locations) with underthesea's shipped CRF models."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from itertools import pairwise
from typing import NamedTuple

from underthesea import word_tokenize

from nlp.names import HONORIFICS, NAME_PARTS, SURNAMES
from nlp.provinces import ADMIN_UNITS, place_names
from nlp.provinces import mentions as province_mentions
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
    "Tiến sĩ", "TS", "Thạc sĩ", "ThS", "Nhân viên", "Đại biểu", "ĐB", "Vụ trưởng", "Vụ phó",
    "Huấn luyện viên", "HLV",
}  # fmt: skip
# Titles and callings, in any case, that make a capitalised name right after them a person's
# ("Phó thủ tướng Vũ Khoan", "luật sư Hà Đăng"); "Phó", "Trưởng", "Tổng" alone begin other words.
PERSON_TITLES = {t.lower() for t in TITLES - {"Phó", "Trưởng", "Nguyên", "Chánh", "Tổng"}} | {
    "tổng giám đốc", "tổng bí thư", "chủ tịch nước", "chủ nhiệm", "hiệu trưởng", "trưởng ban",
    "trưởng đoàn", "thủ trưởng", "thẩm phán", "kiểm sát viên", "điều tra viên", "thống đốc",
    "đại sứ", "tổng thư ký", "tổng biên tập", "liệt sĩ", "anh hùng", "nhà thơ", "nhà văn",
    "nhà báo", "ca sĩ", "nhạc sĩ", "họa sĩ", "nghệ sĩ", "diễn viên", "cầu thủ",
}  # fmt: skip
# Words before a title that leave it a title ("Phó thủ tướng", "nguyên bộ trưởng").
TITLE_PREFIXES = ("phó ", "nguyên ", "quyền ", "cựu ")
# Universities, academies and hospitals, which the press names after their city or a field
# alone ("ĐH Huế", "BV Bạch Mai", "Học viện Ngân hàng"): their place is no name of its own.
SCHOOL_HEADS = {
    "ĐH", "Đại học", "Trường ĐH", "Trường Đại học", "Học viện", "Bệnh viện", "BV", "Cao đẳng",
    "Trường Cao đẳng",
}  # fmt: skip
# First words of public bodies, companies and clubs, which the CRF often calls locations or
# persons ("CLB Hoàng Anh Gia Lai"; "DNTN", a private firm, bears its owner's name).
ORG_HEADS = {
    "Sở", "Bộ", "UBND", "HĐND", "Ủy ban", "Văn phòng", "Ban", "Cục", "Chi cục", "Tổng cục",
    "Công ty", "Tổng công ty", "Tập đoàn", "Ngân hàng", "Trường", "Bệnh viện", "Công an",
    "Tòa án", "TAND", "Viện", "VKSND", "Hội", "Đảng ủy", "Tỉnh ủy", "Thành ủy", "Huyện ủy",
    "Thanh tra", "Quốc hội", "Chính phủ", "Phòng", "Đài", "Báo", "Liên đoàn", "Hiệp hội",
    "VKS", "BHXH", "Bảo hiểm xã hội", "Hạt kiểm lâm", "Hạt Kiểm lâm", "Quỹ", "CLB", "Câu lạc bộ",
    "DNTN", *SCHOOL_HEADS,
}  # fmt: skip
# Heads that name one body on their own; any other head alone ("Bộ", "UBND") names none.
WHOLE_NAMES = {"Quốc hội", "Chính phủ", "Tỉnh ủy", "Thành ủy", "Huyện ủy", "Đảng ủy"}
# Public bodies the rules find where the CRF does not: a capitalised head, then its field
# ("Sở Nội vụ", "Ban Quản lý dự án"), its unit ("UBND huyện Thăng Bình", "Thanh tra tỉnh") or
# the body it belongs to ("Văn phòng UBND tỉnh", "Phòng CSGT Công an tỉnh"). These heads need a
# capitalised field: "Sở" or "Ban" before a unit alone is no name.
FIELD_HEADS = {
    "Sở", "Bộ", "Ban", "Phòng", "Văn phòng", "Cục", "Chi cục", "Tổng cục", "Trung tâm", "Đội",
    "Ủy ban", "Kho bạc", "Viện", "Hội đồng", "Chi nhánh", "Hội", "Quỹ",
}  # fmt: skip
# These name a body with a unit alone ("Công an xã", "UBND tỉnh"), a place alone ("TAND Bà Rịa -
# Vũng Tàu", "ĐH Huế") or a field in lower case ("VKS tối cao", "Tòa án quân sự").
UNIT_HEADS = SCHOOL_HEADS | {
    "UBND", "Ủy ban nhân dân", "HĐND", "Hội đồng nhân dân", "Công an", "Thanh tra", "Tòa án",
    "Tòa án nhân dân", "TAND", "Viện kiểm sát", "Viện kiểm sát nhân dân", "VKSND", "VKS",
    "Kho bạc Nhà nước", "Đảng ủy", "Ủy ban MTTQ", "Ủy ban Mặt trận Tổ quốc", "UBMTTQ",
    "Bảo hiểm xã hội", "BHXH", "Hạt kiểm lâm", "Hạt Kiểm lâm",
}  # fmt: skip
BODY_HEADS = FIELD_HEADS | UNIT_HEADS | WHOLE_NAMES
# Lower-case words of the fields in bodies' official names ("Sở Giao thông vận tải", "Ban
# Quản lý dự án đầu tư xây dựng", "Phòng Cảnh sát điều tra tội phạm về ma túy"); a body's name
# ends at the first other lower-case word ("Sở Nội vụ được giao", "Sở Y tế yêu cầu").
_FIELD_WORDS = """
    vận tải, nông thôn, phát triển, dự án, đầu tư, xây dựng, khu vực, công trình, dân dụng,
    công nghiệp, giao thông, đô thị, hạ tầng, nông nghiệp, quản lý, đất đai, quỹ đất, đất, quỹ,
    giải phóng mặt bằng, tái định cư, hình sự, kinh tế, ma túy, môi trường, trật tự, xã hội,
    an toàn, an ninh, điều tra, tội phạm, cảnh sát, phòng cháy, chữa cháy, cứu nạn, cứu hộ,
    cơ động, đường bộ, đường sắt, đường thủy, xuất nhập cảnh, hành chính, thi hành án, án, dân sự,
    tối cao, nhân dân, thuế, hải quan, thị trường, nhà nước, y tế, dự phòng, dân số,
    kế hoạch hóa gia đình, kiểm soát bệnh tật, bệnh tật, thực phẩm, vệ sinh, đo lường, chất lượng,
    tiêu chuẩn, khoa học, công nghệ, thông tin, truyền thông, văn hóa, thể thao, du lịch, giáo dục,
    đào tạo, nghề nghiệp, thường xuyên, lao động, việc làm, dịch vụ, thương mại, xúc tiến,
    tài nguyên, khoáng sản, nước, biển, hải đảo, kiểm lâm, lâm nghiệp, thủy lợi, thủy sản, thú y,
    chăn nuôi, bảo vệ thực vật, trồng trọt, tư pháp, hộ tịch, công chứng, đấu giá, tài sản,
    trợ giúp pháp lý, pháp lý, pháp chế, cán bộ, thi đua, khen thưởng, tôn giáo, dân tộc,
    tiếp công dân, công dân, khu công nghiệp, khu kinh tế, chế xuất, công nghệ cao, quy hoạch,
    kiến trúc, nhà ở, công sở, tài chính, ngân sách, kho bạc, phòng chống, công chính, dược,
    hàng không, nghề, dạy nghề, định canh, định cư, tham nhũng, buôn lậu, gian lận thương mại,
    hàng giả, quân sự, biên phòng, bộ đội, kỷ luật, đăng ký, hành chính công, ngoài nước,
    nước ngoài, cửa khẩu, cảng, sân bay, bán đấu giá, chợ, giá, trại giam, công sản, đê điều,
    rừng, phòng hộ, đặc dụng, bảo tồn, ngoại vụ, bồi dưỡng, kỹ thuật, thống kê, tuần tra,
    bầu cử, nghĩa vụ quân sự, đặc xá
"""
FIELD_WORDS = {" ".join(words.split()) for words in _FIELD_WORDS.split(",")}
# Words of FIELD_WORDS that are verbs too: they end a name only before its unit or a name.
VERB_FIELDS = {
    "điều tra", "quản lý", "xây dựng", "đầu tư", "phát triển", "phòng chống", "kỷ luật", "đăng ký",
    "tuần tra",
}  # fmt: skip
# What a body is for follows its capitalised "Vì" in lower case ("Quỹ Vì người nghèo", "Hội Vì
# trẻ em nhiễm chất độc da cam VN", "Ban Vì sự tiến bộ của phụ nữ TP Đà Nẵng"): nouns and the
# words that qualify them (underthesea's parts of speech), "của" between them, up to a
# punctuation mark, a capitalised word or a word that cannot end a name (adverb, preposition,
# pronoun, conjunction). A passive "bị"/"được" opens a clause ("Hội đồng Vì phụ nữ bị lính Nhật
# bắt làm nô lệ"): the rules cannot tell where that name ends and name no body.
PURPOSE_POS = {"N", "Nc", "A", "V"}
PURPOSE_JOINS = {"của"}
# Parts of speech of lower-case words that may go on a body's capitalised field, before its unit
# or a capitalised word: nouns and adjectives ("Hội Liên hiệp thanh niên Việt Nam").
NOUN_POS = {"N", "A"}
PASSIVES = {"bị", "được"}
NAME_END_POS = {"R", "P", "E", "C", "L", "CH"}
# Parts of speech of words that begin a new clause and end any name before them: conjunctions,
# adverbs, pronouns (underthesea's "C", "R", "P"), but no joining word of a field ("và").
CLAUSE_POS = {"C", "R", "P"}
# Words for vehicles, goods and brands: a capitalised name right after one is a model's or
# brand's ("bán chiếc xe Minsk", "nhãn hiệu Honda"), no body, place or person.
THING_NOUNS = {"xe", "xe máy", "ô tô", "máy", "điện thoại", "hiệu", "nhãn hiệu", "thương hiệu"}
# Words for newspapers, magazines, broadcasters and news agencies: the capitalised names right
# after one, or in the list it introduces ("các tờ báo (tiến bộ) đó như Tuổi Trẻ, Sài Gòn Giải
# Phóng, Người Lao Động", "báo chí lớn nước ngoài, gồm The Sun, Reuters, AP, Daily Express"), are
# bodies, whatever the CRF called them. "tờ" and "đài" name a paper or a station only with the
# name right after them ("tờ giấy", "đài phát thanh" are things).
PRESS_NOUNS = {"báo", "tờ báo", "báo chí", "tạp chí", "hãng thông tấn", "thông tấn", "thông tấn xã"}
PRESS_HEADS = PRESS_NOUNS | {"tờ", "đài"}
# What may stand between a press noun and its names: what qualifies it ("lớn", "nước ngoài",
# "(tiến bộ)", "đó") and the word that opens the list ("như", "gồm", "là", "mà").
PRESS_LINKS = {"như", "gồm", "là", "mà", "đó", "này", "ấy", "kia", "(", ")", ","}
PRESS_QUALIFIERS_POS = {"N", "A"}
# Words that join a list's names ("Tuổi Trẻ, Sài Gòn Giải Phóng và Người Lao Động").
LIST_JOINS = {",", "và", "&"}
# Joining words inside a field: "Sở Kế hoạch và Đầu tư", "Sở Lao động - Thương binh và Xã hội".
FIELD_JOINS = {"và", "-", "–", "&", ","}
# The administrative unit words before a body's place ("UBND tỉnh Hòa An", "Công an TP Huế").
UNIT_WORDS = {
    "tỉnh", "thành phố", "tp", "tp.", "huyện", "quận", "q.", "thị xã", "tx", "tx.", "thị trấn",
    "xã", "phường",
}  # fmt: skip
# A head right after these is the name of a building or project, not of a body ("dự án Trung
# tâm Văn hóa - Thể thao xã Đông Sơn").
BUILT_WORDS = {"dự án", "công trình"}
# Acronyms of economic and administrative terms the CRF takes for places ("GRDP của tỉnh").
TERMS = {"GDP", "GRDP", "GNP", "OCOP", "FDI", "ODA", "CPI", "PCI", "PAPI", "PAR", "ICOR", "VAT"}
# Continents, whose "Châu" is a family name too ("Viện Công nghệ Châu Á").
CONTINENTS = {"Châu Á", "Châu Âu", "Châu Phi", "Châu Mỹ", "Châu Úc"}
# Common nouns capitalised as the first word of a date, an article of a law or a thing's name
# ("Ngày 3-2", "Sáng 8-10", "Điều 15", "Điểm phục vụ hành chính công"): alone they name nothing.
COMMON_NOUNS = {
    "Ngày", "Tháng", "Năm", "Sáng", "Trưa", "Chiều", "Tối", "Đêm", "Điều", "Khoản", "Điểm",
}  # fmt: skip
# A festival ("Tết Nguyên đán") and a year of the sixty-year cycle ("Đinh Mùi") are no names of
# places or persons: a year's name is one of the ten stems and one of the twelve branches.
FESTIVALS = {"Tết"}
YEAR_STEMS = {"Giáp", "Ất", "Bính", "Đinh", "Mậu", "Kỷ", "Canh", "Tân", "Nhâm", "Quý"}
YEAR_BRANCHES = {
    "Tý", "Sửu", "Dần", "Mão", "Mẹo", "Thìn", "Tỵ", "Tị", "Ngọ", "Mùi", "Thân", "Dậu", "Tuất",
    "Hợi",
}  # fmt: skip
# Words before a full name that make it the name of a school, prize, street, canal or firm named
# after a person ("Trường THPT Lê Quý Đôn", "Giải thưởng Hồ Chí Minh", "kênh Tiêu Ba Bò"), not a
# person the article names.
NAMED_AFTER = {
    "Trường", "THPT", "THCS", "PTTH", "PTCS", "Tiểu học", "Đại học", "ĐH", "Học viện", "Bệnh viện",
    "BV", "Nhà máy", "Xí nghiệp", "Công ty", "Tổng công ty", "DNTN", "Giải thưởng", "Giải", "Quỹ",
    "Huân chương", "Học bổng", "Đường", "đường", "Phố", "phố", "Cầu", "cầu", "Chợ", "Cung",
    "Nhà văn hóa", "Bảo tàng", "Lăng", "Tượng đài", "Tư tưởng", "Đoàn", "Đội", "Thư viện",
    "Trung tâm", "Khu", "Hẻm", "Quảng trường", "Công viên", "Nhà thiếu nhi", "kênh", "Kênh",
    "rạch", "Rạch",
}  # fmt: skip
# Forms of address, with the elders' "Bác" and "Cụ": one and a family name refer to a person
# ("Bác Hồ"), unless they are the name of a place of the address table ("Cô Tô").
ADDRESS_FORMS = HONORIFICS | {"Bác", "Cụ"}
# A place or a market is named after someone with "Ông" or "Bà" inside its name ("Vàm Bà Kén",
# "Chợ Ông Tạ"); a person's name has them only before it.
PLACE_FORMS = {"Ông", "Bà"}
# The country's names: a person's name never ends with them ("Interpol Việt Nam" is a body).
NATION = {"Việt Nam", "VN"}
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
_PUNCT_BUT_DOT = _PUNCT.replace(".", "")
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
    So is a place of the address table ("Hà Nội", "Đông Đô") unless the text addresses it as a
    person ("ông Trần Phú", "Chủ tịch Hồ Chí Minh"); a commune's name that opens like a person's
    ("Lê Thanh", "Minh Châu": a family or middle name) only where the text names it as a place.
    Any other full name is left alone: it follows a body's title ("Chủ tịch UBND TP Nguyễn
    Thiện Nhân").
    """
    if entity.kind != "person":
        return entity
    name = re.escape(entity.text)
    after = re.search(rf"(?<!\w){ADMIN_WORDS}\s+{name}(?!\w)", text)
    if _is_place(entity.text):
        if re.search(rf"(?<!\w){_address_pattern()}\s+{name}(?!\w)", text):
            return entity
        first = entity.text.split(" ")[0]
        like_a_person = first in NAME_PARTS and not province_mentions(entity.text)
        return entity if like_a_person and not after else Entity("location", entity.text)
    if _is_full_name(entity.text):
        return entity
    return Entity("location", entity.text) if after else entity


@cache
def _address_pattern() -> str:
    """A pattern of the forms of address and titles before a person's name, in any case.

    "em", "bé" and "cháu" are left out: "Em bé Bảo Ninh" is a song about a commune.
    """
    forms = {f.lower() for f in ADDRESS_FORMS - {"Em", "Bé", "Cháu"}} | PERSON_TITLES
    ordered = sorted(forms, key=len, reverse=True)
    return "(?i:" + "|".join(r"\s+".join(map(re.escape, f.split())) for f in ordered) + ")"


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
        tagged = _dotted(tag_sentence(sentence))
        tagged = _acronyms_unglued(_split_heads(_slashes_glued(tagged)))
        tagged = _press_named(_unnamed_things(_clauses_cut(_split_places(tagged))))
        tagged = _titled(_opening_noun_lowered(_without_weekdays(tagged)))
        words = [word for word, *_ in tagged]
        pos = [p for _, p, *_ in tagged]
        bodies = _bodies(words, pos)
        for body in bodies:
            entity = Entity("organization", _joined(words[body.start : body.end]))
            found[entity] = found.get(entity, 0) + 1
        for span in _spans(_outside(tagged, bodies)):
            for entity in _named(_trim(span.words, span.kind), span.kind, span.words):
                found[entity] = found.get(entity, 0) + 1
    return found


def _joined(words: Sequence[str]) -> str:
    """The text of underthesea's words: no space before a comma, no full stop at the end."""
    return " ".join(words).replace(" ,", ",").rstrip(".")


def _outside(tagged: list[Tagged], bodies: Sequence[_Body]) -> list[Tagged]:
    """The tagged words with the CRF's tags left only outside the bodies the rules found.

    A place a body names keeps its tag ("Quảng Nam" of "UBND tỉnh Quảng Nam" is a place too);
    a name the CRF ran on past a body begins a name of its own ("UBND tỉnh Lâm Quang Vinh").
    """
    out = list(tagged)
    for body in bodies:
        for k in range(body.start, body.end):
            label = out[k][3].partition("-")[2]
            kept = k in body.places and label in {"LOC", "PER"}
            out[k] = (*out[k][:3], f"B-{label}" if kept else "O")
        if body.end < len(out) and out[body.end][3].startswith("I-"):
            # "Bộ Ngoại giao Lê Dũng": a family and a given name the CRF ran on is a person
            label = "PER" if _is_short_name(out[body.end][0]) else out[body.end][3][2:]
            out[body.end] = (*out[body.end][:3], f"B-{label}")
    return out


def _is_short_name(word: str) -> bool:
    """Whether one underthesea word is a family name and a given name, and no place ("Lê Dũng")."""
    parts = word.split(" ")
    return (
        len(parts) == 2
        and parts[0] in SURNAMES
        and word.istitle()
        and word not in CONTINENTS
        and not _is_place(word)
    )


def _dotted(tagged: list[Tagged]) -> list[Tagged]:
    """The tagged words, an initial given back the dot a sentence's end took ("Đỗ Văn K", ".")."""
    out = list(tagged)
    for i, ((word, pos, chunk, tag), (following, *_)) in enumerate(pairwise(tagged)):
        if following == "." and _ends_in_initial(word + "."):
            out[i] = (word + ".", pos, chunk, tag)
    return out


def _split_heads(tagged: list[Tagged]) -> list[Tagged]:
    """The tagged words, a word that glues a body's head to its name's next part split in two.

    underthesea writes "TAND Bà Rịa" and "Quỹ Vì" as one word; an acronym's head ("TAND", "ĐH")
    and a "Vì" begin no place name, so the rules read the head and the place or "Vì" after it.
    """
    out: list[Tagged] = []
    for word, pos, chunk, tag in tagged:
        head, _, rest = word.partition(" ")
        acronym = head.isupper() and rest[:1].isupper()
        if head in BODY_HEADS and rest and (acronym or rest == "Vì"):
            label = tag.partition("-")[2]
            out += [(head, pos, chunk, tag), (rest, pos, chunk, f"I-{label}" if label else "O")]
        else:
            out.append((word, pos, chunk, tag))
    return out


def _acronyms_unglued(tagged: list[Tagged]) -> list[Tagged]:
    """The tagged words, a person's name underthesea glued to an acronym before it split off.

    "Bộ GDĐT Quách Tuấn Ngọc" comes as "GDĐT Quách Tuấn Ngọc", "Bộ GDĐT Bành Tiến Long" as
    "GDĐT Bành" "Tiến Long": the acronym ends the body's name and the full name is a person.
    """
    out: list[Tagged] = []
    k = 0
    while k < len(tagged):
        word, pos, chunk, tag = tagged[k]
        acronym, _, name = word.partition(" ")
        following = tagged[k + 1][0] if k + 1 < len(tagged) else ""
        glued = name in SURNAMES and following.istitle() and not _is_body([following])
        full = f"{name} {following}" if glued else name
        owned = acronym in NAMED_AFTER  # "DNTN Dương Ngọc Trinh" is a firm named after its owner
        # a house number ("ngụ 58A Hồ Học Lãm") has a digit and is an address, no acronym
        owned = owned or any(c.isdigit() for c in acronym)
        if len(acronym) > 1 and acronym.isupper() and not owned and _is_full_name(full):
            out += [(acronym, pos, chunk, tag), (full, "Np", chunk, "B-PER")]
            k += 1 + glued
            continue
        out.append((word, pos, chunk, tag))
        k += 1
    return out


def _split_places(tagged: list[Tagged]) -> list[Tagged]:
    """The tagged words, a place underthesea glued to the verb after it split from it.

    "TAND Hai Bà Trưng trùng với": the court is "TAND Hai Bà Trưng", and "trùng" ends its name.
    """
    out: list[Tagged] = []
    for word, pos, chunk, tag in tagged:
        parts = word.split(" ")
        capitals = next((n for n, p in enumerate(parts) if not p[:1].isupper()), len(parts))
        place = " ".join(parts[:capitals])
        rest = parts[capitals:]
        if capitals > 1 and rest and all(p.islower() for p in rest) and _is_place(place):
            out += [(place, "Np", chunk, tag), (" ".join(rest), pos, chunk, "O")]
        else:
            out.append((word, pos, chunk, tag))
    return out


def _clauses_cut(tagged: list[Tagged]) -> list[Tagged]:
    """The tagged words, a name the CRF ran on into the next clause cut where that begins.

    A conjunction, an adverb or a pronoun ("thì", "mới", "này") is in no name: "Viện khoa học
    hình sự Bộ công an thì Nghĩa mới nhận tội" names the institute; what follows is no name.
    """
    out = list(tagged)
    cut = False
    for k, (word, pos, chunk, tag) in enumerate(out):
        if not tag.startswith("I-"):
            cut = False
        elif cut or (pos in CLAUSE_POS and word not in FIELD_JOINS):
            cut = True
            out[k] = (word, pos, chunk, "O")
    return out


def _slashes_glued(tagged: list[Tagged]) -> list[Tagged]:
    """The tagged words, two lower-case words with a slash between them one word.

    underthesea splits "chất độc da cam/dioxin" at the slash, which ended "Hội Nạn nhân chất
    độc da cam/dioxin VN" there; the slash joins two words of one noun phrase.
    """
    out: list[Tagged] = []
    k = 0
    while k < len(tagged):
        word = tagged[k]
        if out and k + 1 < len(tagged) and word[0] == "/":
            before, after = out[-1][0], tagged[k + 1][0]
            if before.split(" ")[-1].isalpha() and before.islower() and after.islower():
                out[-1] = (f"{before}/{after}", *out[-1][1:])
                k += 2
                continue
        out.append(word)
        k += 1
    return out


def _press_named(tagged: list[Tagged]) -> list[Tagged]:
    """The tagged words, the names a word for a newspaper or news agency introduces bodies.

    After "báo", "tạp chí", "hãng thông tấn" and the like come what qualifies it in lower case
    and a word that opens a list ("như", "gồm"); each capitalised name of the list, up to a word
    that is no join, is a newspaper's or agency's: "Daily Express", "Sài Gòn Giải Phóng" and
    "Tuổi Tre" (a typo of "Tuổi Trẻ") are no persons there.
    """
    out = list(tagged)
    k = 0
    while k < len(out):
        word = out[k][0]
        press = word.lower()
        if press not in PRESS_HEADS or (press != word and k + 1 < len(out)):
            k += 1
            continue
        j = k + 1
        if press in PRESS_NOUNS:
            while j < min(len(out), k + 7) and not out[j][0][:1].isupper():
                if out[j][0] not in PRESS_LINKS and out[j][1] not in PRESS_QUALIFIERS_POS:
                    break
                j += 1
        if out[j - 1][0] == ",":  # it ends the press noun's phrase ("tin báo, Cảnh sát điều tra")
            k += 1
            continue
        while j < len(out) and _press_word(out[j]):
            first = j
            j += 1
            while j < len(out) and _press_word(out[j]) and not _person(out[j]):
                j += 1
            if j < len(out) and out[j][0][:1].islower() and out[j][3].startswith("I-"):
                break  # the CRF's name goes on in lower case ("tạp chí Thị trường giá cả")
            for m in range(first, j):
                out[m] = (*out[m][:3], f"{'B' if m == first else 'I'}-ORG")
            if j + 1 < len(out) and out[j][0] in LIST_JOINS and _press_word(out[j + 1]):
                out[j] = (*out[j][:3], "O")
                j += 1
            else:
                break
        k = max(j, k + 1)
    return out


def _press_word(tagged: Tagged) -> bool:
    """Whether a tagged word may be part of a newspaper's or agency's name after a press noun.

    It is capitalised and no verb: "Lê Hoàng nhắc" (a name underthesea glued to the verb after
    it) ends "báo Tuổi Trẻ" before it. A word that begins with a body's head but is no body
    ("Hội nghị" of "báo chí bên hành lang Hội nghị") is a meeting or a title, no newspaper.
    """
    word, pos, *_ = tagged
    if not word[:1].isupper() or pos == "V":
        return False
    return word.split(" ")[0] not in ORG_HEADS or _is_body([word])


def _person(tagged: Tagged) -> bool:
    """Whether a tagged word is a person's name: a proper noun of two to four capitalised
    syllables that begins with a family name and is no place ("Tuổi Trẻ Lê Hoàng")."""
    word, pos, *_ = tagged
    parts = word.split(" ")
    named = pos == "Np" and 1 < len(parts) <= 4 and parts[0] in SURNAMES
    return named and word not in place_names()


def _unnamed_things(tagged: list[Tagged]) -> list[Tagged]:
    """The tagged words, a name right after a word for a vehicle or brand ("xe Minsk") no name."""
    out = list(tagged)
    thing = False
    for k, (word, pos, chunk, tag) in enumerate(out):
        if tag.startswith("B-"):
            thing = k > 0 and out[k - 1][0].lower() in THING_NOUNS
        if thing and tag != "O":
            out[k] = (word, pos, chunk, "O")
        elif tag == "O":
            thing = False
    return out


def _ends_in_initial(word: str) -> bool:
    """Whether one underthesea word is a name that ends in an initial and its dot ("Đỗ Văn K.")."""
    *name, initial = word.split(" ")
    return (
        bool(name)
        and name[0] in SURNAMES
        and all(p[:1].isupper() for p in name)
        and len(initial) == 2
        and initial[0].isupper()
        and initial[1] == "."
    )


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


def _titled(tagged: list[Tagged]) -> list[Tagged]:
    """The tagged words, a name right after a person's title tagged a person, the title no name.

    The CRF tags "Phó thủ tướng Vũ Khoan" a place; a title in any case, then a family name and
    one to three given names, is a person, unless the name is a province's ("Hà Nam").
    underthesea may glue a name's last given name to the word after it ("thứ trưởng" "Đặng
    Hùng" "Võ hứa"): the person takes it back.
    """
    out = list(tagged)
    for i in range(len(out) - 1):
        (title, *_), (name, pos, chunk, _) = out[i], out[i + 1]
        if not (_is_person_title(title) and _is_titled_name(name)):
            continue
        out[i] = (*out[i][:3], "O")
        if i + 2 < len(out):
            given, _, after = out[i + 2][0].partition(" ")
            if _is_last_given_name(name, given, after):
                name = f"{name} {given}"
                out[i + 2] = (after, *out[i + 2][1:3], "O")
        out[i + 1] = (name, pos, chunk, "B-PER")
    return [t for t in out if t[0]]


def _is_last_given_name(name: str, given: str, after: str) -> bool:
    """Whether a capitalised syllable after a titled name ends that name ("Đặng Hùng" "Võ hứa").

    It is glued to lower-case words that follow, or alone after a family and a given name; never
    a title, a form of address, a body's head or a province ("Bộ", "Ông", "Huế").
    """
    size = len(name.split(" "))
    return (
        given.istitle()
        and given.isalpha()
        and (after[:1].islower() if after else size == 2)
        and size < 4
        and given not in TITLES | ADDRESS_FORMS | BODY_HEADS | ORG_HEADS | ADMIN_ABBREVIATIONS
        and not province_mentions(given)
    )


def _is_person_title(word: str) -> bool:
    """Whether one underthesea word is a person's title ("thủ tướng", "Phó Giám đốc")."""
    title = word.lower()
    for prefix in TITLE_PREFIXES:
        title = title.removeprefix(prefix)
    return title in PERSON_TITLES


def _is_titled_name(word: str) -> bool:
    """Whether one underthesea word may be a person's name after a title ("Vũ Khoan")."""
    parts = word.split(" ")
    return (
        1 < len(parts) <= 4
        and parts[0] in SURNAMES
        and word.istitle()
        and word not in CONTINENTS
        and not province_mentions(word)
    )


def _opening_noun_lowered(tagged: list[Tagged]) -> list[Tagged]:
    """The tagged words, the sentence's first in lower case when a common noun ("Điểm", "Năm").

    Its capital is the sentence's, not a name's; a body's first word ("Sở GTCC") keeps it.
    """
    out = list(tagged)
    first = next((i for i, (word, *_) in enumerate(out) if word.strip(_PUNCT)), None)
    if first is not None:
        word, pos, chunk, tag = out[first]
        words = [w for w, *_ in out]
        parts = [p for _, p, *_ in out]
        if pos == "N" and not _is_body(words[first:]) and _body_at(words, parts, first) is None:
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
    units = [k for k, w in enumerate(words) if w.islower() and _is_unit_word(w)]
    if kind == "location" and units and units[-1] + 1 < len(words) and not _is_body(words):
        # "Thống kê phường An Lạc" of "công chức Văn phòng - Thống kê phường An Lạc", "Bưu điện
        # tỉnh Nghệ An": the place is what follows the unit, not the post or office before it
        return _named(words[units[-1] + 1 :], kind, words[units[-1] + 1 :])
    text = " ".join(words)
    if (
        not text
        or _is_number_or_letter(text)
        or text in ORG_HEADS - WHOLE_NAMES | TERMS | ADDRESS_FORMS | COMMON_NOUNS
        or _is_festival_or_year(text)
    ):
        return []
    form, _, name = text.partition(" ")  # "Bác Hồ": a person referred to, not a place
    if form in ADDRESS_FORMS and name.split(" ")[0] in SURNAMES and text not in place_names():
        return [Entity("person", name)] if _is_full_name(name) else []
    if kind == "person" and form.rstrip(".") in ADMIN_ABBREVIATIONS and name:
        return [Entity("location", name)]  # "TP Lạng Sơn": the city, not a person
    if kind == "person" and len(words) > 1 and _is_unit_word(words[0]):
        return [Entity("location", " ".join(words[1:]))]  # "Tỉnh Vĩnh Phú" after a colon
    if _is_body(words):
        return [Entity("organization", text)]
    if kind == "person" and any(s in PLACE_FORMS for s in text.split(" ")[1:]):
        return [Entity("location", text)]  # "Vàm Bà Kén", "Hai Bà Trưng": named after someone
    ends_in_place = words[-1] in NATION or bool(province_mentions(words[-1]))
    if kind == "person" and len(words) > 1 and ends_in_place:
        return [Entity("organization", text)]  # "Interpol Việt Nam", "Hoàng Anh Gia Lai"
    return [Entity(kind, text)]


def _is_festival_or_year(text: str) -> bool:
    """Whether a name is a festival's ("Tết Nguyên đán Đinh Mùi") or a year's ("Giáp Thân")."""
    parts = text.split(" ")
    year = len(parts) == 2 and parts[0] in YEAR_STEMS and parts[1] in YEAR_BRANCHES
    return parts[0] in FESTIVALS or (year and not _is_place(text))


def _is_number_or_letter(text: str) -> bool:
    """Whether a span's text holds a digit, or is one letter or a Roman numeral ("khối A", "XV")."""
    return any(c.isdigit() for c in text) or len(text) == 1 or bool(ROMAN_RE.fullmatch(text))


def _names_a_thing(span: Sequence[str], name: str) -> bool:
    """Whether a span makes a full name a school's, prize's or street's, or part of an address."""
    # "sau ĐH" is postgraduate study, no school: "Vụ phó ĐH và sau ĐH Ngô Kim Khôi"
    others = [w for k, w in enumerate(span) if w != name and not (k and span[k - 1] == "sau")]
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
    for short, name in _longer_bodies(kind).items():
        mentions[name] += mentions.pop(short)
    return {
        Entity(kind[name], name): count
        for name, count in mentions.items()
        if kind[name] != "person" or (_has_lower(name) and " " in name)
    }


def _longer_bodies(kind: dict[str, str]) -> dict[str, str]:
    """Each organisation's name that begins the one longer name of another in the article.

    "UBND tỉnh" counts into "UBND tỉnh Hòa An" and "Thanh tra tỉnh" into "Thanh tra tỉnh Hòa
    An"; with two longer names ("UBND huyện Thăng Bình", "UBND huyện Quế Sơn") it stays as it is.
    """
    bodies = [name for name in kind if kind[name] == "organization"]
    longer = {}
    for short in bodies:
        names = [name for name in bodies if name.startswith(short + " ")]
        if len(names) == 1:
            longer[short] = names[0]
    return longer


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
    # an initial keeps its dot ("Đỗ Văn K."); a name has no other punctuation at its ends, and a
    # bracket or a dash alone is no word of it ("Công ty Dịch vụ kỹ thuật dầu khí (PTSC)")
    words = [w.strip(_PUNCT) + "." * _ends_in_initial(w.strip(_PUNCT_BUT_DOT)) for w in span]
    words = [w for w in words if w]
    capitalised = [i for i, w in enumerate(words) if w[:1].isupper()]
    if not capitalised:
        return []
    last = capitalised[-1]
    # a head written with its field in lower case: "Viện khoa học hình sự Bộ công an"
    while last + 1 < len(words) and words[last] in ORG_HEADS and _is_head_in_lower(words[last + 1]):
        last += 1
    first = capitalised[0]
    glued = words[first - 1].split(" ")[-1] if first else ""  # "tham quan Bà" + "Nà"
    words = [glued] * (glued in ADDRESS_FORMS) + words[first : last + 1]
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


def _is_head_in_lower(word: str) -> bool:
    """Whether a lower-case word is a body's head or field ("công an", "y tế") after a head."""
    return word.islower() and (word[:1].upper() + word[1:] in ORG_HEADS or _field_words(word))


def _is_body(words: Sequence[str]) -> bool:
    """Whether words begin like a public body or company ("Sở", "Viện kiểm sát").

    A head ends a word of underthesea's or goes on in lower case within it ("Viện kiểm sát",
    "Ban chấp hành"): "Bộ trưởng" is a title and "Hội An", "Đài Loan", "Trường Sơn" are places,
    though they begin with a head; an acronym ("TAND", "ĐH") begins no place. "Hội" in lower-case
    compounds names meetings, halls and members ("Hội nghị", "Hội trường", "Hội viên"), an
    association only with a capitalised field ("Hội Nông dân") or as "Hội đồng".
    """
    if not words or words[0] in TITLES:
        return False
    first = words[0].split(" ")
    syllables = " ".join(words).split(" ")
    for n in (1, 2, 3):
        head = " ".join(syllables[:n])
        rest = " ".join(first[n:])
        meeting = head == "Hội" and words[0] not in BODY_HEADS and not _field_words(rest)
        goes_on = rest.islower() and not meeting
        # an acronym's head glued to a name is a body too: "TAND Bà Rịa", "ĐH Huế"
        if head in ORG_HEADS and (len(first) <= n or goes_on or head.isupper()):
            return True
    return False


class _Body(NamedTuple):
    """A public body the rules find in a sentence: its words' range, and those of its places."""

    start: int
    end: int
    places: tuple[int, ...]


def _bodies(words: Sequence[str], pos: Sequence[str]) -> list[_Body]:
    """The public bodies a sentence's words (with their parts of speech) name, each the longest
    from where it begins."""
    found = []
    i = 0
    while i < len(words):
        body = None if i and words[i - 1].lower() in BUILT_WORDS else _body_at(words, pos, i)
        found += [body] if body else []
        i = body.end if body else i + 1
    return found


def _body_at(words: Sequence[str], pos: Sequence[str], i: int) -> _Body | None:
    """The public body whose name begins at words[i]: head, field, unit and place, or None.

    "Sở Tài nguyên và Môi trường tỉnh Bình Dương", "Văn phòng UBND tỉnh", "Ban Quản lý dự án
    đầu tư xây dựng khu vực", "Công an quận 1"; never in lower case ("các sở", "phòng").
    """
    found = _head(words, i)
    if found is None:
        return None
    head, j, field = found
    places: list[int] = []
    only_places = not field  # "Đội Thừa Thiên Huế" is a team, "Công an Hà Nội" a body
    while j < len(words) and not _is_unit_word(words[j]):
        word = _unjoined(words[j]) if field else words[j]  # "và Xã hội" is one word
        if word == "Vì":  # "for" and what the body is for, in lower case
            run = _purpose_run(words, pos, j + 1)
            if not run:
                return None
            j += run
            only_places = False
        elif _is_field_name(word):
            inner = _body_at(words, pos, j)  # the body it belongs to: "Văn phòng" + "UBND tỉnh"
            if inner is not None:
                return _Body(i, inner.end, (*places, *inner.places))
            places += [j] if _is_place(word) else []
            only_places = only_places and _is_place(word)
        elif field and _is_joined_field(words, j):
            j += 1  # "và", "-", "," then a capitalised field: "Sở Kế hoạch và Đầu tư"
        elif field and word == "về" and j + 1 < len(words) and _field_words(words[j + 1]):
            j += 1  # "Phòng Cảnh sát điều tra tội phạm về ma túy"
        else:
            # "VKS tối cao": a court's or a procuracy's level may follow its head in lower case
            lower = field or (head in UNIT_HEADS and word not in VERB_FIELDS)
            run = _field_run(word, words[j + 1 : j + 3]) if lower else 0
            run = run or (_noun_run(words, pos, j) if field else 0)
            if not run:
                break
            j += run - 1  # "hành chính" + "công" of "Trung tâm Phục vụ hành chính công"
        field = True
        j += 1
    # "Bộ Công an điều tra mở rộng": a verb ends a name only before its unit or a name, or
    # after a join, which makes it a field ("Bộ Kế hoạch và đầu tư cấp giấy phép")
    while j > i + 1 and words[j - 1] in VERB_FIELDS | {"về"}:
        if j < len(words) and (_is_unit_word(words[j]) or words[j][:1].isupper()):
            break
        if words[j - 2] in FIELD_JOINS:
            break
        j -= 1
    while j > i + 1 and words[j - 1] in FIELD_JOINS | PURPOSE_JOINS:
        j -= 1  # a name never ends on a join
    unit = j < len(words) and _is_unit_word(words[j])
    if unit:
        j += 1
        # one place, or two joined by a dash ("tỉnh Bà Rịa - Vũng Tàu"); no official's name
        end = j  # a dash with no place after it is no part of the name
        for _ in range(2):
            if j == len(words) or _head(words, j) is not None:
                break
            word = words[j]
            if not (_is_field_name(word) and (word.istitle() or word.isupper()) or word.isdigit()):
                break  # "huyện Hàm Tân" but not "Hàm Tân nhận", one of underthesea's words
            places.append(j)
            j += 1
            end = j
            if j + 1 >= len(words) or words[j] not in {"-", "–"} or not words[j + 1][:1].isupper():
                break
            j += 1
        j = end
    if head in FIELD_HEADS and only_places:
        return None
    named = field or (unit and head in UNIT_HEADS)
    return _Body(i, j, tuple(places)) if named else None


@cache
def _heads_longest_first() -> tuple[str, ...]:
    """The heads of bodies' names, longest first."""
    return tuple(sorted(BODY_HEADS, key=len, reverse=True))


def _head(words: Sequence[str], i: int) -> tuple[str, int, bool] | None:
    """The head of a body's name at words[i], the index of the word after it, and whether that
    word of underthesea's went on with a field ("Viện kiểm sát nhân dân tối cao"), or None."""
    if not words[i][:1].isupper():
        return None
    for k in (3, 2, 1):
        if i + k <= len(words) and " ".join(words[i : i + k]) in BODY_HEADS:
            return " ".join(words[i : i + k]), i + k, False
    for head in _heads_longest_first():
        if words[i].startswith(head + " ") and _field_words(words[i][len(head) + 1 :]):
            return head, i + 1, True
    return None


def _is_unit_word(word: str) -> bool:
    """Whether a word names an administrative unit ("tỉnh", "TP", "phường") before its place."""
    return word.lower() in UNIT_WORDS


def _is_field_name(word: str) -> bool:
    """Whether a word may be part of a body's field or place: capitalised, no title or person.

    A family name and a given name are a person ("Bộ Ngoại giao Lê Dũng"), unless a place.
    """
    parts = word.split(" ")
    person = parts[0] in SURNAMES and len(parts) > 1 and word.istitle() and not _is_place(word)
    glued = len(parts[0]) > 1 and parts[0].isupper() and not word.isupper()  # "TPHCM hồi"
    return word[:1].isupper() and word not in TITLES | ADDRESS_FORMS and not (person or glued)


def _unjoined(word: str) -> str:
    """A word of underthesea's without the joining word it begins with ("và Xã hội")."""
    for join in ("và ", "- ", "– "):
        word = word.removeprefix(join)
    return word


def _is_joined_field(words: Sequence[str], j: int) -> bool:
    """Whether words[j] joins two parts of a field ("và", "-"; "," only in a list ending "và").

    "Sở Văn hóa, Thể thao và Du lịch" is one body; "Sở Nội vụ, Sở Tài chính" are two.
    """
    if words[j] not in FIELD_JOINS or j + 1 >= len(words):
        return False
    following = words[j + 1]
    if any(following == h or following.startswith(h + " ") for h in BODY_HEADS):
        return False  # "Bộ Công an và Bộ Tư lệnh Bộ đội Biên phòng" are two
    if words[j] != "," and _field_words(following):
        return True  # "Sở Tài nguyên và môi trường", "Bộ Khoa học - công nghệ"
    if not _is_field_name(following) or (following.isupper() and words[j] != "-"):
        return False  # "Bộ Y tế và VVAF" are two
    return words[j] != "," or (j + 2 < len(words) and words[j + 2].split(" ")[0] == "và")


def _purpose_run(words: Sequence[str], pos: Sequence[str], j: int) -> int:
    """How many words from words[j] on say what a body is for, after its "Vì" (0 if none)."""
    if j >= len(words) or pos[j] not in {"N", "Nc"} or not words[j].islower():
        return 0
    k = j
    while k < len(words) and words[k].islower() and words[k] not in PASSIVES:
        if pos[k] not in PURPOSE_POS and words[k] not in PURPOSE_JOINS:
            break
        k += 1
    ends = k == len(words) or not words[k][:1].islower() or pos[k] in NAME_END_POS
    return k - j if ends and words[k - 1] not in PURPOSE_JOINS else 0


def _noun_run(words: Sequence[str], pos: Sequence[str], j: int) -> int:
    """How many lower-case nouns from words[j] on go on a capitalised field, up to its unit or
    a capitalised word (0 if none): "Hội Liên hiệp thanh niên thành phố Huế", "Bệnh viện Chấn
    thương chỉnh hình TP HCM", "Đại học Tài chính quốc tế Thương mại và Kinh tế Ba Lan"."""
    k = j
    while k < len(words) and words[k].islower() and pos[k] in NOUN_POS:
        if _is_unit_word(words[k]):
            break
        k += 1
    if k == len(words) or _head(words, k) is not None or _is_number_or_letter(words[k]):
        return 0  # "Công ty Thương mại kỹ thuật điện tử Công ty TNHH ...", "ĐH Thăng Long khối A"
    return k - j if _is_unit_word(words[k]) or _is_field_name(words[k]) else 0


def _field_run(word: str, following: Sequence[str]) -> int:
    """How many words, from this one on, are together a field in lower case (0 if none)."""
    for n in range(len(following) + 1, 0, -1):
        if _field_words(" ".join([word, *following[: n - 1]])):
            return n
    return 0


def _field_words(text: str) -> bool:
    """Whether lower-case text is made only of FIELD_WORDS ("dự án đầu tư xây dựng")."""
    syllables = text.split(" ")
    at = 0
    while at < len(syllables):
        for n in (4, 3, 2, 1):
            if " ".join(syllables[at : at + n]) in FIELD_WORDS:
                at += n
                break
        else:
            return False
    return bool(text)


@cache
def _is_place(word: str) -> bool:
    """Whether a word is a place of the address table or a province ("Hà Nội", "TP.HCM")."""
    return word in place_names() or bool(province_mentions(word))
