"""DuckDB storage: idempotent bulk loads, dedup by canonical URL, a locked database."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from pipelines.load import load_staged
from pipelines.migrations import schema_markdown
from pipelines.page_state import known_pages
from pipelines.store import DatabaseLocked, open_db
from tests.conftest import ended_pid


def staged(staging: Path, run_id: str, site: str, records: list[dict], tail: str = "") -> Path:
    """Write a staging file as the crawl would."""
    path = staging / run_id / f"{site}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n" + tail, encoding="utf-8")
    return path


def record(n: int, canonical: str | None = None) -> dict:
    """A crawled article record."""
    return {
        "url": f"https://example.vn/bai-{n}.html",
        "canonical_url": canonical or f"https://example.vn/bai-{n}.html",
        "site": "example",
        "title": f"Bài {n}",
        "sapo": "",
        "body": "Nội dung.",
        "author": None,
        "category": "Thời sự",
        "published_at": "2026-03-07T08:01:00+07:00",
        "date_source": "meta",
        "extraction": "profile",
        "fetched_at": f"2026-03-07T09:{n:02d}:00+00:00",
        "raw_sha256": "0" * 64,
        "raw_path": "example/00/x.html.gz",
    }


def count(db: Path) -> int:
    """Articles in the database."""
    con = open_db(db)
    try:
        return con.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        con.close()


def load(db: Path, staging: Path) -> int:
    """Load the staging folder; return the new rows."""
    con = open_db(db)
    try:
        return load_staged(con, staging).rows_new
    finally:
        con.close()


def test_loading_twice_adds_nothing(tmp_path: Path) -> None:
    staged(tmp_path / "staging", "r1", "example", [record(1), record(2)])
    load(tmp_path / "db.duckdb", tmp_path / "staging")
    assert load(tmp_path / "db.duckdb", tmp_path / "staging") == 0


def test_same_canonical_url_from_two_runs_stored_once(tmp_path: Path) -> None:
    staged(tmp_path / "staging", "r1", "example", [record(1)])
    staged(tmp_path / "staging", "r2", "example", [record(2, canonical=record(1)["url"])])
    load(tmp_path / "db.duckdb", tmp_path / "staging")
    assert count(tmp_path / "db.duckdb") == 1


def test_duplicates_within_one_file_stored_once(tmp_path: Path) -> None:
    staged(tmp_path / "staging", "r1", "example", [record(1), record(1)])
    assert load(tmp_path / "db.duckdb", tmp_path / "staging") == 1


def test_line_cut_short_by_a_kill_is_skipped(tmp_path: Path) -> None:
    staged(tmp_path / "staging", "r1", "example", [record(1)], tail='{"url": "https://exa')
    assert load(tmp_path / "db.duckdb", tmp_path / "staging") == 1


def test_published_at_keeps_the_instant(tmp_path: Path) -> None:
    staged(tmp_path / "staging", "r1", "example", [record(1)])
    load(tmp_path / "db.duckdb", tmp_path / "staging")
    con = open_db(tmp_path / "db.duckdb", read_only=True)
    value = con.execute("SELECT published_at::VARCHAR FROM articles").fetchone()[0]
    con.close()
    assert value == "2026-03-07 08:01:00+07"


def test_data_folder_named_with_a_quote_opens_and_backs_up(tmp_path: Path) -> None:
    """ATTACH takes its path as an SQL literal: a quote in the folder name must not break it."""
    from pipelines.exports import backup_database
    from pipelines.paths import DataPaths

    paths = DataPaths(tmp_path / "bài của O'Neil")
    open_db(paths.db).close()
    backup = backup_database(paths)
    assert backup.parent == paths.backups
    con = open_db(backup, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] > 0
    finally:
        con.close()


def test_a_backup_never_replaces_an_earlier_one(tmp_path: Path) -> None:
    from pipelines.exports import backup_database
    from pipelines.paths import DataPaths, utc_stamp

    paths = DataPaths(tmp_path)
    open_db(paths.db).close()
    paths.backups.mkdir(parents=True)
    now = datetime.now(timezone.utc)
    taken = [
        paths.backups / f"congvu-{utc_stamp(now + timedelta(seconds=s))}.duckdb" for s in range(3)
    ]
    for path in taken:
        path.write_text("an earlier backup")
    backup = backup_database(paths)
    assert [p.read_text() for p in taken] == ["an earlier backup"] * 3
    assert backup.name.endswith("-2.duckdb")


def test_a_finished_backup_leaves_no_partial_file(tmp_path: Path) -> None:
    from pipelines.exports import backup_database
    from pipelines.paths import DataPaths

    paths = DataPaths(tmp_path)
    open_db(paths.db).close()
    backup_database(paths)
    assert [p.suffix for p in paths.backups.iterdir()] == [".duckdb"]


def test_a_killed_backup_s_partial_copy_is_removed_by_the_next(tmp_path: Path) -> None:
    from pipelines.exports import backup_database
    from pipelines.paths import DataPaths

    paths = DataPaths(tmp_path)
    open_db(paths.db).close()
    paths.backups.mkdir(parents=True)
    killed = ended_pid()
    left = [
        paths.backups / f"congvu-20260101T000000Z.{killed}.partial{end}" for end in ("", ".wal")
    ]
    for path in left:
        path.write_text("half a copy")
    backup_database(paths)
    assert [p.exists() for p in left] == [False, False]


def test_a_running_backup_s_partial_copy_is_kept(tmp_path: Path) -> None:
    from pipelines.exports import backup_database
    from pipelines.paths import DataPaths

    paths = DataPaths(tmp_path)
    open_db(paths.db).close()
    paths.backups.mkdir(parents=True)
    running = paths.backups / f"congvu-20260101T000000Z.{os.getppid()}.partial"
    running.write_text("a copy being written")
    backup_database(paths)
    assert running.exists()


def test_locked_database_gives_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    open_db(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,sys; c=duckdb.connect({str(db)!r}); "
         "print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DatabaseLocked, match="read_only=True"):
            open_db(db, wait_s=1)
    finally:
        holder.communicate("")


def changed(n: int, body: str, minute: int) -> dict:
    """A refetch of article n whose content is body."""
    return {**record(minute), "url": record(n)["url"], "canonical_url": record(n)["url"],
            "body": body, "content_hash": body}  # fmt: skip


def versions(db: Path) -> tuple[list[tuple], list[tuple]]:
    """(version, body) of the earlier versions and of the current articles."""
    con = open_db(db, read_only=True)
    try:
        earlier = con.execute("SELECT version, body FROM article_versions").fetchall()
        return earlier, con.execute("SELECT version, body FROM articles").fetchall()
    finally:
        con.close()


def test_change_between_two_staged_runs_keeps_both_versions(tmp_path: Path) -> None:
    staged(tmp_path / "staging", "r1", "example", [changed(1, "Bản đầu.", 1)])
    staged(tmp_path / "staging", "r2", "example", [changed(1, "Bản đã sửa.", 2)])
    load(tmp_path / "db.duckdb", tmp_path / "staging")
    assert versions(tmp_path / "db.duckdb") == ([(1, "Bản đầu.")], [(2, "Bản đã sửa.")])


def test_change_seen_in_a_later_load_adds_a_version(tmp_path: Path) -> None:
    staged(tmp_path / "staging", "r1", "example", [changed(1, "Bản đầu.", 1)])
    load(tmp_path / "db.duckdb", tmp_path / "staging")
    staged(tmp_path / "staging", "r2", "example", [changed(1, "Bản đã sửa.", 2)])
    load(tmp_path / "db.duckdb", tmp_path / "staging")
    assert versions(tmp_path / "db.duckdb") == ([(1, "Bản đầu.")], [(2, "Bản đã sửa.")])


def test_unchanged_refetch_adds_no_version(tmp_path: Path) -> None:
    staged(tmp_path / "staging", "r1", "example", [changed(1, "Bản đầu.", 1)])
    load(tmp_path / "db.duckdb", tmp_path / "staging")
    staged(tmp_path / "staging", "r2", "example", [changed(1, "Bản đầu.", 2)])
    load(tmp_path / "db.duckdb", tmp_path / "staging")
    con = open_db(tmp_path / "db.duckdb", read_only=True)
    assert con.execute("SELECT count(*) FROM article_versions").fetchone()[0] == 0
    con.close()


def test_crawl_state_remembers_validators(tmp_path: Path) -> None:
    refetch = {**changed(1, "Bản đầu.", 1), "etag": '"v1"', "last_modified": None}
    staged(tmp_path / "staging", "r1", "example", [refetch])
    load(tmp_path / "db.duckdb", tmp_path / "staging")
    con = open_db(tmp_path / "db.duckdb", read_only=True)
    known = known_pages(con, days=100_000)
    con.close()
    assert known[refetch["url"]].etag == '"v1"'


def test_page_naming_another_as_canonical_keeps_one_state_per_url(tmp_path: Path) -> None:
    # bai-2 is a mobile copy whose canonical is bai-1, fetched in the same run as bai-1 itself.
    records = [record(1), record(2, canonical="https://example.vn/bai-1.html")]
    staged(tmp_path / "staging", "r1", "example", records)
    load(tmp_path / "db.duckdb", tmp_path / "staging")
    con = open_db(tmp_path / "db.duckdb", read_only=True)
    urls = con.execute("SELECT url FROM page_state ORDER BY url").fetchall()
    con.close()
    assert urls == [("https://example.vn/bai-1.html",), ("https://example.vn/bai-2.html",)]


def test_known_page_refetched_updates_its_state(tmp_path: Path) -> None:
    staged(tmp_path / "staging", "r1", "example", [{**changed(1, "Bản đầu.", 1), "etag": '"v1"'}])
    load(tmp_path / "db.duckdb", tmp_path / "staging")
    staged(tmp_path / "staging", "r2", "example", [{**changed(1, "Bản sau.", 2), "etag": '"v2"'}])
    load(tmp_path / "db.duckdb", tmp_path / "staging")
    con = open_db(tmp_path / "db.duckdb", read_only=True)
    known = known_pages(con, days=100_000)
    con.close()
    assert known[changed(1, "", 1)["url"]].etag == '"v2"'


def corrupt_run(staging: Path) -> Path:
    """A staging file with four unreadable lines and a last line cut short by a kill."""
    path = staged(staging, "r1", "example", [record(1)])
    with path.open("ab") as out:
        out.write(b'{"url": "https://example.vn/x", "title": "ha\n')  # line 2: not JSON
        out.write(json.dumps(record(3)).encode() + b"\n")  # line 3: readable
        out.write(b'{"url": "https://example.vn/no-canonical"}\n')  # line 4
        out.write(b'["not", "an", "object"]\n\n')  # line 5, then a blank line 6
        out.write(b'{"canonical_url": "https://example.vn/\xff\xfe"}\n')  # line 7: not UTF-8
        out.write(b'{"url": "https://exa')  # line 8: cut short
    return path


@pytest.fixture
def corrupt_load(tmp_path: Path) -> dict:
    """Load a corrupt staging file; keep the load result, the database and the quarantine file."""
    corrupt_run(tmp_path / "staging")
    con = open_db(tmp_path / "db.duckdb")
    try:
        result = load_staged(con, tmp_path / "staging", quarantine_dir=tmp_path / "quarantine")
        stored = con.execute("SELECT rows_read, rows_rejected, truncated FROM staged_files")
        return {"result": result, "staged_files": stored.fetchall(), "tmp": tmp_path}
    finally:
        con.close()


def test_unreadable_lines_counted(corrupt_load: dict) -> None:
    result = corrupt_load["result"]
    assert (result.rows_read, result.rows_rejected, result.rows_truncated) == (2, 4, 1)


def test_unreadable_lines_counted_in_the_database(corrupt_load: dict) -> None:
    assert corrupt_load["staged_files"] == [(2, 4, True)]


def test_unreadable_lines_kept_with_file_and_line(corrupt_load: dict) -> None:
    kept = corrupt_load["tmp"] / "quarantine" / "r1" / "example.jsonl"
    entries = [json.loads(line) for line in kept.read_text(encoding="utf-8").splitlines()]
    assert [(e["file"], e["line"]) for e in entries] == [
        ("r1/example.jsonl", n) for n in (2, 4, 5, 7, 8)
    ]


def test_unreadable_lines_say_why(corrupt_load: dict) -> None:
    kept = corrupt_load["tmp"] / "quarantine" / "r1" / "example.jsonl"
    reasons = [json.loads(line)["reason"] for line in kept.read_text(encoding="utf-8").splitlines()]
    expected = ["not JSON", "no canonical_url", "not a JSON object", "not UTF-8"]
    expected.append("cut short (a killed crawl): not JSON")
    assert [r[: len(e)] for r, e in zip(reasons, expected, strict=True)] == expected


def test_unreadable_lines_named_in_the_run_summary(corrupt_load: dict) -> None:
    from datetime import datetime, timezone

    from pipelines.report import RunReport

    report = RunReport("r2", datetime.now(timezone.utc), load=corrupt_load["result"])
    kept = corrupt_load["tmp"] / "quarantine" / "r1" / "example.jsonl"
    assert f"4 unreadable line(s) not loaded, 1 cut short by a killed crawl; kept in {kept}" in (
        report.summary()
    )


def test_a_clean_load_quarantines_nothing(tmp_path: Path) -> None:
    staged(tmp_path / "staging", "r1", "example", [record(1), record(2)])
    con = open_db(tmp_path / "db.duckdb")
    result = load_staged(con, tmp_path / "staging", quarantine_dir=tmp_path / "quarantine")
    con.close()
    assert (result.rows_rejected, result.quarantine, (tmp_path / "quarantine").exists()) == (
        0, [], False,
    )  # fmt: skip


def test_an_articles_latest_analyst_label_is_its_current_one(tmp_path: Path) -> None:
    con = open_db(tmp_path / "congvu.duckdb")
    con.execute(
        """
        INSERT INTO labels VALUES
          ('a', 'praise', 'lan', '2026-11-01 08:00:00+07', 'm', 'neutral', NULL, 'r1.xlsx'),
          ('a', 'criticism', 'hoa', '2026-11-02 08:00:00+07', 'm', 'neutral', '', 'r2.xlsx'),
          ('b', 'neutral', 'lan', '2026-11-01 08:00:00+07', 'm', 'neutral', NULL, 'r1.xlsx')
        """
    )
    current = con.execute("SELECT article_id, label FROM analyst_labels ORDER BY 1").fetchall()
    con.close()
    assert current == [("a", "criticism"), ("b", "neutral")]


def test_schema_documents_the_analyst_labels_view(tmp_path: Path) -> None:
    con = open_db(tmp_path / "congvu.duckdb")
    text = schema_markdown(con)
    con.close()
    assert "### analyst_labels\n\nthe current analyst label of each reviewed article" in text


# A database file DuckDB 2.0.1 wrote (one table, one row), gzipped: the department's files were
# written by 2.0.1 before congvu pinned DuckDB 1.4.4, which cannot read them.
NEWER_DUCKDB_FILE = Path(__file__).parent / "fixtures" / "written-by-duckdb-2.0.1.duckdb.gz"


def test_a_file_from_a_newer_duckdb_says_how_to_carry_it_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli import main

    (tmp_path / "congvu.duckdb").write_bytes(gzip.decompress(NEWER_DUCKDB_FILE.read_bytes()))
    code = main(["db", "status", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err  # one line, no traceback
    assert "written by DuckDB v2.0.1" in err
    assert "EXPORT DATABASE" in err and "IMPORT DATABASE" in err


def test_db_migrate_puts_back_the_comments_an_import_leaves_out(tmp_path: Path) -> None:
    from pipelines.cli import main

    con = open_db(tmp_path / "old" / "congvu.duckdb")
    documented = schema_markdown(con)
    con.execute(f"EXPORT DATABASE '{tmp_path / 'export'}' (FORMAT parquet)")
    con.close()
    store = tmp_path / "new" / "store" / "congvu.duckdb"
    store.parent.mkdir(parents=True)
    imported = duckdb.connect(str(store))
    imported.execute(f"IMPORT DATABASE '{tmp_path / 'export'}'")
    imported.close()
    assert main(["db", "migrate", "--data-dir", str(tmp_path / "new")]) == 0
    con = open_db(tmp_path / "new" / "congvu.duckdb", read_only=True)
    assert schema_markdown(con) == documented
    con.close()
