"""`congvu demo`: the whole nightly job against the shipped demo site, run twice."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import lxml.html
import pytest

from nlp.classify import DEFAULT_MODEL, load_classifier
from pipelines.demo import DEMO_DIR, serve_demo_site
from pipelines.digest import render_digest, replace_file
from pipelines.nightly import nightly
from pipelines.paths import DataPaths
from pipelines.places import RULES_VERSION
from pipelines.store import open_db
from tests.conftest import ROOT, run_congvu

DEMO = json.loads((ROOT / "crawlers" / "demo" / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run the demo twice into a fresh data folder; keep both results."""
    data_dir = tmp_path_factory.mktemp("demo")
    first = run_congvu("demo", "--data-dir", str(data_dir))
    second = run_congvu("demo", "--data-dir", str(data_dir))
    return {"data_dir": data_dir, "first": first, "second": second}


def query(demo: dict, sql: str) -> list[tuple]:
    """Rows of a read-only query on the demo database, as an analyst would run it."""
    con = duckdb.connect(str(demo["data_dir"] / "congvu.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_first_run_succeeds(demo: dict) -> None:
    assert demo["first"].returncode == 0, demo["first"].stdout + demo["first"].stderr


def test_second_run_succeeds(demo: dict) -> None:
    assert demo["second"].returncode == 0, demo["second"].stdout + demo["second"].stderr


def test_database_holds_the_demo_articles(demo: dict) -> None:
    stored = {row[0] for row in query(demo, "SELECT canonical_url FROM articles")}
    assert stored == {a["url"] for a in DEMO["articles"]}


def test_second_run_adds_no_rows(demo: dict) -> None:
    assert query(demo, "SELECT count(*) FROM articles")[0][0] == len(DEMO["articles"])


def test_second_run_records_nothing_new(demo: dict) -> None:
    rows = query(demo, "SELECT articles_new FROM crawl_runs ORDER BY run_id")
    assert [r[0] for r in rows] == [len(DEMO["articles"]), 0]


def test_every_article_classified_once(demo: dict) -> None:
    rows = query(demo, "SELECT article_id, count(*) FROM classifications GROUP BY ALL")
    assert sorted(n for _, n in rows) == [1] * len(DEMO["articles"])


def test_classifications_record_the_model(demo: dict) -> None:
    assert query(demo, "SELECT DISTINCT model_id FROM classifications") == [(DEFAULT_MODEL,)]


@pytest.mark.parametrize("item", DEMO["articles"], ids=lambda a: a["url"][-11:-5])
def test_label(demo: dict, item: dict) -> None:
    rows = query(
        demo,
        "SELECT c.label FROM articles a JOIN classifications c USING (article_id) "
        f"WHERE a.canonical_url = '{item['url']}'",
    )
    assert rows == [(item["label"],)]


@pytest.mark.parametrize(
    "item", [a for a in DEMO["articles"] if a["evidence"]], ids=lambda a: a["url"][-11:-5]
)
def test_evidence_has_the_stance_sentence(demo: dict, item: dict) -> None:
    rows = query(
        demo,
        "SELECT c.evidence FROM articles a JOIN classifications c USING (article_id) "
        f"WHERE a.canonical_url = '{item['url']}'",
    )
    assert item["evidence"] in rows[0][0]


@pytest.mark.parametrize("item", DEMO["articles"], ids=lambda a: a["url"][-11:-5])
def test_published_at(demo: dict, item: dict) -> None:
    rows = query(
        demo,
        "SELECT strftime(published_at AT TIME ZONE 'Asia/Ho_Chi_Minh', '%Y-%m-%dT%H:%M') "
        f"FROM articles WHERE canonical_url = '{item['url']}'",
    )
    assert rows == [(item["published_at"][:16],)]


def test_digest_written(demo: dict) -> None:
    assert (demo["data_dir"] / "digest" / "latest.html").is_file()


def test_digest_lists_first_run_criticism(demo: dict) -> None:
    digests = sorted((demo["data_dir"] / "digest").glob("digest-*.html"))
    first = digests[0].read_text(encoding="utf-8")
    titles = [a["title"] for a in DEMO["articles"] if a["label"] == "criticism"]
    assert [t for t in titles if t not in first] == []


def test_run_summary_printed(demo: dict) -> None:
    assert "total: 1 sites, 1 ok, 0 failed" in demo["first"].stdout


def test_run_prints_no_test_hook_lines(demo: dict) -> None:
    assert [line for line in demo["first"].stdout.splitlines() if "stage:" in line] == []


def test_logs_written(demo: dict) -> None:
    assert len(list((demo["data_dir"] / "logs").glob("*.log"))) == 2


def test_digest_command_rewrites_the_latest_runs_digest(demo: dict) -> None:
    """`congvu digest` with no --run picks the latest run and writes the same digest again, with
    one line more: that it was written again, and when."""
    latest = query(demo, "SELECT max(run_id) FROM crawl_runs")[0][0]
    target = demo["data_dir"] / "digest" / f"digest-{latest}.html"
    written = target.read_text(encoding="utf-8")
    run = run_congvu("digest", "--data-dir", str(demo["data_dir"]))
    assert (run.returncode, run.stdout.strip()) == (0, str(target)), run.stderr
    again = [line for line in target.read_text(encoding="utf-8").splitlines() if line]
    added = [line for line in again if 'class="attention rewritten"' in line]
    kept = [line for line in again if line not in added]
    assert (kept, len(added)) == ([line for line in written.splitlines() if line], 1)


def test_unreachable_site_reported_without_traceback(tmp_path: Path) -> None:
    result = run_congvu(
        "nightly", "--data-dir", str(tmp_path), "--site", "vnexpress",
        "--origin", "http://127.0.0.1:9/{site}",
    )  # fmt: skip
    assert (result.returncode, "Traceback" in result.stdout + result.stderr) == (1, False)


def test_unreachable_site_named_in_summary(tmp_path: Path) -> None:
    result = run_congvu(
        "nightly", "--data-dir", str(tmp_path), "--site", "vnexpress",
        "--origin", "http://127.0.0.1:9/{site}",
    )  # fmt: skip
    assert "sites that failed: vnexpress" in result.stdout


def test_overview_notebook_runs_on_the_demo_database(
    demo: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(ROOT / "notebooks" / "1.0-weekly-overview.ipynb", as_version=4)
    monkeypatch.setenv("CONGVU_DB", str(demo["data_dir"] / "congvu.duckdb"))
    resources = {"metadata": {"path": str(ROOT / "notebooks")}}
    NotebookClient(notebook, timeout=120, resources=resources).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []


REDONE = "Chấn chỉnh tình trạng cán bộ né tránh, đùn đẩy, sợ trách nhiệm trong thực thi công vụ"
BODIES = "Cơ quan, tổ chức: "


def placed_by_older_rules(demo: dict, tmp_path: Path) -> tuple[DataPaths, Path]:
    """A copy of the demo data folder as an older RULES_VERSION left it: REDONE's bodies without
    the two that version 4 found, and the first run's digest (returned) written so that night."""
    paths = DataPaths(tmp_path / "data")
    shutil.copytree(demo["data_dir"], paths.root)
    with open_db(paths.store) as con:
        con.execute(
            "DELETE FROM article_entities WHERE name IN ('Sở Nội vụ', 'Văn phòng UBND tỉnh') "
            "AND article_id = (SELECT article_id FROM articles WHERE title = ?)",
            [REDONE],
        )
        con.execute("UPDATE article_places SET rules_version = ?", [RULES_VERSION - 1])
        run_id, since, until = con.execute(
            "SELECT run_id, digest_from, digest_until FROM crawl_runs ORDER BY run_id LIMIT 1"
        ).fetchone()
        page, _ = render_digest(con, run_id, DEFAULT_MODEL, since, until)
    first = paths.digests / f"digest-{run_id}.html"
    replace_file(first, page)
    return paths, first


def bodies_and_rewritten(digest: Path) -> tuple[list[str], list[str]]:
    """REDONE's line of bodies in the digest, and the digest's "written again" line if any."""
    tree = lxml.html.fromstring(digest.read_bytes())
    (card,) = [a for a in tree.xpath("//article") if a.xpath("h3")[0].text_content() == REDONE]
    lines = [p.text_content() for p in card.xpath("p[@class='meta']")]
    rewritten = [p.text_content() for p in tree.xpath("//p[contains(@class, 'rewritten')]")]
    return [line for line in lines if line.startswith(BODIES)], [r[:29] for r in rewritten]


def test_a_rules_upgrade_rewrites_the_digests_listing_the_redone_articles(
    demo: dict, tmp_path: Path
) -> None:
    """The night that redoes who and where of a digest's articles writes that digest again."""
    paths, first = placed_by_older_rules(demo, tmp_path)
    stale = (["Cơ quan, tổ chức: UBND tỉnh Hòa An, Thanh tra tỉnh"], [])
    assert bodies_and_rewritten(first) == stale
    report = nightly(paths, [], load_classifier(), wait_s=5)
    assert (report.error, bodies_and_rewritten(first)) == (
        "",
        (
            [BODIES + "UBND tỉnh Hòa An, Sở Nội vụ, Thanh tra tỉnh, Văn phòng UBND tỉnh"],
            ["Bản tin này được viết lại lúc"],
        ),
    )
    assert "note: 1 earlier digest(s) rewritten with who and where redone" in report.summary()


def test_a_digest_the_redo_cannot_rewrite_is_a_note_not_a_failed_night(
    demo: dict, tmp_path: Path
) -> None:
    paths, first = placed_by_older_rules(demo, tmp_path)
    blocked = first.with_name(first.name + ".part")
    blocked.mkdir()  # where the digest is written before it replaces the old one
    report = nightly(paths, [], load_classifier(), wait_s=5)
    note = (
        "note: digests listing articles whose who and where was redone: not rewritten ([Errno "
        f"21] Is a directory: '{blocked}'): those of runs {first.stem.removeprefix('digest-')}; "
        "`congvu digest --run RUN` rewrites one"
    )
    assert (report.error, report.status, note in report.summary()) == ("", "ok", True)
    assert bodies_and_rewritten(first)[0] == ["Cơ quan, tổ chức: UBND tỉnh Hòa An, Thanh tra tỉnh"]


# The nightly job with no site to crawl, in a process of its own: argv[1] is the data folder.
NIGHTLY_NO_SITES = """
import sys
from pathlib import Path
from nlp.classify import load_classifier
from pipelines.nightly import nightly
from pipelines.paths import DataPaths
nightly(DataPaths(Path(sys.argv[1])), [], load_classifier(), wait_s=5)
"""


def test_the_earlier_digests_are_rewritten_only_after_tonights(demo: dict, tmp_path: Path) -> None:
    # The run stopped just before it writes tonight's digest, which analysts wait for: no
    # earlier digest has been rewritten yet (and a failing rewrite has not run either).
    paths, first = placed_by_older_rules(demo, tmp_path)
    env = {**os.environ, "CONGVU_PAUSE_AT": "report"}
    run = subprocess.Popen(
        [sys.executable, "-c", NIGHTLY_NO_SITES, str(paths.root)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        said = next((line.strip() for line in run.stdout if line.startswith("paused at")), None)
        stale = bodies_and_rewritten(first)
    finally:
        run.kill()
        run.wait()
        run.stdout.close()
    assert (said, stale) == (
        "paused at report",
        (["Cơ quan, tổ chức: UBND tỉnh Hòa An, Thanh tra tỉnh"], []),
    )


def demo_args(data_dir: Path, origin: str) -> list[str]:
    """A command's arguments for the demo profile served at origin."""
    return [
        "--data-dir",
        str(data_dir),
        "--profile",
        str(DEMO_DIR / "demo.yaml"),
        "--origin",
        origin,
    ]


# Holds a database file open read-only, as a reader would, until stdin's end.
HOLD_READ_ONLY = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
sys.stdin.read()
"""


def test_a_load_failing_after_a_crawl_with_nothing_new_is_not_said_to_follow_no_crawl(
    demo: dict, tmp_path: Path
) -> None:
    # The crawl reads what is stored and finds nothing new; the load then cannot write the
    # store, held by another process: the run says the crawl found nothing new, not that no
    # article was crawled.
    data = Path(shutil.copytree(demo["data_dir"], tmp_path / "data"))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_READ_ONLY, str(DataPaths(data).store)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "open"
        with serve_demo_site() as origin:
            run = run_congvu("nightly", *demo_args(data, origin), "--wait", "1")
    finally:
        holder.communicate("")
    stored = f"{len(DEMO['articles'])} already stored, not fetched again."
    (failed,) = [line for line in run.stdout.splitlines() if line.startswith("  run failed: ")]
    assert (run.returncode, stored in run.stdout) == (2, True), run.stdout
    assert "is locked by another process" in failed, failed
    assert failed.endswith(". The crawl found no new article."), failed


def test_a_crawl_alone_does_not_fetch_the_stored_articles_again(demo: dict, tmp_path: Path) -> None:
    data = Path(shutil.copytree(demo["data_dir"], tmp_path / "data"))
    with serve_demo_site() as origin:
        run = run_congvu("crawl", *demo_args(data, origin))
    (line,) = [line for line in run.stdout.splitlines() if line.startswith("demo ")]
    stored = f"{len(DEMO['articles'])} already stored, not fetched again."
    assert (run.returncode, line.split()[2], line.endswith(stored)) == (0, "0", True), line
