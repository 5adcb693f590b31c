"""What analysts read, in Vietnamese: label names, crawl errors and dates (one place for each)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from crawlers.dates import VN_TZ
from nlp.classify import RANGE_COVERS, MixPrecision
from pipelines.drift import FALLBACK, FEWER_LINKS, UNDATED, drift_kind

# The department's names for the three labels (its labeling guide): every page, sheet and
# notebook analysts read uses these, never the codes stored in the database.
LABEL_NAMES = {"criticism": "Phê phán", "praise": "Khen ngợi", "neutral": "Trung lập"}
# An article whose province was not found, shown so (not as an empty cell) wherever analysts read.
NO_PROVINCE = "Không xác định được tỉnh"
# The header of the model's score of the label it gave (0-1), in the workbook and the review
# sheet: it is not the chance that the label is right (few of its praise labels are).
# How stories are counted, said the same way by the digest and the workbook: labels are per
# article, so the copies of one story may carry different labels.
STORY_COUNTING = (
    "các bản đăng lại của một tin tính là một; tin có các bản đăng mang nhãn khác nhau được tính "
    "ở mỗi nhãn ấy, nhưng chỉ một lần ở tổng"
)
# The articles the models are measured on, and the labels people gave, in the words every page,
# sheet and notebook uses (the name explained once where it first appears).
TEST_SET = "bộ bài kiểm tra riêng"
TEST_SET_MEANS = "các bài đã được người đọc gán nhãn, không dùng khi huấn luyện hay chọn mô hình"
HUMAN_LABELS = "nhãn do người gán"

# The crawl's error counters (crawlers/failures.py, crawlers/spiders/profile.py) as a sentence
# an analyst understands; each is followed by the number of pages it hit.
ERROR_KINDS = {
    "dns": "không phân giải được tên miền",
    "connection_refused": "máy chủ từ chối kết nối",
    "timeout": "quá thời gian chờ máy chủ trả lời",
    "data_loss": "trang tải về bị đứt giữa chừng",
    "too_large": "trang quá lớn, đã bỏ qua",
    "robots_disallowed": "robots.txt của trang không cho phép thu thập",
    "redirect_loop": "trang chuyển hướng vòng quanh",
    "gzip_bomb": "tệp nén bất thường (quá lớn khi giải nén), đã bỏ qua",
    "xml_bomb": "tệp XML bất thường, đã bỏ qua",
    "bad_feed": "không đọc được RSS hoặc sitemap",
    "empty_body": "trang trống",
    "not_html": "không phải trang HTML",
    "empty_article": "trang bài viết không có nội dung",
    "encoding": "bảng mã không đọc được (VISCII, TCVN3...)",
    "ignored": "yêu cầu bị bỏ qua",
    "time_budget": "hết thời gian thu thập dành cho nguồn, để lại cho đêm sau",
    "storage": "không ghi được bài vào ổ đĩa (ổ đầy hoặc lỗi ghi), sẽ tải lại đêm sau",
    "item": "không ghi được bài vào tệp tạm (lỗi của chương trình, cần báo bộ phận kỹ thuật)",
}
HTTP_STATUSES = {
    403: "máy chủ từ chối truy cập",
    404: "không tìm thấy trang",
    410: "trang đã bị gỡ",
    429: "máy chủ giới hạn số lần truy cập",
}


def label_name(label: object) -> str:
    """A label's Vietnamese name; empty for an article the model has not labelled."""
    return LABEL_NAMES.get(label, "") if isinstance(label, str) else ""


def province_name(province: object) -> str:
    """A province's name; NO_PROVINCE for an article whose province was not found."""
    return province if isinstance(province, str) and province else NO_PROVINCE


def per_hundred(share: float) -> str:
    """A share as articles in a hundred ("khoảng 61", "chưa tới 1")."""
    return "chưa tới 1" if share < 0.005 else f"khoảng {round(share * 100)}"


def hundred_range(low: float, high: float) -> str:
    """A range of shares as articles in a hundred ("có thể từ 52 đến 69")."""
    start = "dưới 1" if low < 0.005 else str(round(low * 100))
    return f"có thể từ {start} đến {max(1, round(high * 100))}"


def trust_text(model_id: str, precision: dict[str, MixPrecision] | None) -> str:
    """How many of a model's praise and criticism labels are right, or that no one measured it."""
    if precision is None:
        return (
            f"Mô hình {model_id} chưa được đo trên {TEST_SET} ({TEST_SET_MEANS}): "
            "chưa biết bao nhiêu nhãn của nó là đúng."
        )
    names = {label: LABEL_NAMES[label].lower() for label in ("criticism", "praise")}
    said = [
        f"cứ 100 bài nó gán nhãn {name} thì {per_hundred(precision[label].estimate)} bài đúng là "
        f"{name} ({hundred_range(precision[label].low, precision[label].high)})"
        for label, name in names.items()
    ]
    return (
        f"Độ tin cậy ước tính của mô hình này, đo trên {TEST_SET} ({TEST_SET_MEANS}) và quy về "
        f"tỉ lệ bài thực tế mỗi đêm: {'; '.join(said)}. Khoảng trong ngoặc chứa con số thật với "
        f"xác suất {round(RANGE_COVERS * 100)}%; nó rộng khi con số dựa trên ít bài có "
        f"{HUMAN_LABELS} (bài khen ngợi rất hiếm)."
    )


def review_text(
    label: object, analyst_label: object, reviewer: str = "", labelled_at: object = None
) -> str:
    """Whether an analyst confirmed the model's label or changed it (from what), in a sentence,
    with the analyst's name and the day when given; empty for an article no analyst reviewed."""
    if not isinstance(analyst_label, str):
        return ""
    who = f"phân tích viên {reviewer}".strip()
    day = day_text(labelled_at)
    when = f" ngày {day}" if day else ""
    if analyst_label == label:
        return f"Đã được {who} xác nhận{when}"
    analyst = label_name(analyst_label)
    if isinstance(label, str):
        return f"Máy gán nhãn {label_name(label)}; {who} đã đổi thành {analyst}{when}"
    return f"Máy chưa gán nhãn; {who} đã gán nhãn {analyst}{when}"


def evidence_of_text(label: object, analyst_label: str, has_evidence: bool) -> str:
    """What the machine's sentences of a story an analyst relabelled are, or that there are none."""
    analyst = label_name(analyst_label)
    if has_evidence and isinstance(label, str):
        return (
            f"Các câu dưới đây là căn cứ máy dùng khi gán nhãn {label_name(label)}, không phải căn "
            f"cứ cho nhãn {analyst} của phân tích viên:"
        )
    none = "máy không có câu căn cứ nào cho nhãn này"
    return f"Nhãn {analyst} là quyết định của phân tích viên; {none}."


def error_text(kind: str, pages: int) -> str:
    """One crawl error counter in words: "không phân giải được tên miền: 5 trang"."""
    if kind.startswith("http_") and kind[5:].isdigit():
        status = int(kind[5:])
        fallback = "máy chủ gặp lỗi" if status >= 500 else "máy chủ trả lỗi"
        words = f"{HTTP_STATUSES.get(status, fallback)} (HTTP {status})"
    else:
        words = ERROR_KINDS.get(kind, f"lỗi khác ({kind})")
    return f"{words}: {pages} trang"


def vn_time(value: datetime | pd.Timestamp) -> datetime:
    """A time in Vietnam (one without a zone is taken as already Vietnam time)."""
    return value if value.tzinfo is None else value.astimezone(VN_TZ)


def day_text(value: date | datetime | pd.Timestamp | None) -> str:
    """dd/mm/yyyy (in Vietnam time); empty for a missing date."""
    if value is None or pd.isna(value):
        return ""
    if isinstance(value, datetime):
        value = vn_time(value)
    return value.strftime("%d/%m/%Y")


def time_text(value: datetime | pd.Timestamp | None, seconds: bool = False) -> str:
    """HH:MM ngày dd/mm/yyyy (HH:MM:SS with seconds) in Vietnam time; empty for a missing time."""
    if value is None or pd.isna(value):
        return ""
    return vn_time(value).strftime("%H:%M:%S ngày %d/%m/%Y" if seconds else "%H:%M ngày %d/%m/%Y")


def times_apart(first: datetime, second: datetime) -> tuple[str, str]:
    """Two times as time_text writes them, with seconds when they fall in the same minute: two
    runs a minute apart must not read as one time."""
    texts = time_text(first), time_text(second)
    if texts[0] == texts[1]:
        texts = time_text(first, seconds=True), time_text(second, seconds=True)
    return texts


def window_text(since: datetime | None, until: datetime) -> str:
    """A load window (since, until] in words: "từ 23:15 ngày 29/11/2026 đến 23:15 ngày
    30/11/2026", the day once when both ends share it, "đến ..." from the start.

    Never a window that reads empty or reversed: seconds when both ends share a minute, and
    "ngay sau bản tin trước" when they share a second or the clock went back.
    """
    if since is None:
        return f"đến {time_text(until)}"
    start, end = times_apart(since, until)
    if until <= since or start == end:
        return f"ngay sau bản tin trước (lúc {time_text(since, seconds=True)})"
    day = start[start.index(" ngày ") :]
    if end.endswith(day):
        start = start.removesuffix(day)
    return f"từ {start} đến {end}"


# What each kind of layout drift (pipelines/drift.py) means to the analyst.
DRIFT_TEXT = {
    FEWER_LINKS: "số liên kết bài tìm được giảm mạnh so với các lần chạy trước",
    FALLBACK: "phần lớn bài phải đọc bằng bộ trích xuất chung vì cấu hình của trang không còn khớp",
    UNDATED: "phần lớn bài không đọc được ngày đăng, trong khi các lần chạy trước vẫn đọc được",
}


def drift_text(warning: str) -> str:
    """A site's drift warning in Vietnamese: what changed, and what the technical staff must do."""
    said = DRIFT_TEXT.get(drift_kind(warning), "trang thu thập được khác hẳn các lần chạy trước")
    return (
        f"{said}, có thể trang đã đổi giao diện; bộ phận kỹ thuật cần kiểm tra lại cấu hình thu "
        "thập của trang."
    )
