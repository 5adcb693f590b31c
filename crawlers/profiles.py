"""Site profiles: one YAML file per site says where its articles are and how to read them."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from lxml import etree
from parsel.csstranslator import HTMLTranslator

from crawlers.text import BIDI

SITES_DIR = Path(__file__).resolve().parent / "sites"
KINDS = ("press", "portal")
FIELDS = ("title", "sapo", "body", "author", "category", "published_at")
REQUIRED_FIELDS = ("title", "body")
RULE_KINDS = ("css", "xpath", "meta", "jsonld")
TOP_KEYS = {
    "name": True,
    "title": False,
    "base_url": True,
    "domains": True,
    "kind": False,
    "province": False,
    "verified": False,
    "discovery": False,
    "article_url": True,
    "exclude": False,
    "fields": True,
    "max_listing_links": False,
    "links_within": False,
}
DISCOVERY_KEYS = ("rss", "sitemaps", "listings")
LISTING_KEYS = {"url", "pages", "next_page"}
PAGE_PLACEHOLDERS = {"url", "page", "index"}
# Article links one listing (its pages together) may send to be fetched in one run: a real
# listing page links 15-50 articles, a broken one can link the whole archive.
MAX_LISTING_LINKS = 200


class ProfileError(ValueError):
    """A site profile that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Rule:
    """One way to read a field: a CSS or XPath selector, a meta tag, or a JSON-LD key."""

    kind: str
    value: str
    dayfirst: bool = True

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Listing:
    """A section page to read article links from, with its pagination."""

    url: str
    pages: int = 1
    next_page: str | None = None

    def page_url(self, page: int) -> str:
        """The URL of page `page` (1 is the listing itself); {url}, {page}, {index}=page-1."""
        if page <= 1 or not self.next_page:
            return self.url
        return self.next_page.format(url=self.url, page=page, index=page - 1)


@dataclass(frozen=True)
class Discovery:
    """Where the spider finds article URLs: feeds, sitemaps and listings, in the profile's order.

    A sitemap URL ending in /robots.txt stands for the sitemaps that robots.txt lists.
    """

    rss: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    listings: tuple[Listing, ...] = ()
    order: tuple[str, ...] = DISCOVERY_KEYS


@dataclass(frozen=True)
class SiteProfile:
    """Everything the crawler knows about one site, loaded from crawlers/sites/<name>.yaml."""

    name: str
    title: str
    base_url: str
    domains: tuple[str, ...]
    article_url: str
    fields: dict[str, tuple[Rule, ...]]
    kind: str = "press"
    province: str | None = None
    verified: bool = False
    discovery: Discovery = field(default_factory=Discovery)
    exclude: tuple[str, ...] = ()
    max_listing_links: int = MAX_LISTING_LINKS
    links_within: str | None = None  # CSS: the part of a listing page its article links are in

    def __hash__(self) -> int:  # fields is a dict, so the generated hash would raise
        return hash(self.name)

    def rules(self, name: str) -> tuple[Rule, ...]:
        """The rules for one field, in the order they are tried (empty when none)."""
        return self.fields.get(name, ())


def fail(path: Path, key: str, message: str) -> ProfileError:
    """An error naming the profile file and the offending key."""
    return ProfileError(f"{path}: {key}: {message}")


def check_keys(path: Path, where: str, data: dict[str, Any], allowed: set[str]) -> None:
    """Reject keys not in allowed, naming the first unknown one."""
    for key in data:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise fail(path, f"{where}{key}", f"unknown key (expected one of: {known})")


def need_str(path: Path, key: str, value: Any) -> str:
    """value as a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise fail(path, key, f"must be a non-empty string, got {value!r}")
    return value.strip()


def opt_str(path: Path, key: str, value: Any) -> str | None:
    """value as a non-empty string, or None when missing."""
    return None if value is None else need_str(path, key, value)


def shown_str(path: Path, key: str, value: Any) -> str | None:
    """value as opt_str gives it, refused when it holds a bidirectional control character."""
    text = opt_str(path, key, value)
    found = BIDI.search(text or "")
    if found:  # shown on every card's meta line, it would reverse the text after it there
        raise fail(
            path,
            key,
            f"holds the bidirectional control character U+{ord(found.group()):04X}, which shows "
            "the text after it reversed in the digest; remove it",
        )
    return text


def need_url(path: Path, key: str, value: Any) -> str:
    """value as an absolute http(s) URL."""
    text = need_str(path, key, value)
    if not re.match(r"^https?://[^/\s]+", text):
        raise fail(path, key, f"must be an absolute http(s) URL, got {value!r}")
    return text


def need_list(path: Path, key: str, value: Any) -> list[Any]:
    """value as a list (None counts as empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(path, key, f"must be a list, got {type(value).__name__}")
    return value


def check_css(path: Path, key: str, selector: str) -> None:
    """Fail when selector is not valid CSS for parsel."""
    try:
        HTMLTranslator().css_to_xpath(selector)
    except Exception as exc:  # cssselect raises several unrelated types
        raise fail(path, key, f"invalid CSS selector {selector!r}: {exc}") from exc


def parse_rule(path: Path, key: str, raw: Any) -> Rule:
    """One rule mapping such as {css: "h1"} or {meta: "og:title", dayfirst: false}."""
    if not isinstance(raw, dict):
        raise fail(path, key, f"a rule must be a mapping like {{css: 'h1'}}, got {raw!r}")
    check_keys(path, f"{key}.", raw, {*RULE_KINDS, "dayfirst"})
    kinds = [kind for kind in RULE_KINDS if kind in raw]
    if len(kinds) != 1:
        raise fail(path, key, f"a rule needs exactly one of {', '.join(RULE_KINDS)}")
    kind = kinds[0]
    value = need_str(path, f"{key}.{kind}", raw[kind])
    dayfirst = raw.get("dayfirst", True)
    if not isinstance(dayfirst, bool):
        raise fail(path, f"{key}.dayfirst", f"must be true or false, got {dayfirst!r}")
    if kind == "css":
        check_css(path, f"{key}.css", value)
    elif kind == "xpath":
        try:
            etree.XPath(value)
        except etree.XPathSyntaxError as exc:
            raise fail(path, f"{key}.xpath", f"invalid XPath {value!r}: {exc}") from exc
    return Rule(kind, value, dayfirst)


def parse_fields(path: Path, raw: Any) -> dict[str, tuple[Rule, ...]]:
    """The fields mapping: each field a list of rules; title and body are required."""
    if not isinstance(raw, dict):
        raise fail(path, "fields", "must be a mapping of field name to a list of rules")
    check_keys(path, "fields.", raw, set(FIELDS))
    fields: dict[str, tuple[Rule, ...]] = {}
    for name, rules in raw.items():
        items = need_list(path, f"fields.{name}", rules)
        fields[name] = tuple(
            parse_rule(path, f"fields.{name}[{i}]", rule) for i, rule in enumerate(items)
        )
    for name in REQUIRED_FIELDS:
        if not fields.get(name):
            raise fail(path, f"fields.{name}", "is required and needs at least one rule")
    return fields


def parse_listing(path: Path, key: str, raw: Any) -> Listing:
    """One listing: a URL, how many pages to follow and the template for page >= 2."""
    if isinstance(raw, str):
        raw = {"url": raw}
    if not isinstance(raw, dict):
        raise fail(path, key, f"must be a URL or a mapping with url/pages/next_page, got {raw!r}")
    check_keys(path, f"{key}.", raw, LISTING_KEYS)
    url = need_url(path, f"{key}.url", raw.get("url"))
    pages = raw.get("pages", 1)
    if not isinstance(pages, int) or isinstance(pages, bool) or pages < 1:
        raise fail(path, f"{key}.pages", f"must be a whole number >= 1, got {pages!r}")
    next_page = opt_str(path, f"{key}.next_page", raw.get("next_page"))
    if next_page is not None:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(next_page) if name}
        except ValueError as exc:
            raise fail(path, f"{key}.next_page", f"bad template: {exc}") from exc
        if not names <= PAGE_PLACEHOLDERS or not names & {"page", "index"}:
            raise fail(
                path, f"{key}.next_page", "may use {url}, {page}, {index} and needs {page}/{index}"
            )
    elif pages > 1:
        raise fail(path, f"{key}.pages", "pages > 1 needs a next_page template")
    return Listing(url, pages, next_page)


def parse_discovery(path: Path, raw: Any) -> Discovery:
    """The discovery mapping: rss feeds, sitemaps and listing pages, tried in the order written."""
    if raw is None:
        return Discovery()
    if not isinstance(raw, dict):
        raise fail(path, "discovery", "must be a mapping with rss, sitemaps and/or listings")
    check_keys(path, "discovery.", raw, set(DISCOVERY_KEYS))
    urls = {
        key: tuple(
            need_url(path, f"discovery.{key}[{i}]", url)
            for i, url in enumerate(need_list(path, f"discovery.{key}", raw.get(key)))
        )
        for key in ("rss", "sitemaps")
    }
    listings = need_list(path, "discovery.listings", raw.get("listings"))
    written = tuple(key for key in raw if key in DISCOVERY_KEYS)
    return Discovery(
        rss=urls["rss"],
        sitemaps=urls["sitemaps"],
        listings=tuple(
            parse_listing(path, f"discovery.listings[{i}]", item) for i, item in enumerate(listings)
        ),
        order=written + tuple(key for key in DISCOVERY_KEYS if key not in written),
    )


def load_profile(path: str | Path) -> SiteProfile:
    """Read and validate one profile file; ProfileError names the file and the bad key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: cannot read profile: {exc}") from exc
    if not isinstance(raw, dict):
        raise ProfileError(f"{path}: a profile must be a YAML mapping")
    check_keys(path, "", raw, set(TOP_KEYS))
    for key, required in TOP_KEYS.items():
        if required and key not in raw:
            raise fail(path, key, "is required")
    name = need_str(path, "name", raw["name"])
    if name != path.stem:
        raise fail(path, "name", f"{name!r} must equal the file name {path.stem!r}")
    domains = need_list(path, "domains", raw["domains"])
    if not domains:
        raise fail(path, "domains", "needs at least one host")
    kind = raw.get("kind", "press")
    if kind not in KINDS:
        raise fail(path, "kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    verified = raw.get("verified", False)
    if not isinstance(verified, bool):
        raise fail(path, "verified", f"must be true or false, got {verified!r}")
    article_url = need_str(path, "article_url", raw["article_url"])
    try:
        re.compile(article_url)
    except re.error as exc:
        raise fail(path, "article_url", f"invalid regex {article_url!r}: {exc}") from exc
    max_links = raw.get("max_listing_links", MAX_LISTING_LINKS)
    if not isinstance(max_links, int) or isinstance(max_links, bool) or max_links < 1:
        raise fail(path, "max_listing_links", f"must be a whole number >= 1, got {max_links!r}")
    links_within = opt_str(path, "links_within", raw.get("links_within"))
    if links_within is not None:
        check_css(path, "links_within", links_within)
    exclude = need_list(path, "exclude", raw.get("exclude"))
    for i, selector in enumerate(exclude):
        check_css(path, f"exclude[{i}]", need_str(path, f"exclude[{i}]", selector))
    return SiteProfile(
        name=name,
        title=shown_str(path, "title", raw.get("title")) or name,
        base_url=need_url(path, "base_url", raw["base_url"]),
        domains=tuple(need_str(path, f"domains[{i}]", d).lower() for i, d in enumerate(domains)),
        article_url=article_url,
        fields=parse_fields(path, raw["fields"]),
        kind=kind,
        province=shown_str(path, "province", raw.get("province")),
        verified=verified,
        discovery=parse_discovery(path, raw.get("discovery")),
        exclude=tuple(s.strip() for s in exclude),
        max_listing_links=max_links,
        links_within=links_within,
    )


def load_profiles(directory: str | Path | None = None) -> dict[str, SiteProfile]:
    """All profiles in directory (default crawlers/sites/), by name."""
    folder = Path(directory) if directory is not None else SITES_DIR
    return {path.stem: load_profile(path) for path in sorted(folder.glob("*.yaml"))}
