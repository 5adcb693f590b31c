"""`congvu prune`: loaded staging files go after --keep-days; unloaded ones and raw HTML stay."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from pipelines.crawl import SiteCrawl, write_stats
from pipelines.runs import RESERVE, begin_run
from pipelines.store import open_db
from tests.conftest import run_congvu


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder after one demo run: one loaded staging file, its stats, the raw pages."""
    data_dir = tmp_path_factory.mktemp("retention")
    assert run_congvu("demo", "--data-dir", str(data_dir)).returncode == 0
    return data_dir


@pytest.fixture
def data_dir(demo_data: Path, tmp_path: Path) -> Path:
    """A copy of the demo data folder for one test to change."""
    return Path(shutil.copytree(demo_data, tmp_path / "data"))


def age(data_dir: Path, days: int) -> None:
    """Move the record of every load and run `days` into the past, as time passing would."""
    (data_dir / "congvu.duckdb").chmod(0o644)  # published read-only: refused to all but root
    con = duckdb.connect(str(data_dir / "congvu.duckdb"))
    try:
        con.execute("UPDATE staged_files SET loaded_at = loaded_at - to_days(?)", [days])
        con.execute("UPDATE crawl_runs SET finished_at = finished_at - to_days(?)", [days])
    finally:
        con.close()


def files(folder: Path) -> list[str]:
    """Every file under folder, relative."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def prune(data_dir: Path, keep_days: str) -> str:
    """Run `congvu prune`; its output, after checking it succeeded."""
    result = run_congvu("prune", "--data-dir", str(data_dir), "--keep-days", keep_days)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_prune_deletes_staging_loaded_before_the_window(data_dir: Path) -> None:
    raw = files(data_dir / "raw")
    age(data_dir, 40)
    said = prune(data_dir, "30")
    assert (files(data_dir / "staging"), files(data_dir / "raw"), said.split()[0]) == ([], raw, "1")


def test_prune_keeps_staging_loaded_within_the_window(data_dir: Path) -> None:
    staged = files(data_dir / "staging")
    age(data_dir, 20)
    prune(data_dir, "30")
    assert files(data_dir / "staging") == staged


def test_prune_never_deletes_an_unloaded_file_which_the_next_load_stores(data_dir: Path) -> None:
    # A killed run's file, staged long ago and never loaded: prune keeps it, the load takes it.
    (run,) = (data_dir / "staging").iterdir()
    killed = data_dir / "staging" / "20200101T000000Z"
    killed.mkdir()
    (killed / "demo.jsonl").write_bytes((run / "demo.jsonl").read_bytes())
    age(data_dir, 400)
    said = prune(data_dir, "0")
    load = run_congvu("load", "--data-dir", str(data_dir))
    assert (files(data_dir / "staging"), "1 not loaded yet kept" in said) == (
        ["20200101T000000Z/demo.jsonl"],
        True,
    )
    assert "loaded 1 staging files: 9 articles read" in load.stdout, load.stdout + load.stderr


def test_prune_deletes_the_summary_of_a_site_that_staged_nothing_in_an_old_run(
    data_dir: Path,
) -> None:
    (run,) = (data_dir / "staging").iterdir()
    (run / "quiet.stats.json").write_text("{}")
    age(data_dir, 40)
    said = prune(data_dir, "30")
    assert (files(data_dir / "staging"), run.exists(), "1 summaries" in said) == ([], False, True)


def test_prune_keeps_the_summaries_of_a_run_not_recorded_as_finished(data_dir: Path) -> None:
    running = data_dir / "staging" / "20990101T000000Z"
    running.mkdir()
    (running / "quiet.stats.json").write_text("{}")
    age(data_dir, 40)
    prune(data_dir, "30")
    assert files(data_dir / "staging") == ["20990101T000000Z/quiet.stats.json"]


def test_prune_deletes_the_summaries_of_a_run_killed_long_ago(data_dir: Path) -> None:
    # A killed run never finishes: once the next run marked it interrupted, it is over. One the
    # next start has not marked yet may still be running. The demo run is recent: it stays.
    staged = files(data_dir / "staging")
    for run_id, status in [("20200101T000000Z", "interrupted"), ("20200102T000000Z", "running")]:
        add_run(data_dir, run_id, status, finished=False)
        (data_dir / "staging" / run_id).mkdir()
        (data_dir / "staging" / run_id / "quiet.stats.json").write_text("{}")
    said = prune(data_dir, "30")
    kept = ["20200102T000000Z/quiet.stats.json", *staged]
    assert (files(data_dir / "staging"), "1 summaries" in said) == (kept, True), said


def test_prune_deletes_a_crawls_summaries_once_nothing_of_it_waits_to_be_loaded(
    data_dir: Path,
) -> None:
    # `congvu crawl` is in no crawl_runs row: the summary of its site that staged nothing
    # stayed for ever. It goes once the crawl's files are loaded and it ended long ago (its
    # summaries are written as it ends). A nightly run not recorded yet (its reserve) stays.
    (run,) = (data_dir / "staging").iterdir()
    crawl, killed = (
        data_dir / "staging" / "20200101T000000Z",
        data_dir / "staging" / "20200102T000000Z",
    )
    for folder in (crawl, killed):
        folder.mkdir()
        write_stats(folder, SiteCrawl("quiet", "failed", 0, 0, 0, {"dns": 1}, "Unreachable.", {}))
    shutil.copy(run / "demo.jsonl", crawl)
    shutil.copy(run / "demo.stats.json", crawl)
    (killed / RESERVE).touch()
    long_ago = time.time() - 40 * 86_400
    for file in [*crawl.iterdir(), *killed.iterdir()]:
        os.utime(file, (long_ago, long_ago))
    prune(data_dir, "30")
    unloaded = files(crawl)
    assert run_congvu("load", "--data-dir", str(data_dir)).returncode == 0
    age(data_dir, 40)
    said = prune(data_dir, "30")
    assert (unloaded, crawl.exists(), files(killed)) == (
        ["demo.jsonl", "demo.stats.json", "quiet.stats.json"],
        False,
        ["quiet.stats.json", RESERVE],
    ), said
    assert "2 staging files" in said and "1 summaries" in said, said


def add_run(data_dir: Path, run_id: str, status: str, finished: bool = True) -> None:
    """Record a run in crawl_runs as started a year ago and finished then (or never: killed)."""
    (data_dir / "congvu.duckdb").chmod(0o644)
    con = duckdb.connect(str(data_dir / "congvu.duckdb"))
    try:
        con.execute(
            "INSERT INTO crawl_runs (run_id, started_at, finished_at, status) VALUES "
            "(?, now() - to_days(365), CASE WHEN ? THEN now() - to_days(365) END, ?)",
            [run_id, finished, status],
        )
    finally:
        con.close()


def test_next_run_stores_the_crawl_summaries_of_runs_killed_before_recording_them(
    data_dir: Path,
) -> None:
    # Two runs killed after their crawl, before their end (a 'running' row, their summaries in
    # staging only, where prune deletes them): the one that recorded demo's line keeps it. The
    # next run stores the rest as it marks them interrupted; a cut summary is named, kept.
    (run,) = (data_dir / "staging").iterdir()
    demo = json.loads((run / "demo.stats.json").read_text(encoding="utf-8"))
    quiet = {**demo, "site": "quiet", "status": "failed", "message": "Unreachable (dns)."}
    (data_dir / "store" / "congvu.duckdb").chmod(0o644)
    con = duckdb.connect(str(data_dir / "store" / "congvu.duckdb"))
    try:
        for run_id in ("20200101T000000Z", "20200102T000000Z"):
            con.execute("INSERT INTO crawl_runs (run_id, status) VALUES (?, 'running')", [run_id])
            (data_dir / "staging" / run_id).mkdir()
            for summary in (demo, quiet):
                path = data_dir / "staging" / run_id / f"{summary['site']}.stats.json"
                path.write_text(json.dumps(summary), encoding="utf-8")
        con.execute(
            "INSERT INTO crawl_run_sites (run_id, site, status, message) "
            "VALUES ('20200102T000000Z', 'demo', 'ok', 'recorded by the run')"
        )
    finally:
        con.close()
    cut = data_dir / "staging" / "20200101T000000Z" / "cut.stats.json"
    cut.write_text('{"site": "cut", "sta', encoding="utf-8")
    result = run_congvu("demo", "--data-dir", str(data_dir))
    con = duckdb.connect(str(data_dir / "congvu.duckdb"), read_only=True)
    try:
        stored = con.execute(
            "SELECT run_id, site, status, message FROM crawl_run_sites "
            "WHERE run_id < '2021' ORDER BY run_id, site"
        ).fetchall()
    finally:
        con.close()
    assert (stored, f"unreadable crawl summary {cut}" in result.stdout, cut.is_file()) == (
        [
            ("20200101T000000Z", "demo", "ok", demo["message"]),
            ("20200101T000000Z", "quiet", "failed", "Unreachable (dns)."),
            ("20200102T000000Z", "demo", "ok", "recorded by the run"),
            ("20200102T000000Z", "quiet", "failed", "Unreachable (dns)."),
        ],
        True,
        True,
    ), result.stdout


def summary(**change: object) -> bytes:
    """A site's crawl summary as the crawl writes it, but for the changes given."""
    written = {"site": "bad", "status": "ok", "articles": 1, "discovered": 1, "pages": 1,
               "errors": {}, "message": "", "counts": {}}  # fmt: skip
    return json.dumps({**written, **change}).encode("utf-8")


@pytest.mark.parametrize(
    "data",
    [
        b'{"site": "bad", "sta',  # cut by a power cut
        b"[1, 2]",
        summary(site="other"),  # another site's, under this site's name
        summary(articles=2**31),  # more than an INTEGER column holds
        summary(articles=True),
        summary(status="maybe"),
        summary(message="\ud800"),  # a lone surrogate, as a JSON escape
        summary(counts={"known": float("nan")}),
        b'{"site": "bad", "message": "\xff"}',  # not UTF-8
        b"[" * 100_000,  # nested deeper than Python's json reads
    ],
    ids=["cut", "list", "other", "huge", "bool", "status", "surrogate", "nan", "bytes", "deep"],
)
def test_killed_runs_summary_that_cannot_be_read_is_named_and_stops_nothing(
    tmp_path: Path, data: bytes
) -> None:
    staging = tmp_path / "staging"
    (staging / "r1").mkdir(parents=True)
    bad = staging / "r1" / "bad.stats.json"
    bad.write_bytes(data)
    (staging / "r2").mkdir()
    now = datetime.now(timezone.utc)
    with open_db(tmp_path / "congvu.duckdb") as con:
        begin_run(con, "r1", now, staging)
        killed, notes = begin_run(con, "r2", now, staging)  # r1 was killed
        lines = con.execute("SELECT count(*) FROM crawl_run_sites").fetchone()[0]
    named = [note.startswith(f"unreadable crawl summary {bad} left as it is") for note in notes]
    assert (killed, named, lines, bad.read_bytes()) == (1, [True], 0, data)


def leave_record(run_dir: Path, status: str | None) -> None:
    """A run.json as a run that could not write the database leaves it (None: cut short)."""
    run_dir.mkdir(exist_ok=True)
    record = {"run": {"run_id": run_dir.name, "status": status}, "sites": []}
    text = json.dumps(record) if status else '{"run": {"run_id": "2026'
    (run_dir / "run.json").write_text(text, encoding="utf-8")


def test_prune_deletes_a_run_record_only_once_the_database_holds_it(data_dir: Path) -> None:
    # The demo run's record as the database holds it (ok), with the space a dead run held for
    # it; a record of a failure the database does not hold yet (it says ok); an unreadable one;
    # the run.part of a run killed as it wrote its record (marked interrupted by the next run).
    staging = data_dir / "staging"
    (run,) = staging.iterdir()
    leave_record(run, "ok")
    (run / "run.json.reserve").write_bytes(bytes(1024))
    add_run(data_dir, "20200103T000000Z", "interrupted", finished=False)
    (staging / "20200103T000000Z").mkdir()
    (staging / "20200103T000000Z" / "run.part").write_text('{"run": {"run_id"', encoding="utf-8")
    add_run(data_dir, "20200101T000000Z", "ok")
    leave_record(staging / "20200101T000000Z", "failed")
    add_run(data_dir, "20200102T000000Z", "failed")
    leave_record(staging / "20200102T000000Z", None)
    age(data_dir, 40)
    said = prune(data_dir, "30")
    kept = ["20200101T000000Z/run.json", "20200102T000000Z/run.json"]
    assert (files(staging), run.exists(), "1 run records" in said) == (kept, False, True), said


@pytest.mark.parametrize("days", ["-5", "3000000000"])
def test_prune_refuses_a_window_out_of_range_in_one_line(data_dir: Path, days: str) -> None:
    result = run_congvu("prune", "--data-dir", str(data_dir), "--keep-days", days)
    said = (
        result.returncode,
        result.stderr.strip().splitlines()[-1:],
        "Traceback" in result.stderr,
    )
    assert said == (
        2,
        [f"congvu prune: error: --keep-days must be 0 to 36500 (100 years), not {days}"],
        False,
    )


def test_prune_without_a_database_deletes_nothing(tmp_path: Path) -> None:
    staged = tmp_path / "staging" / "20200101T000000Z" / "demo.jsonl"
    staged.parent.mkdir(parents=True)
    staged.write_text("{}\n")
    result = run_congvu("prune", "--data-dir", str(tmp_path), "--keep-days", "0")
    assert (result.returncode, staged.is_file()) == (2, True)
