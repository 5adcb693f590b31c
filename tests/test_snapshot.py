"""The read snapshot: analysts' readers never block the job and never see a half-written state."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import stat
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import lxml.html
import pytest

from nlp.classify import DEFAULT_MODEL
from pipelines.load import load_staged
from pipelines.paths import DataPaths
from pipelines.report import RunReport
from pipelines.runs import DEFERRED, record_failure
from pipelines.store import open_db
from pipelines.vietnamese import times_apart
from tests.conftest import ROOT, Site, run_congvu, serve
from tests.test_operations import (
    DEMO_DIR,
    deferred,
    kill,
    next_run,
    nightly_args,
    rows,
    start_paused,
    store_rows,
    store_with_usual_runs,
    summary,
)

ARTICLE_ID = re.compile(r"-(\d{6})\.html")


def published(block: str, last: int) -> bool:
    """True when every article a listing item or feed item links to is at most number last."""
    return all(int(number) <= last for number in ARTICLE_ID.findall(block))


def demo_site_until(last: int) -> Site:
    """The demo site on the day its newest article was number last: later ones not yet there."""
    site = Site()
    for path in (DEMO_DIR / "www").rglob("*"):
        if not path.is_file() or not published(path.name, last):
            continue
        body = path.read_bytes()
        if path.suffix in (".html", ".xml"):
            text = body.decode("utf-8")
            for item in (r'<article class="news-item">.*?</article>\n', r"<item>.*?</item>\s*"):
                text = re.sub(
                    item, lambda m: m[0] if published(m[0], last) else "", text, flags=re.S
                )
            body = text.encode("utf-8")
        kind = "application/rss+xml" if path.suffix == ".xml" else "text/html"
        site.add("/demo/" + path.relative_to(DEMO_DIR / "www").as_posix(), body, kind)
    return site


# A reader as an analyst's notebook: "hold" keeps one read-only connection and queries it over
# and over; "fresh" opens a new one for each query. On stdin's end it prints what it saw.
READER = (
    """
import json, sys, threading
import duckdb
mode, db = sys.argv[1], sys.argv[2]
SQL = '''SELECT (SELECT count(*) FROM articles),
                (SELECT count(*) FROM classifications WHERE model_id = '"""
    + DEFAULT_MODEL
    + """'),
                (SELECT count(*) FROM crawl_runs),
                (SELECT count(*) FROM crawl_runs WHERE status <> 'ok')'''
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
held = duckdb.connect(db, read_only=True) if mode == "hold" else None
print("open", flush=True)
views, errors, queries = set(), [], 0
while not stop.is_set():
    try:
        con = held or duckdb.connect(db, read_only=True)
        views.add(tuple(con.execute(SQL).fetchone()))
        queries += 1
        if con is not held:
            con.close()
    except Exception as exc:
        errors.append(repr(exc))
    stop.wait(0.1)
print(json.dumps({"views": sorted(views), "errors": errors, "queries": queries}), flush=True)
"""
)


def start_reader(mode: str, db: Path) -> subprocess.Popen:
    """A reader process, once its first connection is open."""
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, mode, str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert reader.stdout.readline().strip() == "open"
    return reader


def test_readers_across_three_nightly_runs(tmp_path: Path) -> None:
    nights = {100203: 3, 100205: 5, 100207: 7, 100209: 9}  # newest article -> articles stored
    figures = []

    def night(last: int) -> int:
        with serve(demo_site_until(last)) as base:
            began = time.monotonic()
            result = run_congvu(*nightly_args(tmp_path, base + "/{site}", "--wait", "5"))
            figures.append(f"run up to {last}: exit {result.returncode}, "
                           f"{time.monotonic() - began:.1f} s")  # fmt: skip
        return result.returncode

    assert night(100203) == 0
    db = tmp_path / "congvu.duckdb"
    readers = [start_reader("hold", db), start_reader("fresh", db)]
    codes, seen = [], []
    try:
        for last in (100205, 100207, 100209):
            codes.append(night(last))
            latest = "SELECT status, articles_new FROM crawl_runs ORDER BY run_id DESC LIMIT 1"
            seen.append((rows(tmp_path, "SELECT count(*) FROM articles")[0][0],
                         *rows(tmp_path, latest)[0]))  # fmt: skip
    finally:
        held, fresh = (json.loads(reader.communicate("")[0]) for reader in readers)
    figures.append(f"held connection: {held['queries']} queries, views {held['views']}")
    figures.append(f"fresh connections: {fresh['queries']} queries, views {fresh['views']}")
    print("\n".join(figures))  # the figures for the record (pytest -s shows them)
    assert codes == [0, 0, 0]
    assert seen == [(5, "ok", 2), (7, "ok", 2), (9, "ok", 2)]
    # The held connection keeps the snapshot it opened (3 articles, all labelled, 1 run).
    assert (held["errors"], held["views"]) == ([], [[3, 3, 1, 0]])
    # Each fresh connection sees one whole run's result: all labelled, no run half done.
    assert fresh["errors"] == []
    assert [view for view in fresh["views"] if view[0] != view[1] or view[3]] == []
    assert {view[0] for view in fresh["views"]} <= set(nights.values())
    assert not db.with_name("congvu.duckdb.wal").exists()


def test_run_killed_while_publishing_leaves_the_previous_snapshot(tmp_path: Path) -> None:
    with serve(demo_site_until(100203)) as base:
        assert run_congvu(*nightly_args(tmp_path, base + "/{site}")).returncode == 0
    with serve(demo_site_until(100209)) as base:
        kill(start_paused(tmp_path, base + "/{site}", "publish"))
        before = rows(tmp_path, "SELECT count(*) FROM articles")[0][0]
        result = run_congvu(*nightly_args(tmp_path, base + "/{site}"))
    after = rows(tmp_path, "SELECT count(*) FROM articles")[0][0]
    leftovers = [p.name for p in tmp_path.glob("congvu.duckdb.*")]
    assert (before, result.returncode, after, leftovers) == (3, 0, 9, [])


def test_database_written_in_place_is_adopted_without_loss(tmp_path: Path) -> None:
    # An older congvu wrote data/congvu.duckdb itself; the last writer was killed after a
    # commit, so part of the data is still only in the write-ahead log beside the file.
    paths = DataPaths(tmp_path)
    staged = paths.staging / "old" / "demo.jsonl"
    staged.parent.mkdir(parents=True)
    old = {
        "url": "http://demo.congvu.invalid/tin-tuc/bai-cu-100001.html",
        "site": "demo",
        "title": "Bài cũ",
        "body": "Nội dung cũ.",
        "fetched_at": "2026-11-01T01:00:00+00:00",
    }
    staged.write_text(json.dumps({**old, "canonical_url": old["url"]}) + "\n", encoding="utf-8")
    con = open_db(paths.db)
    load_staged(con, paths.staging)
    con.close()
    code = (
        "import duckdb, os, sys; c = duckdb.connect(sys.argv[1]); "
        "c.execute(\"INSERT INTO sites (site, title) VALUES ('cu', 'Trang cũ')\"); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code, str(paths.db)], check=True)
    assert paths.db.with_name("congvu.duckdb.wal").exists()
    with serve(demo_site_until(100209)) as base:
        result = run_congvu(*nightly_args(tmp_path, base + "/{site}"))
    kept = rows(tmp_path, "SELECT count(*) FROM articles WHERE title = 'Bài cũ'")[0][0]
    logged = rows(tmp_path, "SELECT count(*) FROM sites WHERE site = 'cu'")[0][0]
    articles = rows(tmp_path, "SELECT count(*) FROM articles")[0][0]
    assert (result.returncode, kept, logged, articles) == (0, 1, 1, 10), result.stdout
    assert paths.store.exists() and not paths.db.with_name("congvu.duckdb.wal").exists()


def test_commands_that_write_publish_what_they_wrote(tmp_path: Path) -> None:
    model = tmp_path / "cue-lexicon-test"
    shutil.copytree(ROOT / "models" / "cue-lexicon-1", model)
    config = json.loads((model / "model.json").read_text())
    digest = hashlib.sha256((model / "cues.yaml").read_bytes()).hexdigest()
    renamed = {**config, "model_id": "cue-lexicon-test", "cues_sha256": digest}
    (model / "model.json").write_text(json.dumps(renamed))
    with serve(demo_site_until(100209)) as base:
        assert run_congvu(*nightly_args(tmp_path, base + "/{site}")).returncode == 0
    con = duckdb.connect(str(tmp_path / "congvu.duckdb"), read_only=True)  # opened before
    run_congvu("reclassify", "--data-dir", str(tmp_path), "--model", str(model))
    before = con.execute("SELECT count(*) FROM classifications").fetchone()[0]
    con.close()
    after = rows(tmp_path, "SELECT count(*) FROM classifications")[0][0]
    assert (before, after) == (9, 18)


# An analyst's notebook, as an ordinary user: the user namespace maps this process to uid 65534
# with no capabilities, so file permissions apply to it even when the tests run as root.
ANALYST = (
    "import duckdb, sys\n"
    "try:\n"
    "    duckdb.connect(sys.argv[1]).execute('CREATE TABLE scratch AS SELECT 1')\n"
    "    print('written')\n"
    "except duckdb.IOException as exc:\n"
    "    print('refused' if 'Permission denied' in str(exc) else exc)\n"
    "con = duckdb.connect(sys.argv[1], read_only=True)\n"
    "print(con.execute('SELECT count(*) FROM schema_migrations').fetchone()[0] > 0)\n"
)


def test_snapshot_is_published_read_only(tmp_path: Path) -> None:
    assert run_congvu("db", "migrate", "--data-dir", str(tmp_path)).returncode == 0
    assert stat.S_IMODE((tmp_path / "congvu.duckdb").stat().st_mode) == 0o444


def test_snapshot_cannot_be_opened_for_writing_by_a_notebook(tmp_path: Path) -> None:
    # A notebook writing into a snapshot that has since been replaced leaves its write-ahead log
    # beside the new one, and every reader of the new snapshot would replay the stale writes.
    as_user = ["unshare", "--map-user=65534", "--map-group=65534"]
    if shutil.which("unshare") is None or subprocess.run([*as_user, "true"]).returncode != 0:
        pytest.skip("needs unshare and user namespaces to run the notebook as an ordinary user")
    assert run_congvu("db", "migrate", "--data-dir", str(tmp_path)).returncode == 0
    as_user = [*as_user, sys.executable, "-c"]
    notebook = subprocess.run(
        [*as_user, ANALYST, str(tmp_path / "congvu.duckdb")], capture_output=True, text=True
    )
    assert notebook.stdout.split() == ["refused", "True"], notebook.stderr


# Run inside a private mount namespace on a tmpfs of SIZE bytes: the demo's nightly job, then
# what is left on that disk; then, the disk grown, the next run, its digest and the record (all
# vanish with the namespace). argv: folder, size, congvu, python.
FULL_DISK_RUN = """
set -u
mount -t tmpfs -o size=$2 tmpfs "$1" || exit 97
"$3" demo --data-dir "$1/data" > "$1/../out.txt" 2>&1
echo "exit $?" >> "$1/../out.txt"
find "$1/data" -name '*.part' -o -name '*.publishing' -o -name run.json >> "$1/../left.txt"
"$4" -c "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True).execute(
  'SELECT status, error FROM crawl_runs').fetchall())" "$1/data/store/congvu.duckdb" \
  > "$1/../runs.txt" 2>&1
stat -c %s "$1/data/store/congvu.duckdb" > "$1/../store-size.txt"
mount -o remount,size=256m "$1"
"$3" demo --data-dir "$1/data" > "$1/../next.txt" 2>&1
cp "$1"/data/digest/digest-*.html "$1/../digests/"
"$4" -c "import duckdb, sys; print(*(t.isoformat() for r in duckdb.connect(sys.argv[1],
  read_only=True).execute('SELECT started_at, digest_until FROM crawl_runs ORDER BY run_id'
  ).fetchall() for t in r))" \
  "$1/data/store/congvu.duckdb" > "$1/../runs-times.txt" 2>&1
"""


@pytest.fixture(scope="module")
def full_at_publish(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo run on a disk with room for its store but not for the snapshot, then the next
    run with room: the folder of what they printed, left and wrote."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode:
        pytest.skip("needs unshare and user namespaces to mount a small disk (tmpfs)")
    tmp_path = tmp_path_factory.mktemp("full")
    sized = tmp_path / "sized"
    assert run_congvu("demo", "--data-dir", str(sized)).returncode == 0
    snapshot = (sized / "congvu.duckdb").stat().st_size
    rest = sum(f.stat().st_size for f in sized.rglob("*") if f.is_file()) - snapshot
    (tmp_path / "disk").mkdir()
    (tmp_path / "digests").mkdir()
    congvu = str(Path(sys.executable).with_name("congvu"))
    size = str(rest + snapshot // 2)
    command = ["unshare", "-rm", "sh", "-c", FULL_DISK_RUN, "sh", str(tmp_path / "disk"), size]
    done = subprocess.run([*command, congvu, sys.executable], cwd=ROOT, timeout=300)
    if done.returncode == 97:
        pytest.skip("mounting a tmpfs is refused here")
    return tmp_path


def test_disk_full_at_publish_is_recorded_printed_and_exited_alike(full_at_publish: Path) -> None:
    # The store fits on the disk, its published copy does not: the run has failed, and the
    # record, the exit code and the printed summary say the same; no cut copy fills the disk.
    out = (full_at_publish / "out.txt").read_text(encoding="utf-8")
    assert out.rstrip().endswith("exit 2"), out
    assert "status: failed" in out and "No space left on device" in out, out
    assert "articles were loaded: the next run" in out and "stay staged" not in out, out
    assert (full_at_publish / "left.txt").read_text() == ""
    runs = (full_at_publish / "runs.txt").read_text(encoding="utf-8")
    assert runs.startswith("[('failed', ") and "No space left on device" in runs, runs


def test_disk_full_at_publish_names_the_space_publishing_needs(full_at_publish: Path) -> None:
    # Runs fail alike until the disk has the store's size free: the operator is told so.
    out = (full_at_publish / "out.txt").read_text(encoding="utf-8")
    store = int((full_at_publish / "store-size.txt").read_text())  # grown by the failure's record
    said = re.search(r"run failed: (.*)", out)
    assert said, out
    numbers = re.findall(r"(\d+\.\d) MB", said[1])
    assert len(numbers) == 2, said[1]
    need, free = numbers
    data = full_at_publish / "disk" / "data"
    assert said[1] == (
        f"No space left on device: publishing {data}/congvu.duckdb needs as much free space on "
        f"its disk as the store {data}/store/congvu.duckdb takes ({need} MB now, more as it "
        f"grows); {free} MB are free. The crawled articles were loaded: the next run labels any "
        "left unlabelled and publishes them once that space is free."
    )
    assert float(free) < float(need) <= store / 1e6, said[1]


def test_digest_of_a_run_that_failed_to_publish_counts_as_given(full_at_publish: Path) -> None:
    # The failed run's digest was written (latest.html): the next one lists nothing again and
    # counts its news from it.
    failed, latest = sorted((full_at_publish / "digests").glob("digest-*.html"))
    first, then = (page_text(page) for page in (failed, latest))
    assert "\n9 bài mới nạp vào cơ sở dữ liệu.\n" in first, first
    assert "\nKhông có tin phê phán hay khen ngợi mới.\n" in then, then
    times = (full_at_publish / "runs-times.txt").read_text(encoding="utf-8").split()
    started, until, next_started, next_until = (datetime.fromisoformat(t) for t in times)
    since_text = times_apart(until, next_until)[0]  # with seconds when in the same minute
    assert f"\nKhông có bài mới kể từ {since_text}.\n" in then, then
    previous = f"bản tin của lần chạy lúc {times_apart(started, next_started)[0]}"
    assert f"\nBản tin gần nhất có bài: {previous}.\n" in then, then


def page_text(page: Path) -> str:
    """What a reader sees of an HTML page, one line per block."""
    root = lxml.html.parse(str(page)).getroot()
    for style in root.xpath("//style"):
        style.drop_tree()
    return re.sub(r"\s*\n\s*", "\n", root.text_content())


# In a private mount namespace: the demo's run paused before its load commits on a roomy tmpfs,
# to measure what a run has written by then; then a run on a tmpfs of that plus SLACK bytes,
# which fills up once the load has committed; then, the disk grown, the next run, and what the
# store holds. argv: folder, slack, congvu, python.
FULL_AFTER_LOAD = """
set -u
mount -t tmpfs -o size=256m tmpfs "$1" || exit 97
CONGVU_PAUSE_AT=load "$3" demo --data-dir "$1/data" > "$1/../paused.txt" 2>&1 &
until grep -q "paused at load" "$1/../paused.txt"; do kill -0 $! || exit 98; sleep 0.2; done
used=$(df -B1 --output=used "$1" | tail -1)
kill -9 $!; wait $!; umount "$1"
mount -t tmpfs -o size=$((used + $2)) tmpfs "$1"
"$3" demo --data-dir "$1/data" > "$1/../out.txt" 2>&1
echo "exit $?" >> "$1/../out.txt"
mount -o remount,size=256m "$1"
"$3" demo --data-dir "$1/data" > "$1/../next.txt" 2>&1
find "$1/data" -name '*.reserve' > "$1/../left.txt"
"$4" -c "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); print(c.execute(
  'SELECT status, error FROM crawl_runs ORDER BY run_id').fetchall()); print(c.execute(
  'SELECT count(*), count(c.article_id) FROM articles '
  'LEFT JOIN classifications c USING (article_id)').fetchone())" "$1/data/store/congvu.duckdb" \
  > "$1/../runs.txt" 2>&1
"""


def test_disk_full_after_the_load_is_recorded_failed_not_interrupted(tmp_path: Path) -> None:
    # The disk fills up as the run writes on after its load: nothing more fits in the database,
    # nor a file, yet the run's failure reaches the record (the space it held from its start),
    # and the next run stores it and labels the loaded articles.
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode:
        pytest.skip("needs unshare and user namespaces to mount a small disk (tmpfs)")
    (tmp_path / "disk").mkdir()
    congvu = str(Path(sys.executable).with_name("congvu"))
    command = ["unshare", "-rm", "sh", "-c", FULL_AFTER_LOAD, "sh", str(tmp_path / "disk")]
    done = subprocess.run([*command, "131072", congvu, sys.executable], cwd=ROOT, timeout=600)
    if done.returncode == 97:
        pytest.skip("mounting a tmpfs is refused here")
    out = (tmp_path / "out.txt").read_text(encoding="utf-8")
    assert out.rstrip().endswith("exit 2") and "No space left on device" in out, out
    runs, articles = (tmp_path / "runs.txt").read_text(encoding="utf-8").splitlines()
    assert runs.startswith("[('failed', ") and "No space left on device" in runs, runs
    assert runs.endswith(", ('ok', None)]") and articles == "(9, 9)", runs + articles
    assert (tmp_path / "left.txt").read_text() == ""


# Holds the job's store open for writing, as another process would, until stdin's end.
HOLD_STORE = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
sys.stdin.read()
"""


def test_digest_of_a_run_whose_failure_record_was_deferred_counts_as_given(tmp_path: Path) -> None:
    # A run wrote its digest, then failed, and its failure could not reach the store (held by
    # another process here; a full disk does the same): the record left in staging keeps the
    # digest, and the next run, storing it, counts its news from that digest.
    data = tmp_path / "data"
    assert run_congvu("demo", "--data-dir", str(data)).returncode == 0
    paths = DataPaths(data)
    with open_db(paths.store, read_only=True) as con:
        run_id, started, digest, since, until = con.execute(
            "SELECT run_id, started_at, digest, digest_from, digest_until FROM crawl_runs"
        ).fetchone()
    report = RunReport(
        run_id,
        started,
        digest=Path(digest),
        digest_from=since,
        digest_until=until,
        error="No space left on device",
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_STORE, str(paths.store)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        record_failure(paths, report)
    finally:
        holder.communicate("")
    assert (paths.staging / run_id / DEFERRED).is_file()
    assert run_congvu("demo", "--data-dir", str(data)).returncode == 0
    with open_db(paths.store, read_only=True) as con:
        stored = con.execute(
            "SELECT status, digest, digest_until FROM crawl_runs WHERE run_id = ?", [run_id]
        ).fetchall()
        next_started, next_until = con.execute(
            "SELECT started_at, digest_until FROM crawl_runs WHERE run_id > ?", [run_id]
        ).fetchone()
    _, latest = sorted(paths.digests.glob("digest-*.html"))
    then = page_text(latest)
    assert "\nKhông có tin phê phán hay khen ngợi mới.\n" in then, then
    since_text = times_apart(until, next_until)[0]  # with seconds when in the same minute
    assert f"\nKhông có bài mới kể từ {since_text}.\n" in then, then
    previous = f"bản tin của lần chạy lúc {times_apart(started, next_started)[0]}"
    assert f"\nBản tin gần nhất có bài: {previous}.\n" in then, then
    assert stored == [("failed", digest, until)]


def test_deferred_record_with_an_unreadable_digest_window_is_named_and_kept(
    tmp_path: Path,
) -> None:
    # A record whose digest window no run could have written must not reach crawl_runs.
    paths = DataPaths(tmp_path)
    store_with_usual_runs(paths)
    path = deferred(paths, "20261108T190000Z", [summary("tinh", 12)])
    record = json.loads(path.read_text(encoding="utf-8"))
    record["run"].update(digest="digest-20261108T190000Z.html", digest_until="hôm qua")
    path.write_text(json.dumps(record), encoding="utf-8")
    report = next_run(paths)
    runs = store_rows(paths, "SELECT run_id FROM crawl_runs WHERE run_id = '20261108T190000Z'")
    assert any(str(path) in note for note in report.notes), report.notes
    assert runs == [] and path.is_file()
