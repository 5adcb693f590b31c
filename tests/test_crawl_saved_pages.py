"""A real Scrapy crawl of the saved pages of six sites, served byte for byte on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from crawlers.article import page_record
from tests.conftest import Site, run_congvu, serve

SITES = ["vnexpress", "tuoitre", "dantri", "baochinhphu", "vietnamnet", "baodautu"]
VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def expected(shared_dir: Path) -> dict:
    """Hand-read facts about the saved pages."""
    return json.loads((shared_dir / "pages" / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def crawl(shared_dir: Path, expected: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Crawl every saved article and listing with `congvu crawl`; return records and stats."""
    site = Site()
    urls = []
    for name in SITES:
        for page in ("article", "listing"):
            url = expected[f"{name}/{page}.html"]["url"]
            body = (shared_dir / "pages" / name / f"{page}.html").read_bytes()
            site.add(f"/{name}{urlsplit(url).path}", body)
            urls.append(url)
    data_dir = tmp_path_factory.mktemp("crawl")
    with serve(site) as origin:
        args = ["crawl", "--data-dir", str(data_dir), "--origin", origin + "/{site}"]
        for name in SITES:
            args += ["--site", name]
        for url in urls:
            args += ["--url", url]
        result = run_congvu(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    (run_dir,) = (data_dir / "staging").iterdir()
    records = {}
    for name in SITES:
        lines = (run_dir / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        records[name] = [json.loads(line) for line in lines]
    stats = {n: json.loads((run_dir / f"{n}.stats.json").read_text()) for n in SITES}
    output = result.stdout + result.stderr
    return {"records": records, "stats": stats, "data_dir": data_dir, "output": output}


def article(crawl: dict, name: str) -> dict:
    """The one article record the crawl stored for a site."""
    (record,) = crawl["records"][name]
    return record


@pytest.mark.parametrize("name", SITES)
def test_title(crawl: dict, expected: dict, name: str) -> None:
    assert article(crawl, name)["title"] == expected[f"{name}/article.html"]["title"]


@pytest.mark.parametrize("name", SITES)
def test_published_at_to_the_minute(crawl: dict, expected: dict, name: str) -> None:
    published = datetime.fromisoformat(article(crawl, name)["published_at"]).astimezone(VN)
    want = datetime.fromisoformat(expected[f"{name}/article.html"]["published_at"])
    assert published.replace(second=0, microsecond=0) == want


@pytest.mark.parametrize("name", SITES)
def test_published_at_is_vietnam_time(crawl: dict, name: str) -> None:
    published = datetime.fromisoformat(article(crawl, name)["published_at"])
    assert published.utcoffset() == VN.utcoffset(published.replace(tzinfo=None))


@pytest.mark.parametrize("name", SITES)
def test_category(crawl: dict, expected: dict, name: str) -> None:
    assert article(crawl, name)["category"] == expected[f"{name}/article.html"]["category"]


@pytest.mark.parametrize("name", SITES)
def test_body_contains(crawl: dict, expected: dict, name: str) -> None:
    body = article(crawl, name)["body"]
    missing = [s for s in expected[f"{name}/article.html"]["body_contains"] if s not in body]
    assert missing == []


@pytest.mark.parametrize("name", SITES)
def test_url_is_the_public_url(crawl: dict, expected: dict, name: str) -> None:
    assert article(crawl, name)["url"] == expected[f"{name}/article.html"]["url"]


@pytest.mark.parametrize("name", SITES)
def test_extracted_by_the_profile(crawl: dict, name: str) -> None:
    assert article(crawl, name)["extraction"] == "profile"


@pytest.mark.parametrize("name", SITES)
def test_raw_html_archived_compressed(crawl: dict, shared_dir: Path, name: str) -> None:
    raw = gzip.decompress(
        (crawl["data_dir"] / "raw" / article(crawl, name)["raw_path"]).read_bytes()
    )
    assert raw == (shared_dir / "pages" / name / "article.html").read_bytes()


@pytest.mark.parametrize("name", SITES)
def test_listing_yields_article_links(crawl: dict, expected: dict, name: str) -> None:
    discovered = crawl["stats"][name]["discovered"]
    assert discovered >= expected[f"{name}/listing.html"]["min_article_links"]


def test_terminal_gets_the_summary_not_scrapy_log(crawl: dict) -> None:
    assert "[scrapy" not in crawl["output"]


def test_summary_ends_with_the_total(crawl: dict) -> None:
    assert crawl["output"].splitlines()[-1].startswith("total: 6 sites, 6 ok, 0 failed;")


def test_scrapy_log_in_the_run_log(crawl: dict) -> None:
    (log,) = (crawl["data_dir"] / "logs").glob("*.log")
    assert "[scrapy.core.engine]" in log.read_text(encoding="utf-8")


def without_h1_close(shared_dir: Path) -> bytes:
    """The saved vnexpress article with its </h1> removed: the h1 swallows the sticky bar."""
    page = (shared_dir / "pages" / "vnexpress" / "article.html").read_bytes()
    assert page.count(b"</h1>") == 1
    return page.replace(b"</h1>", b"")


@pytest.fixture(scope="module")
def open_h1(shared_dir: Path, expected: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The record a real crawl stores for the vnexpress article with its </h1> removed."""
    url = expected["vnexpress/article.html"]["url"]
    site = Site()
    site.add(f"/vnexpress{urlsplit(url).path}", without_h1_close(shared_dir))
    data_dir = tmp_path_factory.mktemp("open-h1")
    with serve(site) as origin:
        result = run_congvu(
            "crawl", "--data-dir", str(data_dir), "--origin", origin + "/{site}",
            "--site", "vnexpress", "--url", url,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (run_dir,) = (data_dir / "staging").iterdir()
    (line,) = (run_dir / "vnexpress.jsonl").read_text(encoding="utf-8").splitlines()
    return json.loads(line)


def test_h1_left_open_over_a_short_element_gives_way_to_the_declared_title(
    open_h1: dict, expected: dict
) -> None:
    """The h1 holds the title, then the sticky bar's copy of it: 107 characters, under the 300
    that tell a whole article; the page's og:title is what it starts with."""
    assert open_h1["title"] == expected["vnexpress/article.html"]["title"]


def test_h1_left_open_over_a_short_element_read_without_profile(
    shared_dir: Path, expected: dict
) -> None:
    url = expected["vnexpress/article.html"]["url"]
    record = page_record(None, url, without_h1_close(shared_dir), "text/html; charset=utf-8")
    assert record["title"] == expected["vnexpress/article.html"]["title"]
