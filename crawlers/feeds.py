"""Article links from RSS/Atom feeds and sitemaps, parsed as untrusted XML.

No DTD is loaded, no entity is expanded, nothing is fetched from the network, and a document that
declares entities (billion laughs, external entities) is refused before and after parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from crawlers.dates import parse_datetime

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, recover=True, load_dtd=False
)
DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
FEED_ROOTS = {"rss", "feed", "RDF", "channel"}
SITEMAP_ROOTS = {"urlset", "sitemapindex"}
MAX_ENTRIES = 50_000  # the sitemap protocol's own limit per file


class XmlRefused(ValueError):
    """A feed or sitemap that declares entities: an XML bomb or an external-entity attack."""


class NotAFeed(ValueError):
    """A document that parses but is not an RSS/Atom feed or a sitemap."""


@dataclass(frozen=True)
class Entry:
    """A URL read from a feed or a sitemap, with when it last changed if the source says so."""

    url: str
    lastmod: datetime | None = None


@dataclass(frozen=True)
class Sitemap:
    """A parsed sitemap: article entries (urlset) or child sitemaps (sitemapindex)."""

    is_index: bool
    entries: tuple[Entry, ...]


def refuse_entities(xml: bytes) -> None:
    """Raise XmlRefused when the document's DTD declares entities (checked on the raw bytes)."""
    text = xml
    if xml.startswith(UTF16_BOMS):
        text = xml.decode("utf-16", "replace").encode("utf-8")
    doctype = DOCTYPE.search(text)
    if doctype and ENTITY.search(text, doctype.start()):
        raise XmlRefused("the document declares XML entities (possible XML bomb); not parsed")


def safe_root(xml: bytes) -> etree._Element:
    """The root element of untrusted XML; XmlRefused for entity declarations, ValueError if none."""
    refuse_entities(xml)
    xml = xml.lstrip()
    try:
        root = etree.fromstring(xml, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"unreadable XML: {exc}") from exc
    if root is None:
        raise ValueError("empty or unreadable XML document")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise XmlRefused("the document declares XML entities (possible XML bomb); refused")
    return root


def localname(element: etree._Element) -> str:
    """The tag name without its namespace ('' for comments and processing instructions)."""
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def child_text(element: etree._Element, *names: str) -> str | None:
    """Stripped text of the first direct child with one of the local names, in names order."""
    found: dict[str, str] = {}
    for child in element:
        name = localname(child)
        if name in names and name not in found:
            text = child.get("href") if name == "link" and child.get("href") else child.text
            if text and text.strip():
                found[name] = text.strip()
    return next((found[name] for name in names if name in found), None)


def feed_entries(xml: bytes) -> list[Entry]:
    """Items of an RSS 2.0 / RSS 1.0 / Atom feed in feed order, with updated/pubDate as lastmod."""
    root = safe_root(xml)
    if localname(root) not in FEED_ROOTS:
        raise NotAFeed(f"not an RSS/Atom feed (root element <{localname(root)}>)")
    entries: dict[str, Entry] = {}
    for element in root.iter():
        if localname(element) not in ("item", "entry"):
            continue
        url = atom_link(element) or child_text(element, "link")
        if not url and (guid := child_text(element, "guid")) and guid.startswith("http"):
            url = guid
        if url:
            stamp = child_text(element, "updated", "modified", "pubDate", "published", "date")
            entries.setdefault(url, Entry(url, parse_datetime(stamp)))
    return list(entries.values())


def atom_link(entry: etree._Element) -> str | None:
    """An Atom entry's rel=alternate (or rel-less) link href."""
    for child in entry:
        href = child.get("href") if localname(child) == "link" else None
        if href and child.get("rel") in (None, "alternate"):
            return href.strip() or None
    return None


def sitemap_entries(xml: bytes) -> Sitemap:
    """A sitemap's <url> entries (lastmod or news:publication_date) or an index's <sitemap>s."""
    root = safe_root(xml)
    kind = localname(root)
    if kind not in SITEMAP_ROOTS:
        raise NotAFeed(f"not a sitemap (root element <{kind}>)")
    wanted = "sitemap" if kind == "sitemapindex" else "url"
    entries: dict[str, Entry] = {}
    for element in root:
        if localname(element) != wanted:
            continue
        loc = child_text(element, "loc")
        if not loc:
            continue
        stamp = child_text(element, "lastmod") or news_date(element)
        entries.setdefault(loc, Entry(loc, parse_datetime(stamp)))
        if len(entries) >= MAX_ENTRIES:
            break
    return Sitemap(kind == "sitemapindex", tuple(entries.values()))


def news_date(element: etree._Element) -> str | None:
    """The <news:news><news:publication_date> of a Google News sitemap entry."""
    for child in element:
        if localname(child) == "news":
            return child_text(child, "publication_date")
    return None
