"""Read an article's fields from its HTML with the site profile's rules, else trafilatura."""

from __future__ import annotations

import hashlib
import html as htmllib
import json
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from statistics import median_low
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import htmldate
import trafilatura
from lxml import etree
from parsel.csstranslator import HTMLTranslator

from crawlers.dates import NUMERIC_RE, date_from_url, parse_datetime
from crawlers.encoding import decode_html
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
# Zero-width and soft-hyphen characters, and control characters lxml passes through.
INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0e-\x1b\ufffe\uffff]")
META_ATTRS = ("property", "name", "itemprop")
INERT_TAG = re.compile(rb"<(script|style|svg)[\s>/]")
JS_TYPES = (b"javascript", b"ecmascript", b"module")
# A page may be stamped a little ahead of our clock; beyond this a date is taken as wrong.
CLOCK_SKEW = timedelta(minutes=15)
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
    text = INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return " ".join(text.split())


def to_text(html: str | bytes | None) -> str:
    """Page text: bytes decoded with decode_html (BOM, declared charset checked, else guessed)."""
    if html is None:
        return ""
    if isinstance(html, bytes):
        return decode_html(html)[0]
    return html


def is_javascript(opening: bytes) -> bool:
    """True for a <script ...> opening tag of JavaScript (no type, or a JavaScript type)."""
    opening = opening.lower()
    return b"type=" not in opening or any(kind in opening for kind in JS_TYPES)


def strip_inert(data: bytes) -> bytes:
    """data without script and style bodies or inline SVG: no article text, much parsing time.

    JavaScript and CSS keep their (emptied) tags; an inline <svg> goes whole. Other scripts
    (ld+json, application/json, text/template) are kept: extraction may read them.
    """
    parts, position, search = [], 0, 0
    while match := INERT_TAG.search(data, search):
        start, tag = match.start(), match.group(1)
        opening_end = data.find(b">", start)
        closing = data.find(b"</" + tag + b">", opening_end)
        if opening_end < 0 or closing < 0:
            break
        if tag == b"svg":
            keep, resume = start, closing + len(tag) + 3
        elif tag == b"script" and not is_javascript(data[start:opening_end]):
            search = closing
            continue
        else:
            keep, resume = opening_end + 1, closing
        parts.append(data[position:keep])
        position = search = resume
    parts.append(data[position:])
    return b"".join(parts)


def parse_html(html: str, utf8: bytes | None = None) -> Any:
    """The lxml tree of html (lone surrogates replaced), or None when lxml cannot parse it.

    utf8: the page's bytes when they are already valid UTF-8, which spares encoding html again.
    """
    raw = utf8 if utf8 is not None else html.encode("utf-8", "replace")
    data = strip_inert(raw.replace(b"\x00", b"").strip())
    try:
        parser = etree.HTMLParser(recover=True, encoding="utf-8", huge_tree=False)
        return etree.fromstring(data or b"<html></html>", parser=parser)
    except Exception:  # lxml raises various errors on hostile input
        return None


@lru_cache(maxsize=1024)
def compiled(kind: str, query: str) -> etree.XPath:
    """A compiled XPath for an XPath query or a CSS selector (parsel's ::text/::attr() allowed)."""
    xpath = HTMLTranslator().css_to_xpath(query) if kind == "css" else query
    return etree.XPath(xpath, smart_strings=False)


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

    def __init__(self, html: str, utf8: bytes | None = None) -> None:
        self.html = html
        self.root = parse_html(html, utf8)
        self._jsonld: list[dict[str, Any]] | None = None
        self._meta: dict[str, list[str]] | None = None

    @property
    def meta(self) -> dict[str, list[str]]:
        """Contents of the page's <meta> tags by lower-cased property, name or itemprop."""
        if self._meta is None:
            self._meta = {}
            root = self.root
            for element in root.iter("meta") if root is not None else ():
                content = element.get("content")
                if content is None:
                    continue
                keys = {element.get(attr, "").strip().lower() for attr in META_ATTRS}
                for key in keys - {""}:
                    self._meta.setdefault(key, []).append(content)
        return self._meta

    @property
    def jsonld(self) -> list[dict[str, Any]]:
        """The Article-like objects of the page's ld+json blocks."""
        if self._jsonld is None:
            blocks = self.select("xpath", "//script[@type='application/ld+json']/text()")
            objects = [obj for block in blocks for obj in flatten_jsonld(load_jsonld(block))]
            self._jsonld = [obj for obj in objects if is_article(obj)]
        return self._jsonld

    def select(self, kind: str, query: str) -> list[Any]:
        """CSS or XPath matches (elements or strings), empty on any selector or tree error."""
        if self.root is None:
            return []
        try:
            found = compiled(kind, query)(self.root)
        except Exception:  # a bad selector or a broken tree must not stop extraction
            return []
        return found if isinstance(found, list) else [found]

    def values(self, rule: Rule) -> list[str]:
        """The cleaned, non-empty strings a rule yields on this page, in document order."""
        if rule.kind == "meta":
            raw, unescape = self.meta.get(rule.value.lower(), []), True
        elif rule.kind == "jsonld":
            keys = rule.value.split(".")
            raw = [v for obj in self.jsonld for v in dig(obj, keys) if not isinstance(v, bool)]
            unescape = True
        else:
            raw, unescape = [root_text(n) for n in self.select(rule.kind, rule.value)], False
        return [text for text in (clean(v, unescape) for v in raw) if text]

    def drop_within(self, roots: list[Any], exclude: tuple[str, ...]) -> list[Any]:
        """Drop what exclude matches inside the nodes' common container; the nodes still there.

        Only the container of the matched nodes is searched, which is what can change their text,
        instead of the whole page: far fewer elements to test on a large page.
        """
        elements = [root for root in roots if isinstance(root, etree._Element)]
        top = common_ancestor(elements)
        if top is None or not exclude:
            return roots
        for css in exclude:
            try:
                matches = compiled("css", css)(top)
            except Exception:  # a selector lxml cannot run is skipped, not fatal
                continue
            for element in matches:
                if isinstance(element, etree._Element) and element.getparent() is not None:
                    drop_tree(element)
        if top.getparent() is None and top is not self.root:
            return [root for root in roots if not isinstance(root, etree._Element)]
        return [root for root in roots if not isinstance(root, etree._Element) or under(root, top)]


def drop_tree(element: Any) -> None:
    """Remove element and its content, keeping the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def common_ancestor(elements: list[Any]) -> Any:
    """The deepest element containing all of elements (None for an empty list)."""
    if not elements:
        return None
    path = [elements[0], *elements[0].iterancestors()][::-1]
    depth = len(path)
    for element in elements[1:]:
        other = [element, *element.iterancestors()][::-1]
        limit = min(depth, len(other))
        depth = next((i for i in range(limit) if other[i] is not path[i]), limit)
        if depth == 0:
            return None
    return path[depth - 1]


def under(element: Any, top: Any) -> bool:
    """True while element is top or still attached below it (not dropped with an ancestor)."""
    if element is top:
        return True
    return any(ancestor is top for ancestor in element.iterancestors())


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
            parsed = parse_datetime(value, dayfirst=rule.dayfirst)
            if check.ok(parsed):
                return parsed, rule
    return None, None


def paragraphs(
    page: Page, rules: tuple[Rule, ...], exclude: tuple[str, ...] = ()
) -> tuple[list[str], Rule | None]:
    """Body paragraphs (one per matched element, exclude dropped) of the first rule with any."""
    for rule in rules:
        if rule.kind in ("css", "xpath"):
            nodes = page.select(rule.kind, rule.value)
            if not nodes:
                continue
            roots = page.drop_within(nodes, exclude)
            texts = (clean(root_text(root)) for root in roots)
        else:
            texts = iter(page.values(rule))
        found: list[str] = []
        for text in texts:
            if text and (not found or found[-1] != text):
                found.append(text)
        if found:
            return found, rule
    return [], None


def root_text(root: Any) -> str:
    """The text of a selection result: an element's text content, or a text/attribute string."""
    if isinstance(root, str | int | float):
        return str(root)
    try:
        return element_text(root)
    except Exception:  # a tree too odd to walk yields nothing rather than an error
        return ""


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


def site_name(profile: SiteProfile | None, url: str) -> str:
    """The profile name, or the URL's host without www. when there is no profile."""
    if profile is not None:
        return profile.name
    return url_host(url).removeprefix("www.")


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
    """htmldate's reading of the original publication date, as Vietnam time.

    Its extensive search is off: on a page without a usable date it guesses from any year it
    sees (2026 becomes 1 January 2026), and a wrong date is worse than none.
    """
    try:
        found = htmldate.find_date(
            html,
            url=url or None,
            original_date=True,
            extensive_search=False,
            outputformat="%Y-%m-%dT%H:%M:%S",
        )
    except Exception:  # htmldate raises on some broken documents
        return None
    return parse_datetime(found) if found else None


def find_date(
    page: Page, profile: SiteProfile | None, url: str, check: DateCheck
) -> tuple[datetime | None, str | None, Rule | None]:
    """Publication time: profile rules, common meta/JSON-LD, the URL stamp, then htmldate.

    A date later than check allows is skipped (and noted in check) for the next source.
    """
    if profile is not None:
        found, rule = first_date(page, profile.rules("published_at"), check)
        if found is not None:
            return found, str(rule), rule
    found, rule = first_date(page, GENERIC_DATE_RULES, check)
    if found is not None:
        return found, str(rule), None
    found = date_from_url(url)
    if check.ok(found):
        return found, "url", None
    found = htmldate_date(page.html, url)
    if check.ok(found):
        return found, "htmldate", None
    return None, None, None


def extract_article(
    profile: SiteProfile | None,
    url: str,
    html: str | bytes,
    fetched_at: datetime | None = None,
    utf8: bytes | None = None,
) -> dict[str, Any]:
    """The article's fields; profile rules first, trafilatura/htmldate where they fail.

    `rules` says where each field came from: a profile rule ("css:h1.title"), a generic rule
    ("generic:meta:og:title") or trafilatura ("fallback:trafilatura"). A date later than
    fetched_at (default now) plus CLOCK_SKEW is not used; it goes to `date_rejected`. utf8 may
    carry the page's bytes when they are valid UTF-8 (parsed as they are).
    """
    page = Page(to_text(html), utf8)
    record: dict[str, Any] = {
        "url": url,
        "canonical_url": canonical_url(page, url, profile.domains if profile else ()),
        "site": site_name(profile, url),
        **dict.fromkeys(TEXT_FIELDS, ""),
        "body": "",
        "published_at": None,
        "date_source": None,
        "date_rejected": None,
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
    check = DateCheck((fetched_at or datetime.now(timezone.utc)) + CLOCK_SKEW)
    published, source, date_rule = find_date(page, profile, url, check)
    record["published_at"], record["date_source"] = published, source
    if check.rejected is not None:
        record["date_rejected"] = check.rejected.isoformat()
    if source is not None:
        rules["published_at"] = str(date_rule) if date_rule is not None else f"generic:{source}"
    if profile is not None:
        found, rule = paragraphs(page, profile.rules("body"), profile.exclude)
        if rule is not None:
            rules["body"] = str(rule)
    if found and record["title"]:
        record["extraction"] = "profile"
        sapo = record["sapo"]
        if sapo and not found[0].startswith(sapo):
            found.insert(0, sapo)
        record["body"] = "\n\n".join(found)
    else:
        rules.pop("body", None)
        fallback = fallback_fields(page.html, url)
        for field in ("title", "author", "category", "body"):
            if not record.get(field) and fallback.get(field):
                record[field] = fallback[field]
                rules[field] = "fallback:trafilatura"
        for field, generic in GENERIC_TEXT_RULES.items():
            if not record[field]:
                record[field], rule = first_text(page, generic, field)
                if rule is not None:
                    rules[field] = f"generic:{rule}"
    record["rules"] = rules
    return record


def content_hash(title: str | None, body: str | None) -> str:
    """SHA-256 of the normalised title and body text: equal when the article text is unchanged."""
    text = clean(title) + "\n" + clean(body)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def page_record(
    profile: SiteProfile | None,
    url: str,
    body: bytes,
    content_type: str | None,
    fetched_at: datetime | None = None,
) -> dict[str, Any]:
    """An article record from raw page bytes: decoded, extracted, hashed (crawl and reextract)."""
    text, encoding = decode_html(body, content_type)
    utf8 = body if encoding == "utf-8" and not body.startswith(b"\xef\xbb\xbf") else None
    record = extract_article(profile, url, text, fetched_at, utf8)
    record["encoding"] = encoding
    record["content_type"] = content_type
    record["content_hash"] = content_hash(record["title"], record["body"])
    return record


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


def article_links(profile: SiteProfile, page_url: str, html: str) -> list[str]:
    """Article URLs linked from a page: absolute, fragment-free, de-duplicated, in order."""
    page = Page(to_text(html))
    base = absolute(page_url, next(iter(page.select("xpath", "//base/@href")), None)) or page_url
    links: dict[str, None] = {}
    for href in page.select("xpath", "//a/@href"):
        url = absolute(base, href)
        if url and is_article_url(profile, url):
            links.setdefault(url)
    return list(links)
