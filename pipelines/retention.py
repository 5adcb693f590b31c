"""Retention: delete the staging files the database has loaded, once they are old enough."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.load import pending_files
from pipelines.paths import DataPaths
from pipelines.runs import DEFERRED, DEFERRED_PART, RESERVE, mark, read_deferred
from pipelines.store import open_db


@dataclass
class PruneResult:
    """What a prune deleted and what it kept on purpose."""

    files: int  # staging files deleted (with their .stats.json)
    size: int  # bytes freed
    unloaded: int  # staging files the database has not loaded: never deleted
    summaries: int = 0  # .stats.json of sites that staged nothing, in runs or crawls ended long ago
    records: int = 0  # run.json of runs finished long ago whose record the database holds


# DuckDB's to_days() takes a 32-bit count; a century is longer than any retention.
MAX_KEEP_DAYS = 36_500


def prune_staging(paths: DataPaths, keep_days: int, wait_s: float = 60.0) -> PruneResult:
    """Delete staging files loaded more than keep_days ago; unloaded ones and raw HTML stay.

    Only files the database records in staged_files count as loaded, so a file a run has not
    loaded yet (a killed run's, one staged while the database was busy) is never touched. A run
    writes only its own folder and loads it after its crawl ended, so a recorded file is complete.
    No run lock is needed: a load reads only files not recorded yet, and those are left alone.
    A site that staged nothing leaves only its <site>.stats.json (its summary is in
    crawl_run_sites); it goes once its run ended more than keep_days ago, as crawl_runs says (it
    finished, or was killed and started then), and so does the run's run.json once crawl_runs
    holds the record it keeps; then the empty folder. A crawl alone (`congvu crawl`) is not in
    crawl_runs: its summaries go once none of its files waits to be loaded (prune_crawl).
    """
    if not 0 <= keep_days <= MAX_KEEP_DAYS:
        raise ValueError(f"--keep-days must be 0 to {MAX_KEEP_DAYS} (100 years), not {keep_days}")
    with open_db(paths.db, read_only=True, wait_s=wait_s) as con:
        old = con.execute(
            "SELECT path FROM staged_files WHERE loaded_at < now() - to_days(?)",
            [keep_days],
        ).fetchall()
        # A killed run never finishes; once the next run marked it interrupted it is over, and
        # its start (the only time recorded of it) stands for its end.
        finished = con.execute(
            "SELECT run_id, status FROM crawl_runs WHERE coalesce(finished_at, "
            "CASE WHEN status = 'interrupted' THEN started_at END) < now() - to_days(?)",
            [keep_days],
        ).fetchall()
        recorded = {run_id for (run_id,) in con.execute("SELECT run_id FROM crawl_runs").fetchall()}
        pending = pending_files(con, paths.staging)
    staging = paths.staging.resolve()
    result = PruneResult(0, 0, len(pending))
    for (relative,) in old:
        file = (paths.staging / relative).resolve()
        if not file.is_file() or not file.is_relative_to(staging):
            continue
        stats = file.with_name(f"{file.stem}.stats.json")
        for path in (file, stats):
            if path.is_file():
                result.size += path.stat().st_size
                path.unlink()
        result.files += 1
        if not any(file.parent.iterdir()):
            file.parent.rmdir()
    for run_id, status in finished:
        prune_summaries(paths.staging / run_id, status, result)
    waiting = recorded | {file.parent.name for file in pending}
    cutoff = time.time() - keep_days * 86_400
    for run_dir in sorted(paths.staging.iterdir()) if paths.staging.is_dir() else ():
        if run_dir.is_dir() and run_dir.name not in waiting:
            prune_crawl(run_dir, cutoff, result)
    return result


def prune_crawl(run_dir: Path, cutoff: float, result: PruneResult) -> None:
    """Delete the summaries of sites that staged nothing in a crawl over by cutoff; then its folder.

    Called for a folder crawl_runs does not know, none of whose files waits to be loaded. A
    nightly run's folder with no row yet has its mark (runs.mark) or run.json: the next run
    records it, so it stays. Otherwise it is a crawl's: it writes its summaries as it ends, so
    one written before cutoff is of a crawl that ended then. The folder goes once emptied here
    (an empty one may be a run's that waits for the lock).
    """
    if mark(run_dir) is not None or (run_dir / DEFERRED).exists():
        return
    deleted = 0
    for stats in run_dir.glob("*.stats.json"):
        staged = stats.with_name(stats.name.removesuffix(".stats.json") + ".jsonl")
        if not staged.exists() and stats.stat().st_mtime < cutoff:
            result.size += stats.stat().st_size
            stats.unlink()
            deleted += 1
    result.summaries += deleted
    if deleted and not any(run_dir.iterdir()):
        run_dir.rmdir()


def prune_summaries(run_dir: Path, status: str, result: PruneResult) -> None:
    """Delete a finished run's .stats.json that have no staging file, its record, then the folder.

    Its run.json goes only if crawl_runs holds it as it is (its id and status, as start_run
    checks before storing it): otherwise it is the run's only record, which the next run stores.
    A run.part is a record cut short (the run was killed writing it, or the disk was full),
    which no run reads (it made the next run record the run): it goes.
    """
    if not run_dir.is_dir():
        return
    for stats in run_dir.glob("*.stats.json"):
        if not stats.with_name(stats.name.removesuffix(".stats.json") + ".jsonl").exists():
            result.size += stats.stat().st_size
            stats.unlink()
            result.summaries += 1
    record = run_dir / DEFERRED
    if record.exists() and held(record, run_dir.name, status):
        result.size += record.stat().st_size
        record.unlink()
        result.records += 1
    reserve = run_dir / RESERVE  # left by a run that ended without removing it
    if not record.exists() and reserve.is_file():
        result.size += reserve.stat().st_size
        reserve.unlink()
    cut = run_dir / DEFERRED_PART
    if cut.is_file():
        result.size += cut.stat().st_size
        cut.unlink()
    if not any(run_dir.iterdir()):
        run_dir.rmdir()


def held(record: Path, run_id: str, status: str) -> bool:
    """Whether a run.json is run_id's record with the status crawl_runs holds for it."""
    try:
        run, _ = read_deferred(record)
        return (run["run_id"], run["status"]) == (run_id, status)
    except (OSError, ValueError, KeyError, TypeError):  # unreadable: the next run names it
        return False
