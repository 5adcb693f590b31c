"""URLs: made absolute and cleaned of tracking parameters, the canonical URL, article links."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml import etree
from w3lib.url import url_query_cleaner

from crawlers.markup import to_text, under
from crawlers.page import Page
from crawlers.profiles import Rule, SiteProfile

TRACKING_PARAMS = {
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "yclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "zarsrc",
    "gidzl",
    "itm_source",
    "itm_medium",
    "itm_campaign",
    "itm_content",
}
TRACKING_PREFIXES = ("utm_",)


def strip_tracking(url: str) -> str:
    """url without its fragment and without tracking query parameters (utm_*, fbclid...)."""
    names = [pair.partition("=")[0] for pair in urlsplit(url).query.split("&")]
    tracking = [name for name in names if is_tracking(name)]
    return url_query_cleaner(url.strip(), tracking, remove=True, unique=False)


def is_tracking(name: str) -> bool:
    """True for a query parameter that only tells where a visitor came from."""
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def absolute(base: str, href: str | None) -> str | None:
    """href made absolute against base and cleaned; None unless it is an http(s) URL."""
    if not href:
        return None
    href = re.sub(r"[\t\r\n]", "", href).strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return None
    try:
        url = strip_tracking(urljoin(base, href))
    except ValueError:
        return None
    return url if url.startswith(("http://", "https://")) else None


def on_domains(host: str, domains: tuple[str, ...]) -> bool:
    """True when host is one of domains or a subdomain of one."""
    return any(host == d or host.endswith("." + d) for d in domains)


def url_host(url: str) -> str:
    """The lower-cased host of url ("" when it has none or cannot be parsed)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def canonical_url(page: Page, url: str, domains: tuple[str, ...] = ()) -> str:
    """<link rel=canonical>, else og:url, else url; absolute, no fragment or tracking params.

    Only a URL on the site's own domains (url's host, less www., when none are given) is taken:
    the article id is derived from it, so another site's page naming one of ours as canonical
    would replace our article. Such syndicated copies stay apart and are grouped as one story.
    """
    domains = domains or (url_host(url).removeprefix("www."),)
    candidates = [
        *page.select("css", "link[rel~=canonical]::attr(href)"),
        *page.values(Rule("meta", "og:url")),
    ]
    for href in candidates:
        found = absolute(url, href)
        if found and on_domains(url_host(found), domains):
            return found
    return absolute(url, url) or url


def is_article_url(profile: SiteProfile, url: str) -> bool:
    """True when url matches the profile's article_url: without its query, else with it.

    Most sites name an article in the path (the query is then noise); some portals only in the
    query (chi-tiet?id=123): a pattern that spells out the query matches those.
    """
    try:
        parts = urlsplit(url.strip())
        bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        if re.search(profile.article_url, bare) is not None:
            return True
        if not parts.query:
            return False
        with_query = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
        return re.search(profile.article_url, with_query) is not None
    except (ValueError, re.error):
        return False


def article_anchors(profile: SiteProfile, page: Page, page_url: str) -> list[tuple[Any, str]]:
    """Every <a> of a page that links an article, with that article's URL, in page order."""
    base = absolute(page_url, next(iter(page.select("xpath", "//base/@href")), None)) or page_url
    found = []
    for anchor in page.select("xpath", "//a[@href]"):
        url = absolute(base, anchor.get("href"))
        if url and is_article_url(profile, url):
            found.append((anchor, url))
    return found


def within(page: Page, css: str) -> list[Any]:
    """The elements a profile's links_within selects on a page."""
    return [element for element in page.select("css", css) if isinstance(element, etree._Element)]


def article_links(profile: SiteProfile, page_url: str, html: str) -> list[str]:
    """Article URLs linked from a page (within links_within when the profile sets it):
    absolute, fragment-free, de-duplicated, in order."""
    page = Page(to_text(html))
    scopes = within(page, profile.links_within) if profile.links_within else None
    links: dict[str, None] = {}
    for anchor, url in article_anchors(profile, page, page_url):
        if scopes is None or any(under(anchor, scope) for scope in scopes):
            links.setdefault(url)
    return list(links)
