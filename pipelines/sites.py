"""The configured sites: their profiles, their rows in the database and each one's health."""

from __future__ import annotations

import argparse
import re
import zlib
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

import duckdb

from crawlers.profiles import ProfileError, SiteProfile, load_profile, load_profiles
from pipelines.lake import begin, retried, rollback
from pipelines.store import open_db


def select_profiles(
    names: Sequence[str] | None, files: Sequence[Path] | None = None, verified_only: bool = False
) -> list[SiteProfile]:
    """The named site profiles and profile files; without either, the configured sites."""
    profiles = load_profiles()
    chosen = [load_profile(path) for path in files or []]
    if not names:
        if chosen:
            return chosen
        return [p for p in profiles.values() if p.verified or not verified_only]
    unknown = sorted(set(names) - set(profiles))
    if unknown:
        raise ProfileError(f"unknown site(s) {', '.join(unknown)}; known: {', '.join(profiles)}")
    return chosen + [profiles[name] for name in names]


def shard(text: str) -> tuple[int, int]:
    """--shard K/N as (K, N): this node's share, K of N (1 <= K <= N)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise argparse.ArgumentTypeError(f"{text!r}: expected K/N with 1 <= K <= N, e.g. 1/4")
    return int(match.group(1)), int(match.group(2))


def in_shard(profiles: Iterable[SiteProfile], part: tuple[int, int]) -> list[SiteProfile]:
    """The sites of shard K of N: each site's shard follows from its name alone (CRC-32 mod N),
    so every node computes the same split, and adding a site moves no other."""
    number, count = part
    return [p for p in profiles if zlib.crc32(p.name.encode("utf-8")) % count == number - 1]


def mark_verified(site: str) -> Path:
    """Set `verified: true` in a configured site's profile after a live check passed."""
    from crawlers.profiles import SITES_DIR

    path = SITES_DIR / f"{site}.yaml"
    text = path.read_text(encoding="utf-8")
    stamp = date.today().isoformat()
    marked = re.sub(
        r"^verified: false.*$",
        f"verified: true  # confirmed live by `congvu sites check` on {stamp}",
        text,
        count=1,
        flags=re.MULTILINE,
    )
    path.write_text(marked, encoding="utf-8")
    return path


@retried
def save_sites(con: duckdb.DuckDBPyConnection, profiles: Iterable[SiteProfile]) -> None:
    """Insert or refresh one row per site profile."""
    begin(con)
    try:
        for p in profiles:
            con.execute(
                """
                MERGE INTO sites USING (
                    SELECT ? AS site, ? AS title, ? AS base_url, ? AS kind, ? AS province,
                           ? AS verified
                ) p ON sites.site = p.site
                WHEN MATCHED THEN UPDATE SET title = p.title, base_url = p.base_url,
                    kind = p.kind, province = p.province, verified = p.verified,
                    updated_at = now()
                WHEN NOT MATCHED THEN INSERT VALUES
                    (p.site, p.title, p.base_url, p.kind, p.province, p.verified, now())
                """,
                [p.name, p.title, p.base_url, p.kind, p.province, p.verified],
            )
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise


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
