"""HTML to text: the page's lxml tree without inert parts, selectors, element text, pruning."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from lxml import etree
from parsel.csstranslator import HTMLTranslator

from crawlers.encoding import decode_html

SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "button", "iframe", "object"}
BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "ol",
    "p", "section", "table", "td", "th", "tr", "ul",
}  # fmt: skip
INERT_TAG = re.compile(rb"<(script|style|svg)[\s>/]")
JS_TYPES = (b"javascript", b"ecmascript", b"module")


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


def first_line(element: Any) -> str:
    """The text an element shows before its first block inside: the line a browser sets first."""
    parts: list[str] = []
    for event, el in etree.iterwalk(element, events=("start", "end")):
        tag = el.tag.lower() if isinstance(el.tag, str) else None
        if el is not element and tag in BLOCK_TAGS:
            break
        if event == "start" and tag is not None and tag not in SKIP_TAGS:
            parts.append(el.text or "")
        elif event == "end" and el is not element:
            parts.append(el.tail or "")
    return "".join(parts)


def root_text(root: Any) -> str:
    """The text of a selection result: an element's text content, or a text/attribute string."""
    if isinstance(root, str | int | float):
        return str(root)
    try:
        return element_text(root)
    except Exception:  # a tree too odd to walk yields nothing rather than an error
        return ""


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
