"""The text of an article its label, province, entities and story are computed on, and its cap."""

from __future__ import annotations

# What is analysed of an article (label, province, entities, story): its first this many
# characters of title and body. The longest of the 20,442 corpus articles has 76,300; a broken
# page can carry millions, and one such article made every later nightly run run out of memory.
MAX_ANALYSED_CHARS = 100_000

# An article's text as the enrichments read it, in SQL over `articles a`: the title, then the
# body (which starts with the sapo).
ARTICLE_TEXT = "concat_ws(E'\\n', a.title, a.body)"


def analysed(text: str | None) -> str:
    """The part of an article's text that is analysed: all of it, up to MAX_ANALYSED_CHARS."""
    return (text or "")[:MAX_ANALYSED_CHARS]


def cut_note(text: str | None) -> str:
    """A note for a text longer than what is analysed (empty otherwise)."""
    length = len(text or "")
    if length <= MAX_ANALYSED_CHARS:
        return ""
    return f"text cut: only its first {MAX_ANALYSED_CHARS:,} of {length:,} characters read; "
