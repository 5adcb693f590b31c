"""Article links from RSS and Atom feeds, parsed without entity expansion or network access."""

from __future__ import annotations

from lxml import etree

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, recover=True, load_dtd=False
)


def feed_links(xml: bytes) -> list[str]:
    """Item links of an RSS 2.0 / RSS 1.0 / Atom feed, whitespace stripped, in feed order."""
    root = etree.fromstring(xml, parser=_PARSER)
    if root is None:
        return []
    links: list[str] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = etree.QName(element).localname
        parent = element.getparent()
        if tag != "link" or parent is None:
            continue
        if etree.QName(parent).localname not in ("item", "entry"):
            continue
        href = element.get("href") if element.get("href") is not None else element.text
        if href and href.strip():
            links.append(href.strip())
    return list(dict.fromkeys(links))
