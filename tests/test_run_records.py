"""A run's record and what a failed run says: checked records, the space a copy needs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from pipelines.paths import DataPaths
from pipelines.report import RunReport
from pipelines.runs import DEFERRED, defer_record, start_run

FAILED_AT = datetime(2026, 11, 8, 19, tzinfo=timezone.utc)


def left_with_window(paths: DataPaths, run_id: str, since: datetime, until: datetime) -> Path:
    """The run.json a run leaves that wrote its digest, for that window, then failed."""
    (paths.staging / run_id).mkdir(parents=True)
    digest = paths.digests / f"digest-{run_id}.html"
    report = RunReport(run_id, FAILED_AT, digest=digest, digest_from=since, digest_until=until)
    report.error = "No space left on device"
    defer_record(paths, report)
    return paths.staging / run_id / DEFERRED


def stored_runs(paths: DataPaths) -> list[str]:
    """The run ids crawl_runs holds in the job's store."""
    with duckdb.connect(str(paths.store), read_only=True) as con:
        return [
            run for (run,) in con.execute("SELECT run_id FROM crawl_runs ORDER BY 1").fetchall()
        ]


WINDOWS = {"backwards": timedelta(hours=-1), "empty": timedelta(0), "forwards": timedelta(hours=1)}


@pytest.mark.parametrize("length", WINDOWS.values(), ids=WINDOWS.keys())
def test_a_left_record_whose_digest_window_ends_before_it_begins_is_refused_and_kept(
    tmp_path: Path, length: timedelta
) -> None:
    # The next digest would count its news from digest_until: a window no digest has is refused,
    # named in the next run's notes and left in place, as a record failing its other checks.
    paths = DataPaths(tmp_path)
    since = FAILED_AT + timedelta(minutes=5)
    path = left_with_window(paths, "20261108T190000Z", since, since + length)
    report = RunReport("20261109T190000Z", datetime.now(timezone.utc))
    (paths.staging / report.run_id).mkdir()
    start_run(paths, report)
    refused = [note for note in report.notes if str(path) in note]
    if length > timedelta(0):
        assert (refused, stored_runs(paths), path.is_file()) == (
            [],
            ["20261108T190000Z", "20261109T190000Z"],
            True,  # prune deletes it, once crawl_runs holds it
        )
        return
    window = f"from {since.isoformat()} to {(since + length).isoformat()}, does not end after it"
    assert (len(refused), stored_runs(paths), path.is_file()) == (1, ["20261109T190000Z"], True)
    assert window in refused[0], refused
