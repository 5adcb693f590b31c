"""Downloader middlewares: retries that back off (Retry-After obeyed), a cheaper meta refresh."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.utils.asyncio import sleep

from crawlers.state import http_date

BACKOFF_KEY = "congvu_backoff"


def retry_after(response: Response, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    when = http_date(text)
    if when is None:
        return None
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class PoliteRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware, waiting before each retry instead of retrying at once.

    A retry waits RETRY_BACKOFF_BASE * 2**(attempt-1) seconds (at most RETRY_BACKOFF_MAX). A 429
    or 503 with Retry-After waits that long instead, and holds back every request to the same
    host meanwhile; a Retry-After above RETRY_AFTER_MAX is not waited for: the page is given up
    (and counted as its HTTP error) so one site cannot stall the night.
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 2.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 300.0)
        self.paused_until: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PoliteRetryMiddleware:
        """Build from the crawler's settings."""
        middleware = cls(crawler.settings)
        middleware.crawler = crawler
        return middleware

    def count(self, key: str) -> None:
        """Add one to a congvu/ counter of this crawl."""
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"congvu/{key}")

    async def process_request(self, request: Request) -> None:
        """Wait out this request's backoff and any Retry-After pause of its host."""
        pause = self.paused_until.get(host(request.url), 0.0) - time.monotonic()
        wait = max(request.meta.pop(BACKOFF_KEY, 0.0), pause)
        if wait > 0:
            await sleep(wait)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        """Retry a retryable status after its backoff or Retry-After delay."""
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        delay = retry_after(response) if response.status in (429, 503) else None
        if delay is not None and delay > self.retry_after_max:
            self.count("retry_after_too_long")
            return response
        retry = self._retry(request, f"HTTP {response.status}")
        if retry is None:
            return response
        if delay is not None:
            self.count("retry_after")
            until = time.monotonic() + delay
            key = host(request.url)
            self.paused_until[key] = max(self.paused_until.get(key, 0.0), until)
        retry.meta[BACKOFF_KEY] = delay if delay is not None else self.backoff(retry)
        return retry

    def process_exception(
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        """Retry a retryable download error (timeout, refused connection...) after a backoff."""
        retry = super().process_exception(request, exception)
        if isinstance(retry, Request):
            retry.meta[BACKOFF_KEY] = self.backoff(retry)
        return retry

    def backoff(self, retry: Request) -> float:
        """The exponential delay before this retry attempt."""
        attempt = max(1, retry.meta.get("retry_times", 1))
        return min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))


def host(url: str) -> str:
    """The host[:port] a URL is fetched from: the unit a Retry-After pauses."""
    return urlsplit(url).netloc.lower()


class QuickMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's MetaRefreshMiddleware, skipping pages whose head does not mention a refresh.

    Scrapy decodes every whole page to look for <meta http-equiv="refresh"> in its first 4096
    characters; a byte search of those characters' largest UTF-8 size settles most pages.
    """

    def process_response(self, request: Request, response: Response) -> Request | Response:
        """Pass pages without 'refresh' near the top; let Scrapy handle the others."""
        if b"refresh" not in response.body[: 4 * 4096].lower():
            return response
        return super().process_response(request, response)
