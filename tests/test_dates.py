"""Date strings as Vietnamese sites print them, parsed into Asia/Ho_Chi_Minh datetimes."""

from __future__ import annotations

import pytest

from crawlers.dates import date_from_url, parse_datetime

CASES = [
    ("vnexpress", "Thứ bảy, 7/3/2026, 00:05 (GMT+7)", True, "2026-03-07T00:05:00+07:00"),
    ("tuoitre", "07/03/2026 08:01 GMT+7", True, "2026-03-07T08:01:00+07:00"),
    ("vietnamnet", "Thứ Bảy, 07/03/2026 - 08:52", True, "2026-03-07T08:52:00+07:00"),
    ("jsonld-space-offset", "2026-03-07T08:52:11.000 +07:00", True, "2026-03-07T08:52:11+07:00"),
    ("iso-offset", "2026-03-07T08:01:53+07:00", True, "2026-03-07T08:01:53+07:00"),
    ("iso-z", "2026-03-07T01:52:11Z", True, "2026-03-07T08:52:11+07:00"),
    ("iso-naive", "2026-03-07T08:52:11", True, "2026-03-07T08:52:11+07:00"),
    ("iso-other-offset", "2026-03-07T10:00:00+09:00", True, "2026-03-07T08:00:00+07:00"),
    ("iso-date", "2026-03-07", True, "2026-03-07T00:00:00+07:00"),
    ("dash-am", "07-03-2026 - 00:01 AM", True, "2026-03-07T00:01:00+07:00"),
    ("time-first", "08:47 ngày 07-03-2026", True, "2026-03-07T08:47:00+07:00"),
    ("words", "ngày 7 tháng 3 năm 2026", True, "2026-03-07T00:00:00+07:00"),
    ("dotted", "20.10.2023", True, "2023-10-20T00:00:00+07:00"),
    ("us-order", "3/5/2026 3:34:00 PM", False, "2026-03-05T15:34:00+07:00"),
    ("day-first-default", "3/5/2026 3:34:00 PM", True, "2026-05-03T15:34:00+07:00"),
    ("escaped-offset", "2026-03-01T09:51:00&#x2B;07:00", True, "2026-03-01T09:51:00+07:00"),
    ("rss", "Sun, 09 Aug 2026 19:00:00 +0700", True, "2026-08-09T19:00:00+07:00"),
    ("rss-gmt", "Sun, 09 Aug 2026 12:00:00 GMT", True, "2026-08-09T19:00:00+07:00"),
    ("baodautu", "- 07/03/2026 08:47", True, "2026-03-07T08:47:00+07:00"),
    ("soft-hyphen", "07/03/\u00ad2026 08:01", True, "2026-03-07T08:01:00+07:00"),
]
GARBAGE = ["", "   ", "hôm qua", "12:30", "31/02/2026", "2026-13-45", "99/99/9999", "1772843936"]


@pytest.mark.parametrize(
    ("text", "dayfirst", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_parse_datetime(text: str, dayfirst: bool, expected: str) -> None:
    assert parse_datetime(text, dayfirst=dayfirst).isoformat() == expected


@pytest.mark.parametrize("text", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_result_is_in_vietnam_zone(text: str) -> None:
    assert parse_datetime(text).tzinfo.key == "Asia/Ho_Chi_Minh"


@pytest.mark.parametrize("text", GARBAGE)
def test_unparseable_is_none(text: str) -> None:
    assert parse_datetime(text) is None


def test_none_is_none() -> None:
    assert parse_datetime(None) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://tuoitre.vn/chien-su-day-gia-hoa-nhap-khau-dip-8-3-tang-manh-20260307075519174.htm",
            "2026-03-07T07:55:19+07:00",
        ),
        (
            "https://dantri.com.vn/kinh-doanh/gia-vang-giam-20260307080054340.htm?x=1#top",
            "2026-03-07T08:00:54+07:00",
        ),
        ("https://vnexpress.net/cach-cac-nuoc-doi-pho-5047363.html", None),
        ("https://baochinhphu.vn/chinh-sach-moi-102260228093004191.htm", None),
    ],
    ids=["tuoitre", "dantri", "vnexpress-none", "baochinhphu-none"],
)
def test_date_from_url(url: str, expected: str | None) -> None:
    found = date_from_url(url)
    assert (found.isoformat() if found else None) == expected
