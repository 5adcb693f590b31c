"""The one base spider: discovers and extracts a site's articles as its profile describes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)

from crawlers.extract import article_links, extract_article, is_article_url
from crawlers.feeds import feed_links
from crawlers.profiles import SiteProfile

ERROR_KINDS = {
    DownloadConnectionRefusedError: "connection_refused",
    ConnectionRefusedError: "connection_refused",
    CannotResolveHostError: "dns",
    DNSLookupError: "dns",
    DownloadTimeoutError: "timeout",
    TimeoutError: "timeout",
    TCPTimedOutError: "timeout",
    ResponseDataLossError: "data_loss",
}


def error_kind(failure: Any) -> str:
    """A short name for why a request failed, used as a per-site counter."""
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    for exception, kind in ERROR_KINDS.items():
        if failure.check(exception):
            return kind
    return failure.type.__name__.lower() if failure.type else "unknown"


class ProfileSpider(scrapy.Spider):
    """Crawls one site: feeds and listings from its profile, or the URLs it is given."""

    name = "profile"

    def __init__(
        self,
        profile: SiteProfile,
        urls: list[str] | None = None,
        origin: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=profile.name, **kwargs)
        self.profile = profile
        self.urls = urls or []
        # Replay mode: fetch the site's URLs from a local server instead ("{site}" = profile name).
        self.origin = origin.replace("{site}", profile.name).rstrip("/") if origin else None

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Given URLs first; otherwise the profile's feeds, then its listings."""
        if self.urls:
            for url in self.urls:
                if not self.owns_host(urlsplit(url).hostname or ""):
                    continue
                if is_article_url(self.profile, url):
                    yield self.request(url, self.parse_article)
                else:
                    yield self.request(url, self.parse_listing, page=1, listing=None)
            return
        for feed in self.profile.discovery.rss:
            yield self.request(feed, self.parse_feed)
        for listing in self.profile.discovery.listings:
            yield self.request(listing.url, self.parse_listing, page=1, listing=listing)

    def request(self, url: str, callback: Any, **meta: Any) -> scrapy.Request:
        """A request for a site URL, sent to the replay origin when one is set."""
        return scrapy.Request(
            self.fetch_url(url),
            callback=callback,
            errback=self.on_error,
            meta={"site_url": url, **meta},
        )

    def fetch_url(self, url: str) -> str:
        """Where to fetch url: unchanged, or under the replay origin for the site's own hosts."""
        parts = urlsplit(url)
        if not self.origin or not self.owns_host(parts.hostname or ""):
            return url
        return self.origin + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def owns_host(self, host: str) -> bool:
        """True when host is one of the site's domains or a subdomain of one."""
        return any(host == d or host.endswith("." + d) for d in self.profile.domains)

    def site_url(self, response: Response) -> str:
        """The public URL of a response, undoing the replay-origin rewrite (redirects included)."""
        if not self.origin or not response.url.startswith(self.origin):
            return response.url
        base = urlsplit(response.meta["site_url"])
        return f"{base.scheme}://{base.netloc}{response.url[len(self.origin) :]}"

    def count(self, key: str) -> None:
        """Add one to this site's congvu/<key> counter."""
        self.crawler.stats.inc_value(f"congvu/{key}")

    def on_error(self, failure: Any) -> None:
        """Count a failed request by kind; the run summary reports it."""
        kind = error_kind(failure)
        self.count(f"error/{kind}")
        self.logger.warning("%s: %s failed (%s)", self.profile.name, failure.request.url, kind)

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        """Article links from an RSS/Atom feed."""
        self.count("pages/feed")
        try:
            links = feed_links(response.body)
        except Exception as exc:  # a broken feed must not stop the site's crawl
            self.count("error/bad_feed")
            self.logger.warning("%s: unreadable feed %s (%s)", self.profile.name, response.url, exc)
            return
        for link in links:
            if is_article_url(self.profile, link):
                self.count("discovered")
                yield self.request(link, self.parse_article)

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        """Article links of a listing page, and its next page while the profile allows."""
        self.count("pages/listing")
        if not isinstance(response, scrapy.http.TextResponse):
            self.count("error/not_html")
            return
        page_url = self.site_url(response)
        for link in article_links(self.profile, page_url, response.text):
            self.count("discovered")
            yield self.request(link, self.parse_article)
        listing = response.meta.get("listing")
        page = response.meta["page"]
        if listing is not None and listing.next_page and page < listing.pages:
            yield self.request(
                listing.page_url(page + 1), self.parse_listing, page=page + 1, listing=listing
            )

    def parse_article(self, response: Response) -> Iterator[dict[str, Any]]:
        """One article record, with the raw bytes for the archive."""
        self.count("pages/article")
        if not isinstance(response, scrapy.http.TextResponse):
            self.count("error/not_html")
            return
        url = self.site_url(response)
        record = extract_article(self.profile, url, response.text)
        record["site"] = self.profile.name
        record["fetched_at"] = datetime.now(timezone.utc)
        record["http_status"] = response.status
        record["encoding"] = response.encoding
        record["raw_html"] = response.body
        if not record.get("title") or not record.get("body"):
            self.count("error/empty_article")
            self.logger.warning("%s: no title or body at %s", self.profile.name, url)
            return
        self.count(f"extraction/{record['extraction']}")
        yield record
