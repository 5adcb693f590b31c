"""The shared store: a DuckLake in PostgreSQL that several nodes write while analysts read."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.classifications import save_classifications
from pipelines.demo import DEMO_DIR, serve_demo_site
from pipelines.lake import is_lake
from pipelines.migrations import MIGRATIONS, lake_ddl
from pipelines.runs import begin_run, claim_run_id
from pipelines.store import open_db
from tests.conftest import run_congvu

CONGVU = str(Path(sys.executable).with_name("congvu"))  # the running environment's, as run_congvu
# Four copies of the demo site under their own names: CRC-32 puts the first two in shard 1/2
# and the other two in shard 2/2 (pipelines/sites.py, in_shard).
SITES = {"hoa-an": 1, "binh-son": 1, "lac-thuy": 2, "an-phu": 2}
PER_SITE = 9  # articles of the demo site (crawlers/demo/expected.json)


def schema(path: Path) -> tuple[list[tuple], list[tuple]]:
    """Tables and views with their comments; their columns with types and comments, in order.

    Views' columns are left without comments: DuckLake cannot store them (migrations.py).
    lake_writes, the lake's writers' turn, is the lake's own.
    """
    con = open_db(path)
    try:
        tables = con.execute(
            "SELECT table_name, comment FROM duckdb_tables() WHERE database_name = "
            "current_database() AND table_name <> 'lake_writes' UNION ALL SELECT view_name, "
            "comment FROM duckdb_views() WHERE database_name = current_database() ORDER BY 1"
        ).fetchall()
        columns = con.execute(
            "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable, "
            "CASE WHEN v.view_name IS NULL THEN c.comment END FROM duckdb_columns() c "
            "LEFT JOIN duckdb_views() v ON v.view_name = c.table_name "
            "AND v.database_name = c.database_name WHERE c.database_name = current_database() "
            "AND c.table_name <> 'lake_writes' ORDER BY c.table_name, c.column_index"
        ).fetchall()
    finally:
        con.close()
    return tables, columns


def test_the_migrated_lake_has_the_files_tables_and_columns(
    lake: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_lake = schema(tmp_path / "unused.duckdb")  # CONGVU_STORE: the lake, migrated on opening
    monkeypatch.delenv("CONGVU_STORE")
    in_file = schema(tmp_path / "file.duckdb")
    assert in_lake == in_file
    assert len(in_lake[0]) == 15 and len(in_lake[1]) > 100  # story_labels: 015
    assert not (tmp_path / "unused.duckdb").exists()  # nothing went to the file


def test_the_lake_takes_the_migrations_without_their_keys() -> None:
    sql = """
        CREATE TABLE t (  -- a table
            a VARCHAR PRIMARY KEY,      -- key
            b VARCHAR                   -- b
        );
        CREATE TABLE u (  -- a table keyed by two columns
            a VARCHAR,                  -- a
            b VARCHAR,                  -- b, with a comma
            PRIMARY KEY (a, b)
        );
    """
    expected = """
        CREATE TABLE t (  -- a table
            a VARCHAR NOT NULL,      -- key
            b VARCHAR                   -- b
        );
        CREATE TABLE u (  -- a table keyed by two columns
            a VARCHAR NOT NULL,                  -- a
            b VARCHAR NOT NULL                  -- b, with a comma
        );
    """
    assert lake_ddl(sql) == expected


def query(sql: str) -> list[tuple]:
    """Rows of a query on the lake, read-only, as an analyst's notebook opens it."""
    con = open_db(Path("unused"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_two_nodes_migrating_a_new_lake_at_once_apply_each_migration_once(
    lake: str, tmp_path: Path
) -> None:
    nodes = [
        subprocess.Popen(
            [CONGVU, "db", "migrate", "--data-dir", str(tmp_path / name)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("node1", "node2")
    ]
    outputs = [node.communicate(timeout=300)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs
    assert query("SELECT name FROM schema_migrations ORDER BY name") == [
        (name,) for name, _ in sorted(MIGRATIONS)
    ]
    assert query("SELECT count(*) FROM lake_writes") == [(1,)]


def test_concurrent_writes_of_the_same_keys_land_once(lake: str, tmp_path: Path) -> None:
    open_db(tmp_path / "unused").close()  # migrated
    rows = pd.DataFrame(
        {
            "article_id": [f"a{n}" for n in range(50)],
            "model_id": "m",
            "label": "neutral",
            "score_praise": 0.1,
            "score_criticism": 0.1,
            "score_neutral": 0.8,
            "evidence": [[] for _ in range(50)],
            "reason": "",
            "analysed_chars": 10,
        }
    )
    start = threading.Barrier(3)
    added: list[int] = []

    def write() -> None:
        con = open_db(tmp_path / "unused")
        try:
            start.wait()
            added.append(save_classifications(con, rows))
        finally:
            con.close()

    writers = [threading.Thread(target=write) for _ in range(3)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert sorted(added) == [0, 0, 50]  # the two that lost were run again and found them
    assert query("SELECT count(*), count(DISTINCT article_id) FROM classifications") == [(50, 50)]


@pytest.fixture
def four_sites(tmp_path: Path) -> Iterator[tuple[str, list[Path]]]:
    """The demo site as four sites on one local server: its origin and their profile files."""
    profiles = []
    for name in SITES:
        host = f"{name}.congvu.invalid".encode()
        for page in (DEMO_DIR / "www").rglob("*"):
            if page.is_file():
                copy = tmp_path / "www" / name / page.relative_to(DEMO_DIR / "www")
                copy.parent.mkdir(parents=True, exist_ok=True)
                copy.write_bytes(page.read_bytes().replace(b"demo.congvu.invalid", host))
        text = (DEMO_DIR / "demo.yaml").read_text(encoding="utf-8")
        text = text.replace("demo.congvu.invalid", host.decode()).replace(
            "name: demo", f"name: {name}"
        )
        text = text.replace("demo\\.congvu\\.invalid", host.decode().replace(".", "\\."))
        profiles.append(tmp_path / f"{name}.yaml")
        profiles[-1].write_text(text, encoding="utf-8")
    with serve_demo_site(tmp_path / "www") as origin:
        yield origin + "/{site}", profiles


class Reader(threading.Thread):
    """An analyst querying the lake in a loop: counts that one load must keep in step."""

    CHECK = """
        SELECT (SELECT count(*) FROM articles), (SELECT count(DISTINCT article_id) FROM articles),
               (SELECT coalesce(sum(rows_new), 0) FROM staged_files),
               (SELECT count(*) FROM classifications),
               (SELECT count(DISTINCT (article_id, model_id)) FROM classifications),
               (SELECT count(*) FROM page_state), (SELECT count(DISTINCT url) FROM page_state)
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.done = threading.Event()
        self.errors: list[str] = []
        self.reads: list[tuple] = []

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.reads.append(query(self.CHECK)[0])
            except Exception as exc:  # any error an analyst would see
                self.errors.append(repr(exc))
            time.sleep(0.05)


def nightly(folder: Path, part: int, sites: tuple[str, list[Path]], **env: str) -> subprocess.Popen:
    """`congvu nightly` of the node whose data folder is folder, on its shard; not waited for."""
    origin, profiles = sites
    command = [CONGVU, "nightly", "--data-dir", str(folder), "--origin", origin]
    command += [*(f"--profile={p}" for p in profiles), "--shard", f"{part}/2"]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "CONGVU_NODE": folder.name, **env},
    )


def wait_for(process: subprocess.Popen, line: str, timeout: float = 600) -> str:
    """The process's output up to the line that says it reached a point (it keeps running)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = process.stdout.readline()
        seen.append(text)
        if text.strip() == line or not text:
            break
    assert seen[-1].strip() == line, "".join(seen)
    return "".join(seen)


def test_two_nodes_write_one_lake_while_an_analyst_reads(
    lake: str, four_sites: tuple[str, list[Path]], tmp_path: Path
) -> None:
    migrated = run_congvu("db", "migrate", "--data-dir", str(tmp_path / "node1"))
    assert migrated.returncode == 0, migrated.stderr
    reader = Reader()
    reader.start()
    try:
        # Both nodes crawl their shard at once; node2 is killed inside its load's transaction,
        # its articles written to Parquet but not committed.
        node1 = nightly(tmp_path / "node1", 1, four_sites)
        node2 = nightly(tmp_path / "node2", 2, four_sites, CONGVU_PAUSE_AT="load")
        wait_for(node2, "paused at load")
        node2.send_signal(signal.SIGKILL)
        node2.wait(timeout=60)
        first = node1.communicate(timeout=600)[0]
        assert node1.returncode == 0, first
        # node2 again, while node1 runs again: the killed run's staging is loaded now.
        node1 = nightly(tmp_path / "node1", 1, four_sites)
        node2 = nightly(tmp_path / "node2", 2, four_sites)
        outputs = [node.communicate(timeout=600)[0] for node in (node1, node2)]
        assert [node1.returncode, node2.returncode] == [0, 0], outputs
    finally:
        reader.done.set()
        reader.join(timeout=60)
    total = len(SITES) * PER_SITE
    assert query("SELECT site, count(*) FROM articles GROUP BY site ORDER BY site") == sorted(
        (site, PER_SITE) for site in SITES
    )
    assert query("SELECT count(DISTINCT article_id) FROM articles") == [(total,)]
    assert query("SELECT count(*), count(DISTINCT article_id) FROM classifications") == [
        (total, total)
    ]
    for table in ("article_stories", "article_places"):
        assert query(f"SELECT count(*), count(DISTINCT article_id) FROM {table}") == [
            (total, total)
        ]
    runs: dict[str, list[str]] = {}
    for run_id, status in query("SELECT run_id, status FROM crawl_runs ORDER BY run_id"):
        runs.setdefault(run_id.rsplit("-", 1)[1], []).append(status)  # ids end with the node
    assert runs == {"node1": ["ok", "ok"], "node2": ["interrupted", "ok"]}
    crawled = query("SELECT DISTINCT split_part(run_id, '-', 2), site FROM crawl_run_sites")
    assert sorted(crawled) == sorted((f"node{part}", site) for site, part in SITES.items())
    # The analyst never saw an error, a doubled key, or articles without their load's record.
    assert reader.errors == []
    assert len(reader.reads) > 10
    assert any(0 < read[0] < total for read in reader.reads)  # it read between the loads too
    for articles, distinct, loaded, labels, labelled, pages, urls in reader.reads:
        assert articles == distinct == loaded and labels == labelled and pages == urls
    assert reader.reads[-1][0] == total


def test_two_nodes_starting_in_the_same_second_get_their_own_run_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime(2026, 11, 29, 19, 0, tzinfo=timezone.utc)
    monkeypatch.setenv("CONGVU_STORE", "ducklake:postgres:dbname=congvu")  # nothing attached
    ids = []
    for node in ("node1", "node2"):
        monkeypatch.setenv("CONGVU_NODE", node)
        ids.append(claim_run_id(tmp_path / node / "staging", now))
    assert ids == ["20261129T190000Z-node1", "20261129T190000Z-node2"]


def test_a_run_marks_as_interrupted_only_its_own_nodes_runs(tmp_path: Path) -> None:
    con = open_db(tmp_path / "congvu.duckdb")
    now = datetime.now(timezone.utc)
    # Each node's staging holds its own runs' folders: node1's second run finds r1-node1 killed,
    # and knows nothing of r1-node2, running elsewhere.
    for node, run_id in [("node1", "r1-node1"), ("node2", "r1-node2"), ("node1", "r2-node1")]:
        (tmp_path / node / run_id).mkdir(parents=True)  # claimed as claim_run_id claims it
        begin_run(con, run_id, now, tmp_path / node)
    statuses = con.execute("SELECT run_id, status FROM crawl_runs ORDER BY run_id").fetchall()
    con.close()
    assert statuses == [
        ("r1-node1", "interrupted"),
        ("r1-node2", "running"),
        ("r2-node1", "running"),
    ]


def test_notebooks_attach_the_lake_read_only(lake: str, tmp_path: Path) -> None:
    from pipelines.notebooks import open_snapshot

    open_db(tmp_path / "unused").close()  # migrated
    con = open_snapshot()
    try:
        assert is_lake(con)
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (0,)
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("INSERT INTO sites (site) VALUES ('x')")
    finally:
        con.close()


def test_sites_list_shows_each_sites_health_from_the_lake(
    lake: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli import main

    con = open_db(tmp_path / "unused")
    con.execute(
        "INSERT INTO crawl_run_sites (run_id, site, status, articles, discovered) "
        "VALUES ('20261129T190000Z-node1', 'vnexpress', 'ok', 3, 7)"
    )
    con.close()
    assert main(["sites", "list", "--data-dir", str(tmp_path / "node1")]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "vnexpress" in line]
    assert "20261129T190000Z-node1 ok: 3 articles, 7 links" in line
