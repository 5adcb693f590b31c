"""An article record from a page: profile rules first, the generic extractor where they fail."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from lxml import etree

from crawlers.encoding import decode_html
from crawlers.fallback import (
    MAX_BYLINE_CHARS,
    MAX_CATEGORY_CHARS,
    MAX_LEAD_CHARS,
    MAX_TITLE_CHARS,
    Reader,
)
from crawlers.markup import root_text, to_text
from crawlers.page import Page
from crawlers.profiles import Rule, SiteProfile
from crawlers.pubdate import CLOCK_SKEW, DateCheck, find_date
from crawlers.text import clean, content_hash
from crawlers.urls import canonical_url, url_host

TEXT_FIELDS = ("title", "sapo", "author", "category")
# A value longer is an element left open over the article after it, not the field: skipped.
MAX_CHARS = {
    "title": MAX_TITLE_CHARS,
    "sapo": MAX_LEAD_CHARS,
    "author": MAX_BYLINE_CHARS,
    "category": MAX_CATEGORY_CHARS,
}


def first_text(page: Page, rules: tuple[Rule, ...], field: str) -> tuple[str, Rule | None]:
    """The first non-empty value of the first rule that yields one (authors: all, joined)."""
    limit = MAX_CHARS.get(field)
    for rule in rules:
        values = [value for value in page.values(rule) if limit is None or len(value) <= limit]
        if not values:
            continue
        if field == "author":
            return ", ".join(dict.fromkeys(values)), rule
        return values[0], rule
    return "", None


def element_of(page: Page, rule: Rule | None, text: str) -> Any:
    """The element a CSS or XPath rule matched whose text is text (None for other rules)."""
    if rule is None or rule.kind not in ("css", "xpath"):
        return None
    for node in page.select(rule.kind, rule.value):
        if isinstance(node, etree._Element) and clean(root_text(node)) == text:
            return node
    return None


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


def read_generic(reader: Reader, record: dict[str, Any], rules: dict[str, str]) -> None:
    """Fill what the profile did not find (everything without one) as a reader would, and the
    body from the generic extractor, its visible lead in front."""
    generic = {
        "title": lambda: reader.headline,
        "sapo": lambda: reader.lead,
        "category": lambda: reader.section,
    }
    for field, read in generic.items():
        if not record[field]:
            found = read()
            if found.value:
                record[field], rules[field] = found.value, found.source
    # A lead the page shows goes in front of the text, as the profile path does; a description
    # only declared in a meta tag may be cut short or never shown: it stays out of the body.
    shown = rules.get("sapo", "").startswith(("css:", "xpath:", "generic:lead:"))
    body, signature = reader.text(record["title"], record["sapo"] if shown else "")
    if body:
        record["body"], rules["body"] = body, "fallback:trafilatura"
    if not record["author"]:
        found = reader.byline(signature)
        if found.value:
            record["author"], rules["author"] = found.value, found.source


def site_name(profile: SiteProfile | None, url: str) -> str:
    """The profile name, or the URL's host without www. when there is no profile."""
    if profile is not None:
        return profile.name
    return url_host(url).removeprefix("www.")


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
    reader = Reader(page, url)
    if profile is not None:
        for field in TEXT_FIELDS:
            record[field], rule = first_text(page, profile.rules(field), field)
            if rule is not None:
                rules[field] = str(rule)
            if field == "title":
                record[field] = reader.declared_start(
                    record[field], element_of(page, rule, record[field])
                )
    check = DateCheck((fetched_at or datetime.now(timezone.utc)) + CLOCK_SKEW)
    published, source, date_rule = find_date(page, profile, url, check, reader)
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
        read_generic(reader, record, rules)
    record["rules"] = rules
    return record


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
