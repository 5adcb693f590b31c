"""A run's id and its record in crawl_runs: begun, recorded, finished, or left for the next run."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from pipelines.crawl import SiteCrawl
from pipelines.drift import drift_warning, recent_runs
from pipelines.lake import begin, lake_target, node_name, retried, rollback
from pipelines.load import REEXTRACT_PREFIX
from pipelines.paths import STAMP_FORMAT, DataPaths, utc_stamp
from pipelines.report import RunReport, totals
from pipelines.staging import to_json
from pipelines.store import DatabaseLocked, open_db

log = logging.getLogger(__name__)


def claim_run_id(staging: Path, now: datetime | None = None, prefix: str = "") -> str:
    """A run id from the UTC start time, sortable, claimed by creating its staging folder.

    mkdir is atomic: a run started in the same second as another gets the next free suffix
    (-02, -03, ...) instead of sharing its id, staging folder and log. With the shared store
    the node's name follows the time (…Z-node1), so two nodes never claim the same id.
    """
    base = prefix + utc_stamp(now) + (f"-{node_name()}" if lake_target() else "")
    staging.mkdir(parents=True, exist_ok=True)
    for number in range(1, 100):
        run_id = base if number == 1 else f"{base}-{number:02d}"
        try:
            (staging / run_id).mkdir()
        except FileExistsError:
            continue
        return run_id
    raise RuntimeError(f"no free run id for {base} in {staging}")


DEFERRED = "run.json"  # a failed run's record, in its staging folder, for the next run to store
DEFERRED_PART = "run.part"  # DEFERRED while it is written; one left behind is a cut record
# Disk space a run holds in its staging folder from its start, given to DEFERRED_PART to write
# the record: a disk that fills up during the run leaves no room for it otherwise, and the next
# run would take the failed run for a killed one. A record is a few KB per site. The file is
# also the mark of a run that held the run lock (left empty when the disk is full already).
RESERVE = "run.json.reserve"
RESERVE_BYTES = 1 << 20
# What marks a run with no record yet: RESERVE, or the DEFERRED_PART it became, left by a run
# killed as it wrote its record or one whose record could not be written (a full disk).
MARKS = (RESERVE, DEFERRED_PART)
STATUSES = ("running", "ok", "sites_failed", "failed", "interrupted")  # crawl_runs.status
# A run record's digest and the load window it covers: set in a DEFERRED record of a run that
# wrote its digest (older records have none), NULL in crawl_runs until the digest is written.
DIGEST_KEYS = ("digest", "digest_from", "digest_until")


def start_run(paths: DataPaths, report: RunReport) -> None:
    """Record the run as running (briefly: if the database is busy, the final write records it).

    Runs that could not record their failure in the database left it in their staging folder:
    stored here first. Then what dead runs left beside their articles is removed.
    """
    try:
        reserve_space(paths.staging / report.run_id / RESERVE)
    except OSError as exc:  # a disk full already: the run may still do its part
        report.notes.append(f"no disk space could be held for the run's record: {exc}")
    try:
        con = open_db(paths.store, wait_s=5)
    except DatabaseLocked:
        report.notes.append("database busy at start; the run is recorded at the end")
        return
    with con:
        for deferred in sorted(paths.staging.glob(f"*/{DEFERRED}")):
            try:
                run, sites = check_deferred(*read_deferred(deferred), deferred.parent.name)
            except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
                # One bad file must not stop runs.
                report.notes.append(f"unreadable run record {deferred} left as it is: {exc!r}")
                continue
            save_deferred_run(con, run, sites)
        interrupted, unreadable = begin_run(con, report.run_id, report.started_at, paths.staging)
    if interrupted:
        report.notes.append(
            f"{interrupted} earlier run(s) ended unrecorded (killed, or the disk full): "
            "marked interrupted"
        )
    report.notes += unreadable
    if removed := clear_dead_runs(paths.staging, report.run_id):
        report.notes.append(f"{removed} empty staging folder(s) of runs that died: removed")


def read_deferred(path: Path) -> tuple[dict[str, object], list[dict[str, object]]]:
    """A DEFERRED record's run and sites (ValueError, KeyError or TypeError if unreadable)."""
    record = json.loads(path.read_text(encoding="utf-8"))
    return record["run"], record["sites"]


def check_deferred(
    run: dict[str, object], sites: list[dict[str, object]], run_id: str
) -> tuple[dict[str, object], list[dict[str, object]]]:
    """A DEFERRED record found in run_id's folder, checked as a record the run writes itself.

    That is: of run_id, a status crawl_runs knows, times with their offset, each site's summary
    as the crawl writes it, once, and the digest it wrote, if any, with the end of its window
    (after its start, if it has one); the run's totals are counted from its sites (totals).
    ValueError, KeyError or TypeError if it is not such a record.
    """
    run, sites = {**dict.fromkeys(DIGEST_KEYS), **run}, [check_site(site) for site in sites]
    json.dumps(run, ensure_ascii=False, allow_nan=False).encode("utf-8")  # no lone surrogate
    window = [run[k] if run[k] is None else datetime.fromisoformat(run[k]) for k in DIGEST_KEYS[1:]]
    times = [datetime.fromisoformat(run[key]) for key in ("started_at", "finished_at")]
    names = [site["site"] for site in sites]
    if not (
        run["run_id"] == run_id
        and run["status"] in STATUSES
        and all(moment.tzinfo is not None for moment in times + [w for w in window if w])
        and (run["digest"] is None) is (window[1] is None)
        and (run["digest"] is None or isinstance(run["digest"], str))
        and (run["digest"] is not None or window[0] is None)
        and (run["articles_new"] is None or type(run["articles_new"]) is int)
        and 0 <= (run["articles_new"] or 0) < 2**31
        and all(run[key] is None or isinstance(run[key], str) for key in ("summary", "error"))
        and len(set(names)) == len(names)
    ):
        raise ValueError(f"not a record of run {run_id} as a run writes it")
    if window[0] is not None and window[0] >= window[1]:  # the digest would count from its end
        raise ValueError(
            f"not a record of run {run_id} as a run writes it: its digest's window, from "
            f"{run['digest_from']} to {run['digest_until']}, does not end after it begins"
        )
    run["started_at"], run["finished_at"] = times
    run["digest_from"], run["digest_until"] = window
    run.update(totals([(site["status"], site["articles"]) for site in sites]))
    return run, sites


def check_site(site: dict[str, object]) -> dict[str, object]:
    """A run record's line of a site: its crawl summary and its warning (ValueError if not)."""
    if not isinstance(site, dict) or not isinstance(site.get("warning", ""), str):
        raise ValueError(f"not a line of a site as a run writes it: {site!r:.80}")
    return check_summary(site, site["site"])


def reserve_space(path: Path) -> None:
    """Allocate RESERVE_BYTES to path (allocated, not a sparse file, so the space is held).

    On a full disk the file stays, empty: it costs no space and still marks the run as one that
    held the lock, so that, killed with no row, the next run records it (begin_run).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        try:
            os.posix_fallocate(out.fileno(), 0, RESERVE_BYTES)
        except OSError:
            out.truncate(0)  # what fallocate took before it failed goes back
            raise


def clear_dead_runs(staging: Path, run_id: str) -> int:
    """Remove dead runs' reserves, then staging folders left empty; return the folders removed.

    Called under the run lock, once the killed runs their folders name are marked interrupted.
    Every run that reserved space held this lock, so any reserve but run_id's is a dead run's. A
    run claims its folder before it takes the lock (and, refused, writes its record there): a
    folder claimed after run_id's may be such a run's, so it stays (run ids sort by time). A
    folder with anything in it stays: its articles are loaded and pruned, never removed here.
    """
    removed = 0
    for folder in sorted(staging.iterdir()):
        if not folder.is_dir() or folder.name == run_id:
            continue
        (folder / RESERVE).unlink(missing_ok=True)
        if folder.name.removeprefix(REEXTRACT_PREFIX) > run_id or any(folder.iterdir()):
            continue
        try:
            folder.rmdir()
        except OSError:  # a refused run's record was just written there: it stays
            continue
        removed += 1
    return removed


def run_row(report: RunReport) -> tuple[dict[str, object], list[dict[str, object]]]:
    """The run's crawl_runs row and its crawl_run_sites lines."""
    run = {
        "run_id": report.run_id,
        "started_at": report.started_at,
        "finished_at": datetime.now(timezone.utc),
        "status": report.status,
        **totals([(s.status, s.articles) for s in report.sites]),
        "articles_new": report.load.rows_new if report.load else None,  # NULL: nothing loaded
        "summary": report.summary(),
        "error": report.error or None,
        "digest": str(report.digest) if report.digest is not None else None,
        "digest_from": report.digest_from,
        "digest_until": report.digest_until,
    }
    return run, site_lines(report)


def site_lines(report: RunReport) -> list[dict[str, object]]:
    """The run's crawl_run_sites lines: each site's crawl summary and its drift warning."""
    return [{**asdict(s), "warning": report.warnings.get(s.site, "")} for s in report.sites]


def record_run(paths: DataPaths, report: RunReport, wait_s: float) -> None:
    """Write the run and its per-site lines to crawl_runs / crawl_run_sites."""
    with open_db(paths.store, wait_s=wait_s) as con:
        for line in with_warnings(con, report.run_id, site_lines(report)):
            if line["warning"]:
                report.warnings[line["site"]] = line["warning"]
        save_run(con, *run_row(report))


def defer_record(paths: DataPaths, report: RunReport) -> None:
    """Leave a run's record in its staging folder; the next run stores it in crawl_runs.

    A run that wrote its digest leaves it with the load window it covers (run_row), so the next
    digest counts from it. The reserve becomes the record (its room, and the mark, pass to it at
    once). Not written, the record stays cut, as DEFERRED_PART: the mark by which the next run
    records the run.
    """
    run, sites = run_row(report)
    target = paths.staging / report.run_id / DEFERRED
    partial = target.with_name(DEFERRED_PART)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # a run refused the lock reserved nothing
            (target.parent / RESERVE).replace(partial)
        partial.write_text(
            json.dumps({"run": run, "sites": sites}, default=to_json), encoding="utf-8"
        )
        partial.replace(target)
    except OSError as exc:  # a full disk: the summary must still be printed
        log.exception("run %s: could not leave its record in %s", report.run_id, target)
        left = f"; by its {partial} the next run records it interrupted" if partial.exists() else ""
        report.notes.append(f"the run's record could not be written anywhere either: {exc}{left}")


def record_failure(paths: DataPaths, report: RunReport) -> None:
    """Record a failed run in the database, or, if it cannot be written, for the next run; one
    that wrote its digest keeps it and its window either way (run_row): analysts have that
    digest (latest.html), and the next digest must list only what came after."""
    try:
        record_run(paths, report, wait_s=5)  # not --wait again: the fault may be that lock
    except Exception:  # the database is the fault: keep the record for the next run
        log.exception("run %s: could not record its failure in the database", report.run_id)
        defer_record(paths, report)


def release_reserve(paths: DataPaths, run_id: str) -> None:
    """Give back the space held for a run's record, at the run's end, whether it was written.

    Written, the record needs no mark; deferred, it took the reserve (defer_record); not
    written at all, its mark is the DEFERRED_PART defer_record made of the reserve, which stays:
    by it the next run records the run (mark). So only the held space goes here.
    """
    (paths.staging / run_id / RESERVE).unlink(missing_ok=True)


def finish_run_record(paths: DataPaths, report: RunReport) -> None:
    """Record the digest and the final status together: the run is ok only once both are."""
    with open_db(paths.store) as con:
        finish_run(
            con,
            report.run_id,
            report.status,
            report.summary(),
            report.digest,
            report.digest_from,
            report.digest_until,
        )


@retried
def begin_run(
    con: duckdb.DuckDBPyConnection, run_id: str, started_at: object, staging: Path
) -> tuple[int, list[str]]:
    """Record run_id as running; mark runs left 'running' by a killed job as interrupted.

    Only this node's runs (their folders in its staging) can be known dead: this node holds its
    run lock. Another node's run in the shared store may be running now. A run that found the
    database busy at its start has no row: its folder's mark (MARKS), which only a run holding
    this lock makes and only one that wrote its record removes, says it ended unrecorded, killed
    or with no room for its record (whenever its folder was claimed: the lock, not the order of
    ids, says no run is using it); it is recorded interrupted, started when its id says. (A run
    refused the lock may be writing its DEFERRED_PART now: its DEFERRED replaces that record
    next time.) A killed run's crawl summaries are stored with its new status: they are in its
    folder only, which prune deletes.
    Returns the runs marked and a note for each summary that could not be read.
    """
    here = [folder.name for folder in staging.iterdir() if folder.is_dir()]
    marked = [name for name in here if name != run_id and mark(staging / name) is not None]
    begin(con)
    try:
        killed = con.execute(
            "SELECT run_id FROM crawl_runs WHERE status = 'running' "
            "AND run_id <> ? AND list_contains(?, run_id) ORDER BY run_id",
            [run_id, here],
        ).fetchall()
        recorded = con.execute(
            "SELECT run_id FROM crawl_runs WHERE list_contains(?, run_id)", [marked]
        ).fetchall()
        unrecorded = sorted(set(marked) - {dead for (dead,) in recorded})
        unreadable = []
        for (dead,) in killed:
            con.execute("UPDATE crawl_runs SET status = 'interrupted' WHERE run_id = ?", [dead])
            unreadable += store_summaries(con, staging / dead)
        for dead in unrecorded:
            con.execute(
                "INSERT INTO crawl_runs (run_id, started_at, status) VALUES (?, ?, 'interrupted')",
                [dead, started(staging / dead)],
            )
            unreadable += store_summaries(con, staging / dead)
        con.execute(
            """
            MERGE INTO crawl_runs USING (SELECT ? AS run_id, ? AS started_at) r
            ON crawl_runs.run_id = r.run_id
            WHEN MATCHED THEN UPDATE SET started_at = r.started_at, status = 'running'
            WHEN NOT MATCHED THEN INSERT (run_id, started_at, status)
                VALUES (r.run_id, r.started_at, 'running')
            """,
            [run_id, started_at],
        )
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    return len(killed) + len(unrecorded), unreadable


def mark(run_dir: Path) -> Path | None:
    """The file in run_dir that marks a run with no record yet (MARKS), if there is one."""
    return next((run_dir / name for name in MARKS if (run_dir / name).exists()), None)


def started(run_dir: Path) -> datetime:
    """When a marked run started: the UTC time its id begins with, else its mark's time."""
    try:
        return datetime.strptime(run_dir.name[:16], STAMP_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return datetime.fromtimestamp(mark(run_dir).stat().st_mtime, timezone.utc)


def store_summaries(con: duckdb.DuckDBPyConnection, run_dir: Path) -> list[str]:
    """Store the <site>.stats.json of a killed run for the sites it has no line of yet.

    A run killed after its crawl recorded none; one killed later recorded them (with their
    drift warnings): those stand. Each gets its drift warning (with_warnings), and a run with
    no totals yet gets them from its lines (totals). Returns a note for each file that could
    not be read, left as it is: one bad file must not stop the run.
    """
    run_id = run_dir.name
    stored = {
        site
        for (site,) in con.execute(
            "SELECT site FROM crawl_run_sites WHERE run_id = ?", [run_id]
        ).fetchall()
    }
    summaries, unreadable = [], []
    for path in sorted(run_dir.glob("*.stats.json")):
        site = path.name.removesuffix(".stats.json")
        if site in stored:
            continue
        try:
            summaries.append({**read_summary(path, site), "warning": ""})  # the run gives it
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            unreadable.append(f"unreadable crawl summary {path} left as it is: {exc!r}")
    for summary in with_warnings(con, run_id, summaries):
        insert_site(con, run_id, summary)
    lines = con.execute(  # a line with no count (none a run writes) counts none
        "SELECT status, coalesce(articles, 0) FROM crawl_run_sites WHERE run_id = ?", [run_id]
    ).fetchall()
    if lines:  # a run killed before its crawl ended has no lines: its totals stay unknown
        con.execute(
            "UPDATE crawl_runs SET sites_ok = $sites_ok, sites_failed = $sites_failed, "
            "articles_crawled = $articles_crawled WHERE run_id = $run_id AND sites_ok IS NULL",
            {**totals(lines), "run_id": run_id},
        )
    return unreadable


def with_warnings(
    con: duckdb.DuckDBPyConnection, run_id: str, sites: list[dict[str, object]]
) -> list[dict[str, object]]:
    """A run's lines of sites, each with its drift warning against the site's runs before it.

    A line that has a warning keeps it: the run said it in its summary.
    """
    history = recent_runs(con, run_id)
    return [
        {
            **site,
            "warning": site.get("warning")
            or drift_warning(site_crawl(site), history.get(site["site"], [])),
        }
        for site in sites
    ]


def site_crawl(summary: dict[str, object]) -> SiteCrawl:
    """The SiteCrawl a checked crawl summary describes (its warning, if any, left out)."""
    fields = ("site", "status", "articles", "discovered", "pages", "errors", "message")
    return SiteCrawl(*(summary[key] for key in fields), summary.get("counts", {}))


def read_summary(path: Path, site: str) -> dict[str, object]:
    """site's crawl summary as write_stats wrote it (ValueError, KeyError, TypeError if not)."""
    return check_summary(json.loads(path.read_text(encoding="utf-8")), site)


def check_summary(summary: dict[str, object], site: str) -> dict[str, object]:
    """summary, if it is site's crawl summary as the crawl writes it (else ValueError, KeyError)."""
    # No lone surrogate (a JSON escape can hold one), which DuckDB refuses; no NaN either.
    json.dumps(summary, ensure_ascii=False, allow_nan=False).encode("utf-8")
    numbers = [summary["articles"], summary["discovered"], summary["pages"]]
    counters = [summary["errors"], summary.get("counts", {})]  # older summaries have no counts
    if not (
        summary["site"] == site
        and isinstance(site, str)
        and summary["status"] in ("ok", "failed")
        and all(type(n) is int and 0 <= n < 2**31 for n in numbers)  # INTEGER columns
        and isinstance(summary["message"], str)
        and all(isinstance(c, dict) for c in counters)
        and all(type(n) in (int, float) for c in counters for n in c.values())  # drift sums them
    ):
        raise ValueError(f"not a crawl summary of site {site!r} as the crawl writes it")
    return summary


@retried
def save_run(
    con: duckdb.DuckDBPyConnection,
    run: dict[str, object],
    sites: list[dict[str, object]],
) -> None:
    """Record a run and its per-site lines (replacing what was recorded of it so far)."""
    begin(con)
    try:
        write_run(con, run, sites)
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise


def write_run(
    con: duckdb.DuckDBPyConnection, run: dict[str, object], sites: list[dict[str, object]]
) -> None:
    """The statements of save_run, inside its transaction (a run with no digest: NULL)."""
    con.execute("DELETE FROM crawl_run_sites WHERE run_id = ?", [run["run_id"]])
    con.execute("DELETE FROM crawl_runs WHERE run_id = ?", [run["run_id"]])
    con.execute(
        "INSERT INTO crawl_runs (run_id, started_at, finished_at, status, sites_ok, sites_failed, "
        "articles_crawled, articles_new, summary, error, digest, digest_from, digest_until) "
        "VALUES ($run_id, $started_at, $finished_at, $status, $sites_ok, $sites_failed, "
        "$articles_crawled, $articles_new, $summary, $error, $digest, $digest_from, "
        "$digest_until)",
        {**dict.fromkeys(DIGEST_KEYS), **run},
    )
    for site in sites:
        insert_site(con, str(run["run_id"]), site)


def insert_site(con: duckdb.DuckDBPyConnection, run_id: str, site: dict[str, object]) -> None:
    """One line of crawl_run_sites: a site's crawl summary (SiteCrawl's fields) in a run."""
    con.execute(
        "INSERT INTO crawl_run_sites VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            site["site"],
            site["status"],
            site["articles"],
            site["discovered"],
            site["pages"],
            json.dumps(site["errors"]),
            json.dumps(site.get("counts", {})),
            site["message"],
            site.get("warning", ""),
        ],
    )


def save_deferred_run(
    con: duckdb.DuckDBPyConnection, run: dict[str, object], sites: list[dict[str, object]]
) -> None:
    """Store the record a failed run left in staging, unless the run is recorded so already.

    A run recorded ok whose publish then failed left a failed record: that one stands, with
    the digest it wrote and its window, if any. Its sites get their drift warnings
    (with_warnings).
    """
    stored = con.execute(
        "SELECT count(*) FROM crawl_runs WHERE run_id = ? AND status = ?",
        [run["run_id"], run["status"]],
    ).fetchone()[0]
    if not stored:
        save_run(con, run, with_warnings(con, str(run["run_id"]), sites))


@retried
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
    begin(con)
    try:
        con.execute(
            "UPDATE crawl_runs SET status = ?, finished_at = now(), summary = ?, digest = ?, "
            "digest_from = ?, digest_until = ? WHERE run_id = ?",
            [status, summary, str(digest), since, until, run_id],
        )
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
