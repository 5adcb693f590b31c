"""Who and where: each stored article gets its province (34-province map) and named entities."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from nlp.classify import load_classifier
from pipelines import migrations, places
from pipelines.enrich import ARTICLE_TEXT
from pipelines.load import load_staged
from pipelines.nightly import nightly
from pipelines.paths import DataPaths
from pipelines.places import (
    RULES_VERSION,
    find_who_and_where,
    made_by_older_rules,
    places_and_people,
    redo_older_rules,
    replace_places,
)
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


def test_public_body_is_an_organisation(stored: Path) -> None:
    bodies = rows(stored, "SELECT name FROM article_entities WHERE kind = 'organization'")
    assert bodies == [("UBND tỉnh Quảng Nam",)]


def test_second_pass_adds_nothing(stored: Path) -> None:
    assert find_who_and_where(DataPaths(stored.parents[1]), wait_s=5) == 0


def test_an_edited_article_gets_the_names_of_its_new_text(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path)
    corrected = ARTICLE["body"].replace("Lê Trí Thanh", "Lê Văn Dũng")
    for run, body in (("r1", ARTICLE["body"]), ("r2", corrected)):
        staged = paths.staging / run / "example.jsonl"
        staged.parent.mkdir(parents=True)
        record = {**ARTICLE, "body": body, "content_hash": body}
        staged.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
        with open_db(paths.store) as con:
            load_staged(con, paths.staging)
        find_who_and_where(paths, wait_s=5)
    people = rows(paths.store, "SELECT name FROM article_entities WHERE kind = 'person'")
    assert people == [("Lê Văn Dũng",)]


# What the rules before 69cc9d8 (rules version 1) stored for ARTICLE, as that code gave them:
# the chairman's name glued to his province.
OLD_ENTITIES = [("location", "Quảng Nam", 2), ("person", "Quảng Nam Lê Trí Thanh", 1)]
NEW_PERSON = ("person", "Lê Trí Thanh")
BEFORE_013 = [m for m in migrations.MIGRATIONS if m[0] != "013_who_and_where_rules_version"]


@pytest.fixture(params=["file", "lake"])
def old_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> DataPaths:
    """Three copies of ARTICLE placed by rules version 1 before migration 013, then migrated.

    In the DuckDB file, or in the shared store (DuckLake) when the param says so.
    """
    if request.param == "lake":
        request.getfixturevalue("lake")
    paths = DataPaths(tmp_path / "data")
    staged = paths.staging / "r1" / "example.jsonl"
    staged.parent.mkdir(parents=True)
    lines = [
        json.dumps(ARTICLE | {"url": url, "canonical_url": url}, ensure_ascii=False)
        for url in (f"https://bao.example.vn/ne-viec-{n}.html" for n in range(3))
    ]
    staged.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with monkeypatch.context() as before:
        before.setattr(migrations, "MIGRATIONS", BEFORE_013)
        with open_db(paths.store) as con:
            load_staged(con, paths.staging)
            # loaded one a day apart, the URL ending in 0 first
            con.execute(
                "UPDATE articles SET loaded_at = TIMESTAMPTZ '2025-01-01 00:00:00+00' "
                "+ to_days(CAST(regexp_extract(url, '(\\d)\\.html', 1) AS INTEGER))"
            )
            con.execute(
                "INSERT INTO article_places SELECT article_id, 'Đà Nẵng', 'Quảng Nam', "
                "['Đà Nẵng'], length(title) + length(body) + 1 FROM articles"
            )
            for kind, name, mentions in OLD_ENTITIES:
                con.execute(
                    "INSERT INTO article_entities SELECT article_id, ?, ?, ? FROM articles",
                    [kind, name, mentions],
                )
    open_db(paths.store).close()  # migrates to 013
    return paths


def query(paths: DataPaths, sql: str) -> list[tuple]:
    """Rows of a query on the store (the file or the lake)."""
    with open_db(paths.store) as con:
        return con.execute(sql).fetchall()


def current_rules(paths: DataPaths) -> list[tuple]:
    """(url, kind, name, mentions) of what the current rules find in every stored article."""
    with open_db(paths.store) as con:
        articles = con.execute(f"SELECT article_id, url, {ARTICLE_TEXT} AS text FROM articles a")
        articles = articles.df()
    _, entities = places_and_people(articles)
    url = dict(zip(articles["article_id"], articles["url"], strict=True))
    return sorted((url[a], k, n, m) for a, k, n, m in entities.itertuples(index=False))


def entities_of(paths: DataPaths) -> list[tuple]:
    """(url, kind, name, mentions) of every stored entity row, sorted."""
    return sorted(
        query(
            paths,
            "SELECT url, kind, name, mentions FROM article_entities JOIN articles "
            "USING (article_id)",
        )
    )


def urls(paths: DataPaths, version: int) -> list[str]:
    """URLs of the articles placed by that rules version, sorted."""
    return [
        url
        for (url,) in query(
            paths,
            "SELECT url FROM articles JOIN article_places USING (article_id) "
            f"WHERE rules_version = {version} ORDER BY url",
        )
    ]


def test_the_migration_gives_existing_rows_the_old_version(old_store: DataPaths) -> None:
    assert query(old_store, "SELECT rules_version, count(*) FROM article_places GROUP BY 1") == [
        (1, 3)
    ]


def test_new_articles_are_placed_by_the_current_rules(stored: Path) -> None:
    assert rows(stored, "SELECT rules_version FROM article_places") == [(RULES_VERSION,)]


def test_articles_of_the_old_rules_get_the_new_rows(old_store: DataPaths) -> None:
    assert RULES_VERSION > 1
    assert redo_older_rules(old_store, wait_s=5)[:2] == (3, 0)
    assert len(urls(old_store, RULES_VERSION)) == 3
    assert entities_of(old_store) == current_rules(old_store)
    assert NEW_PERSON in [(kind, name) for _, kind, name, _ in entities_of(old_store)]
    assert redo_older_rules(old_store, wait_s=5)[:2] == (0, 0)


def test_a_batch_redoes_the_oldest_articles_only(
    old_store: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(places, "REDO_BATCH", 2)
    assert redo_older_rules(old_store, wait_s=5)[:2] == (2, 1)
    assert urls(old_store, 1) == ["https://bao.example.vn/ne-viec-2.html"]


def test_an_insert_failing_after_the_delete_leaves_the_old_rows(old_store: DataPaths) -> None:
    before = entities_of(old_store)
    with open_db(old_store.store) as con:
        places, entities = places_and_people(made_by_older_rules(con, 3))
        broken = pd.concat([entities, entities.head(1).assign(name=None)])  # name is NOT NULL
        with pytest.raises(duckdb.ConstraintException):
            replace_places(con, places, broken)
    assert entities_of(old_store) == before
    assert len(urls(old_store, 1)) == 3


def test_articles_another_node_redid_meanwhile_keep_its_rows(
    old_store: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_db(old_store.store) as con:
        todo = made_by_older_rules(con, 3)
    ours = places_and_people(todo)
    monkeypatch.setattr(places, "REDO_BATCH", 2)
    assert redo_older_rules(old_store, wait_s=5)[:2] == (2, 1)  # the other node, meanwhile
    with open_db(old_store.store) as con:
        assert replace_places(con, *ours) == 1  # only the article still old
    assert len(urls(old_store, RULES_VERSION)) == 3
    assert entities_of(old_store) == current_rules(old_store)  # each once: no doubled key


def test_the_nightly_run_redoes_them_and_says_how_many_are_left(
    old_store: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(places, "REDO_BATCH", 2)
    report = nightly(old_store, [], load_classifier(), wait_s=5)
    assert report.error == ""
    note = f"who and where redone by rules version {RULES_VERSION}: 2 articles, 1 left"
    assert note in report.summary()
    assert len(urls(old_store, RULES_VERSION)) == 2
