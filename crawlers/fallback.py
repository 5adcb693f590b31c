"""The generic extractor for pages no profile rule reads: trafilatura, htmldate, common tags."""

from __future__ import annotations

from datetime import datetime

import htmldate
import trafilatura

from crawlers.dates import parse_datetime
from crawlers.profiles import Rule
from crawlers.text import clean

GENERIC_TEXT_RULES = {
    "title": (Rule("meta", "og:title"), Rule("jsonld", "headline"), Rule("css", "h1")),
    "sapo": (Rule("meta", "og:description"), Rule("meta", "description")),
    "author": (Rule("jsonld", "author.name"),),
    "category": (Rule("meta", "article:section"), Rule("jsonld", "articleSection")),
}


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
