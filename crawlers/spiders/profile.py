"""The one base spider: discovers and extracts a site's articles as its profile describes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import sitemap_urls_from_robots

from crawlers.article import page_record
from crawlers.dates import to_vietnam
from crawlers.encoding import decode_html, looks_garbled
from crawlers.failures import GzipBomb, error_kind
from crawlers.feeds import Entry, XmlRefused, feed_entries, sitemap_entries
from crawlers.profiles import Listing, SiteProfile
from crawlers.pubdate import listing_dates, older_than
from crawlers.state import KnownPage
from crawlers.urls import absolute, article_links, is_article_url, on_domains

# Discovery pages come before articles, in the order the profile lists its sources.
DISCOVERY_PRIORITY = 100


def header(response: Response, name: str) -> str | None:
    """A response header as text, or None."""
    value = response.headers.get(name)
    return value.decode("latin-1").strip() if value else None


def is_html(response: Response) -> bool:
    """True for an HTML page: an HTML content type, or markup that starts like HTML."""
    content_type = (header(response, "Content-Type") or "").lower()
    if "html" in content_type:
        return True
    head = response.body[:1024].lstrip().lower()
    return head.startswith(b"<!doctype html") or b"<html" in head


class ProfileSpider(scrapy.Spider):
    """Crawls one site: its feeds, sitemaps and listings (or the URLs it is given).

    `known` maps stored article URLs (and canonical URLs) to what is known of them: those are
    not fetched again unless a sitemap or feed lastmod says they changed, and then only with
    If-None-Match / If-Modified-Since. `since` backfills: listings are paged back until their
    entries are older than it, and sitemap entries from it on are taken.
    """

    name = "profile"

    def __init__(
        self,
        profile: SiteProfile,
        urls: list[str] | None = None,
        origin: str | None = None,
        known: Mapping[str, KnownPage] | None = None,
        since: datetime | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=profile.name, **kwargs)
        self.profile = profile
        self.urls = urls or []
        # Replay mode: fetch the site's URLs from a local server instead ("{site}" = profile name).
        self.origin = origin.replace("{site}", profile.name).rstrip("/") if origin else None
        self.known: Mapping[str, KnownPage] = known or {}
        self.since = to_vietnam(since) if since is not None else None
        self.scheduled: set[str] = set()  # article URLs requested in this run
        self.skipped: set[str] = set()  # known article URLs not fetched again
        self.pages: set[str] = set()  # feeds, sitemaps and listing pages requested
        self.listing_fetches: dict[object, int] = {}  # article requests per listing (page)
        self.lastmods: dict[str, datetime] = {}

    def setting(self, name: str, default: int) -> int:
        """An integer setting of this crawl."""
        return self.crawler.settings.getint(name, default) if hasattr(self, "crawler") else default

    def cutoff(self) -> datetime:
        """Sitemap entries last modified before this are not taken: since, else a few days."""
        if self.since is not None:
            return self.since
        days = self.setting("CONGVU_SITEMAP_DAYS", 3)
        return to_vietnam(datetime.now(timezone.utc) - timedelta(days=days))

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Given URLs first; otherwise the profile's sources in the order it lists them."""
        if self.urls:
            for url in self.urls:
                if not self.owns_host(urlsplit(url).hostname or ""):
                    continue  # another site's URL: its own spider fetches it
                if is_article_url(self.profile, url):
                    self.scheduled.add(url)
                    self.count("discovered")
                    yield self.request(url, self.parse_article, via="url")
                else:
                    yield self.request(url, self.parse_listing, page=1, listing=None)
            return
        for request in self.discovery_requests():
            if request is not None:
                yield request

    def discovery_requests(self) -> Iterator[scrapy.Request | None]:
        """Requests for the profile's feeds, sitemaps and listings, earlier sources first."""
        discovery = self.profile.discovery
        for rank, kind in enumerate(discovery.order):
            priority = DISCOVERY_PRIORITY - 10 * rank
            if kind == "rss":
                for feed in discovery.rss:
                    yield self.page_request(feed, self.parse_feed, priority)
            elif kind == "sitemaps":
                for sitemap in discovery.sitemaps:
                    callback = self.parse_robots if is_robots(sitemap) else self.parse_sitemap
                    yield self.page_request(sitemap, callback, priority)
            else:
                for listing in discovery.listings:
                    yield self.page_request(
                        listing.url, self.parse_listing, priority, page=1, listing=listing
                    )

    def request(self, url: str, callback: Any, priority: int = 0, **meta: Any) -> scrapy.Request:
        """A request for a site URL, sent to the replay origin when one is set.

        dont_filter: the spider de-duplicates itself, and Scrapy's filter would silently drop
        the second visit of a redirect loop instead of letting it fail (and be counted). On a
        shared frontier the filter is its seen-set in Redis, which other nodes (and a node that
        resumes a site after one died) see too: that keeps each URL fetched once across nodes.
        """
        return scrapy.Request(
            self.fetch_url(url),
            callback=callback,
            errback=self.on_error,
            priority=priority,
            dont_filter=not self.on_frontier(),
            meta={"site_url": url, **meta},
        )

    def on_frontier(self) -> bool:
        """True when this crawl shares a frontier (and its seen-set) with other nodes."""
        return hasattr(self, "crawler") and bool(self.crawler.settings.get("CONGVU_FRONTIER"))

    def page_request(
        self, url: str, callback: Any, priority: int, **meta: Any
    ) -> scrapy.Request | None:
        """A request for a feed, sitemap or listing page not requested yet in this run."""
        if url in self.pages:
            return None
        self.pages.add(url)
        return self.request(url, callback, priority, **meta)

    def fetch_url(self, url: str) -> str:
        """Where to fetch url: unchanged, or under the replay origin for the site's own hosts."""
        parts = urlsplit(url)
        if not self.origin or not self.owns_host(parts.hostname or ""):
            return url
        return self.origin + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def owns_host(self, host: str) -> bool:
        """True when host is one of the site's domains or a subdomain of one."""
        return on_domains(host, self.profile.domains)

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
        if kind in ("http_404", "http_410") and failure.request.callback == self.parse_article:
            self.count("gone")  # an article link the site says is no more: see summarise
        self.logger.warning("%s: %s failed (%s)", self.profile.name, failure.request.url, kind)

    def unreadable(self, response: Response, html: bool = True) -> bool:
        """True for an empty body, or one not HTML where html is wanted; the reason is counted."""
        if not response.body.strip():
            problem = "empty_body"
        elif html and not is_html(response):
            problem = "not_html"
        else:
            return False
        self.count(f"error/{problem}")
        return True

    def discover(
        self, url: str, via: str, lastmod: datetime | None = None
    ) -> Iterator[scrapy.Request]:
        """The request for an article URL found by a feed, sitemap or listing, if it needs one."""
        if lastmod is not None:
            self.lastmods.setdefault(url, lastmod)
        if url in self.scheduled or url in self.skipped:
            return
        self.count("discovered")
        known = self.known.get(url)
        if known is not None and not known.changed_by(lastmod):
            self.skipped.add(url)
            self.count("known")
            return
        self.scheduled.add(url)
        request = self.request(url, self.parse_article, via=via, known=known)
        if known is not None:
            self.count("refetch")
            request.headers.update(known.conditional_headers())
            request.meta["handle_httpstatus_list"] = [304]
        yield request

    def is_new(self, url: str) -> bool:
        """True for an article URL not met yet in this run."""
        return url not in self.scheduled and url not in self.skipped

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        """Article links from an RSS/Atom feed, with their dates as lastmod."""
        self.count("pages/feed")
        for url, lastmod in self.entries(response, self.read_xml(response, feed_entries) or ()):
            yield from self.discover(url, "rss", lastmod)

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        """The http(s) sitemaps a robots.txt lists, each once."""
        self.count("pages/robots")
        base = self.site_url(response)
        found = (absolute(base, url) for url in sitemap_urls_from_robots(response.body))
        urls = [url for url in dict.fromkeys(found) if url is not None]
        for url in urls[: self.setting("CONGVU_MAX_SITEMAPS", 50)]:
            if self.owns_host(urlsplit(url).hostname or ""):
                request = self.page_request(url, self.parse_sitemap, response.request.priority)
                if request is not None:
                    yield request

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        """Article URLs of a sitemap modified since the cutoff; child sitemaps of an index."""
        self.count("pages/sitemap")
        sitemap = self.read_xml(response, sitemap_entries)
        if sitemap is None:
            return
        cutoff = self.cutoff()
        if sitemap.is_index:
            yield from self.child_sitemaps(sitemap.entries, cutoff, response.request.priority)
            return
        recent = [e for e in sitemap.entries if e.lastmod is None or e.lastmod >= cutoff]
        for url, lastmod in self.entries(response, recent):
            yield from self.discover(url, "sitemap", lastmod)

    def entries(
        self, response: Response, entries: Iterable[Entry]
    ) -> Iterator[tuple[str, datetime | None]]:
        """Article URLs of feed/sitemap entries: absolute, tracking parameters dropped."""
        base = self.site_url(response)
        for entry in entries:
            url = absolute(base, entry.url)
            if url and is_article_url(self.profile, url):
                yield url, entry.lastmod

    def child_sitemaps(
        self, entries: tuple[Entry, ...], cutoff: datetime, priority: int
    ) -> Iterator[scrapy.Request]:
        """Requests for an index's sitemaps changed since the cutoff (undated ones: a few)."""
        budget = self.setting("CONGVU_MAX_SITEMAPS", 50) - len(self.pages)
        undated = 0 if self.since is not None else 5
        for entry in entries:
            if budget <= 0:
                self.count("sitemaps_capped")
                return
            if entry.lastmod is None:
                if self.since is None and undated <= 0:
                    continue
                undated -= 1
            elif entry.lastmod < cutoff:
                continue
            request = self.page_request(entry.url, self.parse_sitemap, priority)
            if request is not None:
                budget -= 1
                yield request

    def read_xml(self, response: Response, parse: Any) -> Any:
        """A feed or sitemap parsed safely (gzip bounded); None, counted, when it cannot be."""
        if self.unreadable(response, html=False):
            return None
        body = response.body
        if body[:3] == b"\x1f\x8b\x08":
            try:
                body = gunzip(body, max_size=self.setting("DOWNLOAD_MAXSIZE", 10 * 1024 * 1024))
            except GzipBomb:
                self.count("error/gzip_bomb")
                return None
            except (OSError, EOFError, ValueError):
                self.count("error/bad_feed")
                return None
        try:
            return parse(body)
        except XmlRefused:
            self.count("error/xml_bomb")
            self.logger.warning("%s: refused XML with entities at %s", self.profile.name, response)
        except Exception as exc:  # a broken feed must not stop the site's crawl
            self.count("error/bad_feed")
            self.logger.warning("%s: unreadable feed %s (%s)", self.profile.name, response, exc)
        return None

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        """Article links of a listing page, and its next page while the profile (or since) asks."""
        self.count("pages/listing")
        if self.unreadable(response):
            return
        page_url = self.site_url(response)
        text = decode_html(response.body, header(response, "Content-Type"))[0]
        links = article_links(self.profile, page_url, text)
        fresh = [link for link in links if self.is_new(link)]
        listing: Listing | None = response.meta.get("listing")
        page = response.meta["page"]
        # The cap counts per listing and run; a backfill pages far back on purpose: per page.
        budget: object = listing.url if listing is not None else page_url
        budget = (budget, page) if self.since is not None else budget
        cap = self.profile.max_listing_links
        for link in links:
            fetches = self.listing_fetches.get(budget, 0)
            if fetches >= cap and self.is_new(link) and link not in self.known:
                self.count("listing_links_cut")  # not fetched: more than the cap asks for
                continue
            for request in self.discover(link, "listing"):
                self.listing_fetches[budget] = fetches + 1
                yield request
        if (
            self.listing_fetches.get(budget, 0) >= cap
            or listing is None
            or not listing.next_page
            or not self.next_page_wanted(listing, page, fresh, text)
        ):
            return
        request = self.page_request(
            listing.page_url(page + 1),
            self.parse_listing,
            response.request.priority,
            page=page + 1,
            listing=listing,
        )
        if request is not None:
            yield request

    def next_page_wanted(self, listing: Listing, page: int, fresh: list[str], text: str) -> bool:
        """Within the profile's pages; when backfilling, until entries predate since."""
        if page < listing.pages:
            return True
        if self.since is None or not fresh:
            return False
        if page >= self.setting("CONGVU_BACKFILL_MAX_PAGES", 200):
            self.count("backfill_capped")
            return False
        return not older_than(listing_dates(text, fresh), self.since)

    def parse_article(self, response: Response) -> Iterator[dict[str, Any]]:
        """One article record, with the raw bytes for the archive."""
        if response.status == 304:
            self.count("not_modified")
            yield self.not_modified(response)
            return
        self.count("pages/article")
        if self.unreadable(response):
            return
        url = self.site_url(response)
        fetched_at = datetime.now(timezone.utc)
        content_type = header(response, "Content-Type")
        record = page_record(self.profile, url, response.body, content_type, fetched_at)
        if not record.get("title") or not record.get("body"):
            self.count("error/empty_article")
            self.logger.warning("%s: no title or body at %s", self.profile.name, url)
            return
        if looks_garbled(f"{record['title']}\n{record['body']}"):
            self.count("error/encoding")  # stored, it would be mojibake, and labelled as such
            self.logger.warning(
                "%s: text garbled by a charset not decoded (%s) at %s",
                self.profile.name,
                record["encoding"],
                url,
            )
            return
        if record["published_at"] is None:
            self.count("date/future" if record["date_rejected"] else "date/missing")
        lastmod = self.lastmods.get(response.meta["site_url"])
        record.update(
            site=self.profile.name,
            fetched_at=fetched_at,
            http_status=response.status,
            etag=header(response, "ETag"),
            last_modified=header(response, "Last-Modified"),
            lastmod=lastmod,
            discovered_via=response.meta.get("via", "url"),
            raw_html=response.body,
        )
        known = response.meta.get("known") or self.known.get(record["canonical_url"])
        if known is not None and known.content_hash == record["content_hash"]:
            self.count("unchanged")
        self.count(f"extraction/{record['extraction']}")
        for name, rule in record["rules"].items():
            if not rule.startswith(("generic:", "fallback:")):
                self.count(f"field/{name}")  # found by the profile's own rules: coverage
        yield record

    def not_modified(self, response: Response) -> dict[str, Any]:
        """A staging line saying a stored page was confirmed unchanged (304): no article.

        The load refreshes the page's last_fetched from it, so a page that never changes stays
        among the known pages instead of being fetched in full once it is 60 days old.
        """
        url = response.meta["site_url"]
        return {
            "url": url,
            "site": self.profile.name,
            "fetched_at": datetime.now(timezone.utc),
            "http_status": 304,
            "etag": header(response, "ETag"),
            "last_modified": header(response, "Last-Modified"),
            "lastmod": self.lastmods.get(url),
        }


def is_robots(url: str) -> bool:
    """True for a robots.txt URL (in a profile's sitemaps: read the sitemaps it lists)."""
    return urlsplit(url).path.endswith("/robots.txt")
