"""What the database already holds about a page, so a crawl fetches only what is new or changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from crawlers.dates import to_vietnam


@dataclass(frozen=True)
class KnownPage:
    """A stored article: its content hash and the validators to ask the site whether it changed."""

    url: str
    content_hash: str | None = None
    etag: str | None = None
    last_modified: str | None = None  # the Last-Modified header as the site sent it
    lastmod: datetime | None = None  # the sitemap/feed lastmod it was stored with
    fetched_at: datetime | None = None  # when the stored version was fetched

    def stored_as_of(self) -> datetime | None:
        """The latest time the stored copy is known to reflect (None when nothing is known)."""
        times = (as_time(self.lastmod), http_date(self.last_modified), as_time(self.fetched_at))
        return max((to_vietnam(t) for t in times if t is not None), default=None)

    def changed_by(self, lastmod: datetime | None) -> bool:
        """True when a sitemap/feed lastmod says the page changed after the stored copy."""
        stored = self.stored_as_of()
        return lastmod is not None and stored is not None and to_vietnam(lastmod) > stored

    def conditional_headers(self) -> dict[str, str]:
        """If-None-Match / If-Modified-Since for a refetch, from the stored validators."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


def as_time(value: datetime | str | None) -> datetime | None:
    """A datetime, or an ISO 8601 string read as one (naive means Vietnam time); else None."""
    if isinstance(value, datetime) or value is None:
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def http_date(value: str | None) -> datetime | None:
    """An HTTP date header (Last-Modified, Retry-After) as an aware datetime, or None."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


def stored_links(counts: Mapping[str, int]) -> int:
    """The article links found already stored and not fetched again (skipped as known, or
    answered 304 Not Modified): the summary's "N already stored" and the digest's."""
    return counts.get("known", 0) + counts.get("not_modified", 0)
