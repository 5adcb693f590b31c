"""Who a praise or criticism sentence praises or criticises, and who hands it out or decides it.

Rules on Vietnamese syntax over underthesea's words and parts of speech (nlp.entities): the one
praised is the object of "trao/tặng <honour> cho", "biểu dương", "khen thưởng", or the subject of
"được/nhận <honour>"; the one criticised is the object of "kỷ luật", "khởi tố", "bắt", the
subject of "bị <sanction>" or of a misconduct ("nhận hối lộ", "gây phiền hà"). The one who hands
out or decides is the subject of those giving and sanctioning verbs, the agent of "được/bị X
<verb>", or X of "theo quyết định của X". A person no rule places has no role: never a guess.
Criticism is of officials: one criticised must be shown in a public post ("cán bộ địa chính
xã", "Vụ phó", "Trung tá") by the sentences or by any sentence of their article, else a pupil or
a private broker who "vi phạm" would be named.
A criticism sentence that says a sanction was wrongful or is disputed ("bắt oan", "việc khởi tố
bà T. ... là không đúng", "bị kỷ luật vì đã viết đơn", "hủy quyết định buộc thôi việc") places
no one: its target was wronged, and its decider dealt out no deserved sanction. Read together
(roles), such a sentence of the sentences or of their article makes the whole text place no one:
"Công an Cát Tiên bắt Trần Minh Huế" beside "thủ quỹ và kế toán trưởng đã bị bắt oan" names the
wronged one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from nlp.entities import tag_sentence
from nlp.names import HONORIFICS
from nlp.text import normalize

SUBJECT = "subject"  # the one praised or criticised
AGENT = "agent"  # the one who hands out the praise, or orders or decides the sanction

# Honours handed out: "trao/tặng" counts only with one of these (gifts to the poor are no praise).
HONOURS = (
    "bằng khen", "giấy khen", "huân chương", "huy chương", "danh hiệu", "cờ thi đua",
    "kỷ niệm chương", "thư khen", "phần thưởng", "giải thưởng", "bằng công nhận", "khen thưởng",
    "tuyên dương", "biểu dương", "vinh danh",
)  # fmt: skip
# Verbs whose object is the one praised ("biểu dương ông Thành").
PRAISING = (
    "biểu dương", "tuyên dương", "khen ngợi", "khen thưởng", "khen", "vinh danh", "ghi nhận",
    "đánh giá cao",
)  # fmt: skip
# Verbs whose subject hands out praise: giving (with an honour in the clause) or praising.
GIVING = ("trao tặng", "trao", "tặng", "ký quyết định", "gửi thư khen", *PRAISING)
# Passive or receiving before an honour: the subject is the one praised.
RECEIVING = ("được", "nhận", "đón nhận", "vinh dự")
# Sanctions: their object is the one criticised, their subject (or agent) decides them.
SANCTIONS = (
    "kỷ luật", "khiển trách", "cảnh cáo", "cách chức", "cách hết các chức vụ", "bãi nhiệm",
    "miễn nhiệm", "giáng chức", "khai trừ", "tạm đình chỉ", "đình chỉ", "buộc thôi việc",
    "cho thôi việc", "sa thải", "phê bình", "xử lý", "xử phạt", "phạt", "khởi tố",
    "truy tố", "bắt tạm giam", "bắt khẩn cấp", "bắt giam", "bắt giữ", "bắt", "tạm giam",
    "truy nã", "tuyên phạt", "kết án", "xét xử", "điều chuyển", "thu hồi",
)  # fmt: skip
# Verbs whose subject orders or decides, when what is ordered is a sanction or a rectification
# ("ký quyết định kỷ luật", "yêu cầu ... chấn chỉnh"): an official who "chỉ đạo cấp dưới lập
# khống" or "ký hợp đồng" sai is the one criticised.
DECIDING = (
    "ký quyết định", "ra quyết định", "quyết định", "ký", "chỉ đạo", "yêu cầu", "kết luận",
    "kiến nghị", "đề nghị", "ra lệnh", "ban hành",
)  # fmt: skip
# Not "khắc phục": the remedy a misconduct made needed ("... phải bỏ thêm tiền khắc phục hậu quả").
RECTIFYING = (*SANCTIONS, "kiểm điểm", "chấn chỉnh", "làm rõ trách nhiệm")
# Misconduct: its subject is the one criticised (never its object: that is the victim).
MISCONDUCT = (
    "tham ô", "tham nhũng", "nhận hối lộ", "đòi hối lộ", "đưa hối lộ", "vòi tiền", "đòi tiền",
    "vòi vĩnh", "lợi dụng", "lạm dụng", "chiếm đoạt", "gây phiền hà", "gây khó khăn",
    "nhũng nhiễu", "sách nhiễu", "hạch sách", "vi phạm", "cố ý làm trái", "làm trái",
    "thiếu trách nhiệm", "buông lỏng", "né tránh", "đùn đẩy", "tắc trách", "sai phạm",
    "có sai phạm", "có hành vi", "tự ý", "làm giả", "giả mạo", "ăn chặn", "bớt xén", "tư lợi",
    "thông đồng", "móc ngoặc", "câu kết", "tiếp tay", "bao che", "nhận tiền",
    # owning up: "ông K. thừa nhận khuyết điểm", "ông A đã kiểm điểm không trung thực"
    "thừa nhận", "nhận sai", "nhận khuyết điểm", "nhận lỗi", "kiểm điểm",
)  # fmt: skip
# A sentence that says a sanction or accusation was wrongful or is disputed: "oan" (bắt oan, tù
# oan, kêu oan, minh oan, "không oan sai"; not "chết oan", a needless death), an apology or
# honour restored ("được xin lỗi", "xin lỗi công khai", "khôi phục danh dự"), reprisal ("trù
# dập", "bị kỷ luật vì đã viết đơn tố cáo"), a sanction annulled ("hủy quyết định buộc thôi
# việc"), or judged wrong ("kỷ luật sai", "việc khởi tố bà T. ... là không đúng", "lý do buộc thôi
# việc ... là hết sức mơ hồ, trái pháp luật"). Its target is not the one criticised, nor is the
# one who decided it the one who dealt out a deserved sanction: such a sentence places no one.
_SANCTION = "|".join(re.escape(s) for s in sorted(SANCTIONS, key=len, reverse=True))
_WRONG = r"oan|sai(?! phạm| sót| lệch)|trái pháp luật|không đúng|chưa đúng|không có căn cứ"
WRONGFUL = re.compile(
    rf"(?<!\w)(?:(?<!chết )(?<!mất )oan|trù dập|trả thù|vu khống|vu cáo"
    rf"|(?:khôi phục|phục hồi) danh dự|được xin lỗi|xin lỗi công khai|công văn xin lỗi"
    rf"|(?:vì|do|chỉ vì|sau khi) (?:đã |dám )?(?:viết đơn|làm đơn|gửi đơn|tố cáo|tố giác|khiếu nại|"
    rf"phản ánh)"
    rf"|hủy(?: bỏ)?(?: quyết định| bản án| biện pháp| lệnh)? (?:{_SANCTION})"
    rf"|(?:{_SANCTION}) (?:{_WRONG})"
    rf"|(?:việc|quyết định|lý do) [^;:]*(?<!\w)(?:{_SANCTION})(?!\w)[^;:]* là "
    rf"(?:[^;:,]*, )?(?:hoàn toàn )?(?:{_WRONG}))(?!\w)"
)
# Nouns before "của X" that make X the one who decided ("theo quyết định của X").
DECISION_NOUNS = ("quyết định", "chỉ đạo", "kết luận", "chỉ thị", "công văn", "thư khen")
# Nouns before "của X" that make X the one criticised ("sai phạm của ông A").
FAULT_NOUNS = ("sai phạm", "vi phạm", "khuyết điểm", "hành vi")
# Words an adverb slot may hold between a subject and its verb.
ADVERBS = {
    "đã", "vừa", "mới", "cũng", "đang", "sẽ", "còn", "vẫn", "lại", "từng", "đều", "liền", "phải",
    "liên tục", "nhiều lần", "thường xuyên",
}  # fmt: skip
LOWER_TITLES = {"nguyên", "cựu", "đồng chí", "bị cáo", "bị can"}
# What shows a person in a public post, in the words before their name or the appositive after
# it: one criticised must hold one ("cán bộ địa chính xã", "Trung tá", "Vụ phó"), for a pupil
# or a private broker who "vi phạm" is no official at fault. An office public by itself:
OFFICES = (
    "cán bộ", "công chức", "viên chức", "chuyên viên", "quan chức", "đảng viên", "đại biểu",
    "ủy viên", "bí thư", "thủ tướng", "bộ trưởng", "thứ trưởng", "vụ trưởng", "vụ phó",
    "cục trưởng", "cục phó", "chánh án", "chánh thanh tra", "tổng thanh tra", "thanh tra viên",
    "kiểm sát viên", "thẩm phán", "hội thẩm", "thư ký tòa", "chấp hành viên", "điều tra viên",
    "trinh sát", "cảnh sát", "csgt", "công an", "công an viên", "kiểm lâm", "hải quan",
    "bộ đội", "quân nhân", "sĩ quan", "đb", "địa chính", "trưởng thôn", "trưởng ấp", "trưởng bản",
    "hiệu trưởng", "hiệu phó", "quản giáo", "giám thị", "đại sứ", "lãnh sự",
    "đại tướng", "thượng tướng", "trung tướng", "thiếu tướng", "đại tá", "thượng tá",
    "trung tá", "thiếu tá", "đại úy", "thượng úy", "trung úy", "thiếu úy", "thượng sĩ",
    "trung sĩ", "hạ sĩ",
)  # fmt: skip
# A post that is public only in a public body ("Phó giám đốc Bưu điện tỉnh", not "Giám đốc Công
# ty"): a head or member, and the body.
HEADS = (
    "giám đốc", "trưởng", "phó", "chánh", "chủ tịch", "chủ nhiệm", "kế toán", "thủ quỹ",
    "thủ kho", "nhân viên", "thành viên", "lãnh đạo", "cán sự", "văn thư",
)  # fmt: skip
BODIES = (
    "ubnd", "ủy ban nhân dân", "hđnd", "hội đồng nhân dân", "sở", "cục", "chi cục", "tổng cục",
    "vụ", "bộ", "viện kiểm sát", "vks", "vksnd", "tòa án", "tand", "thanh tra", "kho bạc",
    "bưu điện", "điện lực", "ban quản lý", "bql", "pmu", "thuế", "quản lý thị trường", "qltt",
    "tỉnh ủy", "thành ủy", "huyện ủy", "quận ủy", "đảng ủy", "mặt trận", "mttq", "xã", "phường",
    "thị trấn", "huyện", "quận", "tỉnh", "thành phố", "tp", "nhà nước", "chính phủ",
    "quốc hội", "bệnh viện", "biên phòng", "quân khu", "thôn", "ấp", "tổng công ty", "ngân hàng",
)  # fmt: skip
# A firm's post is none, whatever place it names ("Giám đốc Công ty Phong Phú TP HCM"), unless
# the firm is the state's ("Tổng giám đốc Tổng công ty Hàng hải VN", a state corporation); a
# private one's never.
FIRMS = ("công ty", "cty", "doanh nghiệp", "tập đoàn", "hợp tác xã", "htx")
STATE_FIRMS = ("nhà nước", "quốc doanh", "tổng công ty")
PRIVATE = ("tnhh", "cổ phần", "tmcp", "dntn", "tư nhân", "hđqt", "hội đồng quản trị", "liên doanh")
# An abuse of office shows the post: "Sầm Trung lợi dụng chức vụ, quyền hạn"; so does a charge of
# it right after the name and its bracket ("tạm giam ... Lê Văn Nhựt (...) về tội lợi dụng chức vụ
# quyền hạn"), not after a list, which may hold a private accomplice.
ABUSE = re.compile(r"(?:lợi dụng|lạm dụng) (?:chức vụ|quyền hạn|chức quyền)(?!\w)")
CHARGE = re.compile(rf"về (?:các |hai )?(?:tội|hành vi) {ABUSE.pattern}")
# Offices that also name a body: an appositive that begins with one is a new clause's subject
# ("bắt Trần Văn A, Công an tỉnh X khởi tố"), not a post.
FORCES = ("công an", "cảnh sát", "csgt", "hải quan", "kiểm lâm", "bộ đội", "biên phòng")
JOINS = {",", "và", "cùng", "cùng với"}
_ADDRESS = "|".join(sorted(HONORIFICS))
WINDOW = 12  # words an appositive or an agent between "được/bị" and its verb may hold
# Words a bracket may hold: "(nguyên giám đốc chi nhánh Ngân hàng đầu tư - phát triển Phú Yên)".
BRACKET = 30
# An article's mention of a person is read for their post in this many characters each side.
CONTEXT = 200
TAGGED = 20  # windows with a post's word tagged per person (about 13 ms each)
# An article is read for a wrongful sanction in pieces of at most this many characters: WRONGFUL's
# "việc ... là sai" takes time as the cube of a piece's length (0.07 s for 4,000 characters).
PIECE = 1_000
# A sentence is read for roles in its first this many characters: crawled text can hold a
# paragraph with no stop, and the rules take time as the square of its length where a name
# repeats (bench/roles.py); a role is given near the name, and real sentences are shorter.
SENTENCE_CHARS = 2_000
_BREAK = re.compile(r"\n|(?<=[.!?…;])\s+")


def mention_spans(name: str, sentence: str) -> list[tuple[int, int]]:
    """Where a sentence names a person: the whole name, or a form of address and given name."""
    given = re.escape(name.rsplit(" ", 1)[-1])
    whole = rf"{re.escape(name)}|(?i:{_ADDRESS}) {given}"
    return [m.span() for m in re.finditer(rf"(?<!\w)(?:{whole})(?!\w)\.?", sentence)]


def _starts(text: str, phrases: Iterable[str]) -> str | None:
    """The phrase (longest first) the lower-case text begins with, as whole words."""
    for phrase in sorted(phrases, key=len, reverse=True):
        if re.match(rf"{re.escape(phrase)}(?!\w)", text):
            return phrase
    return None


def _ends(text: str, phrases: Iterable[str]) -> bool:
    """Whether the lower-case text ends with one of the phrases, as whole words."""
    return any(re.search(rf"(?<!\w){re.escape(p)}\s*$", text) for p in phrases)


def _holds(text: str, phrases: Iterable[str]) -> bool:
    """Whether the lower-case text holds one of the phrases, as whole words."""
    return any(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text) for p in phrases)


class _Sentence:
    """A sentence as underthesea's words, parts of speech and offsets, with its persons' words."""

    def __init__(self, sentence: str, people: Sequence[str]) -> None:
        self.lower = sentence.lower()
        tagged = tag_sentence(sentence)
        self.words = [w for w, *_ in tagged]
        self.pos = [p for _, p, *_ in tagged]
        self.starts: list[int] = []
        at = 0
        for word in self.words:
            found = sentence.find(word, at)
            self.starts.append(found if found >= 0 else at)
            at = self.starts[-1] + len(word) if found >= 0 else at
        self.ends = [s + len(w) for s, w in zip(self.starts, self.words, strict=True)]
        self.owner: dict[int, str] = {}  # word index -> the person it names
        self.mentions: dict[str, list[tuple[int, int]]] = {}  # person -> word ranges
        for name in people:
            for start, end in mention_spans(name, sentence):
                span = [i for i in range(len(self.words)) if self.starts[i] < end
                        and self.ends[i] > start]  # fmt: skip
                if span and not any(i in self.owner for i in span):
                    self.owner.update(dict.fromkeys(span, name))
                    self.mentions.setdefault(name, []).append((span[0], span[-1] + 1))

    def nominal(self, i: int) -> bool:
        """Whether word i may be part of a noun phrase naming a person (title, unit, name)."""
        word, pos = self.words[i], self.pos[i]
        return (
            i in self.owner
            or pos.startswith("N")
            or pos == "M"
            or word[:1].isupper()
            or word.lower() in LOWER_TITLES
            or " ".join(self.words[i : i + 2]).lower() in OFFICES  # "thiếu" (a verb) "úy"
        )

    def group_end(self, i: int) -> int:
        """The index after a bracketed group opening at i, or i when none opens there."""
        if self.words[i] != "(":
            return i
        for j in range(i + 1, min(len(self.words), i + BRACKET)):
            if self.words[j] == ")":
                return j + 1
        return i

    def after(self, end: int) -> int:
        """The word after a person's mention, its appositive, fellow persons and adverbs."""
        i = end
        while i < len(self.words):
            closed = self.group_end(i)
            if closed != i:  # "(nguyên phó phòng ...)"
                i = closed
            elif self.words[i] in {",", "-", "–"} and self.appositive_end(i + 1) > i + 1:
                i = self.appositive_end(i + 1)
            elif self.listed(i) or i in self.owner or self.person_follows(i):
                i += 1  # "A, B và C", a fellow person's title and name
            else:
                break
        while i < len(self.words) and self.words[i].lower() in ADVERBS:
            i += 1
        return i

    def near(self, end: int) -> int:
        """The word after a person's mention and its bracket or appositive, fellow persons not
        skipped."""
        if end < len(self.words) and self.group_end(end) != end:
            return self.group_end(end)
        if end < len(self.words) and self.words[end] in {",", "-", "–"}:
            return max(end, self.appositive_end(end + 1))
        return end

    def listed(self, i: int) -> bool:
        """Whether word i joins persons of one list: "và", "cùng", or a comma in a list that
        ends with them ("A, B và C"): a comma alone may end a clause ("cho chị Ánh, ông X ...")."""
        word = self.words[i].lower()
        if word not in JOINS or not self.person_follows(i + 1):
            return False
        if word != ",":
            return True
        j = i + 1
        while j < len(self.words) and (self.nominal(j) or self.words[j] == ","):
            j = max(self.group_end(j), j + 1)
        return j < len(self.words) and self.words[j].lower() in JOINS - {","}

    def person_follows(self, i: int) -> bool:
        """Whether a noun phrase naming a person begins at word i."""
        j = i
        while j < len(self.words) and j - i < WINDOW and self.nominal(j):
            if j in self.owner:
                return True
            j += 1
        return False

    def appositive_end(self, i: int) -> int:
        """The word after ", Chủ tịch UBND xã Mỹ Lộc," (its closing comma eaten) or "- Giám đốc
        Sở Y tế" (ended by a verb); i itself when no appositive begins at word i."""
        if i >= len(self.words) or not self.nominal(i) or i in self.owner:
            return i
        j = i
        while j < len(self.words) and j - i < WINDOW:  # up to a closing comma
            word = self.words[j]
            if word == ",":
                return j + 1
            if j in self.owner or word in {";", ":"} or self.stop_at(j):
                break
            j = max(self.group_end(j), j + 1)
        j = i
        while j < len(self.words) and j not in self.owner:  # a noun phrase, ended by a verb
            if self.words[j] in {"-", "–"} and j + 1 < len(self.words) and self.nominal(j + 1):
                j += 1
            elif self.group_end(j) != j:
                j = self.group_end(j)
            elif self.nominal(j):
                j += 1
            else:
                break
        if j < len(self.words) and self.words[j] in {",", "-", "–"}:
            return j + 1
        return j if j < len(self.words) and self.stop_at(j) else i

    def stop_at(self, i: int) -> bool:
        """Whether word i is an adverb, "được", "bị" or a verb the rules read."""
        return self.words[i].lower() in ADVERBS | {"được", "bị"} or self.trigger_at(i)

    def trigger_at(self, i: int) -> bool:
        """Whether a giving, sanctioning or misconduct verb begins at word i."""
        rest = self.lower[self.starts[i] :]
        return bool(_starts(rest, (*GIVING, *DECIDING, *SANCTIONS, *MISCONDUCT, *RECEIVING)))

    def before(self, start: int) -> int:
        """The word before a person's noun phrase (title, fellow persons); -1 at the start."""
        i = start - 1
        while i >= 0:
            if self.words[i] == ")":
                opening = next((k for k in range(i - 1, max(-1, i - BRACKET), -1)
                                if self.words[k] == "("), None)  # fmt: skip
                if opening is None:
                    break
                i = opening - 1
            elif self.nominal(i) or (
                (i - 1 in self.owner or self.words[i - 1] == ")") and self.listed(i)
            ):
                i -= 1  # "ông Lê Cuổi (nguyên chủ tịch UBND xã) và Lê Văn Nhựt"
            else:
                break
        return i

    def titled(self, i: int) -> bool:
        """Whether word i may be part of a title: a noun phrase's word, or "phó" ("Vụ phó"),
        which underthesea may tag apart."""
        return self.nominal(i) or self.words[i].lower() in {"phó", "trưởng"}

    def title(self, span: tuple[int, int]) -> str:
        """The lower-case words that give a mention's title or post: those of its noun phrase
        before the name, up to another person or a join ("đại úy", "Phó giám đốc Bưu điện tỉnh
        Thái Nguyên"), and the bracket or appositive after it that opens with a post (", Chủ
        tịch UBND xã Mỹ Lộc,", "(nguyên phó phòng ...)")."""
        i = span[0]
        while i > 0 and i - 1 not in self.owner:
            if self.words[i - 1] == ")":  # "Tổng công ty Hàng hải VN (Vinalines) Hà Đức Bàng"
                opening = [k for k in range(max(0, i - BRACKET), i - 1) if self.words[k] == "("]
                if not opening or any(k in self.owner for k in range(opening[-1], i)):
                    break
                i = opening[-1]
            elif self.titled(i - 1) and not self.stop_at(i - 1):  # "Công an khởi tố" is no title
                i -= 1
            else:
                break
        before = self.words[i : span[0]]
        j = k = span[1] + (
            span[1] < len(self.words) and self.words[span[1]] in {",", "-", "–", "là"}
        )
        while k < len(self.words) and k not in self.owner and self.titled(k):
            k = max(self.group_end(k), k + 1)
        if j < len(self.words) and self.group_end(j) != j:  # "(trú ở ...) - nguyên thiếu tá"
            k = self.group_end(j)
            if k < len(self.words) and self.words[k] in {",", "-", "–"}:
                return self.title((span[0], k))
        after = " ".join(self.words[j:k]).lower().strip("( ")
        after = re.sub(r"^(?:nguyên|cựu|là|đương kim) ", "", after)
        opens = _starts(after, (*OFFICES, *HEADS)) and not _starts(after, FORCES)
        return " ".join([*before, *(self.words[j:k] if opens else [])]).lower()

    def clause_before(self, i: int) -> str:
        """The lower-case text of the clause up to and with word i (from the last ; or :)."""
        text = self.lower[: self.ends[i]]
        return re.split(r"[;:]", text)[-1]

    def rest(self, i: int) -> str:
        """The lower-case text from word i to the end of its clause."""
        return re.split(r"[;:]", self.lower[self.starts[i] :])[0] if i < len(self.words) else ""


def _role(s: _Sentence, span: tuple[int, int], label: str) -> str | None:
    """The role one mention has in a sentence about label, or None."""
    g = s.before(span[0])
    h = s.after(span[1])
    left = s.clause_before(g) if g >= 0 else ""
    right = s.rest(h)
    if label == "praise":
        return _praise_role(left, right)
    if label == "criticism":
        return _criticism_role(left, right)
    return None


def _praise_role(left: str, right: str) -> str | None:
    """The role in a praise sentence from the text before a person's noun phrase and after it."""
    if _ends(left, ("được", "bị")) and _starts(right, GIVING):
        return AGENT  # "được Chủ tịch UBND tỉnh Lâm Quang Vinh tặng Bằng khen"
    if _ends(left, ("cho",)) and _holds(left.rsplit(",", 1)[-1], HONOURS):
        return SUBJECT  # "trao Bằng khen cho chị Ánh"
    if _ends(left, PRAISING):
        return SUBJECT  # "biểu dương ông Thành"
    if _ends(left, tuple(f"{n} của" for n in DECISION_NOUNS)) and _holds(left, HONOURS):
        return AGENT  # "thư khen của Chủ tịch nước X"
    receiving = _starts(right, RECEIVING)
    if receiving and _holds(right[len(receiving) :].split(",")[0], HONOURS):
        return SUBJECT  # "chị Ánh vừa được Chủ tịch UBND tỉnh tặng Bằng khen"
    giving = _starts(right, GIVING)
    if giving in PRAISING:
        return AGENT  # "Chủ tịch UBND tỉnh Lâm Quang Vinh ghi nhận chị ..."
    if giving and _holds(right[len(giving) :].split(";")[0], HONOURS):
        return AGENT  # "Phó Thủ tướng X trao tặng danh hiệu Anh hùng Lao động cho ..."
    return None


def _criticism_role(left: str, right: str) -> str | None:
    """The role in a criticism sentence from the text before a person's noun phrase and after."""
    if _ends(left, ("bị",)) and _starts(right, SANCTIONS):
        return AGENT  # "bị Chủ tịch UBND huyện X kỷ luật"
    if _ends(left, SANCTIONS) or (_ends(left, ("đối với",)) and _holds(left, SANCTIONS)):
        return SUBJECT  # "kỷ luật khiển trách ông A", "khởi tố bị can đối với ông A"
    if re.search(rf"(?<!\w)(?:{_SANCTION})(?: vụ án| bị can| hình sự)* với\s*$", left):
        return SUBJECT  # "khởi tố bị can với Phó giám đốc Bưu điện tỉnh ... Nguyễn Văn Vinh"
    if _ends(left, tuple(f"{n} của" for n in DECISION_NOUNS)) and _holds(left, RECTIFYING):
        return AGENT  # "theo quyết định kỷ luật của Chủ tịch UBND tỉnh X", not "làm theo sự
        # chỉ đạo của ông X" (the one who ordered the misconduct)
    if _ends(left, tuple(f"{n} của" for n in FAULT_NOUNS)):
        return SUBJECT  # "sai phạm của ông A"
    if _starts(right, ("bị",)) and _holds(right[2:].split(",")[0], SANCTIONS):
        return SUBJECT  # "ông Khải bị khởi tố", "ông K. bị kỷ luật khiển trách"
    if _starts(right, MISCONDUCT) and not _starts(right, ("thừa nhận rằng",)):
        return SUBJECT  # "ông K. đã gây phiền hà", "Sầm Trung lợi dụng chức vụ"; not "Thứ
        # trưởng X thừa nhận rằng tình trạng sao chép ... phải báo động", a fact acknowledged
    if _starts(right, SANCTIONS):
        return AGENT  # "Công an tỉnh X khởi tố", "Chủ tịch UBND xã X khiển trách ông A"
    deciding = _starts(right, DECIDING)
    if deciding and _holds(right[len(deciding) :], RECTIFYING):
        return AGENT  # "Thủ tướng X vừa ký quyết định kỷ luật", "Bộ trưởng X yêu cầu chấn chỉnh"
    return None


def in_office(title: str) -> bool:
    """Whether a mention's title (_Sentence.title) shows a public post: an office public by
    itself, or a head or member of a public body, not of a private firm."""
    if _holds(title, PRIVATE) or (_holds(title, FIRMS) and not _holds(title, STATE_FIRMS)):
        return False
    return _holds(title, OFFICES) or (_holds(title, HEADS) and _holds(title, BODIES))


def _placed(
    people: Sequence[str], sentence: str, label: str
) -> tuple[dict[str, set[str]], set[str]]:
    """The roles each person's mentions in a sentence get, and the persons it shows in office."""
    sentence = normalize(sentence)[:SENTENCE_CHARS]
    named = [p for p in people if mention_spans(p, sentence)]
    if label not in ("praise", "criticism") or not named:
        return {}, set()
    s = _Sentence(sentence, named)
    found = {name: {_role(s, span, label) for span in spans} for name, spans in s.mentions.items()}
    placed = {name: r - {None} for name, r in found.items()}
    return {name: r for name, r in placed.items() if r}, _office(s)


def _office(s: _Sentence) -> set[str]:
    """The persons a sentence shows in a public post (in_office) or abusing one (ABUSE), or
    charges right after their name with abusing one (CHARGE), a firm's post not shown."""
    return {
        name
        for name, spans in s.mentions.items()
        if any(
            in_office(s.title(sp))
            or ABUSE.match(s.rest(s.after(sp[1])))
            or (CHARGE.match(s.rest(s.near(sp[1]))) and not _holds(s.title(sp), FIRMS + PRIVATE))
            for sp in spans
        )
    }


def _article_office(name: str, people: Sequence[str], article: str) -> bool:
    """Whether any sentence of the (normalised) article shows the person in a public post: each
    mention is read in a window of its line (CONTEXT characters each side), and tagged only when
    the window holds a post's word, the first TAGGED such: a long article costs regex scans."""
    tagged = 0
    for start, end in mention_spans(name, article):
        line_start = article.rfind("\n", 0, start) + 1
        line_end = article.find("\n", end)
        line_end = len(article) if line_end < 0 else line_end
        window = article[max(line_start, start - CONTEXT) : min(line_end, end + CONTEXT)]
        lower = window.lower()
        if not (_holds(lower, (*OFFICES, *HEADS)) or ABUSE.search(lower)):
            continue
        tagged += 1
        if tagged > TAGGED:
            return False
        s = _Sentence(window, [p for p in people if mention_spans(p, window)])
        if name in _office(s):
            return True
    return False


def _pieces(article: str) -> Iterator[str]:
    """An article's sentences, cheaply: its lines cut after . ! ? … ; and into PIECE characters."""
    return (p[i : i + PIECE] for p in _BREAK.split(article) for i in range(0, len(p), PIECE))


def _kept(found: dict[str, set[str]], office: set[str], label: str) -> dict[str, str]:
    """Each person given one role; on a criticism text, the one criticised only if in office."""
    return {
        name: role
        for name, r in found.items()
        if len(r) == 1
        and ((role := next(iter(r))) != SUBJECT or label != "criticism" or name in office)
    }


def sentence_roles(people: Sequence[str], sentence: str, label: str) -> dict[str, str]:
    """Each person a sentence about label (praise, criticism) gives a role; the others left out.

    A person named twice with two roles in the sentence gets none; a criticism sentence that
    says a sanction was wrongful or is disputed (WRONGFUL) places no one, and names as the one
    criticised only a person it shows in a public post (in_office).
    """
    if wrongful([sentence], label):
        return {}  # "việc khởi tố bắt giam bà T. ... là không đúng", "bị kỷ luật vì ... tố cáo"
    return _kept(*_placed(people, sentence, label), label)


def wrongful(sentences: Iterable[str], label: str) -> bool:
    """Whether a criticism text says, in any of its sentences, that a sanction was wrongful or
    is disputed (WRONGFUL); each read in _pieces, so a sentence of 100,000 characters without a
    stop, which crawled text can hold, costs a second, not hours."""
    return label == "criticism" and any(
        WRONGFUL.search(piece.lower()) for s in sentences for piece in _pieces(normalize(s))
    )


def roles(
    people: Sequence[str], sentences: Iterable[str], label: str, article: str = ""
) -> dict[str, str]:
    """Each person the sentences about label give one role (SUBJECT or AGENT).

    A person given both roles in different sentences, or none, is left out: the card keeps
    them on its neutral line. On a criticism text, so is one criticised whom neither the
    sentences nor any sentence of the article (their whole text, when given) show in a public
    post (in_office: "cán bộ", "Vụ phó", "Phó giám đốc Sở"): a pupil or a private broker who
    "vi phạm" is no official at fault, while an official's post is often given only in the lead.
    A criticism text one sentence of which, or of whose article, says a sanction was wrongful or
    is disputed places no one: which of its sanctions was wrongful, the rules cannot tell ("thủ
    quỹ và kế toán trưởng đã bị bắt oan" names neither).
    """
    sentences = list(sentences)
    article = normalize(article) if label == "criticism" else ""
    if wrongful([*sentences, article], label):
        return {}
    found: dict[str, set[str]] = {}
    office: set[str] = set()
    for sentence in sentences:
        placed, shown = _placed(people, sentence, label)
        office |= shown
        for name, r in placed.items():
            if len(r) == 1:  # two roles in one sentence: none from it
                found.setdefault(name, set()).update(r)
    if label == "criticism":
        office |= {
            name
            for name, r in found.items()
            if r == {SUBJECT} and name not in office and _article_office(name, people, article)
        }
    return _kept(found, office, label)
