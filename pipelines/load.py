"""The load step: staged crawl files into articles and their versions, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from crawlers.profiles import SiteProfile
from pipelines.checkpoints import checkpoint
from pipelines.lake import begin, retried, rollback
from pipelines.page_state import save_page_state
from pipelines.paths import DataPaths
from pipelines.quarantine import quarantine_lines
from pipelines.sites import save_sites
from pipelines.store import open_db

# Columns of a staging line, with the types DuckDB reads them as.
STAGED_COLUMNS = {
    "url": "VARCHAR",
    "canonical_url": "VARCHAR",
    "site": "VARCHAR",
    "title": "VARCHAR",
    "sapo": "VARCHAR",
    "body": "VARCHAR",
    "author": "VARCHAR",
    "category": "VARCHAR",
    "published_at": "TIMESTAMPTZ",
    "date_source": "VARCHAR",
    "extraction": "VARCHAR",
    "fetched_at": "TIMESTAMPTZ",
    "raw_sha256": "VARCHAR",
    "raw_path": "VARCHAR",
    "content_type": "VARCHAR",
    "content_hash": "VARCHAR",
    "etag": "VARCHAR",
    "last_modified": "VARCHAR",
    "lastmod": "TIMESTAMPTZ",
    "http_status": "INTEGER",  # 304 marks a stored page confirmed unchanged: no article
}

# The run ids of the staging runs `congvu reextract` writes start so: their changes are stored
# as re-extractions (article_versions.replaced_by), not as changes the site made.
REEXTRACT_PREFIX = "reextract-"


@dataclass
class LoadResult:
    """What one load step read from staging and added to the database."""

    files: int
    rows_read: int
    rows_new: int
    rows_changed: int = 0
    rows_rejected: int = 0  # unreadable lines, not loaded: copied to the quarantine files
    rows_truncated: int = 0  # last lines cut short by a killed crawl (expected; quarantined too)
    quarantine: list[Path] = field(default_factory=list)  # the files holding those lines

    def unreadable(self) -> str:
        """A sentence on the lines that could not be loaded and where they are kept."""
        where = ", ".join(str(path) for path in self.quarantine)
        return (
            f"{self.rows_rejected} unreadable line(s) not loaded, "
            f"{self.rows_truncated} cut short by a killed crawl; kept in {where}"
        )


def load_new(
    paths: DataPaths,
    profiles: list[SiteProfile],
    wait_s: float,
    run_id: str | None = None,
    started_at: datetime | None = None,
) -> LoadResult:
    """Load every staged crawl file not loaded yet (this run's and any a killed run left)."""
    with open_db(paths.store, wait_s=wait_s) as con:
        save_sites(con, profiles)
        return load_staged(con, paths.staging, run_id, paths.quarantine, started_at)


def pending_files(con: duckdb.DuckDBPyConnection, staging_dir: Path) -> list[Path]:
    """Staging files under staging_dir/<run_id>/ that the database has not loaded yet."""
    loaded = {row[0] for row in con.execute("SELECT path FROM staged_files").fetchall()}
    files = sorted(staging_dir.glob("*/*.jsonl"))
    return [f for f in files if f.relative_to(staging_dir).as_posix() not in loaded]


@retried
def load_staged(
    con: duckdb.DuckDBPyConnection,
    staging_dir: Path,
    run_id: str | None = None,
    quarantine_dir: Path | None = None,
    started_at: datetime | None = None,
) -> LoadResult:
    """Bulk-load pending staging files in one transaction, run by run in crawl order.

    A new canonical URL becomes an article (version 1). A stored article whose content hash
    changed takes the new content as its next version, the replaced one moving to
    article_versions, and loses its labels, province and names, so they are found again.
    page_state keeps what the crawler needs. The loading run (run_id) is credited with the new
    articles in the same transaction, so a run killed later still counts them; a run that found
    the database busy at its start has no row yet: it gets one, running since started_at, which
    the next run marks interrupted if this one is killed. Lines that
    cannot be read are counted and copied, with their file and line number, to
    quarantine_dir/<run_id>/<site>.jsonl (default: quarantine next to staging_dir).
    """
    quarantine_dir = quarantine_dir or staging_dir.parent / "quarantine"
    files = pending_files(con, staging_dir)
    runs: dict[Path, list[Path]] = {}
    for file in files:
        runs.setdefault(file.parent, []).append(file)
    result = LoadResult(len(files), 0, 0, 0)
    begin(con)
    try:
        for run_files in runs.values():
            load_run_files(con, staging_dir, run_files, quarantine_dir, result)
        if run_id is not None:
            con.execute(
                """
                MERGE INTO crawl_runs USING (SELECT ? AS run_id, ? AS started_at, ? AS new) r
                ON crawl_runs.run_id = r.run_id
                WHEN MATCHED THEN UPDATE SET articles_new = r.new
                WHEN NOT MATCHED THEN INSERT (run_id, started_at, status, articles_new)
                    VALUES (r.run_id, r.started_at, 'running', r.new)
                """,
                [run_id, started_at, result.rows_new],
            )
        checkpoint("load")
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    return result


def load_run_files(
    con: duckdb.DuckDBPyConnection,
    staging_dir: Path,
    files: list[Path],
    quarantine_dir: Path,
    result: LoadResult,
) -> None:
    """Load one run's staging files (inside the caller's transaction), adding to result."""
    names = [str(f) for f in files]
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in STAGED_COLUMNS.items()) + "}"
    # One scan of the files. With ignore_errors a line that cannot be parsed becomes a row of
    # NULLs: counted below, and only then are its file's lines read again to find it.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE incoming AS
        SELECT *, string_split(filename, '/')[-2] AS run_id, md5(canonical_url) AS article_id
        FROM read_json(?, format='newline_delimited', columns={columns},
                       ignore_errors=true, filename=true)
        """,
        [names],
    )
    unreadable = {
        file: quarantine_lines(Path(file), staging_dir, quarantine_dir, count)
        for file, count in con.execute(
            "SELECT filename, count(*) FROM incoming "
            "WHERE canonical_url IS NULL AND http_status IS DISTINCT FROM 304 GROUP BY ALL"
        ).fetchall()
    }
    # Pages the site said were not modified: only their crawl state changes.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE not_modified AS "
        "SELECT url, fetched_at, etag, last_modified, lastmod FROM incoming WHERE http_status = 304"
    )
    con.execute("DELETE FROM incoming WHERE canonical_url IS NULL")
    # Keys only (no text copied): the latest fetch of each article, and which are new or changed.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE latest AS
        SELECT rowid AS rid, article_id, content_hash FROM incoming
        QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY fetched_at DESC) = 1
        """
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fresh AS "
        "SELECT l.rid, l.article_id FROM latest l ANTI JOIN articles a USING (article_id)"
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE changed AS
        SELECT l.rid, l.article_id, a.version + 1 AS next_version
        FROM latest l JOIN articles a USING (article_id)
        WHERE l.content_hash IS NOT NULL AND a.content_hash IS DISTINCT FROM l.content_hash
        """
    )
    con.execute(
        """
        INSERT INTO articles
        SELECT i.article_id, canonical_url, url, site, title, sapo, body, author, category,
               published_at, date_source, extraction, fetched_at, raw_sha256, raw_path,
               content_type, content_hash, 1, run_id, now()
        FROM incoming i JOIN fresh f ON i.rowid = f.rid
        """
    )
    # Keep the content being replaced: article_versions holds every earlier version.
    con.execute(
        """
        INSERT INTO article_versions
        SELECT a.article_id, a.version,
               CASE WHEN starts_with(i.run_id, ?) THEN 'reextract' ELSE 'crawl' END,
               a.content_hash, a.title, a.sapo, a.body, a.published_at, a.fetched_at,
               a.raw_path, now()
        FROM articles a JOIN changed c USING (article_id) JOIN incoming i ON i.rowid = c.rid
        """,
        [REEXTRACT_PREFIX],
    )
    con.execute(
        """
        UPDATE articles a SET title = i.title, sapo = i.sapo, body = i.body,
            author = i.author, category = i.category, published_at = i.published_at,
            date_source = i.date_source, extraction = i.extraction, fetched_at = i.fetched_at,
            raw_sha256 = i.raw_sha256, raw_path = i.raw_path, content_type = i.content_type,
            content_hash = i.content_hash, version = c.next_version
        FROM changed c JOIN incoming i ON i.rowid = c.rid
        WHERE a.article_id = c.article_id
        """
    )
    # What was computed on the replaced text goes with it: the label, and the province and names
    # (an edit may correct the official's name), so the night's steps compute them again.
    for table in ("classifications", "article_places", "article_entities"):
        con.execute(f"DELETE FROM {table} WHERE article_id IN (SELECT article_id FROM changed)")
    save_page_state(con)
    counts = con.execute(
        """
        SELECT f.file, coalesce(r.n, 0), coalesce(n.n, 0)
        FROM unnest(?) f(file)
        LEFT JOIN (SELECT filename, count(*) n FROM incoming GROUP BY 1) r ON r.filename = f.file
        LEFT JOIN (SELECT i.filename, count(*) n FROM fresh JOIN incoming i ON i.rowid = fresh.rid
                   GROUP BY 1) n ON n.filename = f.file
        """,
        [names],
    ).fetchall()
    for file, read, new in counts:
        path = Path(file)
        bad = unreadable.get(file)
        con.execute(
            "INSERT INTO staged_files (path, run_id, rows_read, rows_new, loaded_at, "
            "rows_rejected, truncated) VALUES (?, ?, ?, ?, now(), ?, ?)",
            [
                path.relative_to(staging_dir).as_posix(),
                path.parent.name,
                read,
                new,
                bad.rejected if bad else 0,
                bad.truncated if bad else False,
            ],
        )
        result.rows_read += read
        result.rows_new += new
    for bad in unreadable.values():
        result.rows_rejected += bad.rejected
        result.rows_truncated += bad.truncated
        result.quarantine.append(bad.path)
    result.rows_changed += con.execute("SELECT count(*) FROM changed").fetchone()[0]
