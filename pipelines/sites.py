"""The configured sites: their profiles, their rows in the database and each one's health."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from crawlers.profiles import SiteProfile
from pipelines.store import open_db


def save_sites(con: duckdb.DuckDBPyConnection, profiles: Iterable[SiteProfile]) -> None:
    """Insert or refresh one row per site profile."""
    for p in profiles:
        con.execute(
            "INSERT OR REPLACE INTO sites VALUES (?, ?, ?, ?, ?, ?, now())",
            [p.name, p.title, p.base_url, p.kind, p.province, p.verified],
        )


def site_health(db: Path) -> dict[str, str]:
    """Per site, a line on its latest run: status, articles, links, warning or error."""
    with open_db(db, read_only=True) as con:
        rows = con.execute(
            """
            SELECT site, run_id, status, articles, discovered, message, warning
            FROM crawl_run_sites
            QUALIFY row_number() OVER (PARTITION BY site ORDER BY run_id DESC) = 1
            """
        ).fetchall()
    return {
        site: f"{run_id} {status}: {articles} articles, {links} links. {warning or message}".strip()
        for site, run_id, status, articles, links, message, warning in rows
    }
