"""Who and where: each stored article gets its province (34-province map) and named entities."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.load import load_staged
from pipelines.paths import DataPaths
from pipelines.places import find_who_and_where
from pipelines.store import open_db

ARTICLE = {
    "url": "https://bao.example.vn/quang-nam-ne-viec.html",
    "canonical_url": "https://bao.example.vn/quang-nam-ne-viec.html",
    "site": "example",
    "title": "Quảng Nam: Yêu cầu chấn chỉnh tình trạng cán bộ né việc",
    "body": "Chủ tịch UBND tỉnh Quảng Nam Lê Trí Thanh vừa có công văn gửi các sở, ngành của "
    "tỉnh Quảng Nam yêu cầu khắc phục tình trạng né tránh, đùn đẩy công việc.",
    "published_at": "2026-03-07T08:01:00+07:00",
    "fetched_at": "2026-03-07T09:00:00+00:00",
}


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding one article about Quảng Nam, after the who-and-where step."""
    paths = DataPaths(tmp_path_factory.mktemp("who"))
    staged = paths.staging / "r1" / "example.jsonl"
    staged.parent.mkdir(parents=True)
    staged.write_text(json.dumps(ARTICLE, ensure_ascii=False) + "\n", encoding="utf-8")
    con = open_db(paths.store)
    load_staged(con, paths.staging)
    con.close()
    find_who_and_where(paths, wait_s=5)
    return paths.store


def rows(db: Path, sql: str) -> list[tuple]:
    """Rows of a read-only query."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_pre_merger_province_maps_to_its_successor(stored: Path) -> None:
    assert rows(stored, "SELECT province FROM article_places") == [("Đà Nẵng",)]


def test_original_province_name_is_kept(stored: Path) -> None:
    assert rows(stored, "SELECT province_named FROM article_places") == [("Quảng Nam",)]


def test_named_province_is_a_location(stored: Path) -> None:
    places = rows(stored, "SELECT name FROM article_entities WHERE kind = 'location'")
    assert ("Quảng Nam",) in places


def test_second_pass_adds_nothing(stored: Path) -> None:
    assert find_who_and_where(DataPaths(stored.parents[1]), wait_s=5) == 0
