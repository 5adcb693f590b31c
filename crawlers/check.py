"""`congvu sites check SITE`: fetch a site's discovery pages and one article, say what was found.

The check is a small Scrapy crawl with the project's settings (robots.txt, User-Agent, timeouts),
run in a child process so that it can be called any number of times from one program.
"""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response

from crawlers.article import first_text, page_record
from crawlers.encoding import decode_html
from crawlers.failures import error_kind
from crawlers.fallback import MAX_TITLE_CHARS, Reader, describe, text_of
from crawlers.markup import common_ancestor
from crawlers.page import Page
from crawlers.process import scrapy_settings
from crawlers.profiles import FIELDS, REQUIRED_FIELDS, RULE_KINDS, Rule, SiteProfile
from crawlers.spiders.profile import ProfileSpider, header, is_robots
from crawlers.text import clean
from crawlers.urls import article_anchors, article_links, is_article_url

ARTICLE_TRIES = 3
MAX_SOURCES = 12
PREVIEW = 70
CHECK_TIMEOUT_S = 600
KIND_NAMES = {"rss": "feed", "sitemaps": "sitemap", "listings": "listing"}
# A body (less its lead) in one paragraph this long: the rule matched a container, not its
# paragraphs, and the article reads as one block.
HUGE_PARAGRAPH = 1000
MAX_PLACES = 5
CSS_NAME = re.compile(r"^-?[A-Za-z_][\w-]*$")  # a class or id usable as is in a selector


@dataclass
class SourceCheck:
    """One discovery page fetched: what it is, how it answered, how many article links it gave."""

    kind: str  # feed | sitemap | robots | listing
    url: str
    status: int | None = None
    error: str | None = None
    links: int = 0
    # A listing's article links by the part of the page that holds them (a CSS selector that
    # links_within could name), and how many links_within left out.
    places: list[tuple[str, int]] = field(default_factory=list)
    left_out: int = 0


@dataclass
class FieldCheck:
    """One article field: its value, the rule that found it, the profile rules that were tried."""

    name: str
    value: str
    rule: str | None
    tried: list[str]

    @property
    def by_profile(self) -> bool:
        """True when one of the profile's own rules found it (not a generic rule or trafilatura)."""
        return self.rule is not None and not self.rule.startswith(("generic:", "fallback:"))


@dataclass
class Headline:
    """Where the generic reader found the title: its element, and a rule to pin it with."""

    element: str | None  # as a CSS selector (h1.detail-title); None when only declared
    chars: int  # the element's text: longer than a title, it was left open over the article
    pin: Rule | None  # a profile rule that reads that title alone on this page
    text: str = ""  # the title the generic reader reads there


@dataclass
class SiteCheck:
    """The outcome of checking one site profile against the live site (or a replay origin)."""

    site: str
    title: str
    verified: bool
    origin: str | None = None  # the replay server checked instead of the live site
    chosen: bool = False  # the article was named by the user, not found by discovery
    sources: list[SourceCheck] = field(default_factory=list)
    article_url: str | None = None
    article_status: int | None = None
    article_error: str | None = None
    extraction: str | None = None
    fields: list[FieldCheck] = field(default_factory=list)
    date_rejected: str | None = None
    paragraphs: list[int] = field(default_factory=list)  # lengths of the body's paragraphs
    matches_article_url: bool = True
    headline: Headline | None = None  # where the generic reader found the title, when it did
    problems: list[str] = field(default_factory=list)  # what stops the profile from working
    warnings: list[str] = field(default_factory=list)  # what could be better

    @property
    def ok(self) -> bool:
        """True when the profile works: links found, title, body and date read by its own rules."""
        return not self.problems


class CheckSpider(ProfileSpider):
    """Every discovery source, first pages only, then one article (a few tries)."""

    name = "check"

    def __init__(self, profile: SiteProfile, article: str | None = None, **kwargs: Any) -> None:
        super().__init__(profile, **kwargs)
        self.result = SiteCheck(
            profile.name, profile.title, profile.verified, self.origin, bool(article)
        )
        self.discovered: list[str] = []  # article links discovery found, in order
        # A named article is the only one fetched; else the first links discovery finds.
        self.candidates: list[str] = [article] if article else self.discovered
        self.tried = 0
        self.noted: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> CheckSpider:
        """Also listen for the idle signal: discovery is done, time for the article."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Each feed, sitemap and listing of the profile (first page only), in its order."""
        discovery = self.profile.discovery
        by_kind = {
            "rss": list(discovery.rss),
            "sitemaps": list(discovery.sitemaps),
            "listings": [listing.url for listing in discovery.listings],
        }
        callbacks = {
            "feed": self.parse_feed,
            "robots": self.parse_robots,
            "sitemap": self.parse_sitemap,
            "listing": self.parse_listing,
        }
        urls = [(kind, url) for kind in discovery.order for url in by_kind[kind]]
        for kind, url in urls[:MAX_SOURCES]:
            name = "robots" if is_robots(url) else KIND_NAMES[kind]
            source = SourceCheck(name, url)
            request = self.page_request(url, callbacks[name], 0, page=1, listing=None)
            if request is not None:
                self.result.sources.append(source)
                request.meta["source"] = source
                yield request

    def discover(
        self, url: str, via: str, lastmod: datetime | None = None
    ) -> Iterator[scrapy.Request]:
        """Collect article links instead of fetching them all."""
        if url not in self.discovered:
            self.discovered.append(url)
        return iter(())

    def count(self, key: str) -> None:
        """Count as the crawl does, and remember the last problem for the source being read."""
        super().count(key)
        if key.startswith("error/"):
            self.noted = key.removeprefix("error/")

    def counted(self, response: Response, parse: Any) -> Iterator[scrapy.Request]:
        """Run a discovery callback, crediting its links, status and problem to its source."""
        before, self.noted = len(self.discovered), None
        requests = list(parse(response))  # all at once: the problem noted is this page's
        source = response.meta.get("source")
        if source is not None:
            source.status = response.status
            source.links += len(self.discovered) - before
            source.error = source.error or self.noted
        for request in requests:
            request.meta["source"] = source
            yield request

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        """A feed's article links, credited to its source."""
        yield from self.counted(response, super().parse_feed)

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        """A sitemap's article links, credited to its source."""
        yield from self.counted(response, super().parse_sitemap)

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        """The sitemaps a robots.txt lists, credited to its source."""
        yield from self.counted(response, super().parse_robots)

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        """A listing's article links, credited to its source, with where they sit on the page."""
        yield from self.counted(response, super().parse_listing)
        source = response.meta.get("source")
        if source is not None and response.body.strip():
            html = decode_html(response.body, header(response, "Content-Type"))[0]
            page_url = self.site_url(response)
            source.places, found = link_places(self.profile, page_url, html)
            source.left_out = found - len(article_links(self.profile, page_url, html))

    def on_error(self, failure: Any) -> None:
        """Note why a discovery page or the article could not be fetched."""
        kind = error_kind(failure)
        source = failure.request.meta.get("source")
        if failure.request.meta.get("article"):
            self.result.article_error = kind
        elif source is not None and source.error is None and not source.status:
            source.error = kind

    def on_idle(self) -> None:
        """When discovery is done, fetch the next candidate article (at most a few)."""
        if self.result.extraction is not None or self.tried >= min(
            ARTICLE_TRIES, len(self.candidates)
        ):
            return
        url = self.candidates[self.tried]
        self.tried += 1
        self.result.article_url = url
        self.result.article_error = None
        request = self.request(url, self.parse_article, article=True)
        self.crawler.engine.crawl(request)
        raise DontCloseSpider

    def parse_article(self, response: Response) -> Iterator[dict[str, Any]]:
        """Read the article and note each field, with the rule that found it."""
        self.result.article_status = response.status
        if self.unreadable(response):
            self.result.article_error = self.noted
            return
        record = page_record(
            self.profile, self.site_url(response), response.body, header(response, "Content-Type")
        )
        self.result.extraction = record["extraction"]
        self.result.date_rejected = record["date_rejected"]
        self.result.paragraphs = body_paragraphs(record)
        self.result.matches_article_url = is_article_url(self.profile, self.result.article_url)
        for name in FIELDS:
            value = record.get(name)
            text = value.isoformat() if isinstance(value, datetime) else str(value or "")
            tried = [str(rule) for rule in self.profile.rules(name)]
            rule = record["rules"].get(name) if text else None
            self.result.fields.append(FieldCheck(name, text, rule, tried))
        title = self.result.fields[FIELDS.index("title")]
        if record["title"] and (not title.by_profile or declared(title.rule)):
            html = decode_html(response.body, header(response, "Content-Type"))[0]
            self.result.headline = generic_headline(html, self.site_url(response))
        yield from ()


def declared(rule: str | None) -> bool:
    """True for a rule that reads a value the page declares for machines (meta, JSON-LD)."""
    return (rule or "").split(":")[0] in ("meta", "jsonld")


def generic_headline(html: str, url: str) -> Headline:
    """Where the generic reader finds the title on the page, with the first rule that reads it
    alone: a selector on the headline, on its own text (an h1 left open), or the declared field."""
    page = Page(html)
    found = Reader(page, url).headline
    rules: list[Rule] = []
    element, chars = None, 0
    if found.element is not None:
        element, chars = describe(found.element), len(text_of(found.element))
        rules += [Rule("css", element), Rule("css", f"{element}::text")]
    kind, _, value = (found.source or "").removeprefix("generic:").partition(":")
    if kind in RULE_KINDS:
        rules.append(Rule(kind, value))
    title = found.value
    pin = next((rule for rule in rules if first_text(page, (rule,), "title")[0] == title), None)
    return Headline(element, chars, pin, title)


def link_places(
    profile: SiteProfile, page_url: str, html: str
) -> tuple[list[tuple[str, int]], int]:
    """Where a listing page's article links sit, whatever links_within says: the parts of the
    page under the deepest element holding them all, as CSS selectors with their number of
    links, most first; and how many article links the page has in all."""
    page = Page(html)
    first: dict[str, Any] = {}
    for anchor, url in article_anchors(profile, page, page_url):
        first.setdefault(url, anchor)
    top = common_ancestor(list(first.values()))
    places: dict[str, int] = {}
    for anchor in first.values():
        part = anchor
        while part is not top and part.getparent() is not top:
            part = part.getparent()
        places[selector(part)] = places.get(selector(part), 0) + 1
    return sorted(places.items(), key=lambda place: -place[1]), len(first)


def selector(element: Any) -> str:
    """A CSS selector for an element that links_within can take: tag#id, else tag.class..."""
    if element.get("id") and CSS_NAME.match(element.get("id")):
        return f"{element.tag}#{element.get('id')}"
    classes = [name for name in (element.get("class") or "").split() if CSS_NAME.match(name)]
    return element.tag + "".join(f".{name}" for name in classes)


def body_paragraphs(record: dict[str, Any]) -> list[int]:
    """The lengths of the body's paragraphs, the lead left out (it is not the body rule's)."""
    found = [part for part in (record.get("body") or "").split("\n\n") if part]
    if found and record.get("sapo") and found[0].startswith(record["sapo"]) and len(found) > 1:
        found = found[1:]
    return [len(part) for part in found]


def judge(check: SiteCheck) -> tuple[list[str], list[str]]:
    """What stops the profile from working (problems) and what could be better (warnings)."""
    problems: list[str] = []
    warnings: list[str] = []
    for source in check.sources:
        if source.error or (source.status and source.status >= 400):
            answer = source.error or f"HTTP {source.status}"
            if check.origin is not None:
                # The replay server holds only the pages saved: its 404 says nothing of the site.
                warnings.append(
                    f"The {source.kind} {source.url} is not on the replay server ({answer}); "
                    "check it against the live site."
                )
            else:
                warnings.append(
                    f"The {source.kind} {source.url} failed ({answer}): fix or remove it."
                )
        elif source.status and not source.links:
            warnings.append(
                f"The {source.kind} {source.url} gave no article links: does article_url match?"
            )
    if not any(source.links for source in check.sources):
        problems.append(
            "No discovery source gave an article link: check the feed/sitemap/listing URLs "
            "and the article_url pattern."
        )
    if check.article_url is None:
        return problems, warnings
    if check.extraction is None:
        why = check.article_error or "no response"
        problems.append(f"The article {check.article_url} could not be read ({why}).")
        return problems, warnings
    for item in check.fields:
        found = problems if item.name in (*REQUIRED_FIELDS, "published_at") else warnings
        tried = ", ".join(item.tried) or "no rule in the profile"
        if not item.value:
            found.append(f"{item.name} was not found (tried: {tried}).")
        elif not item.by_profile:
            found.append(
                f"{item.name} came from {item.rule}, not from the profile's rules ({tried})."
                + (pin_title(check.headline) if item.name == "title" and check.headline else "")
            )
        elif item.name == "title" and declared(item.rule) and check.headline:
            warnings += unshown_title(item, check.headline)
    if check.extraction == "fallback":
        titled = any(item.name == "title" and item.by_profile for item in check.fields)
        why = (
            "the profile's rules failed"
            if titled
            else "the profile read no title, and reads no article without one"
        )
        problems.append(f"The body came from the generic extractor: {why}.")
    elif len(check.paragraphs) == 1 and check.paragraphs[0] > HUGE_PARAGRAPH:
        warnings.append(
            f"The body is one paragraph of {check.paragraphs[0]} characters: the body rule "
            "matches a container, not its paragraphs (each element it matches becomes one "
            "paragraph); select them, e.g. 'div.content > p'."
        )
    if check.chosen and not check.matches_article_url:
        warnings.append(
            f"The article {check.article_url} does not match article_url: discovery would "
            "never fetch it."
        )
    if check.date_rejected:
        problems.append(f"A publication date in the future was rejected ({check.date_rejected}).")
    return problems, warnings


def unshown_title(title: FieldCheck, headline: Headline) -> list[str]:
    """A title the page declares (og:title...) but does not show: sites reword it for sharing,
    so the page's headline left open, or reading otherwise, is worth a rule of its own."""
    if headline.element is None:
        return []  # no headline on the page: the declared title is all there is
    if headline.chars > MAX_TITLE_CHARS:
        why = ""
    elif clean(headline.text).casefold() != clean(title.value).casefold():
        why = f" The headline {headline.element} reads {headline.text!r}."
    else:
        return []
    return [
        f"title came from {title.rule}, which sites reword for sharing, not from the headline "
        f"the page shows.{why}{pin_title(headline, title.rule)}"
    ]


def pin_title(headline: Headline, before: str | None = None) -> str:
    """What the profile needs to read the title the generic reader found (an h1 left open...),
    the rule to put before the one that read the title otherwise, if any."""
    said = ""
    if headline.element is not None and headline.chars > MAX_TITLE_CHARS:
        tag = headline.element.split(".")[0].split("#")[0]
        said += (
            f" The headline {headline.element} is left open (no </{tag}>): its text runs on for "
            f"{headline.chars:,} characters over the article, too long for a title, so a rule "
            "on the whole element finds none."
        )
    if headline.pin is not None:
        rule = f"{{{headline.pin.kind}: {json.dumps(headline.pin.value, ensure_ascii=False)}}}"
        where = f", before {before}" if before else ""
        said += f" Pin the title: add {rule} to the profile's title rules{where}"
        said += " (it reads it alone)."
    return said


def run_check(profile: SiteProfile, origin: str | None, article: str | None) -> SiteCheck:
    """Run the check crawl in this process (the Twisted reactor: once per process)."""
    settings = scrapy_settings(replay=origin is not None)
    settings.set("LOG_LEVEL", "ERROR", priority="cmdline")
    settings.set("CONGVU_MAX_SITEMAPS", 6)
    settings.set("RETRY_TIMES", 0)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(CheckSpider)
    process.crawl(crawler, profile=profile, origin=origin, article=article)
    process.start()
    check = crawler.spider.result
    check.problems, check.warnings = judge(check)
    return check


def check_site(
    profile: SiteProfile, origin: str | None = None, article: str | None = None
) -> SiteCheck:
    """Fetch a site's feeds, sitemaps and listings (first pages) and one article; say what is found.

    origin replays the site from another server (as `congvu crawl --origin`); article checks
    that article URL instead of the first one discovery finds. Runs in a child Python process.
    """
    with tempfile.TemporaryDirectory(prefix="congvu-check-") as folder:
        exchange = Path(folder) / "check.pickle"
        exchange.write_bytes(pickle.dumps((profile, origin, article)))
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, crawlers.check as c; c.main(sys.argv[1])",
                str(exchange),
            ],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
            check=False,
        )
        if child.returncode != 0:
            raise RuntimeError(
                f"the check of {profile.name} failed: {child.stderr.strip()[-2000:]}"
            )
        # Our own child wrote this file a moment ago: not untrusted input.
        return pickle.loads(exchange.read_bytes())  # noqa: S301


def main(path: str) -> None:
    """Child process: read (profile, origin, article), run the check, write the SiteCheck back."""
    exchange = Path(path)
    profile, origin, article = pickle.loads(exchange.read_bytes())  # noqa: S301
    exchange.write_bytes(pickle.dumps(run_check(profile, origin, article)))


def format_check(check: SiteCheck) -> str:
    """The check as text for a terminal: sources, article fields with their rules, verdict."""
    state = "verified" if check.verified else "not verified"
    lines = [f"{check.site} ({check.title}), profile {state}", "", "Discovery:"]
    if not check.sources:
        lines.append("  (the profile lists no feed, sitemap or listing)")
    for source in check.sources:
        answer = source.error or (f"HTTP {source.status}" if source.status else "not fetched")
        lines.append(f"  {source.kind:<8} {source.url}  {answer}, {source.links} article links")
        if source.places:
            shown = [f"{where} {count}" for where, count in source.places[:MAX_PLACES]]
            rest = sum(count for _, count in source.places[MAX_PLACES:])
            where = ", ".join(shown) + (f", elsewhere {rest}" if rest else "")
            lines.append(f"  {'':<8} links on the page: {where}")
        if source.left_out:
            lines.append(f"  {'':<8} {source.left_out} of them left out by links_within")
    chosen = " (named with --article)" if check.chosen else ""
    lines += ["", f"Article: {check.article_url or '(none found)'}{chosen}"]
    if check.article_url and check.extraction is None:
        lines.append(f"  not read: {check.article_error or 'no response'}")
    for item in check.fields:
        if item.value:
            origin = "" if item.by_profile else "  (not a profile rule)"
            preview = item.value if len(item.value) <= PREVIEW else item.value[:PREVIEW] + "…"
            lines.append(f"  {item.name:<13} found by {item.rule}{origin}")
            lines.append(f"  {'':<13} {preview!r}")
        else:
            tried = ", ".join(item.tried) or "no rule in the profile"
            lines.append(f"  {item.name:<13} MISSING (tried: {tried})")
    if check.extraction:
        lines.append(f"  extraction: {check.extraction}")
    lines.append("")
    if check.ok:
        lines.append("Result: OK: article links found; title, body and date read by the profile.")
    else:
        lines.append("Result: the profile does not work yet:")
        lines += [f"  - {problem}" for problem in check.problems]
    if check.warnings:
        lines.append("Could be better:")
        lines += [f"  - {warning}" for warning in check.warnings]
    if check.origin is not None:
        lines.append(
            f"Checked against the replay server {check.origin}, not the live site: the profile "
            "is not marked verified."
        )
    return "\n".join(lines)
