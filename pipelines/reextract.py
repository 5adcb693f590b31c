"""Rebuilds stored articles from their archived raw HTML (after a selector fix), offline."""

from __future__ import annotations

import json
from dataclasses import dataclass

from crawlers.article import page_record
from crawlers.profiles import SiteProfile
from pipelines.load import REEXTRACT_PREFIX
from pipelines.paths import DataPaths
from pipelines.runs import claim_run_id
from pipelines.staging import read_raw, to_json
from pipelines.store import open_db


@dataclass
class Reextraction:
    """What a re-extraction wrote to staging."""

    articles: int
    missing_raw: int


def stored_pages(paths: DataPaths, sites: list[str]) -> list[tuple]:
    """(url, site, raw_sha256, raw_path, content_type, fetched_at, validators) per stored article.

    validators: the page's etag, last_modified and lastmod as the crawl state holds them; the
    re-extracted record carries them, so the load does not erase them.
    """
    with open_db(paths.store, read_only=True) as con:
        return con.execute(
            "SELECT a.url, a.site, a.raw_sha256, a.raw_path, a.content_type, a.fetched_at, "
            "{'etag': p.etag, 'last_modified': p.last_modified, 'lastmod': p.lastmod} "
            "FROM articles a LEFT JOIN page_state p ON p.url = a.url "
            "WHERE a.site IN (SELECT unnest(?)) ORDER BY a.site, a.article_id",
            [sites],
        ).fetchall()


def reextract_to_staging(paths: DataPaths, profiles: list[SiteProfile]) -> Reextraction:
    """Re-extract the sites' stored articles from the archive into a staging run for the load."""
    by_name = {p.name: p for p in profiles}
    # A fresh folder each time: one re-extraction in the same second as the last must not
    # overwrite files already loaded, which the load would then skip.
    run_dir = paths.staging / claim_run_id(paths.staging, prefix=REEXTRACT_PREFIX)
    written = missing = 0
    files: dict[str, object] = {}
    try:
        for url, site, sha, raw_path, content_type, fetched_at, validators in stored_pages(
            paths, list(by_name)
        ):
            try:
                raw = read_raw(paths.raw, raw_path)
            except (OSError, TypeError, EOFError):
                missing += 1
                continue
            record = page_record(by_name[site], url, raw, content_type, fetched_at)
            record.update(site=site, fetched_at=fetched_at, raw_sha256=sha, raw_path=raw_path)
            record.update(validators)
            out = files.get(site) or (run_dir / f"{site}.jsonl").open("w", encoding="utf-8")
            files[site] = out
            out.write(json.dumps(record, ensure_ascii=False, default=to_json) + "\n")
            written += 1
    finally:
        for out in files.values():
            out.close()
    return Reextraction(written, missing)
