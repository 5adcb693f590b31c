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
from crawlers.fallback import Reader
from crawlers.markup import to_text
from crawlers.page import Page
from crawlers.profiles import load_profiles
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


def without_h1_close(shared_dir: Path, name: str = "vnexpress", count: int = 1) -> bytes:
    """A saved article with its headline's </h1> removed (count=-1: every </h1>): the h1
    swallows what follows it, on vnexpress the sticky bar, on the others the article."""
    page = (shared_dir / "pages" / name / "article.html").read_bytes()
    assert b"</h1>" in page
    return page.replace(b"</h1>", b"", count)


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


# Sites whose h1 left open holds the lead (sapo) and the article after it, not a short element.
OPEN_OVER_LEAD = ["tuoitre", "dantri", "baochinhphu", "vietnamnet"]


def read_without_profile(expected: dict, name: str, page: bytes) -> dict:
    """The record the generic reader makes of a saved article's bytes."""
    url = expected[f"{name}/article.html"]["url"]
    return page_record(None, url, page, "text/html; charset=utf-8")


@pytest.mark.parametrize("name", OPEN_OVER_LEAD)
def test_h1_left_open_over_the_lead_read_without_profile_keeps_it_in_front(
    shared_dir: Path, expected: dict, name: str
) -> None:
    """The lead the h1 swallowed opens the body, as the profile reads it on the intact page."""
    url = expected[f"{name}/article.html"]["url"]
    intact = (shared_dir / "pages" / name / "article.html").read_bytes()
    sapo = page_record(load_profiles()[name], url, intact, "text/html; charset=utf-8")["sapo"]
    record = read_without_profile(expected, name, without_h1_close(shared_dir, name))
    assert record["body"].split("\n\n")[0] == sapo


@pytest.mark.parametrize("name", OPEN_OVER_LEAD)
def test_h1_left_open_over_the_lead_read_without_profile_loses_nothing(
    shared_dir: Path, expected: dict, name: str
) -> None:
    """Whatever the h1 swallowed reaches the body once: the intact page's body, no more."""
    intact = (shared_dir / "pages" / name / "article.html").read_bytes()
    record = read_without_profile(expected, name, without_h1_close(shared_dir, name))
    assert record["body"] == read_without_profile(expected, name, intact)["body"]


@pytest.mark.parametrize("name", OPEN_OVER_LEAD)
def test_h1_left_open_over_the_date_line_read_without_profile(
    shared_dir: Path, expected: dict, name: str
) -> None:
    """The date printed under the headline, inside the h1 left open, is still its date line."""
    url = expected[f"{name}/article.html"]["url"]
    page = without_h1_close(shared_dir, name)
    reader = Reader(Page(to_text(page), page), url)
    published = datetime.fromisoformat(expected[f"{name}/article.html"]["published_at"])
    assert reader.date_line(lambda found: True).value == published.isoformat()


def test_h1s_all_left_open_the_one_beginning_with_the_declared_title_is_the_headline(
    shared_dir: Path, expected: dict
) -> None:
    """tuoitre's comment popup has an empty h1 too: left open, it holds the comment box, which
    reads as a headline but is nothing like the declared title the article's h1 begins with."""
    record = read_without_profile(expected, "tuoitre", without_h1_close(shared_dir, "tuoitre", -1))
    assert record["title"] == expected["tuoitre/article.html"]["title"]
