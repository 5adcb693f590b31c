"""Which date of a page is its publication time, and the dates a listing page shows."""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median_low

from crawlers.dates import NUMERIC_RE, date_from_url, parse_datetime
from crawlers.fallback import DATE_LINE_CHARS, Reader, htmldate_date
from crawlers.markup import to_text
from crawlers.page import Page
from crawlers.profiles import Rule, SiteProfile

# A page may be stamped a little ahead of our clock; beyond this a date is taken as wrong.
CLOCK_SKEW = timedelta(minutes=15)
GENERIC_DATE_RULES = (
    Rule("meta", "article:published_time"),
    Rule("jsonld", "datePublished"),
    Rule("meta", "datePublished"),
    Rule("meta", "pubdate"),
    Rule("meta", "dc.date.issued"),
)


class DateCheck:
    """Dates are accepted up to a latest time; later ones are noted and skipped."""

    def __init__(self, latest: datetime) -> None:
        self.latest = latest
        self.rejected: datetime | None = None

    def ok(self, value: datetime | None) -> bool:
        """True for a date not after the latest time; a later one is remembered as rejected."""
        if value is None:
            return False
        if value > self.latest:
            self.rejected = self.rejected or value
            return False
        return True


def first_date(
    page: Page, rules: tuple[Rule, ...], check: DateCheck
) -> tuple[datetime | None, Rule | None]:
    """The first value of the rules that parses as a date not in the future."""
    for rule in rules:
        for value in page.values(rule):
            if len(value) > DATE_LINE_CHARS:
                continue  # an element left open over the article: its dates are the text's
            parsed = parse_datetime(value, dayfirst=rule.dayfirst)
            if check.ok(parsed):
                return parsed, rule
    return None, None


def find_date(
    page: Page, profile: SiteProfile | None, url: str, check: DateCheck, reader: Reader
) -> tuple[datetime | None, str | None, Rule | None]:
    """Publication time: profile rules, common meta/JSON-LD, the date line by the headline,
    the URL stamp, then htmldate on the page less menus, sidebars and other articles' teasers.

    A date later than check allows is skipped (and noted in check) for the next source.
    """
    if profile is not None:
        found, rule = first_date(page, profile.rules("published_at"), check)
        if found is not None:
            return found, str(rule), rule
    found, rule = first_date(page, GENERIC_DATE_RULES, check)
    if found is not None:
        return found, str(rule), None
    shown = reader.date_line(check.ok)
    if shown.value:
        return datetime.fromisoformat(shown.value), shown.source, None
    found = date_from_url(url)
    if check.ok(found):
        return found, "url", None
    if check.rejected is not None:
        # The page states a date later than its fetch (a wrong clock, a scheduled post):
        # htmldate would read that same date at a coarser grain, its month's first day, which
        # is no longer in the future on the month's first days. Stored undated, as date/future.
        return None, None, None
    found = htmldate_date(reader.own_part(), url)
    if check.ok(found):
        return found, "htmldate", None
    return None, None, None


def listing_dates(html: str | bytes, links: list[str]) -> list[datetime]:
    """Dates a listing page shows: <time> tags, short date texts and date-stamped article URLs."""
    page = Page(to_text(html))
    found = [date_from_url(link) for link in links]
    for value in page.select("xpath", "//time/@datetime"):
        found.append(parse_datetime(value))
    for value in page.select("xpath", "//body//text()[string-length(normalize-space()) < 60]"):
        value = str(value)
        if NUMERIC_RE.search(value) or "tháng" in value:
            found.append(parse_datetime(value))
    return [value for value in found if value is not None]


def older_than(dates: list[datetime], since: datetime) -> bool:
    """True when most dates of a listing page are before since (its middle date is)."""
    return bool(dates) and median_low(sorted(dates)) < since
