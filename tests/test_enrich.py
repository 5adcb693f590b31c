"""Bounded enrichment: a huge article is analysed on its head only, and the record says so.

A real database and the nightly steps after the load (stories, provinces and entities, the
default classifier) on an article whose criticism and province come only after the cap.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from nlp.classify import load_classifier
from nlp.entities import Entity, entities
from pipelines.classifications import classify_unlabelled
from pipelines.enrich import MAX_ANALYSED_CHARS
from pipelines.load import load_staged
from pipelines.paths import DataPaths
from pipelines.places import find_who_and_where
from pipelines.store import open_db
from pipelines.stories import group_new_stories

TITLE = "Thông báo lịch làm việc"
FILLER = "Thời tiết hôm nay nắng nhẹ, nhiệt độ cao nhất 28 độ C, đêm có mưa rào rải rác.\n\n"
TAIL = (
    "Cán bộ xã né tránh, đùn đẩy công việc, gây phiền hà, sách nhiễu người dân tỉnh Quảng Nam.\n\n"
)


def body() -> str:
    """Neutral filler up to past the cap, then a long tail of criticism of Quảng Nam officials."""
    head = FILLER * (MAX_ANALYSED_CHARS // len(FILLER) + 1)
    return head + TAIL * (2 * MAX_ANALYSED_CHARS // len(TAIL))


@pytest.fixture(scope="module")
def enriched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the long article after the nightly enrichment."""
    paths = DataPaths(tmp_path_factory.mktemp("enrich"))
    url = "https://bao.example.vn/bai-rat-dai-1.html"
    record = {"url": url, "canonical_url": url, "site": "example", "title": TITLE, "body": body()}
    staged = paths.staging / "r1" / "example.jsonl"
    staged.parent.mkdir(parents=True)
    staged.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    con = open_db(paths.store)
    load_staged(con, paths.staging)
    con.close()
    group_new_stories(paths, wait_s=5)
    find_who_and_where(paths, wait_s=5)
    classify_unlabelled(paths, load_classifier(), wait_s=5)
    return paths.store


def row(db: Path, sql: str) -> tuple:
    """The one row of a read-only query."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchone()
    finally:
        con.close()


def test_the_whole_text_would_be_criticism() -> None:
    # What the cap changes: read in full, the tail makes the article criticism.
    assert load_classifier().classify(f"{TITLE}\n{body()}").label == "criticism"


def test_only_the_head_is_classified(enriched: Path) -> None:
    assert row(enriched, "SELECT label FROM classifications") == ("neutral",)


def test_the_label_records_how_much_was_read(enriched: Path) -> None:
    analysed, reason = row(enriched, "SELECT analysed_chars, reason FROM classifications")
    assert (analysed, reason.startswith("text cut: only its first 100,000 of")) == (
        MAX_ANALYSED_CHARS,
        True,
    )


def test_only_the_head_is_placed(enriched: Path) -> None:
    assert row(enriched, "SELECT province, analysed_chars FROM article_places") == (
        None,
        MAX_ANALYSED_CHARS,
    )


def test_the_article_still_gets_a_story(enriched: Path) -> None:
    assert row(enriched, "SELECT count(*) FROM article_stories") == (1,)


def test_an_endless_sentence_is_tagged_only_at_its_start() -> None:
    # A page with no full stop is one "sentence"; only its first few thousand characters are
    # tagged (before, all of it was, at about 2 GB per million characters).
    words = "người dân đến làm thủ tục hành chính tại trụ sở " * 200
    text = f"{words}ông Nguyễn Văn An cho biết thêm"
    assert Entity("person", "Nguyễn Văn An") not in entities(text)
