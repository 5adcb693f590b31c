"""Parse the date strings Vietnamese news sites print into aware Vietnam-time datetimes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from crawlers.text import clean

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MIN_YEAR, MAX_YEAR = 1990, 2100

ISO_RE = re.compile(
    r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6})\d*)?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?(?![\d:-])",
    re.IGNORECASE,
)
RFC_RE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s+)?\d{1,2}\s+"
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\s+\d{4}"
    r"(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?(?:\s+(?:[+-]\d{4}|[A-Z]{1,5}))?",
    re.IGNORECASE,
)
WORDS_RE = re.compile(
    r"(?<!\d)(\d{1,2})\s+tháng\s+(\d{1,2})\s*(?:năm|,|/)?\s*(\d{4})(?!\d)", re.IGNORECASE
)
NUMERIC_RE = re.compile(r"(?<!\d)(\d{1,2})\s*([/.-])\s*(\d{1,2})\s*\2\s*(\d{4})(?!\d)")
TIME_RE = re.compile(
    r"(?<!\d)(\d{1,2})\s*[:hH]\s*(\d{2})(?:\s*:\s*(\d{2}))?"
    r"(?:\s*(a\.?m\.?|p\.?m\.?|SA|CH)(?![a-zà-ỹ]))?",
    re.IGNORECASE,
)
OFFSET_RE = re.compile(r"(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?|([+-])(\d{2}):?(\d{2})\b")
URL_STAMP_RE = re.compile(r"-(\d{14})\d{0,4}\.html?$")


def to_vietnam(value: datetime) -> datetime:
    """Naive datetimes are taken as Vietnam time; aware ones are converted to it."""
    if value.tzinfo is None:
        return value.replace(tzinfo=VN_TZ)
    return value.astimezone(VN_TZ)


def build(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    micro: int = 0,
    tz: timezone | None = None,
) -> datetime | None:
    """A Vietnam-time datetime from parts, or None when they do not form a plausible date."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        value = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        return None
    return to_vietnam(value)


def offset_tz(sign: str, hours: str, minutes: str | None) -> timezone | None:
    """A fixed-offset timezone from '+', '07', '00'; None when out of range."""
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta > timedelta(hours=14):
        return None
    return timezone(-delta if sign == "-" else delta)


def parse_iso(match: re.Match[str]) -> datetime | None:
    """An ISO 8601 match (date, optional time, optional Z or offset) as a datetime."""
    year, month, day, hour, minute, second, frac, offset = match.groups()
    tz = None
    if offset:
        if offset.upper() == "Z":
            tz = timezone.utc
        else:
            digits = offset[1:].replace(":", "")
            tz = offset_tz(offset[0], digits[:2], digits[2:4] or None)
    micro = int((frac or "0").ljust(6, "0")[:6])
    return build(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        micro,
        tz,
    )


def parse_rfc(text: str) -> datetime | None:
    """An RFC 2822 date as used by RSS (Sun, 09 Aug 2026 19:00:00 +0700)."""
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if value is None or not MIN_YEAR <= value.year <= MAX_YEAR:
        return None
    return to_vietnam(value)


def day_month(first: int, second: int, dayfirst: bool) -> tuple[int, int]:
    """Day and month from two numbers, in the preferred order unless only the other is valid."""
    day, month = (first, second) if dayfirst else (second, first)
    if month > 12 and day <= 12:
        day, month = month, day
    return day, month


def clock(text: str) -> tuple[int, int, int, timezone | None] | None:
    """Hour, minute, second and any GMT offset written after the time, found in text."""
    match = TIME_RE.search(text)
    if not match:
        return None
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    meridiem = (match[4] or "").replace(".", "").upper()
    if meridiem in ("PM", "CH") and hour < 12:
        hour += 12
    elif meridiem in ("AM", "SA") and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or second > 59:
        return None
    tz = None
    offset = OFFSET_RE.search(text, match.end())
    if offset:
        if offset[1]:
            tz = offset_tz(offset[1], offset[2], offset[3])
        else:
            tz = offset_tz(offset[4], offset[5], offset[6])
    return hour, minute, second, tz


def with_clock(year: int, month: int, day: int, rest: str) -> datetime | None:
    """The date plus the first time of day found in rest (midnight when there is none)."""
    found = clock(rest)
    if found is None:
        return build(year, month, day)
    hour, minute, second, tz = found
    return build(year, month, day, hour, minute, second, 0, tz)


def parse_datetime(text: str | None, dayfirst: bool = True) -> datetime | None:
    """The date and time in text as an aware Asia/Ho_Chi_Minh datetime, or None."""
    if not text or not isinstance(text, str):
        return None
    text = clean(text, unescape=True)  # entities decoded twice, for double-escaped feeds
    if not text:
        return None
    match = ISO_RE.search(text)
    if match:
        return parse_iso(match)
    match = RFC_RE.search(text)
    if match:
        return parse_rfc(match[0])
    match = WORDS_RE.search(text)
    if match:
        day, month, year = int(match[1]), int(match[2]), int(match[3])
        return with_clock(year, month, day, text[: match.start()] + " " + text[match.end() :])
    match = NUMERIC_RE.search(text)
    if match:
        day, month = day_month(int(match[1]), int(match[3]), dayfirst)
        rest = text[: match.start()] + " " + text[match.end() :]
        return with_clock(int(match[4]), month, day, rest)
    return None


def date_from_url(url: str) -> datetime | None:
    """The yyyymmddHHMMSS stamp in ids like ...-20260307075519174.htm (tuoitre, dantri)."""
    # The stamp is when the id was minted, usually minutes before publication: a last resort.
    path = url.split("#", 1)[0].split("?", 1)[0]
    match = URL_STAMP_RE.search(path)
    if not match:
        return None
    stamp = match[1]
    parts = [int(stamp[i:j]) for i, j in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14))]
    year, month, day, hour, minute, second = parts
    if hour > 23 or minute > 59 or second > 59:
        return None
    return build(year, month, day, hour, minute, second)
