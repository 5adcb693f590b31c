"""Retention: delete the staging files the database has loaded, once they are old enough."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.load import pending_files
from pipelines.paths import DataPaths
from pipelines.store import open_db


@dataclass
class PruneResult:
    """What a prune deleted and what it kept on purpose."""

    files: int  # staging files deleted (with their .stats.json)
    size: int  # bytes freed
    unloaded: int  # staging files the database has not loaded: never deleted


def prune_staging(paths: DataPaths, keep_days: int, wait_s: float = 60.0) -> PruneResult:
    """Delete staging files loaded more than keep_days ago; unloaded ones and raw HTML stay.

    Only files the database records in staged_files count as loaded, so a file a run has not
    loaded yet (a killed run's, one staged while the database was busy) is never touched. A run
    writes only its own folder and loads it after its crawl ended, so a recorded file is complete.
    No run lock is needed: a load reads only files not recorded yet, and those are left alone.
    """
    if keep_days < 0:
        raise ValueError(f"--keep-days must be 0 or more, not {keep_days}")
    with open_db(paths.db, read_only=True, wait_s=wait_s) as con:
        old = con.execute(
            "SELECT path FROM staged_files WHERE loaded_at < now() - to_days(?)",
            [keep_days],
        ).fetchall()
        unloaded = len(pending_files(con, paths.staging))
    staging = paths.staging.resolve()
    result = PruneResult(0, 0, unloaded)
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
    return result
