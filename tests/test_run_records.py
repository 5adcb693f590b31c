"""A run's record and what a failed run says: checked records, the space a copy needs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from pipelines.paths import DataPaths
from pipelines.report import RunReport
from pipelines.runs import DEFERRED, defer_record, start_run
from tests.conftest import ROOT, run_congvu

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


def namespaced(script: str, *args: str) -> subprocess.CompletedProcess:
    """script run by sh in a private mount namespace (tmpfs disks vanish with it); skips where
    that is refused."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode:
        pytest.skip("needs unshare and user namespaces to mount a small disk (tmpfs)")
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", *args], cwd=ROOT, timeout=600
    )
    if done.returncode == 97:
        pytest.skip("mounting a tmpfs is refused here")
    return done


def figures(said: str) -> tuple[str, float, float]:
    """A no-room message with its figures as N and M, and those figures (needed, free)."""
    need = re.search(r"\((\d+\.\d) MB now, more as it grows\)", said)
    free = re.search(r"; (\d+\.\d) MB are free", said)
    assert need and free, said
    shown = said.replace(f"({need[1]} MB now", "(N MB now").replace(f"; {free[1]} MB", "; M MB")
    return shown, float(need[1]), float(free[1])


# A database of an older congvu, written in place at data/congvu.duckdb, on a tmpfs too small
# for its copy into the store. argv: tmpfs folder, its size, the old data folder, congvu.
ADOPT_ON_A_SMALL_DISK = """
set -u
mount -t tmpfs -o size=$2 tmpfs "$1" || exit 97
cp -a "$3" "$1/data"
"$4" db migrate --data-dir "$1/data" > "$1/../out.txt" 2>&1
echo "exit $?" >> "$1/../out.txt"
find "$1/data" -name '*.publishing*' > "$1/../left.txt"
"""


def test_an_old_database_with_no_room_to_move_into_the_store_says_what_it_needs(
    tmp_path: Path,
) -> None:
    old = tmp_path / "old"
    assert run_congvu("db", "migrate", "--data-dir", str(old)).returncode == 0
    db = old / "congvu.duckdb"
    db.chmod(0o644)
    (old / "store" / "congvu.duckdb").replace(db)  # as an older congvu left it: no store
    (old / "store").rmdir()
    size = db.stat().st_size
    (tmp_path / "disk").mkdir()
    congvu = str(Path(sys.executable).with_name("congvu"))
    namespaced(ADOPT_ON_A_SMALL_DISK, str(tmp_path / "disk"), str(size * 3 // 2), str(old), congvu)
    out = (tmp_path / "out.txt").read_text(encoding="utf-8")
    data = tmp_path / "disk" / "data"
    said, need, free = figures(out.splitlines()[0])
    assert said == (
        f"congvu db: error: No space left on device: moving {data}/congvu.duckdb into the store "
        f"{data}/store/congvu.duckdb needs as much free space on its disk as it takes (N MB "
        "now, more as it grows); M MB are free"
    )
    assert (free < need, need, out.splitlines()[1:]) == (True, round(size / 1e6, 1), ["exit 2"])
    assert (tmp_path / "left.txt").read_text() == ""  # no cut copy keeps the disk full


# The demo's run on a roomy tmpfs; then, its digest folder made a file (the digest cannot be
# written: the run fails after its load) and the disk shrunk to hold the store but not its
# published copy, the next run; what it printed and recorded. argv: tmpfs folder, congvu, python.
FAILED_THEN_NO_ROOM_TO_PUBLISH = """
set -u
mount -t tmpfs -o size=256m tmpfs "$1" || exit 97
"$2" demo --data-dir "$1/data" > /dev/null 2>&1 || exit 98
snapshot=$(stat -c %s "$1/data/congvu.duckdb")
rm "$1/data/congvu.duckdb"
rm -r "$1/data/digest" && touch "$1/data/digest"
used=$(df -B1 --output=used "$1" | tail -1)
mount -o remount,size=$((used + snapshot / 2)) "$1" || exit 99
"$2" demo --data-dir "$1/data" > "$1/../out.txt" 2>&1
echo "exit $?" >> "$1/../out.txt"
"$3" -c "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True).execute(
  'SELECT error FROM crawl_runs ORDER BY run_id').fetchall()[-1][0])" \
  "$1/data/store/congvu.duckdb" > "$1/../error.txt" 2>&1
"""


def test_a_publish_failing_after_the_run_failed_is_said_with_the_space_it_needs(
    tmp_path: Path,
) -> None:
    (tmp_path / "disk").mkdir()
    congvu = str(Path(sys.executable).with_name("congvu"))
    done = namespaced(
        FAILED_THEN_NO_ROOM_TO_PUBLISH, str(tmp_path / "disk"), congvu, sys.executable
    )
    assert done.returncode == 0, done.returncode
    out = (tmp_path / "out.txt").read_text(encoding="utf-8")
    data = tmp_path / "disk" / "data"
    said = re.search(r"\n  run failed: (.*)\n", out)
    assert said and out.endswith("exit 2\n"), out
    shown, need, free = figures(said[1])
    assert shown == (
        f"[Errno 17] File exists: '{data}/digest'. The crawled articles were loaded: the next run "
        "labels any left unlabelled and publishes them. Publishing failed too: No space left on "
        f"device: publishing {data}/congvu.duckdb needs as much free space on its disk as the "
        f"store {data}/store/congvu.duckdb takes (N MB now, more as it grows); M MB are free"
    )
    assert free < need, said[1]
    assert (tmp_path / "error.txt").read_text(encoding="utf-8") == said[1] + "\n"
