"""DuckDB storage: the one short writer step (load, classify results, run records) and reads."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from crawlers.profiles import SiteProfile
from pipelines.migrations import migrate

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
}


class DatabaseLocked(RuntimeError):
    """Another process holds the database's write lock (often an analyst's notebook)."""


@dataclass
class LoadResult:
    """What one load step read from staging and added to the database."""

    files: int
    rows_read: int
    rows_new: int


def open_db(path: Path, read_only: bool = False, wait_s: float = 60.0) -> duckdb.DuckDBPyConnection:
    """Connect, retrying with backoff while another process holds the lock; migrate if writable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    delay = 0.2
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                if "lock" in str(exc).lower():
                    raise DatabaseLocked(
                        f"{path} is locked by another process (close notebooks that opened it "
                        f"read-write, or open it with read_only=True): {exc}"
                    ) from exc
                raise
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 10.0)
    con.execute("SET TimeZone = 'Asia/Ho_Chi_Minh'")
    if not read_only:
        migrate(con)
    return con


def save_sites(con: duckdb.DuckDBPyConnection, profiles: Iterable[SiteProfile]) -> None:
    """Insert or refresh one row per site profile."""
    for p in profiles:
        con.execute(
            "INSERT OR REPLACE INTO sites VALUES (?, ?, ?, ?, ?, ?, now())",
            [p.name, p.title, p.base_url, p.kind, p.province, p.verified],
        )


def pending_files(con: duckdb.DuckDBPyConnection, staging_dir: Path) -> list[Path]:
    """Staging files under staging_dir/<run_id>/ that the database has not loaded yet."""
    loaded = {row[0] for row in con.execute("SELECT path FROM staged_files").fetchall()}
    files = sorted(staging_dir.glob("*/*.jsonl"))
    return [f for f in files if f.relative_to(staging_dir).as_posix() not in loaded]


def load_staged(con: duckdb.DuckDBPyConnection, staging_dir: Path) -> LoadResult:
    """Bulk-load pending staging files in one transaction, keeping the first copy of each URL."""
    files = pending_files(con, staging_dir)
    rows_read = rows_new = 0
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in STAGED_COLUMNS.items()) + "}"
    con.execute("BEGIN")
    try:
        for file in files:
            relative = file.relative_to(staging_dir).as_posix()
            run_id = file.parent.name
            # ignore_errors skips a line cut short by a killed crawl instead of failing the load.
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT * FROM read_json(?, "
                f"format='newline_delimited', columns={columns}, ignore_errors=true)",
                [str(file)],
            )
            read = con.execute("SELECT count(*) FROM incoming").fetchone()[0]
            new = con.execute(
                """
                INSERT INTO articles
                SELECT substr(md5(canonical_url), 1, 16), canonical_url, url, site, title, sapo,
                       body, author, category, published_at, date_source, extraction, fetched_at,
                       raw_sha256, raw_path, ?, now()
                FROM incoming
                WHERE canonical_url IS NOT NULL
                  AND canonical_url NOT IN (SELECT canonical_url FROM articles)
                QUALIFY row_number() OVER (PARTITION BY canonical_url ORDER BY fetched_at) = 1
                """,
                [run_id],
            ).fetchone()[0]
            con.execute(
                "INSERT INTO staged_files VALUES (?, ?, ?, ?, now())", [relative, run_id, read, new]
            )
            rows_read += read
            rows_new += new
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return LoadResult(len(files), rows_read, rows_new)


def unclassified(con: duckdb.DuckDBPyConnection, model_id: str) -> pd.DataFrame:
    """Articles that model_id has not classified yet: article_id and the text to classify."""
    return con.execute(
        """
        SELECT a.article_id,
               concat_ws(E'\\n', a.title, a.body) AS text  -- the body starts with the sapo
        FROM articles a
        ANTI JOIN (SELECT article_id FROM classifications WHERE model_id = ?) c USING (article_id)
        ORDER BY a.article_id
        """,
        [model_id],
    ).df()


def save_classifications(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> int:
    """Bulk-insert classification rows (columns as the table); existing keys are kept."""
    if rows.empty:
        return 0
    con.register("new_classifications", rows)
    try:
        return con.execute(
            """
            INSERT OR IGNORE INTO classifications
            SELECT article_id, model_id, label, score_praise, score_criticism, score_neutral,
                   evidence, reason, now() FROM new_classifications
            """
        ).fetchone()[0]
    finally:
        con.unregister("new_classifications")


def save_run(
    con: duckdb.DuckDBPyConnection,
    run: dict[str, object],
    sites: list[dict[str, object]],
) -> None:
    """Record a crawl run and its per-site lines (replacing an earlier record of the same run)."""
    con.execute("BEGIN")
    con.execute("DELETE FROM crawl_run_sites WHERE run_id = ?", [run["run_id"]])
    con.execute("DELETE FROM crawl_runs WHERE run_id = ?", [run["run_id"]])
    con.execute(
        "INSERT INTO crawl_runs VALUES ($run_id, $started_at, $finished_at, $status, $sites_ok, "
        "$sites_failed, $articles_crawled, $articles_new, $summary)",
        run,
    )
    for s in sites:
        con.execute(
            "INSERT INTO crawl_run_sites VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run["run_id"],
                s["site"],
                s["status"],
                s["articles"],
                s["discovered"],
                s["pages"],
                json.dumps(s["errors"]),
                s["message"],
            ],
        )
    con.execute("COMMIT")
