"""Nightly operation under faults: run lock, killed runs, open databases, exports, backups."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from nlp.classify import DEFAULT_MODEL
from nlp.entities import KINDS
from pipelines.crawl import SiteCrawl, write_stats
from pipelines.lock import run_lock
from pipelines.paths import DataPaths
from pipelines.report import RunReport
from pipelines.runs import (
    DEFERRED,
    RESERVE,
    begin_run,
    claim_run_id,
    defer_record,
    save_run,
    start_run,
)
from pipelines.store import open_db
from tests.conftest import ROOT, Site, run_congvu, serve

DEMO_DIR = ROOT / "crawlers" / "demo"
DEMO = json.loads((DEMO_DIR / "expected.json").read_text(encoding="utf-8"))
CONGVU = str(Path(sys.executable).with_name("congvu"))


def demo_site(article_delay: float = 0.0, names: tuple[str, ...] = ("demo",)) -> Site:
    """The shipped demo pages under /<name>/ for each name, optionally with slow article pages."""
    site = Site()
    for path in (DEMO_DIR / "www").rglob("*"):
        for name in names if path.is_file() else ():
            route = f"/{name}/" + path.relative_to(DEMO_DIR / "www").as_posix()
            kind = "application/rss+xml" if path.suffix == ".xml" else "text/html"
            slow = article_delay if "/tin-tuc/" in route and route[-11:-5].isdigit() else 0.0
            site.add(route, path.read_bytes(), content_type=kind, delay=slow)
    return site


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    """The demo site served on 127.0.0.1 at <origin>/demo/ (one server for the module's runs)."""
    with serve(demo_site()) as base:
        yield base + "/{site}"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder as `congvu db migrate` leaves it: tests copy it rather than migrate again."""
    data_dir = tmp_path_factory.mktemp("migrated")
    result = run_congvu("db", "migrate", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    return data_dir


def migrate(migrated: Path, data_dir: Path) -> None:
    """Make data_dir what `congvu db migrate --data-dir data_dir` makes it (a copy of migrated)."""
    shutil.copytree(migrated, data_dir, dirs_exist_ok=True)


def nightly_args(data_dir: Path, origin: str, *extra: str) -> list[str]:
    """Arguments of a nightly run on the demo profile served at origin."""
    profile = str(DEMO_DIR / "demo.yaml")
    return [
        "nightly",
        "--data-dir",
        str(data_dir),
        "--profile",
        profile,
        "--origin",
        origin,
        *extra,
    ]


def start_paused(data_dir: Path, origin: str, stage: str) -> subprocess.Popen:
    """Start a real nightly run that stops at stage; return once it has reached it."""
    env = {**os.environ, "CONGVU_PAUSE_AT": stage}
    process = subprocess.Popen(
        [CONGVU, *nightly_args(data_dir, origin)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    for line in process.stdout:
        if line.strip() == f"paused at {stage}":
            return process
    raise AssertionError(f"the run ended before reaching {stage}: exit {process.wait()}")


def kill(process: subprocess.Popen) -> None:
    """SIGKILL: no cleanup code runs, as when the machine loses power or the OOM killer strikes."""
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()


def rows(data_dir: Path, sql: str) -> list[tuple]:
    """Query the run's database read-only."""
    con = duckdb.connect(str(data_dir / "congvu.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def state(data_dir: Path) -> dict[str, object]:
    """What an analyst would check after a run: articles, duplicates, labels, stories."""
    return {
        "articles": rows(data_dir, "SELECT count(*) FROM articles")[0][0],
        "distinct_urls": rows(data_dir, "SELECT count(DISTINCT canonical_url) FROM articles")[0][0],
        "labelled": rows(data_dir, "SELECT count(*) FROM classifications")[0][0],
        "grouped": rows(data_dir, "SELECT count(*) FROM article_stories")[0][0],
    }


COMPLETE = {"articles": 9, "distinct_urls": 9, "labelled": 9, "grouped": 9}


@dataclass(frozen=True)
class Rerun:
    """A nightly run killed at a stage, then the next run, in a data folder of their own."""

    data_dir: Path
    staged: list[Path]  # the staging folder's entries once the run was killed
    result: subprocess.CompletedProcess  # the next run


@pytest.fixture(scope="module")
def killed_at(tmp_path_factory: pytest.TempPathFactory, origin: str) -> Callable[[str], Rerun]:
    """The Rerun of a run killed at a stage, made once per stage for the tests that read it."""
    done: dict[str, Rerun] = {}

    def rerun(stage: str) -> Rerun:
        if stage not in done:
            data_dir = tmp_path_factory.mktemp(f"killed-at-{stage}")
            kill(start_paused(data_dir, origin, stage))
            staged = sorted((data_dir / "staging").iterdir())
            done[stage] = Rerun(data_dir, staged, run_congvu(*nightly_args(data_dir, origin)))
        return done[stage]

    return rerun


@pytest.mark.parametrize("stage", ["load", "classify", "report"])
def test_run_killed_at_stage_is_completed_by_the_next(
    killed_at: Callable[[str], Rerun], stage: str
) -> None:
    run = killed_at(stage)
    assert (run.result.returncode, state(run.data_dir)) == (0, COMPLETE), run.result.stdout


def test_run_killed_during_crawl_is_completed_by_the_next(tmp_path: Path) -> None:
    with serve(demo_site(article_delay=0.5)) as base:
        process = subprocess.Popen(
            [CONGVU, *nightly_args(tmp_path, base + "/{site}")],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        staged = tmp_path / "staging"
        deadline = time.monotonic() + 60
        while not any(f.stat().st_size for f in staged.glob("*/demo.jsonl")):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        still_crawling = process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait()
        result = run_congvu(*nightly_args(tmp_path, base + "/{site}"))
    assert (still_crawling, result.returncode, state(tmp_path)) == (True, 0, COMPLETE)


def test_killed_crawl_leaves_no_worker_process_writing(tmp_path: Path) -> None:
    # Two sites: the crawl runs them in worker processes (one per core), which must die with it.
    twin = tmp_path / "twin.yaml"
    demo_yaml = (DEMO_DIR / "demo.yaml").read_text(encoding="utf-8")
    twin.write_text(demo_yaml.replace("name: demo", "name: twin"), encoding="utf-8")
    with serve(demo_site(article_delay=0.3, names=("demo", "twin"))) as base:
        process = subprocess.Popen(
            [CONGVU, "crawl", "--data-dir", str(tmp_path / "data"), "--origin", base + "/{site}",
             "--profile", str(DEMO_DIR / "demo.yaml"), "--profile", str(twin)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        staged = tmp_path / "data" / "staging"
        deadline = time.monotonic() + 60
        while not any(f.stat().st_size for f in staged.glob("*/*.jsonl")):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        time.sleep(0.5)  # let the kernel deliver the parent-death signal
        sizes = {f: f.stat().st_size for f in staged.glob("*/*.jsonl")}
        time.sleep(2.0)  # several article fetches' worth: a surviving worker would write
    assert {f: f.stat().st_size for f in staged.glob("*/*.jsonl")} == sizes


# "report": the run is recorded, its digest not yet written; a run is ok only with its digest.
@pytest.mark.parametrize("stage", ["classify", "report"])
def test_killed_run_is_recorded_as_interrupted(
    killed_at: Callable[[str], Rerun], stage: str
) -> None:
    run = killed_at(stage)
    statuses = [r[0] for r in rows(run.data_dir, "SELECT status FROM crawl_runs ORDER BY run_id")]
    assert statuses == ["interrupted", "ok"]


def test_run_killed_after_its_load_is_credited_with_its_articles(
    killed_at: Callable[[str], Rerun],
) -> None:
    run = killed_at("classify")
    credited = rows(run.data_dir, "SELECT articles_new FROM crawl_runs ORDER BY run_id")
    assert credited == [(9,), (0,)]


def test_run_that_fails_after_its_record_is_recorded_failed(tmp_path: Path, origin: str) -> None:
    (tmp_path / "digest").write_text("a file where the digest folder should be")
    result = run_congvu(*nightly_args(tmp_path, origin))
    runs = rows(tmp_path, "SELECT status, error FROM crawl_runs")
    assert (result.returncode, [status for status, _ in runs]) == (2, ["failed"])
    assert "digest" in runs[0][1]


def test_crawl_that_cannot_write_its_files_says_so(tmp_path: Path, origin: str) -> None:
    # As when data/raw is full or belongs to another user: the site is not to blame.
    (tmp_path / "raw").write_text("a file where the raw archive folder should be")
    result = run_congvu(*nightly_args(tmp_path, origin))
    assert "storage 9" in result.stdout, result.stdout


def test_slow_site_is_cut_short_by_its_budget_and_finished_next_night(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every article answers in 5 s; one request at a time, as a site's own slot fetches them.
    site = demo_site(article_delay=5.0)
    budget = {"CLOSESPIDER_TIMEOUT": 4, "CONCURRENT_REQUESTS": 1}
    monkeypatch.setenv("CONGVU_SCRAPY_SETTINGS", json.dumps(budget))
    with serve(site) as base:
        first = run_congvu(*nightly_args(tmp_path, base + "/{site}"))
        stored = rows(tmp_path, "SELECT count(*) FROM articles")[0][0]
        errors, message = rows(tmp_path, "SELECT errors, message FROM crawl_run_sites")[0]
        left = json.loads(errors)["time_budget"]
        assert first.returncode == 0, first.stdout + first.stderr
        assert "Cut short by its crawl time budget" in message
        assert f"time_budget {left}" in first.stdout
        assert 1 <= stored < 9 and left >= 1, (stored, left)  # left: links and listing pages
        digest = next((tmp_path / "digest").glob("digest-*.html")).read_text(encoding="utf-8")
        assert f"hết thời gian thu thập dành cho nguồn, để lại cho đêm sau: {left} trang" in digest
        # The next night, with time enough, fetches the links left, and only those.
        site.delays = dict.fromkeys(site.delays, 0.0)
        monkeypatch.delenv("CONGVU_SCRAPY_SETTINGS")
        second = run_congvu(*nightly_args(tmp_path, base + "/{site}"))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "time_budget" not in second.stdout
    assert state(tmp_path) == COMPLETE
    articles = [hit for hit in site.hits if "/tin-tuc/" in hit and hit[-11:-5].isdigit()]
    assert sorted(articles) == sorted(set(articles)) and len(articles) == 9


def test_run_ids_claimed_at_the_same_instant_differ(tmp_path: Path) -> None:
    now = datetime(2026, 11, 28, 19, 0, tzinfo=timezone.utc)
    ids = [claim_run_id(tmp_path, now) for _ in range(3)]
    assert ids == ["20261128T190000Z", "20261128T190000Z-02", "20261128T190000Z-03"]


def test_crawl_of_an_unknown_site_is_refused_without_a_run_folder(tmp_path: Path) -> None:
    result = run_congvu("crawl", "--site", "no-such-site", "--data-dir", str(tmp_path))
    staged = list((tmp_path / "staging").glob("*"))
    assert (result.returncode, "unknown site(s) no-such-site" in result.stderr, staged) == (
        2,
        True,
        [],
    )


def run_ids(data_dir: Path, origin: str, runs: int) -> list[str]:
    """Start runs at once while the run lock is held (each is refused); their run ids."""
    with run_lock(data_dir / "congvu.lock", "test"):
        processes = [
            subprocess.Popen(
                [CONGVU, *nightly_args(data_dir, origin)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(runs)
        ]
        outputs = [process.communicate()[0] for process in processes]
    return [output.split("congvu run ")[1].split()[0] for output in outputs]


def test_runs_started_in_the_same_second_get_their_own_id_and_log(
    tmp_path: Path, origin: str
) -> None:
    for _attempt in range(10):  # until two runs do start in the same second
        ids = run_ids(tmp_path, origin, 2)
        if ids[0][:16] == ids[1][:16]:
            break
    logs = {path.stem for path in (tmp_path / "logs").glob("*.log")}
    assert (ids[0][:16] == ids[1][:16], ids[0] != ids[1], set(ids) <= logs) == (True, True, True)


def test_articles_of_a_run_killed_before_its_digest_reach_the_next_digest(
    killed_at: Callable[[str], Rerun],
) -> None:
    digest = (killed_at("report").data_dir / "digest" / "latest.html").read_text(encoding="utf-8")
    titles = [a["title"] for a in DEMO["articles"] if a["label"] != "neutral"]
    assert [t for t in titles if t not in digest] == []


def test_second_run_refused_while_one_is_running(tmp_path: Path, origin: str) -> None:
    process = start_paused(tmp_path, origin, "classify")
    try:
        result = run_congvu(*nightly_args(tmp_path, origin))
    finally:
        kill(process)
    assert (result.returncode, "another congvu run is in progress" in result.stdout) == (2, True)


def test_lock_of_a_killed_run_is_taken_over(killed_at: Callable[[str], Rerun]) -> None:
    assert "took over the lock of a run that died" in killed_at("load").result.stdout


def hold_open(path: Path, read_only: bool) -> subprocess.Popen:
    """A process holding a database file open as an analyst's notebook would, until stdin ends."""
    code = (
        "import duckdb, sys; "
        f"c = duckdb.connect({str(path)!r}, read_only={read_only}); "
        "print('open', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "open"
    return holder


@pytest.fixture
def analyst(tmp_path: Path) -> Iterator[Callable[..., Callable[[], object]]]:
    """Open a database file in another process as an analyst's notebook would, until released."""
    holders: list[subprocess.Popen] = []

    def hold(read_only: bool, name: str = "congvu.duckdb") -> Callable[[], object]:
        holder = hold_open(tmp_path / name, read_only)
        holders.append(holder)
        return lambda: holder.communicate("")

    yield hold
    for holder in holders:
        if holder.returncode is None:
            holder.communicate("")


# Even a notebook that opened the analysts' file read-write (against the README) holds only
# the snapshot it opened: the job writes its own file and publishes a new snapshot beside it.
@pytest.mark.parametrize("read_only", [True, False], ids=["read-only", "read-write"])
def test_open_notebook_does_not_stop_the_run(
    tmp_path: Path, migrated: Path, origin: str, analyst: Callable, read_only: bool
) -> None:
    migrate(migrated, tmp_path)
    analyst(read_only)
    result = run_congvu(*nightly_args(tmp_path, origin, "--wait", "1"))
    assert (result.returncode, state(tmp_path)) == (0, COMPLETE), result.stdout + result.stderr


STORE = "store/congvu.duckdb"  # the job's own file, which nothing but congvu should open
# A nightly run on a job file held read-only (True) or read-write: its data folder and result.
HeldRun = Callable[[bool], tuple[Path, subprocess.CompletedProcess]]


@pytest.fixture(scope="module")
def run_on_a_held_job_file(
    migrated: Path, tmp_path_factory: pytest.TempPathFactory, origin: str
) -> HeldRun:
    """A nightly run (--wait 1) on a migrated data folder whose job file another process held
    open read-only, or read-write, until the run ended: the folder and the run.

    Made once per way of holding; the tests read it, or copy it to go on from there.
    """
    done: dict[bool, tuple[Path, subprocess.CompletedProcess]] = {}

    def run(read_only: bool) -> tuple[Path, subprocess.CompletedProcess]:
        if read_only not in done:
            data_dir = tmp_path_factory.mktemp("held-read-only" if read_only else "held")
            migrate(migrated, data_dir)
            holder = hold_open(data_dir / STORE, read_only)
            try:
                result = run_congvu(*nightly_args(data_dir, origin, "--wait", "1"))
            finally:
                holder.communicate("")
            done[read_only] = data_dir, result
        return done[read_only]

    return run


def test_job_file_held_by_another_process_makes_the_run_stop_cleanly(
    run_on_a_held_job_file: HeldRun,
) -> None:
    _, result = run_on_a_held_job_file(True)
    said = "stay staged" in result.stdout and "Traceback" not in result.stdout + result.stderr
    assert (result.returncode, said) == (2, True), result.stdout + result.stderr


def test_articles_staged_while_the_job_file_was_held_are_loaded_next_time(
    tmp_path: Path,
    run_on_a_held_job_file: HeldRun,
) -> None:
    shutil.copytree(run_on_a_held_job_file(False)[0], tmp_path, dirs_exist_ok=True)
    result = run_congvu("load", "--data-dir", str(tmp_path))  # no crawl: only what was staged
    assert (result.returncode, state(tmp_path)["articles"]) == (0, 9)


def test_run_that_could_not_write_is_recorded_by_the_next(
    tmp_path: Path,
    origin: str,
    run_on_a_held_job_file: HeldRun,
) -> None:
    shutil.copytree(run_on_a_held_job_file(False)[0], tmp_path, dirs_exist_ok=True)
    run_congvu(*nightly_args(tmp_path, origin))
    runs = rows(tmp_path, "SELECT status, error FROM crawl_runs ORDER BY run_id")
    assert [status for status, _ in runs] == ["failed", "ok"]
    assert "locked" in runs[0][1]


# A run killed before it staged anything (here as its crawl starts) leaves an empty staging
# folder, recorded as running or not recorded at all (the job file was held at its start): the
# next run records it interrupted and removes the folder, and leaves a folder a run claimed
# after its own (still starting, maybe).
@pytest.mark.parametrize("held", [False, True], ids=["recorded", "unrecorded"])
def test_empty_staging_folder_of_a_killed_run_is_removed_by_the_next(
    tmp_path: Path, migrated: Path, origin: str, analyst: Callable, held: bool
) -> None:
    migrate(migrated, tmp_path)
    release = analyst(read_only=False, name=STORE) if held else lambda: None
    kill(start_paused(tmp_path, origin, "crawl"))
    release()
    (killed,) = (tmp_path / "staging").iterdir()
    starting = tmp_path / "staging" / "99991231T235959Z"
    starting.mkdir()
    result = run_congvu(*nightly_args(tmp_path, origin))
    runs = rows(tmp_path, "SELECT run_id, status FROM crawl_runs ORDER BY run_id")[:-1]
    assert (result.returncode, killed.exists(), starting.exists(), runs) == (
        0,
        False,
        True,
        [(killed.name, "interrupted")],  # on record, even one the database was busy for
    ), result.stdout


def test_run_killed_after_starting_on_a_busy_database_is_recorded_with_its_summaries(
    tmp_path: Path, migrated: Path, origin: str, analyst: Callable
) -> None:
    # The job file is held as the run starts: it crawls, then waits for the database to load,
    # and is killed there, never having written a row. Its summaries are in its folder only.
    migrate(migrated, tmp_path)
    release = analyst(read_only=False, name=STORE)
    process = subprocess.Popen(
        [CONGVU, *nightly_args(tmp_path, origin, "--wait", "600")],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list((tmp_path / "staging").glob("*/demo.stats.json")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    release()
    (killed,) = (tmp_path / "staging").iterdir()
    result = run_congvu(*nightly_args(tmp_path, origin))
    run = rows(
        tmp_path,
        "SELECT status, strftime(started_at AT TIME ZONE 'UTC', '%Y%m%dT%H%M%SZ'), sites_ok, "
        f"sites_failed, articles_crawled FROM crawl_runs WHERE run_id = '{killed.name}'",
    )
    sites = rows(
        tmp_path,
        f"SELECT site, status, articles FROM crawl_run_sites WHERE run_id = '{killed.name}'",
    )
    assert result.returncode == 0, result.stdout
    assert (run, sites) == ([("interrupted", killed.name[:16], 1, 0, 9)], [("demo", "ok", 9)])


def test_run_killed_after_loading_on_a_busy_start_keeps_its_articles_new(
    tmp_path: Path, migrated: Path, origin: str, analyst: Callable
) -> None:
    # The job file is held as the run starts (no row written), freed once it has crawled: the
    # run loads its articles and is killed before it records itself. The credit is its own.
    migrate(migrated, tmp_path)
    release = analyst(read_only=False, name=STORE)
    env = {**os.environ, "CONGVU_PAUSE_AT": "classify"}
    process = subprocess.Popen(
        [CONGVU, *nightly_args(tmp_path, origin, "--wait", "600")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list((tmp_path / "staging").glob("*/demo.stats.json")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    release()
    for line in process.stdout:  # the load is committed when the run reaches classify
        if line.strip() == "paused at classify":
            break
    kill(process)
    result = run_congvu(*nightly_args(tmp_path, origin))
    runs = rows(tmp_path, "SELECT status, articles_new FROM crawl_runs ORDER BY run_id")
    assert runs == [("interrupted", 9), ("ok", 0)], result.stdout


# In a private mount namespace, staging on a tmpfs filled up and the job file held by another
# process, a nightly run (FULL_AT_START: killed as its crawl starts; FULL_THROUGHOUT: left to
# fail); then, the disk grown and the job file released, the next run. argv: data folder,
# congvu, python, nightly's other arguments.
FULL_AND_HELD = """
set -u
data=$1 congvu=$2 python=$3; shift 3
mount -t tmpfs -o size=64k tmpfs "$data/staging" || exit 97
dd if=/dev/zero of="$data/staging/filler" bs=4k 2>/dev/null
"$python" -c "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True)
time.sleep(600)" "$data/store/congvu.duckdb" > "$data/held.txt" &
holder=$!
until grep -q open "$data/held.txt"; do kill -0 $holder || exit 98; sleep 0.1; done
"""
NEXT_ON_A_GROWN_DISK = """
ls "$data/staging" | grep -v filler > "$data/first-id.txt"
rm "$data/staging/filler"; mount -o remount,size=16m "$data/staging"
"$congvu" nightly --data-dir "$data" "$@" > "$data/next.txt" 2>&1
"""
FULL_AT_START = f"""{FULL_AND_HELD}
CONGVU_PAUSE_AT=crawl "$congvu" nightly --data-dir "$data" "$@" > "$data/first.txt" 2>&1 &
until grep -q "paused at crawl" "$data/first.txt"; do kill -0 $! || exit 99; sleep 0.1; done
kill -9 $! $holder; wait
{NEXT_ON_A_GROWN_DISK}"""
FULL_THROUGHOUT = f"""{FULL_AND_HELD}
"$congvu" nightly --data-dir "$data" --wait 1 "$@" > "$data/first.txt" 2>&1
kill $holder; wait
{NEXT_ON_A_GROWN_DISK}"""


def on_a_full_disk(
    tmp_path: Path, migrated: Path, origin: str, script: str
) -> tuple[str, list[tuple]]:
    """Run script (FULL_AT_START...) in tmp_path: the first run's id, the runs before the next."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode:
        pytest.skip("needs unshare and user namespaces to mount a small disk (tmpfs)")
    migrate(migrated, tmp_path)
    (tmp_path / "staging").mkdir()
    args = nightly_args(tmp_path, origin)[3:]  # --profile ... --origin ...
    command = ["unshare", "-rm", "sh", "-c", script, "sh", str(tmp_path)]
    done = subprocess.run([*command, CONGVU, sys.executable, *args], cwd=ROOT, timeout=300)
    if done.returncode == 97:
        pytest.skip("mounting a tmpfs is refused here")
    first = (tmp_path / "first-id.txt").read_text(encoding="utf-8").split()
    runs = rows(tmp_path, "SELECT run_id, status FROM crawl_runs ORDER BY run_id")
    said = [(tmp_path / name).read_text(encoding="utf-8") for name in ("first.txt", "next.txt")]
    assert (done.returncode, len(first)) == (0, 1), "".join(said)
    return first[0], runs[:-1]


def test_run_killed_on_a_busy_start_with_the_disk_full_is_recorded(
    tmp_path: Path, migrated: Path, origin: str
) -> None:
    # No space for the run's reserve, then the job file busy: killed, the run left no row and
    # only its folder; the empty reserve it keeps tells the next run it was a run that died.
    first, runs = on_a_full_disk(tmp_path, migrated, origin, FULL_AT_START)
    assert runs == [(first, "interrupted")]


def test_run_that_could_write_its_record_nowhere_is_recorded_by_the_next(
    tmp_path: Path, migrated: Path, origin: str
) -> None:
    # The disk full and the job file held all along: the run fails, writing neither its row nor
    # its run.json, and ends. The cut record it leaves tells the next run it was there.
    first, runs = on_a_full_disk(tmp_path, migrated, origin, FULL_THROUGHOUT)
    assert runs == [(first, "interrupted")]


def test_articles_staged_by_a_killed_run_are_loaded_and_kept(
    killed_at: Callable[[str], Rerun],
) -> None:
    run = killed_at("load")
    (killed,) = run.staged
    loaded = rows(run.data_dir, "SELECT path FROM staged_files ORDER BY path")[0][0]
    kept = sorted(file.name for file in killed.iterdir())  # the space its record held is freed
    assert (kept, loaded) == (["demo.jsonl", "demo.stats.json"], f"{killed.name}/demo.jsonl")


def test_unreadable_run_record_left_in_staging_does_not_stop_the_run(
    tmp_path: Path, origin: str
) -> None:
    record = tmp_path / "staging" / "20261128T190000Z" / "run.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"run": {"run_id": "2026', encoding="utf-8")  # cut by a power failure
    result = run_congvu(*nightly_args(tmp_path, origin))
    said = str(record) in result.stdout and record.is_file()  # named, and kept as it was
    assert (result.returncode, state(tmp_path), said) == (0, COMPLETE, True), result.stdout


# The commands that write (besides nightly) stop on a held job file as nightly does: one line,
# and no second wait to publish a store they could not open.
@pytest.mark.parametrize(
    "command", [["load"], ["reclassify", "--model", "cue-lexicon-1"], ["db", "migrate"]]
)
def test_command_stops_in_one_line_when_the_job_file_is_held(
    tmp_path: Path, migrated: Path, analyst: Callable, command: list[str]
) -> None:
    migrate(migrated, tmp_path)
    analyst(read_only=True, name=STORE)
    result = run_congvu(*command, "--data-dir", str(tmp_path), "--wait", "1")
    lines = result.stderr.splitlines()
    assert (result.returncode, len(lines), "is locked by another process" in result.stderr) == (
        2,
        1,
        True,
    ), result.stderr


def test_run_stopped_by_a_held_job_file_does_not_try_to_publish_it(
    run_on_a_held_job_file: HeldRun,
) -> None:
    data_dir, result = run_on_a_held_job_file(True)
    (log,) = (data_dir / "logs").glob("*.log")
    tried = "in publish" in log.read_text(encoding="utf-8")  # a traceback through publish()
    assert (result.returncode, tried) == (2, False)


def demo_site_with_dead_link() -> Site:
    """The demo site whose listing also links an article the site answers 404 for."""
    site = demo_site()
    status, headers, listing = site.routes["/demo/tin-tuc/index.html"]
    dead = b'<a href="bai-da-go-100299.html">Bai da go</a>\n</body>'
    site.routes["/demo/tin-tuc/index.html"] = (status, headers, listing.replace(b"</body>", dead))
    return site


def test_quiet_night_with_a_dead_link_in_a_listing_is_ok(tmp_path: Path) -> None:
    # A listing linking a removed article (404) is common; the site is no less read for it.
    with serve(demo_site_with_dead_link()) as base:
        first = run_congvu(*nightly_args(tmp_path, base + "/{site}"))
        second = run_congvu(*nightly_args(tmp_path, base + "/{site}"))
    assert (first.returncode, second.returncode) == (0, 0), second.stdout
    assert "http_404 1" in second.stdout


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder after one demo run."""
    data_dir = tmp_path_factory.mktemp("stored")
    assert run_congvu("demo", "--data-dir", str(data_dir)).returncode == 0
    return data_dir


@pytest.mark.parametrize("fmt", ["parquet", "csv", "xlsx"])
def test_export_has_every_article(stored: Path, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"out.{fmt}"
    run_congvu("export", "--data-dir", str(stored), "--format", fmt, "--output", str(target))
    if fmt == "parquet":
        urls = pd.read_parquet(target)["url"]
    elif fmt == "csv":
        urls = pd.read_csv(target)["Liên kết"]
    else:  # a summary sheet, then one sheet per label
        sheets = pd.read_excel(target, sheet_name=None)
        urls = pd.concat(s["Liên kết"] for name, s in sheets.items() if name != "Tổng hợp")
    assert sorted(urls) == sorted(a["url"] for a in DEMO["articles"])


def test_export_keeps_vietnamese_text_in_csv(stored: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    run_congvu("export", "--data-dir", str(stored), "--format", "csv", "--output", str(target))
    assert DEMO["articles"][0]["title"] in target.read_text(encoding="utf-8-sig")


def test_export_date_range(stored: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    run_congvu(
        "export", "--data-dir", str(stored), "--from", "2026-11-22", "--to", "2026-11-24",
        "--output", str(target),
    )  # fmt: skip
    inside = [a for a in DEMO["articles"] if "2026-11-22" <= a["published_at"][:10] <= "2026-11-24"]
    assert len(pd.read_parquet(target)) == len(inside)


def test_backup_is_a_complete_database(stored: Path) -> None:
    result = run_congvu("db", "backup", "--data-dir", str(stored))
    backup = result.stdout.split("backup written: ")[1].strip()
    con = duckdb.connect(backup, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 9
    finally:
        con.close()


def test_db_status_lists_applied_migrations(stored: Path) -> None:
    result = run_congvu("db", "status", "--data-dir", str(stored))
    assert "applied  001_core_tables" in result.stdout


def test_every_column_is_documented_in_the_database(stored: Path) -> None:
    undocumented = rows(
        stored,
        "SELECT table_name || '.' || column_name FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND NOT internal AND comment IS NULL",
    )
    assert undocumented == []


def test_reclassify_with_a_new_model_keeps_the_old_labels(stored: Path, tmp_path: Path) -> None:
    model = tmp_path / "cue-lexicon-test"
    shutil.copytree(ROOT / "models" / "cue-lexicon-1", model)
    config = json.loads((model / "model.json").read_text())
    digest = hashlib.sha256((model / "cues.yaml").read_bytes()).hexdigest()
    renamed = {**config, "model_id": "cue-lexicon-test", "cues_sha256": digest}
    (model / "model.json").write_text(json.dumps(renamed))
    result = run_congvu("reclassify", "--data-dir", str(stored), "--model", str(model))
    counts = rows(stored, "SELECT model_id, count(*) FROM classifications GROUP BY 1 ORDER BY 1")
    assert counts == sorted([(DEFAULT_MODEL, 9), ("cue-lexicon-test", 9)])
    assert "classified with cue-lexicon-test 1/1, 9 of 9 articles" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["export"],
        ["report"],
        ["db", "status"],
        ["db", "schema"],
        ["db", "backup"],
        ["digest"],
        ["review", "export"],
        ["review", "import", "x.xlsx", "--reviewer", "Lan"],
        ["evaluate", "--labels", "db"],
    ],
    ids=" ".join,
)
def test_reading_a_missing_database_says_so_and_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    data_dir = tmp_path / "data"
    result = run_congvu(*command, "--data-dir", str(data_dir))
    output = result.stdout + result.stderr
    said = f"no database at {data_dir / 'congvu.duckdb'}" in output and "Traceback" not in output
    assert (result.returncode, said, data_dir.exists()) == (2, True, False), output


def test_entity_kinds_documented_as_the_data_spells_them(stored: Path) -> None:
    documented = rows(
        stored,
        "SELECT comment FROM duckdb_columns() "
        "WHERE table_name = 'article_entities' AND column_name = 'kind'",
    )[0][0]
    stored_kinds = {kind for (kind,) in rows(stored, "SELECT DISTINCT kind FROM article_entities")}
    assert set(documented.split(" | ")) == set(KINDS.values()) >= stored_kinds, stored_kinds


def summary(site: str, discovered: int, status: str = "ok") -> SiteCrawl:
    """A site's crawl summary: 10 articles from the given number of links (none if failed)."""
    articles = 10 if status == "ok" else 0
    return SiteCrawl(
        site, status, articles, discovered, 50, {}, "", {"extraction/profile": articles}
    )


def usual_runs(con: duckdb.DuckDBPyConnection, site: str = "tinh") -> None:
    """Seven finished runs in November 2026 in which site found 40 article links."""
    for day in range(1, 8):
        run_id = f"2026110{day}T190000Z"
        start = datetime(2026, 11, day, 19, tzinfo=timezone.utc)
        run = {
            "run_id": run_id, "started_at": start, "finished_at": start, "status": "ok",
            "sites_ok": 1, "sites_failed": 0, "articles_crawled": 10, "articles_new": 10,
            "summary": "", "error": None,
        }  # fmt: skip
        save_run(con, run, [{**summary(site, 40).__dict__, "warning": ""}])


def store_with_usual_runs(paths: DataPaths) -> None:
    """The data folder's store holding usual_runs (a drift warning's history)."""
    con = open_db(paths.store)
    try:
        usual_runs(con)
    finally:
        con.close()


# A killed run's summaries are judged as a finished run's are: its drift warning, its totals.
# Recorded as running (killed with the database free) or not at all (busy at its start).
@pytest.mark.parametrize("recorded", [True, False], ids=["running", "unrecorded"])
def test_killed_runs_summaries_get_their_drift_warning_and_totals(
    tmp_path: Path, recorded: bool
) -> None:
    staging = tmp_path / "staging"
    con = open_db(tmp_path / "congvu.duckdb")
    try:
        usual_runs(con)
        dead = staging / "20261108T190000Z"
        dead.mkdir(parents=True)
        (dead / RESERVE).write_bytes(bytes(1024))
        if recorded:
            begin_run(con, dead.name, datetime(2026, 11, 8, 19, tzinfo=timezone.utc), staging)
        write_stats(dead, summary("tinh", 12))
        write_stats(dead, summary("xa", 0, status="failed"))
        (staging / "20261109T190000Z").mkdir()
        marked, _ = begin_run(con, "20261109T190000Z", datetime.now(timezone.utc), staging)
        run = con.execute(
            "SELECT status, started_at, sites_ok, sites_failed, articles_crawled FROM crawl_runs "
            "WHERE run_id = ?",
            [dead.name],
        ).fetchall()
        warnings = con.execute(
            "SELECT site, warning FROM crawl_run_sites WHERE run_id = ? ORDER BY site", [dead.name]
        ).fetchall()
    finally:
        con.close()
    start = datetime(2026, 11, 8, 19, tzinfo=timezone.utc)
    assert (marked, run) == (1, [("interrupted", start, 1, 1, 10)])
    assert [site for site, warning in warnings if warning] == ["tinh"]
    assert "12 article links found, usually 40" in warnings[0][1]


def deferred(paths: DataPaths, run_id: str, sites: list[SiteCrawl]) -> Path:
    """The run.json a run that could not write the database leaves, as the run writes it."""
    (paths.staging / run_id).mkdir(parents=True, exist_ok=True)
    report = RunReport(run_id, datetime(2026, 11, 8, 19, tzinfo=timezone.utc), sites=sites)
    report.error = "the store is locked by another process"
    defer_record(paths, report)
    return paths.staging / run_id / DEFERRED


def next_run(paths: DataPaths, run_id: str = "20261109T190000Z") -> RunReport:
    """A run started (start_run) after the others: its report, with the notes it took."""
    report = RunReport(run_id, datetime.now(timezone.utc))
    (paths.staging / run_id).mkdir(parents=True, exist_ok=True)
    start_run(paths, report)
    return report


def store_rows(paths: DataPaths, sql: str) -> list[tuple]:
    """A query on the job's own file."""
    con = duckdb.connect(str(paths.store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_run_record_left_in_staging_gets_its_drift_warning(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path)
    store_with_usual_runs(paths)
    deferred(paths, "20261108T190000Z", [summary("tinh", 12)])
    next_run(paths)
    (warning,) = store_rows(
        paths, "SELECT warning FROM crawl_run_sites WHERE run_id = '20261108T190000Z'"
    )
    assert "12 article links found, usually 40" in warning[0]


# Each changes a record the run wrote into one it could not have written. None may stop the
# run (DuckDB refused the first three inside start_run) or overwrite another run's record.
BAD_RECORDS = {
    "count as text": lambda record: record["sites"][0].update(articles="nhiều"),
    "time unreadable": lambda record: record["run"].update(started_at="hôm qua"),
    "a site twice": lambda record: record["sites"].append(record["sites"][0]),
    "another run's": lambda record: record["run"].update(run_id="20261107T190000Z"),
    "counts as text": lambda record: record["sites"][0]["counts"].update(
        {"extraction/fallback": "9"}
    ),
}


@pytest.mark.parametrize("change", BAD_RECORDS.values(), ids=BAD_RECORDS.keys())
def test_run_record_unlike_a_runs_own_is_named_and_kept(
    tmp_path: Path, change: Callable[[dict], None]
) -> None:
    paths = DataPaths(tmp_path)
    store_with_usual_runs(paths)
    path = deferred(paths, "20261108T190000Z", [summary("tinh", 12)])
    record = json.loads(path.read_text(encoding="utf-8"))
    change(record)
    path.write_text(json.dumps(record), encoding="utf-8")
    report = next_run(paths)
    runs = store_rows(paths, "SELECT run_id, status FROM crawl_runs WHERE run_id >= '20261107'")
    assert any(str(path) in note for note in report.notes), report.notes
    assert runs == [("20261107T190000Z", "ok"), ("20261109T190000Z", "running")]


# --- A run that failed before crawling says so, never that crawled articles stay staged ---


def test_run_refused_its_store_does_not_claim_staged_articles(
    tmp_path: Path, migrated: Path, origin: str
) -> None:
    # As an ordinary user, whom the store's mode 0444 refuses (as `chattr +i` refuses root).
    as_user = ["unshare", "--map-user=65534", "--map-group=65534"]
    if shutil.which("unshare") is None or subprocess.run([*as_user, "true"]).returncode != 0:
        pytest.skip("needs unshare and user namespaces to run the job as an ordinary user")
    migrate(migrated, tmp_path)
    store = tmp_path / STORE
    store.chmod(0o444)
    command = [*as_user, CONGVU, *nightly_args(tmp_path, origin)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    said = (
        f'  run failed: IO Error: Cannot open file "{store}": Permission denied. '
        "No article was crawled.\n"
    )
    staged = list((tmp_path / "staging").glob("*/*.jsonl"))
    assert (result.returncode, said in result.stdout, staged) == (2, True, []), result.stdout


# In a private mount namespace, the data folder on a tmpfs filled up before the run starts.
# argv: data folder, a migrated data folder to copy into it, congvu, nightly's other arguments.
FULL_BEFORE_THE_RUN = """
set -u
data=$1 migrated=$2 congvu=$3; shift 3
mount -t tmpfs -o size=16m tmpfs "$data" || exit 97
cp -a "$migrated/." "$data" || exit 98
dd if=/dev/zero of="$data/filler" bs=4k 2>/dev/null
"$congvu" nightly --data-dir "$data" "$@" > "$data/../out.txt" 2>&1
echo "exit $?" >> "$data/../out.txt"
find "$data/staging" -name '*.jsonl' >> "$data/../out.txt"
"""


def test_run_on_a_full_disk_does_not_claim_staged_articles(
    tmp_path: Path, migrated: Path, origin: str
) -> None:
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode:
        pytest.skip("needs unshare and user namespaces to mount a small disk (tmpfs)")
    (tmp_path / "data").mkdir()
    args = nightly_args(tmp_path / "data", origin)[3:]  # --profile ... --origin ...
    data = ["sh", str(tmp_path / "data"), str(migrated)]
    script = ["unshare", "-rm", "sh", "-c", FULL_BEFORE_THE_RUN, *data]
    done = subprocess.run([*script, CONGVU, *args], cwd=ROOT, timeout=300)
    if done.returncode == 97:
        pytest.skip("mounting a tmpfs is refused here")
    out = (tmp_path / "out.txt").read_text(encoding="utf-8")
    said = "  run failed: [Errno 28] No space left on device. No article was crawled.\n"
    assert said in out and out.endswith("\nexit 2\n"), out
