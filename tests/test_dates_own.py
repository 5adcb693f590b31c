"""A page without a date of its own is stored without a date, never a date of its other-news list.

The demo's pages with their article:published_time and visible date taken off (as an audit did)
still list other articles with their dates ("Tin khác"): none of those may become the page's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from crawlers.article import page_record
from crawlers.evaluation import DEMO_DIR
from crawlers.profiles import load_profile
from tests.test_crawl_robustness import SETTINGS, Reply, Server, run_crawl_job

PROFILE = DEMO_DIR / "demo.yaml"
BASE = "http://demo.congvu.invalid/tin-tuc/"
# 100201: htmldate read the first "Tin khác" date; 100202 (a short article): the date line by the
# headline reached into "Tin khác".
PAGES = (
    "khien-trach-cong-chuc-dia-chinh-xa-tan-phu-gay-phien-ha-nguoi-dan-100201.html",
    "nong-dan-khan-truong-thu-hoach-lua-mua-truoc-dot-mua-lon-100202.html",
)
OWN_DATE = re.compile(
    rb'<meta property="article:published_time"[^>]*>|<span class="article-date">.*?</span>', re.S
)


def undated(name: str) -> bytes:
    """The demo page without its own date (meta and visible), its other-news list kept."""
    raw = (DEMO_DIR / "www" / "tin-tuc" / name).read_bytes()
    page = OWN_DATE.sub(b"", raw)
    assert page != raw and b'class="news-date"' in page  # its date is gone, the others' stay
    return page


@pytest.fixture(scope="module", params=[(n, p) for n in PAGES for p in ("profile", "none")])
def record(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The undated page read with the demo profile, or without any."""
    name, how = request.param
    profile = load_profile(PROFILE) if how == "profile" else None
    return page_record(profile, BASE + name, undated(name), "text/html")


def test_undated_page_has_no_date(record: dict[str, Any]) -> None:
    assert record["published_at"] is None


def test_undated_page_has_no_date_source(record: dict[str, Any]) -> None:
    assert record["date_source"] is None


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The undated pages crawled by Scrapy from a local server, staged records by file name."""
    tmp = tmp_path_factory.mktemp("undated")
    server = Server()
    for name in PAGES:
        server.add(
            f"/demo/tin-tuc/{name}", Reply(200, {"Content-Type": "text/html"}, undated(name))
        )
    with server.serve() as origin:
        job = {
            "profile": str(PROFILE),
            "run_dir": str(tmp / "run"),
            "raw_dir": str(tmp / "raw"),
            "urls": [BASE + name for name in PAGES],
            "origin": origin + "/{site}",
        }
        result = run_crawl_job(tmp, origin, job, SETTINGS)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = (tmp / "run" / "demo.jsonl").read_text(encoding="utf-8").splitlines()
    return {Path(json.loads(line)["url"]).name: json.loads(line) for line in lines}


@pytest.mark.parametrize("name", PAGES)
def test_crawled_undated_page_has_no_date(crawled: dict[str, dict[str, Any]], name: str) -> None:
    assert crawled[name]["published_at"] is None
