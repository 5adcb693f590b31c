"""The staging pipeline: an article is written whole to its staging file, or counted as lost."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from crawlers.article import page_record
from crawlers.profiles import load_profile
from pipelines.crawl import summarise
from pipelines.staging import StagingPipeline
from tests.conftest import ROOT, run_congvu

DEMO = ROOT / "crawlers" / "demo"
PAGES = sorted((DEMO / "www" / "tin-tuc").glob("*-[0-9][0-9][0-9][0-9][0-9][0-9].html"))[:3]
RUN_ID = "20261128T190000Z"


def article(page: Path, **changes: Any) -> dict[str, Any]:
    """A demo page's article as the spider hands it to the pipeline, with changes."""
    body = page.read_bytes()
    url = f"http://demo.congvu.invalid/tin-tuc/{page.name}"
    record = page_record(load_profile(DEMO / "demo.yaml"), url, body, "text/html; charset=utf-8")
    record.update(
        site="demo",
        fetched_at=datetime.now(timezone.utc),
        http_status=200,
        etag=None,
        last_modified=None,
        lastmod=None,
        discovered_via="url",
        raw_html=body,
    )
    return {**record, **changes}


def half_broken(title: str) -> str:
    """A title with half a character (a lone surrogate) in it, as escaped JSON can carry."""
    return title[:4] + "\ud800" + title[4:]


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Stage an article, one with a lone surrogate, one with a value JSON cannot hold, one more."""
    data_dir = tmp_path_factory.mktemp("staging")
    run_dir = data_dir / "staging" / RUN_ID
    settings = {"CONGVU_RUN_DIR": str(run_dir), "CONGVU_RAW_DIR": str(data_dir / "raw")}
    crawler = get_crawler(settings_dict=settings)
    pipeline = StagingPipeline.from_crawler(crawler)
    first, second, third = PAGES
    items = [
        article(first),
        article(second, title=half_broken(article(second)["title"])),
        article(third, etag=b'"a header left as bytes"'),
        article(third),
    ]

    async def stage() -> list[str]:
        outcomes = []
        for item in items:
            try:
                await pipeline.process_item(item)
                outcomes.append("staged")
            except Exception as exc:  # Scrapy logs it and drops the item
                outcomes.append(type(exc).__name__)
        return outcomes

    pipeline.open_spider()
    outcomes = asyncio.run(stage())
    pipeline.close_spider()
    lines = (run_dir / "demo.jsonl").read_bytes().splitlines()
    return {
        "data_dir": data_dir,
        "outcomes": outcomes,
        "records": [json.loads(line) for line in lines],
        "summary": summarise("demo", crawler.stats.get_stats()),
        "title": article(second)["title"],
    }


def test_article_with_half_a_character_is_staged_with_a_replacement_mark(
    staged: dict[str, Any],
) -> None:
    titles = [record["title"] for record in staged["records"]]
    counted = staged["summary"].counts.get("lone_surrogate")
    assert (titles[1], counted) == (staged["title"][:4] + "\ufffd" + staged["title"][4:], 1)


def test_article_that_cannot_be_written_is_counted_in_its_sites_line(
    staged: dict[str, Any],
) -> None:
    summary = staged["summary"]
    assert (staged["outcomes"], summary.errors, "item 1" in summary.line()) == (
        ["staged", "staged", "TypeError", "staged"],
        {"item": 1},
        True,
    )


def test_staging_file_is_loaded_whole_after_an_article_that_failed(
    staged: dict[str, Any],
) -> None:
    # No line of the failed article, not even half of one: every line is read, none quarantined.
    result = run_congvu("load", "--data-dir", str(staged["data_dir"]))
    said = result.stdout.splitlines()
    loaded = "loaded 1 staging files: 3 articles read, 3 new"
    assert (said[0].startswith(loaded), len(said)) == (True, 1), result.stdout + result.stderr
