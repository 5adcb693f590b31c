"""The page model: a parsed page, its meta tags and JSON-LD, what a rule reads on it."""

from __future__ import annotations

import json
import re
from typing import Any

from lxml import etree

from crawlers.markup import common_ancestor, compiled, drop_tree, parse_html, root_text, under
from crawlers.profiles import Rule
from crawlers.text import clean

ARTICLE_TYPES = {"Article", "NewsArticle", "ReportageNews", "AnalysisNewsArticle", "BlogPosting"}
META_ATTRS = ("property", "name", "itemprop")


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
        self._objects: list[dict[str, Any]] | None = None
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
    def objects(self) -> list[dict[str, Any]]:
        """Every object of the page's ld+json blocks, read once."""
        if self._objects is None:
            blocks = self.select("xpath", "//script[@type='application/ld+json']/text()")
            self._objects = [obj for block in blocks for obj in flatten_jsonld(load_jsonld(block))]
        return self._objects

    @property
    def jsonld(self) -> list[dict[str, Any]]:
        """The Article-like objects of the page's ld+json blocks."""
        return [obj for obj in self.objects if is_article(obj)]

    @property
    def breadcrumbs(self) -> list[str]:
        """The step names of the page's first JSON-LD BreadcrumbList, in position order."""
        for obj in self.objects:
            if obj.get("@type") != "BreadcrumbList":
                continue
            steps = []
            for index, item in enumerate(flatten_jsonld(obj.get("itemListElement"))):
                inner = item.get("item")
                name = item.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
                position = item.get("position")
                order = int(position) if str(position).isdigit() else index
                steps.append((order, clean(name, unescape=True) if isinstance(name, str) else ""))
            return [name for _, name in sorted(steps, key=lambda step: step[0]) if name]
        return []

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
