"""DuckDB storage: the one short writer step (load, classify results, run records) and reads."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from crawlers.dates import VN_TZ
from crawlers.profiles import SiteProfile
from crawlers.state import KnownPage
from pipelines.checkpoints import checkpoint
from pipelines.migrations import migrate
from pipelines.sql import literal

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


# Rows per row group when this process writes. A bulk load (a backfill, a re-extraction) fills
# whole row groups, which DuckDB writes straight into the file during the insert instead of
# through the write-ahead log at COMMIT, so the data is written once: measured with
# bench/store.py, loading 100,000 articles takes about a third less time than with DuckDB's
# default of 122,880. Readers are unaffected; the size is not stored in the file.
ROW_GROUP_SIZE = 16_384


class DatabaseLocked(RuntimeError):
    """Another process holds the database's lock (someone opened the job's own file)."""


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


@dataclass(frozen=True)
class Unreadable:
    """The lines of one staging file that could not be loaded, kept in a quarantine file."""

    rejected: int
    truncated: bool
    path: Path


def existing_db(path: Path) -> Path:
    """The database file to read; a clear error, and nothing created, when there is none yet."""
    if not path.is_file():
        raise FileNotFoundError(
            f"no database at {path} yet: a run creates it (`congvu nightly`, or `congvu demo` "
            "for data/demo); check --data-dir or CONGVU_DATA_DIR"
        )
    return path


def open_db(path: Path, read_only: bool = False, wait_s: float = 60.0) -> duckdb.DuckDBPyConnection:
    """Connect, retrying with backoff while another process holds the lock; migrate if writable."""
    if read_only:
        existing_db(path)  # DuckDB cannot create a file read-only: say so instead of a traceback
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    delay = 0.2
    options = "READ_ONLY" if read_only else f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}"
    while True:
        con = duckdb.connect()
        try:
            con.execute(f"ATTACH {literal(str(path))} AS congvu ({options})")
            break
        except duckdb.IOException as exc:
            con.close()
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                if "lock" in str(exc).lower():
                    raise DatabaseLocked(
                        f"{path} is locked by another process (only congvu should open the "
                        f"job's own file; notebooks open data/congvu.duckdb with "
                        f"read_only=True): {exc}"
                    ) from exc
                raise
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 10.0)
    con.execute("USE congvu")
    con.execute(f"SET TimeZone = '{VN_TZ.key}'")
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


def load_staged(
    con: duckdb.DuckDBPyConnection,
    staging_dir: Path,
    run_id: str | None = None,
    quarantine_dir: Path | None = None,
) -> LoadResult:
    """Bulk-load pending staging files in one transaction, run by run in crawl order.

    A new canonical URL becomes an article (version 1). A stored article whose content hash
    changed takes the new content as its next version, the replaced one moving to
    article_versions, and loses its labels, so it is labelled again. page_state keeps what the
    crawler needs. The loading run (run_id) is credited with the new articles in the same
    transaction, so a run killed later still counts them. Lines that cannot be read are counted
    and copied, with their file and line number, to quarantine_dir/<run_id>/<site>.jsonl
    (default: quarantine next to staging_dir).
    """
    quarantine_dir = quarantine_dir or staging_dir.parent / "quarantine"
    files = pending_files(con, staging_dir)
    runs: dict[Path, list[Path]] = {}
    for file in files:
        runs.setdefault(file.parent, []).append(file)
    result = LoadResult(len(files), 0, 0, 0)
    con.execute("BEGIN")
    try:
        for run_files in runs.values():
            load_run_files(con, staging_dir, run_files, quarantine_dir, result)
        if run_id is not None:
            con.execute(
                "UPDATE crawl_runs SET articles_new = ? WHERE run_id = ?", [result.rows_new, run_id]
            )
        checkpoint("load")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
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
               CASE WHEN i.run_id LIKE 'reextract-%' THEN 'reextract' ELSE 'crawl' END,
               a.content_hash, a.title, a.sapo, a.body, a.published_at, a.fetched_at,
               a.raw_path, now()
        FROM articles a JOIN changed c USING (article_id) JOIN incoming i ON i.rowid = c.rid
        """
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
    con.execute("DELETE FROM classifications WHERE article_id IN (SELECT article_id FROM changed)")
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


def unreadable_reason(line: bytes) -> str | None:
    """Why a non-blank staging line cannot be loaded, or None when it can."""
    try:
        text = line.decode("utf-8")
        record = json.loads(text)
    except UnicodeDecodeError:
        return "not UTF-8"
    except ValueError as exc:
        return f"not JSON ({exc})"
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get("canonical_url") is None and record.get("http_status") != 304:
        return "no canonical_url"
    try:  # the database's JSON reader refuses escaped lone surrogates, Python does not
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "lone surrogate in a string"
    return None


def quarantine_lines(file: Path, staging_dir: Path, quarantine_dir: Path, count: int) -> Unreadable:
    """Copy the unreadable lines of a staging file, with their line numbers, to quarantine.

    count is how many lines the database reader refused. A final line with no newline that
    cannot be read was cut short by a killed crawl: expected, so not counted as rejected. The
    quarantine file is rewritten whole, so a load that is rolled back and run again keeps one
    copy; the staging file itself is kept as it is.
    """
    relative = file.relative_to(staging_dir).as_posix()
    data = file.read_bytes()
    lines = data.split(b"\n")
    found = []
    for number, line in enumerate(lines, start=1):
        reason = unreadable_reason(line) if line.strip() else None
        if reason is not None:
            text = line.decode("utf-8", "replace")
            found.append({"file": relative, "line": number, "reason": reason, "text": text})
    truncated = bool(found) and not data.endswith(b"\n") and found[-1]["line"] == len(lines)
    if truncated:
        found[-1]["reason"] = "cut short (a killed crawl): " + found[-1]["reason"]
    if len(found) < count:  # never expected: say so rather than pretend the count is whole
        reason = f"{count - len(found)} more line(s) refused by the database reader, not found"
        found.append({"file": relative, "line": None, "reason": reason, "text": ""})
    target = quarantine_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as out:
        for entry in found:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return Unreadable(max(count, len(found)) - truncated, truncated, target)


def save_page_state(con: duckdb.DuckDBPyConnection) -> None:
    """Upsert the crawl state of every URL in the `latest` batch (article and canonical URL)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE fetched_urls AS
        WITH fetched AS (
            SELECT i.url, i.canonical_url, i.article_id, i.site, i.content_hash, i.etag,
                   i.last_modified, i.lastmod, i.fetched_at
            FROM incoming i SEMI JOIN latest l ON i.rowid = l.rid
        )
        FROM (
            SELECT url, * EXCLUDE (url, canonical_url) FROM fetched
            UNION ALL
            SELECT canonical_url, * EXCLUDE (url, canonical_url) FROM fetched
            WHERE canonical_url <> url
        )
        -- One row per URL: a page fetched itself wins over a page naming it as canonical.
        QUALIFY row_number() OVER (PARTITION BY url ORDER BY article_id = md5(url) DESC,
                                   fetched_at DESC) = 1
        """
    )
    # An update of the URLs already known, then a plain insert of the new ones: cheaper than
    # INSERT ... ON CONFLICT when, as in a backfill, nearly every URL is new.
    con.execute(
        """
        UPDATE page_state p SET
            article_id = f.article_id, content_hash = f.content_hash, etag = f.etag,
            last_modified = f.last_modified, lastmod = coalesce(f.lastmod, p.lastmod),
            last_fetched = greatest(p.last_fetched, f.fetched_at)  -- reextract: stored time
        FROM fetched_urls f WHERE p.url = f.url
        """
    )
    # A 304 confirms the stored copy as of now, for every URL of that article.
    con.execute(
        """
        UPDATE page_state p SET
            etag = coalesce(n.etag, p.etag), last_modified = coalesce(n.last_modified,
            p.last_modified), lastmod = coalesce(n.lastmod, p.lastmod),
            last_fetched = greatest(p.last_fetched, n.fetched_at)
        FROM (
            SELECT s.article_id, n.* EXCLUDE (url) FROM not_modified n JOIN page_state s USING (url)
            QUALIFY row_number() OVER (PARTITION BY s.article_id ORDER BY n.fetched_at DESC) = 1
        ) n
        WHERE p.article_id = n.article_id
        """
    )
    con.execute(
        """
        INSERT INTO page_state
        SELECT f.url, f.article_id, f.site, f.content_hash, f.etag, f.last_modified, f.lastmod,
               f.fetched_at, f.fetched_at
        FROM fetched_urls f ANTI JOIN page_state p USING (url)
        """
    )


def known_pages(con: duckdb.DuckDBPyConnection, days: int = 60) -> dict[str, KnownPage]:
    """Pages fetched in the last `days`, by URL: the crawl skips them unless they changed."""
    rows = con.execute(
        """
        SELECT url, content_hash, etag, last_modified, lastmod, last_fetched FROM page_state
        WHERE last_fetched >= now() - to_days(?)
        """,
        [days],
    ).fetchall()
    return {row[0]: KnownPage(*row) for row in rows}


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
            INSERT OR IGNORE INTO classifications BY NAME
            SELECT article_id, model_id, label, score_praise, score_criticism, score_neutral,
                   evidence, reason, now() AS classified_at, analysed_chars
            FROM new_classifications
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
    """Record a run and its per-site lines (replacing what was recorded of it so far)."""
    con.execute("BEGIN")
    con.execute("DELETE FROM crawl_run_sites WHERE run_id = ?", [run["run_id"]])
    con.execute("DELETE FROM crawl_runs WHERE run_id = ?", [run["run_id"]])
    con.execute(
        "INSERT INTO crawl_runs (run_id, started_at, finished_at, status, sites_ok, sites_failed, "
        "articles_crawled, articles_new, summary, error) VALUES ($run_id, $started_at, "
        "$finished_at, $status, $sites_ok, $sites_failed, $articles_crawled, $articles_new, "
        "$summary, $error)",
        run,
    )
    for s in sites:
        con.execute(
            "INSERT INTO crawl_run_sites VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run["run_id"],
                s["site"],
                s["status"],
                s["articles"],
                s["discovered"],
                s["pages"],
                json.dumps(s["errors"]),
                json.dumps(s.get("counts", {})),
                s["message"],
                s.get("warning", ""),
            ],
        )
    con.execute("COMMIT")


def undigested_since(con: duckdb.DuckDBPyConnection) -> object:
    """The end of the last digest's window: later loads have not been in any digest yet."""
    return con.execute("SELECT max(digest_until) FROM crawl_runs").fetchone()[0]


def save_deferred_run(
    con: duckdb.DuckDBPyConnection, run: dict[str, object], sites: list[dict[str, object]]
) -> None:
    """Store the record a failed run left in staging, unless the run is recorded as ended."""
    ended = con.execute(
        "SELECT count(*) FROM crawl_runs WHERE run_id = ? AND status NOT IN "
        "('running', 'interrupted')",
        [run["run_id"]],
    ).fetchone()[0]
    if not ended:
        save_run(con, run, sites)


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    summary: str,
    digest: Path,
    since: object,
    until: object,
) -> None:
    """Record a run's digest, the load window it covers, and the run's final status at once."""
    con.execute(
        "UPDATE crawl_runs SET status = ?, finished_at = now(), summary = ?, digest = ?, "
        "digest_from = ?, digest_until = ? WHERE run_id = ?",
        [status, summary, str(digest), since, until, run_id],
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


def without_places(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Articles not yet given a province and entities: article_id and their text."""
    return con.execute(
        """
        SELECT a.article_id, concat_ws(E'\\n', a.title, a.body) AS text
        FROM articles a ANTI JOIN article_places p USING (article_id)
        ORDER BY a.article_id
        """
    ).df()


def save_places(
    con: duckdb.DuckDBPyConnection, places: pd.DataFrame, entities: pd.DataFrame
) -> None:
    """Bulk-insert who and where; articles already done keep their rows."""
    if places.empty:
        return
    con.register("new_places", places)
    con.register("new_entities", entities)
    try:
        con.execute("BEGIN")
        con.execute(
            "INSERT OR IGNORE INTO article_places BY NAME "
            "SELECT article_id, province, province_named, provinces, analysed_chars FROM new_places"
        )
        if not entities.empty:
            con.execute(
                "INSERT OR IGNORE INTO article_entities "
                "SELECT article_id, kind, name, mentions FROM new_entities"
            )
        con.execute("COMMIT")
    finally:
        con.unregister("new_places")
        con.unregister("new_entities")
