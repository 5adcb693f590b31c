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
from pipelines.checkpoints import checkpoint
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
    if not files:
        return LoadResult(0, 0, 0)
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in STAGED_COLUMNS.items()) + "}"
    con.execute("BEGIN")
    try:
        # One scan of every pending file; ignore_errors skips a line cut short by a killed crawl.
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE incoming AS
            SELECT *, string_split(filename, '/')[-2] AS run_id
            FROM read_json(?, format='newline_delimited', columns={columns},
                           ignore_errors=true, filename=true)
            """,
            [[str(f) for f in files]],
        )
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE fresh AS
            SELECT md5(i.canonical_url) AS article_id, i.*
            FROM incoming i ANTI JOIN articles a ON a.article_id = md5(i.canonical_url)
            WHERE i.canonical_url IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY i.canonical_url ORDER BY i.fetched_at) = 1
            """
        )
        con.execute(
            """
            INSERT INTO articles
            SELECT article_id, canonical_url, url, site, title, sapo, body, author, category,
                   published_at, date_source, extraction, fetched_at, raw_sha256, raw_path,
                   run_id, now()
            FROM fresh
            """
        )
        counts = con.execute(
            """
            SELECT f.file, coalesce(r.n, 0), coalesce(n.n, 0)
            FROM unnest(?) f(file)
            LEFT JOIN (SELECT filename, count(*) n FROM incoming GROUP BY 1) r
                   ON r.filename = f.file
            LEFT JOIN (SELECT filename, count(*) n FROM fresh GROUP BY 1) n
                   ON n.filename = f.file
            """,
            [[str(f) for f in files]],
        ).fetchall()
        for file, read, new in counts:
            path = Path(file)
            con.execute(
                "INSERT INTO staged_files VALUES (?, ?, ?, ?, now())",
                [path.relative_to(staging_dir).as_posix(), path.parent.name, read, new],
            )
        checkpoint("load")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return LoadResult(len(files), sum(c[1] for c in counts), sum(c[2] for c in counts))


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


def begin_run(con: duckdb.DuckDBPyConnection, run_id: str, started_at: object) -> int:
    """Record run_id as running; mark runs left 'running' by a killed job as interrupted."""
    con.execute("BEGIN")
    interrupted = con.execute(
        "UPDATE crawl_runs SET status = 'interrupted' WHERE status = 'running' AND run_id <> ?",
        [run_id],
    ).fetchone()[0]
    con.execute(
        "INSERT OR REPLACE INTO crawl_runs (run_id, started_at, status) VALUES (?, ?, 'running')",
        [run_id, started_at],
    )
    con.execute("COMMIT")
    return interrupted


def save_run(
    con: duckdb.DuckDBPyConnection,
    run: dict[str, object],
    sites: list[dict[str, object]],
) -> None:
    """Record a finished run and its per-site lines (replacing what was recorded of it so far)."""
    con.execute("BEGIN")
    con.execute("DELETE FROM crawl_run_sites WHERE run_id = ?", [run["run_id"]])
    con.execute("DELETE FROM crawl_runs WHERE run_id = ?", [run["run_id"]])
    con.execute(
        "INSERT INTO crawl_runs (run_id, started_at, finished_at, status, sites_ok, sites_failed, "
        "articles_crawled, articles_new, summary) VALUES ($run_id, $started_at, $finished_at, "
        "$status, $sites_ok, $sites_failed, $articles_crawled, $articles_new, $summary)",
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


def undigested_since(con: duckdb.DuckDBPyConnection) -> object:
    """The end of the last digest's window: later loads have not been in any digest yet."""
    return con.execute("SELECT max(digest_until) FROM crawl_runs").fetchone()[0]


def save_digest(
    con: duckdb.DuckDBPyConnection, run_id: str, path: Path, since: object, until: object
) -> None:
    """Record which file holds a run's digest and the load window it covers."""
    con.execute(
        "UPDATE crawl_runs SET digest = ?, digest_from = ?, digest_until = ? WHERE run_id = ?",
        [str(path), since, until, run_id],
    )
