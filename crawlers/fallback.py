"""The generic extractor for pages no profile rule reads: trafilatura, htmldate, common tags."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import htmldate
import trafilatura

from crawlers.dates import parse_datetime
from crawlers.profiles import Rule
from crawlers.text import clean

TRAFILATURA_OPTIONS = {
    "favor_precision": True,
    "with_metadata": True,
    "include_comments": False,
    "include_tables": False,
}
# htmldate's extensive search is off: on a page without a usable date it guesses from any year
# it sees (2026 becomes 1 January 2026), and a wrong date is worse than none.
HTMLDATE_OPTIONS = {
    "original_date": True,
    "extensive_search": False,
    "outputformat": "%Y-%m-%dT%H:%M:%S",
}
GENERIC_TEXT_RULES = {
    "title": (Rule("meta", "og:title"), Rule("jsonld", "headline"), Rule("css", "h1")),
    "sapo": (Rule("meta", "og:description"), Rule("meta", "description")),
    "author": (Rule("jsonld", "author.name"),),
    "category": (Rule("meta", "article:section"), Rule("jsonld", "articleSection")),
}


def fallback_fields(html: str, url: str) -> dict[str, str]:
    """Title, author, category and body text from trafilatura (precision first)."""
    doc = guarded(trafilatura.bare_extraction, html, url, TRAFILATURA_OPTIONS)
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
    """htmldate's reading of the original publication date, as Vietnam time."""
    found = guarded(htmldate.find_date, html, url, HTMLDATE_OPTIONS)
    return parse_datetime(found) if found else None


def guarded(read: Callable[..., Any], html: str, url: str, options: dict[str, Any]) -> Any:
    """read(html, url=url, **options), or None when the library fails on the page."""
    try:
        return read(html, url=url or None, **options)
    except Exception:  # both raise on some hostile markup; extraction goes on without them
        return None
