"""SQL text for the statements DuckDB takes no parameters in (ATTACH, COMMENT ON)."""

from __future__ import annotations


def literal(text: str) -> str:
    """text as a single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
