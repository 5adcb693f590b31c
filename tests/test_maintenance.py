"""Maintenance commands: re-extraction from the archive, site health and checks."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest

from tests.conftest import ROOT, Site, run_congvu, serve

DEMO_PROFILE = ROOT / "crawlers" / "demo" / "demo.yaml"


@pytest.fixture(scope="module")
def reextracted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A demo database re-extracted with no server running, after its body rule was changed."""
    data_dir = tmp_path_factory.mktemp("reextract")
    assert run_congvu("demo", "--data-dir", str(data_dir)).returncode == 0
    fixed = tmp_path_factory.mktemp("profile") / "demo.yaml"
    # The "selector fix": a trailing paragraph is no longer taken, so every body changes.
    text = DEMO_PROFILE.read_text(encoding="utf-8")
    last_dropped = "{xpath: \"//div[@class='article-body']/p[position() < last()]\"}"
    fixed.write_text(text.replace('{css: "div.article-body > p"}', last_dropped))
    assert fixed.read_text() != text
    result = run_congvu("reextract", "--data-dir", str(data_dir), "--profile", str(fixed))
    return {"data_dir": data_dir, "result": result}


def query(data_dir: Path, sql: str) -> list[tuple]:
    """Rows of a read-only query."""
    con = duckdb.connect(str(data_dir / "congvu.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_reextract_succeeds_offline(reextracted: dict) -> None:
    assert reextracted["result"].returncode == 0, reextracted["result"].stderr


def test_reextract_keeps_the_replaced_content(reextracted: dict) -> None:
    sql = "SELECT replaced_by, version, count(*) FROM article_versions GROUP BY ALL"
    assert query(reextracted["data_dir"], sql) == [("reextract", 1, 9)]


def test_reextract_keeps_one_row_per_article(reextracted: dict) -> None:
    assert query(reextracted["data_dir"], "SELECT count(*), max(version) FROM articles") == [(9, 2)]


def test_reextracted_articles_are_labelled_again(reextracted: dict) -> None:
    assert query(reextracted["data_dir"], "SELECT count(*) FROM classifications") == [(9,)]


def test_sites_list_shows_every_profile(tmp_path: Path) -> None:
    result = run_congvu("sites", "list", "--data-dir", str(tmp_path))  # not the user's data/
    names = {p.stem for p in (ROOT / "crawlers" / "sites").glob("*.yaml")}
    listed = {line.split()[0] for line in result.stdout.splitlines()[1:]}
    assert listed == names


def test_sites_check_reports_every_field_of_a_saved_page(shared_dir: Path) -> None:
    expected = json.loads((shared_dir / "pages" / "expected.json").read_text(encoding="utf-8"))
    site = Site()
    for page in ("article", "listing"):
        url = expected[f"vnexpress/{page}.html"]["url"]
        site.add(
            urlsplit(url).path, (shared_dir / "pages" / "vnexpress" / f"{page}.html").read_bytes()
        )
    with serve(site) as origin:
        result = run_congvu("sites", "check", "vnexpress", "--origin", origin)
    assert "published_at  found by" in result.stdout, result.stdout
