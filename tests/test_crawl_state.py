"""The crawl state outlives unchanged pages and re-extractions: real nightly runs on 127.0.0.1.

Night 1 stores an article with its ETag and Last-Modified. Night 2 the sitemap says it changed,
so it is asked for again conditionally and the site answers 304. Then `congvu reextract`
rebuilds it from the archive. The page must stay known (last_fetched moved to night 2) with its
validators intact.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_congvu
from tests.test_crawl_robustness import Reply, Server, page

VN = timezone(timedelta(hours=7))
URL = "https://yen.test/bai/van-ban-khong-doi-3001.html"
PATH = "/yen/bai/van-ban-khong-doi-3001.html"
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 04 Mar 2026 01:00:00 GMT"
PROFILE = """\
name: yen
base_url: https://yen.test
domains: [yen.test]
discovery:
  sitemaps: [https://yen.test/sitemap.xml]
article_url: '^https://yen\\.test/bai/[a-z0-9-]+-\\d+\\.html$'
fields:
  title: [{css: h1.tieu-de}]
  body: [{css: "div.noi-dung > p"}]
  published_at: [{meta: "article:published_time"}]
"""
TEXT = "Ủy ban nhân dân tỉnh công bố kết quả giải quyết thủ tục hành chính quý I đúng hạn."


class NotModifiedServer(Server):
    """Answers 304 to a request that names the article's current ETag."""

    def answer(self, path: str, headers: dict[str, str]) -> Reply:
        """The route's reply, or 304 when If-None-Match is the article's ETag."""
        reply = super().answer(path, headers)
        if path == PATH and headers.get("If-None-Match") == ETAG:
            return Reply(304, {"ETag": ETAG}, b"")
        return reply


def sitemap(number: int) -> Reply:
    """The article with a lastmod of an hour ago, then (night 2) of now: a change to check."""
    when = datetime.now(VN) - (timedelta(hours=1) if number == 1 else timedelta(0))
    entry = f"<url><loc>{URL}</loc><lastmod>{when.isoformat()}</lastmod></url>"
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    body = f'<?xml version="1.0"?><urlset xmlns="{ns}">{entry}</urlset>'
    return Reply(200, {"Content-Type": "application/xml"}, body.encode())


def state(db: Path) -> tuple:
    """The article URL's crawl state: etag, last_modified, last_fetched."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT etag, last_modified, last_fetched FROM page_state WHERE url = ?", [URL]
        ).fetchone()
    finally:
        con.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two nights and a re-extraction, with the page state after each."""
    tmp = tmp_path_factory.mktemp("state")
    (tmp / "yen.yaml").write_text(PROFILE, encoding="utf-8")
    server = NotModifiedServer()
    server.add("/yen/sitemap.xml", sitemap)
    published = (datetime.now(VN) - timedelta(days=1)).replace(microsecond=0).isoformat()
    headers = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
    server.add(PATH, Reply(200, headers, page("Văn bản không đổi", [TEXT], published).encode()))
    data = tmp / "data"
    args = ["--data-dir", str(data), "--profile", str(tmp / "yen.yaml")]
    states, results = [], []
    with server.serve() as origin:
        for _ in range(2):
            results.append(run_congvu("nightly", *args, "--origin", origin + "/{site}"))
            states.append(state(data / "congvu.duckdb"))
    results.append(run_congvu("reextract", *args))
    states.append(state(data / "congvu.duckdb"))
    return {"results": results, "states": states, "server": server}


def test_runs_succeed(runs: dict) -> None:
    assert [r.returncode for r in runs["results"]] == [0, 0, 0], runs["results"][-1].stderr


def test_second_night_asked_conditionally_and_got_304(runs: dict) -> None:
    second = runs["server"].hits_of(PATH)[1]
    assert second.headers.get("If-None-Match") == ETAG


def test_not_modified_moves_last_fetched(runs: dict) -> None:
    (_, _, first), (_, _, second), _ = runs["states"]
    assert second > first


def test_not_modified_keeps_the_validators(runs: dict) -> None:
    assert runs["states"][1][:2] == (ETAG, LAST_MODIFIED)


def test_reextract_keeps_the_validators(runs: dict) -> None:
    assert runs["states"][2][:2] == (ETAG, LAST_MODIFIED)


def test_reextract_keeps_last_fetched(runs: dict) -> None:
    assert runs["states"][2][2] == runs["states"][1][2]
