"""Read an article's fields from its HTML with the site profile's rules, else trafilatura."""

from __future__ import annotations

import html as htmllib
import json
import re
import unicodedata
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import htmldate
import trafilatura
from lxml import etree
from parsel import Selector, SelectorList
from w3lib.encoding import html_to_unicode

from crawlers.dates import date_from_url, parse_datetime
from crawlers.profiles import Rule, SiteProfile

TEXT_FIELDS = ("title", "sapo", "author", "category")
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
ARTICLE_TYPES = {"Article", "NewsArticle", "ReportageNews", "AnalysisNewsArticle", "BlogPosting"}
SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "button", "iframe", "object"}
BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "ol",
    "p", "section", "table", "td", "th", "tr", "ul",
}  # fmt: skip
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
LOWER = "translate(@{},'ABCDEFGHIJKLMNOPQRSTUVWXYZ','abcdefghijklmnopqrstuvwxyz')=$name"
META_MATCH = " or ".join(LOWER.format(attr) for attr in ("property", "name", "itemprop"))
META_XPATH = f"//meta[{META_MATCH}]/@content"
GENERIC_DATE_RULES = (
    Rule("meta", "article:published_time"),
    Rule("jsonld", "datePublished"),
    Rule("meta", "datePublished"),
    Rule("meta", "pubdate"),
    Rule("meta", "dc.date.issued"),
)
GENERIC_TEXT_RULES = {
    "title": (Rule("meta", "og:title"), Rule("jsonld", "headline"), Rule("css", "h1")),
    "sapo": (Rule("meta", "og:description"), Rule("meta", "description")),
    "author": (Rule("jsonld", "author.name"),),
    "category": (Rule("meta", "article:section"), Rule("jsonld", "articleSection")),
}


def clean(text: Any, unescape: bool = False) -> str:
    """NFC, invisible characters dropped, whitespace collapsed (entities decoded if asked)."""
    if text is None:
        return ""
    text = str(text)
    if unescape:
        for _ in range(2):  # some sites escape entities twice inside JSON-LD
            if "&" not in text:
                break
            text = htmllib.unescape(text)
    text = unicodedata.normalize("NFC", text).translate(INVISIBLE)
    return " ".join(text.split())


def to_text(html: str | bytes | None) -> str:
    """Page text safe for lxml: bytes decoded as Scrapy would, control characters removed."""
    if html is None:
        return ""
    if isinstance(html, bytes):
        html = html_to_unicode("text/html", html)[1]
    html = html.encode("utf-8", "replace").decode("utf-8")
    return CONTROL_CHARS.sub("", html)


def make_selector(html: str) -> Selector | None:
    """A parsel Selector for html, or None when lxml cannot make a tree of it."""
    try:
        sel = Selector(text=html or "<html></html>")
        sel.xpath("/*")
        return sel
    except Exception:  # lxml raises various errors on hostile input
        return None


def element_text(root: Any) -> str:
    """Text content of an lxml element, skipping scripts/styles/comments, blocks space-separated."""
    parts: list[str] = []
    skipping = 0
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag.lower() if isinstance(el.tag, str) else None
        skipped = tag is None or tag in SKIP_TAGS
        block = tag in BLOCK_TAGS
        if event == "start":
            if skipped:
                skipping += 1
            elif not skipping:
                if block:
                    parts.append(" ")
                parts.append(el.text or "")
            continue
        if skipped:
            skipping -= 1
        if el is root or skipping:
            continue
        if block:
            parts.append(" ")
        parts.append(el.tail or "")
    return "".join(parts)


def node_text(node: Selector) -> str:
    """The text of a selected node: an element's text content, or a text/attribute string."""
    root = node.root
    if isinstance(root, str | int | float):
        return str(root)
    try:
        return element_text(root)
    except Exception:  # a tree too odd to walk yields nothing rather than an error
        return ""


def load_jsonld(text: str) -> Any:
    """One ld+json block, forgiving raw newlines in strings and trailing commas."""
    text = text.strip().strip(";")
    for attempt in (text, re.sub(r",\s*([}\]])", r"\1", text)):
        try:
            return json.loads(attempt, strict=False)
        except ValueError:
            continue
    return None


def flatten_jsonld(data: Any) -> list[dict[str, Any]]:
    """All objects of a parsed ld+json block, @graph and top-level lists unrolled."""
    if isinstance(data, list):
        return [obj for item in data for obj in flatten_jsonld(item)]
    if isinstance(data, dict):
        graph = data.get("@graph")
        return [data] + (flatten_jsonld(graph) if isinstance(graph, list) else [])
    return []


def is_article(obj: dict[str, Any]) -> bool:
    """True for an Article-like JSON-LD object (NewsArticle, BlogPosting...)."""
    kinds = obj.get("@type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return any(isinstance(k, str) and (k in ARTICLE_TYPES or k.endswith("Article")) for k in kinds)


def dig(value: Any, keys: list[str]) -> list[Any]:
    """Values at a dotted path, mapping over lists on the way."""
    if isinstance(value, list):
        return [found for item in value for found in dig(item, keys)]
    if not keys:
        return [] if isinstance(value, dict) or value is None else [value]
    if isinstance(value, dict):
        return dig(value.get(keys[0]), keys[1:])
    return []


class Page:
    """A parsed page with its JSON-LD articles read once, on first use."""

    def __init__(self, html: str) -> None:
        self.html = html
        self.sel = make_selector(html)
        self._jsonld: list[dict[str, Any]] | None = None

    @property
    def jsonld(self) -> list[dict[str, Any]]:
        """The Article-like objects of the page's ld+json blocks."""
        if self._jsonld is None:
            blocks = self.select("xpath", "//script[@type='application/ld+json']/text()")
            objects = [obj for block in blocks for obj in flatten_jsonld(load_jsonld(block.get()))]
            self._jsonld = [obj for obj in objects if is_article(obj)]
        return self._jsonld

    def select(self, kind: str, query: str, **variables: Any) -> SelectorList[Selector]:
        """CSS or XPath matches, empty on any selector or tree error."""
        if self.sel is None:
            return SelectorList()
        try:
            if kind == "css":
                return self.sel.css(query)
            return self.sel.xpath(query, **variables)
        except Exception:  # a bad selector or a broken tree must not stop extraction
            return SelectorList()

    def values(self, rule: Rule) -> list[str]:
        """The cleaned, non-empty strings a rule yields on this page, in document order."""
        if rule.kind == "meta":
            found = [n.get() for n in self.select("xpath", META_XPATH, name=rule.value.lower())]
            raw, unescape = found, True
        elif rule.kind == "jsonld":
            keys = rule.value.split(".")
            raw = [v for obj in self.jsonld for v in dig(obj, keys) if not isinstance(v, bool)]
            unescape = True
        else:
            raw, unescape = [node_text(n) for n in self.select(rule.kind, rule.value)], False
        return [text for text in (clean(v, unescape) for v in raw) if text]

    def drop(self, css: str) -> None:
        """Remove every element matching css from the tree (tails are kept)."""
        for node in self.select("css", css):
            try:
                node.drop()
            except Exception:  # the root element or a detached node cannot be dropped
                continue


def first_text(page: Page, rules: tuple[Rule, ...], field: str) -> tuple[str, Rule | None]:
    """The first non-empty value of the first rule that yields one (authors: all, joined)."""
    for rule in rules:
        values = page.values(rule)
        if not values:
            continue
        if field == "author":
            return ", ".join(dict.fromkeys(values)), rule
        return values[0], rule
    return "", None


def first_date(page: Page, rules: tuple[Rule, ...]) -> tuple[datetime | None, Rule | None]:
    """The first value of the rules that parses as a date."""
    for rule in rules:
        for value in page.values(rule):
            parsed = parse_datetime(value, dayfirst=rule.dayfirst)
            if parsed is not None:
                return parsed, rule
    return None, None


def paragraphs(page: Page, rules: tuple[Rule, ...]) -> tuple[list[str], Rule | None]:
    """Body paragraphs (one per matched element) of the first rule that yields any."""
    for rule in rules:
        found: list[str] = []
        for text in page.values(rule):
            if not found or found[-1] != text:
                found.append(text)
        if found:
            return found, rule
    return [], None


def strip_tracking(url: str) -> str:
    """url without its fragment and without tracking query parameters (utm_*, fbclid...)."""
    parts = urlsplit(url.strip())
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [
            (k, v)
            for k, v in pairs
            if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
        ]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


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


def canonical_url(page: Page, url: str) -> str:
    """<link rel=canonical>, else og:url, else url; absolute, no fragment or tracking params."""
    candidates = [
        *page.select("css", "link[rel~=canonical]::attr(href)").getall(),
        *page.values(Rule("meta", "og:url")),
    ]
    for href in candidates:
        found = absolute(url, href)
        if found:
            return found
    return absolute(url, url) or url


def site_name(profile: SiteProfile | None, url: str) -> str:
    """The profile name, or the URL's host without www. when there is no profile."""
    if profile is not None:
        return profile.name
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return host.removeprefix("www.")


def fallback_fields(html: str, url: str) -> dict[str, str]:
    """Title, author, category and body text from trafilatura (precision first)."""
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url or None,
            favor_precision=True,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
        )
    except Exception:  # trafilatura can fail on hostile markup; extraction goes on without it
        doc = None
    if doc is None:
        return {}
    data = doc if isinstance(doc, dict) else doc.as_dict()
    lines = [clean(line) for line in (data.get("text") or "").splitlines()]
    categories = data.get("categories") or ""
    if isinstance(categories, list):
        categories = ", ".join(categories)
    return {
        "title": clean(data.get("title")),
        "author": clean(data.get("author")),
        "category": clean(categories),
        "body": "\n\n".join(line for line in lines if line),
    }


def htmldate_date(html: str, url: str) -> datetime | None:
    """htmldate's guess of the original publication date, as Vietnam time."""
    try:
        found = htmldate.find_date(
            html, url=url or None, original_date=True, outputformat="%Y-%m-%dT%H:%M:%S"
        )
    except Exception:  # htmldate raises on some broken documents
        return None
    return parse_datetime(found) if found else None


def find_date(
    page: Page, profile: SiteProfile | None, url: str
) -> tuple[datetime | None, str | None, Rule | None]:
    """Publication time: profile rules, common meta/JSON-LD, the URL stamp, then htmldate."""
    if profile is not None:
        found, rule = first_date(page, profile.rules("published_at"))
        if found is not None:
            return found, str(rule), rule
    found, rule = first_date(page, GENERIC_DATE_RULES)
    if found is not None:
        return found, str(rule), None
    found = date_from_url(url)
    if found is not None:
        return found, "url", None
    found = htmldate_date(page.html, url)
    if found is not None:
        return found, "htmldate", None
    return None, None, None


def extract_article(profile: SiteProfile | None, url: str, html: str) -> dict[str, Any]:
    """The article's fields; profile rules first, trafilatura/htmldate where they fail."""
    page = Page(to_text(html))
    record: dict[str, Any] = {
        "url": url,
        "canonical_url": canonical_url(page, url),
        "site": site_name(profile, url),
        **dict.fromkeys(TEXT_FIELDS, ""),
        "body": "",
        "published_at": None,
        "date_source": None,
        "extraction": "fallback",
        "rules": {},
    }
    rules: dict[str, str] = {}
    found: list[str] = []
    if profile is not None:
        for field in TEXT_FIELDS:
            record[field], rule = first_text(page, profile.rules(field), field)
            if rule is not None:
                rules[field] = str(rule)
    record["published_at"], record["date_source"], date_rule = find_date(page, profile, url)
    if date_rule is not None:
        rules["published_at"] = str(date_rule)
    if profile is not None:
        for css in profile.exclude:
            page.drop(css)
        found, rule = paragraphs(page, profile.rules("body"))
        if rule is not None:
            rules["body"] = str(rule)
    if found and record["title"]:
        record["extraction"] = "profile"
        sapo = record["sapo"]
        if sapo and not found[0].startswith(sapo):
            found.insert(0, sapo)
        record["body"] = "\n\n".join(found)
    else:
        fallback = fallback_fields(page.html, url)
        for field in ("title", "author", "category", "body"):
            record[field] = record.get(field) or fallback.get(field, "")
        for field, generic in GENERIC_TEXT_RULES.items():
            if not record[field]:
                record[field] = first_text(page, generic, field)[0]
    record["rules"] = rules
    return record


def is_article_url(profile: SiteProfile, url: str) -> bool:
    """True when url (query and fragment ignored) matches the profile's article_url."""
    try:
        parts = urlsplit(url.strip())
        bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        return re.search(profile.article_url, bare) is not None
    except (ValueError, re.error):
        return False


def article_links(profile: SiteProfile, page_url: str, html: str) -> list[str]:
    """Article URLs linked from a page: absolute, fragment-free, de-duplicated, in order."""
    page = Page(to_text(html))
    base = absolute(page_url, page.select("xpath", "//base/@href").get()) or page_url
    links: dict[str, None] = {}
    for href in page.select("xpath", "//a/@href").getall():
        url = absolute(base, href)
        if url and is_article_url(profile, url):
            links.setdefault(url)
    return list(links)
