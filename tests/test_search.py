"""`congvu search`: ranked full-text search over a real DuckDB snapshot with a tantivy index."""

from __future__ import annotations

import os
import shutil
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from crawlers.dates import VN_TZ
from pipelines.paths import DataPaths
from pipelines.search import (
    INDEX_VERSION,
    Filters,
    build_index,
    cached_index,
    fold,
    latest_index,
    search,
    snapshot_key,
)
from pipelines.snapshot import publish
from pipelines.store import open_db
from tests.conftest import run_congvu

# (id, title, body, published, province, {model: label})
ARTICLES = [
    (
        "shirk",
        "Chấn chỉnh cán bộ né việc, đùn đẩy trách nhiệm",
        "Nhiều cán bộ né việc khó.\n\nChủ tịch tỉnh yêu cầu xử lý nghiêm người né việc.",
        datetime(2026, 11, 20, 9, 0, tzinfo=VN_TZ),
        "Đà Nẵng",
        {"evidence-lr-1": "criticism", "cue-lexicon-1": "criticism"},
    ),
    (
        "apart",
        "Hội nghị tổng kết công tác năm",
        "Ông A không né tránh câu hỏi nào. Sau hội nghị, mọi việc được giao rõ ràng.",
        datetime(2026, 11, 3, 9, 0, tzinfo=VN_TZ),
        "Huế",
        {"evidence-lr-1": "neutral", "cue-lexicon-1": "praise"},
    ),
    (
        "respect",
        "Nể nang trong công việc",
        "Tình trạng nể việc riêng, nể nang người quen vẫn còn; cần hòa giải sớm.",
        datetime(2026, 10, 1, 9, 0, tzinfo=VN_TZ),
        None,
        {"evidence-lr-1": "criticism"},
    ),
    (
        "praise",
        "Khen thưởng xã dám nghĩ, dám làm",
        "Xã đã tháo gỡ khó khăn cho doanh nghiệp; không ai né việc.",
        datetime(2026, 11, 25, 9, 0, tzinfo=VN_TZ),
        "Đà Nẵng",
        {"evidence-lr-1": "praise"},
    ),
]


def write_store(path: Path, articles: list[tuple]) -> None:
    """A database with the given articles, labels and provinces, written as the job writes it."""
    with open_db(path) as con:
        con.execute("INSERT OR REPLACE INTO sites (site, title) VALUES ('demo', 'Báo Minh Họa')")
        for article_id, title, body, published, province, labels in articles:
            con.execute(
                "INSERT INTO articles (article_id, canonical_url, url, site, title, body, "
                "published_at, fetched_at, loaded_at) VALUES (?, ?, ?, 'demo', ?, ?, ?, ?, ?)",
                [article_id, f"https://x.vn/{article_id}", f"https://x.vn/{article_id}", title,
                 body, published, published, published],
            )  # fmt: skip
            if province:
                con.execute("INSERT INTO article_places (article_id, province, province_named, "
                            "provinces, analysed_chars) VALUES (?, ?, ?, [?], 0)",
                            [article_id, province, province, province])  # fmt: skip
            for model_id, label in labels.items():
                con.execute(
                    "INSERT INTO classifications (article_id, model_id, label, evidence) "
                    "VALUES (?, ?, ?, [])",
                    [article_id, model_id, label],
                )


@pytest.fixture
def paths(tmp_path: Path) -> DataPaths:
    """A data folder whose published snapshot holds ARTICLES."""
    paths = DataPaths(tmp_path)
    write_store(paths.store, ARTICLES)
    publish(paths, wait_s=5)
    return paths


def ids(paths: DataPaths, text: str, limit: int = 20, **filters: object) -> list[str]:
    """The article ids found for text, best first."""
    return list(search(paths.db, text, Filters(**filters), limit)["article_id"])


def analyst_label(paths: DataPaths, article_id: str, label: str) -> None:
    """An analyst's label as `congvu review import` stores it, then published."""
    with open_db(paths.store) as con:
        con.execute(
            "INSERT INTO labels VALUES (?, ?, 'lan', now(), 'evidence-lr-1', NULL, NULL, 'r.xlsx')",
            [article_id, label],
        )
    publish(paths, wait_s=5)


ANALYST_ONLY = (
    "only",
    "Dân phản ánh thủ tục chậm",
    "Người dân phản ánh thủ tục chậm, hồ sơ bị trả lại nhiều lần. Cán bộ phường né việc.",
    datetime(2026, 11, 22, 9, 0, tzinfo=VN_TZ),
    "Huế",
    {},  # no model labelled it: only an analyst did
)


@pytest.fixture
def reviewed(tmp_path: Path) -> DataPaths:
    """ARTICLES and one no model labelled, after analysts called "apart" (the model's neutral)
    and "only" criticism and "shirk" (the model's criticism) praise."""
    paths = DataPaths(tmp_path)
    write_store(paths.store, [*ARTICLES, ANALYST_ONLY])
    publish(paths, wait_s=5)
    search(paths.db, "né việc")  # the index is built before the analysts' labels come
    for article_id, label in (("apart", "criticism"), ("only", "criticism"), ("shirk", "praise")):
        analyst_label(paths, article_id, label)
    return paths


def test_label_filter_is_the_current_label(reviewed: DataPaths) -> None:
    """The analyst's label when reviewed, else the model's: what the digest lists by."""
    assert set(ids(reviewed, "né việc", label="criticism")) == {"apart", "only"}
    assert set(ids(reviewed, "né việc", label="praise")) == {"shirk", "praise"}
    assert ids(reviewed, "né việc", label="neutral") == []


def test_label_filter_ranks_and_limits_only_the_labelled(reviewed: DataPaths) -> None:
    """The best criticism hit is found with --limit 1 though other hits rank above it."""
    ranked = [i for i in ids(reviewed, "né việc") if i in {"apart", "only"}]
    assert ids(reviewed, "né việc", limit=1, label="criticism") == ranked[:1]
    assert ids(reviewed, "né việc")[0] not in ranked  # "shirk" ranks first overall


def test_results_show_the_current_label(reviewed: DataPaths) -> None:
    found = search(reviewed.db, "né việc")
    assert dict(zip(found["article_id"], found["label"], strict=True)) == {
        "shirk": "praise", "apart": "criticism", "only": "criticism", "praise": "praise",
    }  # fmt: skip


def test_cli_label_filter_is_the_current_label(reviewed: DataPaths) -> None:
    run = run_congvu("search", "né việc", "--label", "criticism", "--data-dir", str(reviewed.root))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    titles = sorted(line[3:] for line in lines if line[:3] in ("1. ", "2. "))
    assert titles == ["Dân phản ánh thủ tục chậm", "Hội nghị tổng kết công tác năm"]
    assert "   03/11/2026 · Báo Minh Họa · Huế · Phê phán" in lines  # "apart", the model's neutral
    assert lines[-1].startswith("2 kết quả") and "của phân tích viên" in lines[-1]


def test_relabelling_reindexes_nothing(reviewed: DataPaths) -> None:
    """Labels are read from the snapshot, not the index: a night that only relabels (a review
    import, a reclassify) leaves every article's index entry as it was."""
    previous = latest_index(reviewed.root / "search")
    with open_db(reviewed.store) as con:
        con.execute("UPDATE classifications SET label = 'neutral' WHERE article_id = 'praise'")
    analyst_label(reviewed, "respect", "praise")
    (reviewed.root / "search" / ".next").mkdir()
    with open_db(reviewed.db, read_only=True) as con:
        assert build_index(con, reviewed.root / "search" / ".next", previous) == 0


def test_an_index_of_another_version_is_not_built_upon(paths: DataPaths) -> None:
    """Its fields differ (version 2 held labels): the next index is built from the articles."""
    search(paths.db, "né việc")
    current = latest_index(paths.root / "search")
    older = paths.root / "search" / f"v{INDEX_VERSION - 1}-older"
    shutil.copytree(current, older)
    shutil.rmtree(current)
    assert latest_index(paths.root / "search") is None


def test_marks_typed_must_match(paths: DataPaths) -> None:
    # "né việc" is not "nể việc", nor "né" and "việc" found apart only where a phrase exists too
    assert set(ids(paths, "né việc")) == {"shirk", "apart", "praise"}


def test_query_without_marks_finds_the_marked_words(paths: DataPaths) -> None:
    assert set(ids(paths, "ne viec")) == {"shirk", "apart", "praise", "respect"}


def test_old_style_tone_marks_in_the_query_match(paths: DataPaths) -> None:
    assert ids(paths, "hoà giải") == ["respect"]  # old style "oà" for the stored "òa"


def test_headline_and_phrase_rank_first(paths: DataPaths) -> None:
    found = ids(paths, "ne viec")
    assert found[0] == "shirk" and found.index("praise") < found.index("apart")


def test_one_row_per_article_with_the_chosen_models_label(paths: DataPaths) -> None:
    found = search(paths.db, "né tránh", Filters(model_id="cue-lexicon-1"))
    assert list(zip(found["article_id"], found["label"], strict=True)) == [("apart", "praise")]


def test_article_the_model_did_not_label_has_an_empty_label(paths: DataPaths) -> None:
    found = search(paths.db, "nể nang", Filters(model_id="cue-lexicon-1"))
    assert list(found["label"].isna()) == [True]


def test_filters(paths: DataPaths) -> None:
    assert set(ids(paths, "né việc", province="da nang")) == {"shirk", "praise"}
    assert set(ids(paths, "né việc", label="praise")) == {"praise"}
    assert set(ids(paths, "né việc", start=date(2026, 11, 4), end=date(2026, 11, 24))) == {"shirk"}
    assert ids(paths, "né việc", label="praise", model_id="cue-lexicon-1") == ["apart"]


def test_search_among_given_articles(paths: DataPaths) -> None:
    """Notebook 2.0 searches the stories it lists (by their current label) and no others."""
    assert set(ids(paths, "né việc", articles=frozenset({"shirk", "apart", "respect"}))) == {
        "shirk", "apart",
    }  # fmt: skip
    assert ids(paths, "né việc", articles=frozenset()) == []


def test_result_shows_date_source_title_and_the_matching_sentence(paths: DataPaths) -> None:
    row = search(paths.db, "xu ly nghiem").iloc[0]
    assert (row.published, row.site_title, row.province, row.snippet) == (
        "20/11/2026",
        "Báo Minh Họa",
        "Đà Nẵng",
        "Chủ tịch tỉnh yêu cầu xử lý nghiêm người né việc.",
    )


BIDI_ARTICLE = (
    "bidi",
    "\u202eChấn chỉnh né việc\u202c ở xã",  # stored before the crawl dropped bidi controls
    "Xã họp dân.\n\nCán bộ \u202ené việc\u202c bị nhắc nhở.",
    datetime(2026, 11, 21, 9, 0, tzinfo=VN_TZ),
    None,
    {},
)


def test_results_leave_out_stored_bidi_controls(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path)
    write_store(paths.store, [BIDI_ARTICLE])
    publish(paths, wait_s=5)
    row = search(paths.db, "ne viec").iloc[0]
    assert (row.title, row.snippet) == ("Chấn chỉnh né việc ở xã", "Cán bộ né việc bị nhắc nhở.")


def test_cli_prints_no_stored_bidi_control(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path)
    write_store(paths.store, [BIDI_ARTICLE])
    publish(paths, wait_s=5)
    run = run_congvu("search", "ne viec", "--data-dir", str(paths.root))
    assert (run.returncode, "\u202e" in run.stdout, "Chấn chỉnh né việc ở xã" in run.stdout) == (
        0,
        False,
        True,
    )


def test_word_split_by_a_stored_bidi_control_is_found(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path)
    inside = ("inside", "Xã họp dân", "Cán bộ n\u202eé vi\u202cệc bị nhắc nhở.", *BIDI_ARTICLE[3:])
    write_store(paths.store, [inside])
    publish(paths, wait_s=5)
    assert list(search(paths.db, "né việc").article_id) == ["inside"]


def test_cli_footer_repeats_the_query_without_its_bidi_controls(paths: DataPaths) -> None:
    run = run_congvu("search", "ne \u202eviec", "--data-dir", str(paths.root))
    assert run.stdout.splitlines()[-1].startswith("4 kết quả cho “ne viec”"), run.stdout


def test_query_syntax_is_plain_text(paths: DataPaths) -> None:
    assert ids(paths, 'title:"nể" OR * né -việc') == []  # "title" and "or" are words too


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"province": "Hà Nội"}, "province 'Hà Nội'"),
        ({"model_id": "tfidf-lr-2"}, "no labels from model 'tfidf-lr-2'"),
        ({"label": "good"}, "unknown label 'good'"),
    ],
)
def test_bad_filter_is_a_clear_error(paths: DataPaths, filters: dict, message: str) -> None:
    with pytest.raises((ValueError, LookupError), match=message):
        search(paths.db, "né việc", Filters(**filters))


def test_index_is_cached_per_snapshot_and_rebuilt_after_a_publish(paths: DataPaths) -> None:
    search(paths.db, "né việc")
    (first,) = (paths.root / "search").iterdir()
    built = (first / "meta.json").stat().st_mtime_ns
    search(paths.db, "ne viec")
    assert (first / "meta.json").stat().st_mtime_ns == built
    new = ("later", "Né việc ở phường", "Phường chấn chỉnh.", ARTICLES[0][3], None, {})
    write_store(paths.store, [new])
    publish(paths, wait_s=5)
    assert "later" in ids(paths, "ne viec")
    assert [p.name for p in (paths.root / "search").iterdir()] != [first.name]
    assert len(list((paths.root / "search").iterdir())) == 1


def test_next_snapshots_index_reindexes_only_what_changed(paths: DataPaths) -> None:
    search(paths.db, "né việc")
    previous = latest_index(paths.root / "search")
    with open_db(paths.store) as con:  # a night: one new article, one edited, one relabelled
        con.execute("UPDATE articles SET title = 'Chậm trả hồ sơ' WHERE article_id = 'apart'")
        con.execute("UPDATE classifications SET label = 'criticism' WHERE article_id = 'praise'")
    write_store(paths.store, [("later", "Né việc ở phường", "x", ARTICLES[0][3], None, {})])
    publish(paths, wait_s=5)
    folders = [paths.root / "search" / name for name in (".next", ".full")]
    for folder in folders:
        folder.mkdir()
    with open_db(paths.db, read_only=True) as con:
        assert build_index(con, folders[0], previous) == 2  # the relabelled one is not indexed
        assert build_index(con, folders[1], None) == len(ARTICLES) + 1
    assert ids(paths, "chậm trả hồ sơ") == ["apart"]  # its new title, and no longer its old one
    assert ids(paths, "hội nghị tổng kết") == []
    assert set(ids(paths, "né việc", label="criticism")) == {"shirk", "praise"}
    assert "later" in ids(paths, "ne viec")


def test_build_left_by_a_killed_reader_is_removed_a_day_later(paths: DataPaths) -> None:
    root = paths.root / "search"
    (root / ".building-old").mkdir(parents=True)
    (root / ".building-now").mkdir()
    day_ago = time.time() - 86_401
    os.utime(root / ".building-old", (day_ago, day_ago))
    search(paths.db, "né việc")
    assert sorted(p.name for p in root.iterdir()) == [".building-now", snapshot_key(paths.db)]


def test_reader_holding_the_old_snapshot_keeps_its_results(paths: DataPaths) -> None:
    import duckdb

    reader = duckdb.connect(str(paths.db), read_only=True)  # a notebook left open
    try:
        write_store(paths.store, [("later", "Né việc", "x", ARTICLES[0][3], None, {})])
        publish(paths, wait_s=5)
        assert reader.execute("SELECT count(*) FROM articles").fetchone()[0] == len(ARTICLES)
        assert "later" in ids(paths, "ne viec")
    finally:
        reader.close()


def test_reader_of_an_old_snapshot_keeps_the_current_snapshots_index(paths: DataPaths) -> None:
    old_key = snapshot_key(paths.db)
    with open_db(paths.db, read_only=True) as old:  # opened before the publish below
        write_store(paths.store, [("later", "Né việc", "x", ARTICLES[0][3], None, {})])
        publish(paths, wait_s=5)
        search(paths.db, "ne viec")  # indexes the new snapshot
        cached_index(old, paths.db, old_key)  # the old reader's first search, after that
    names = {p.name for p in (paths.root / "search").iterdir()}
    assert names == {old_key, snapshot_key(paths.db)}


def test_fold() -> None:
    assert fold("Đùn đẩy, NÉ TRÁNH") == "dun day, ne tranh"


def test_cli_search(paths: DataPaths) -> None:
    run = run_congvu("search", "ne viec", "--data-dir", str(paths.root), "--province", "Đà Nẵng")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("1. Chấn chỉnh cán bộ né việc") and "20/11/2026" in lines[1]
    assert lines[-1].startswith("2 kết quả")


def test_cli_lists_articles_with_and_without_a_province_together(paths: DataPaths) -> None:
    run = run_congvu("search", "ne viec", "--data-dir", str(paths.root))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "   01/10/2026 · Báo Minh Họa · Phê phán" in lines  # "respect": no province
    assert "   20/11/2026 · Báo Minh Họa · Đà Nẵng · Phê phán" in lines
    assert lines[-1].startswith("4 kết quả")


def test_cli_reads_a_pre_merger_province_as_its_successor(paths: DataPaths) -> None:
    run = run_congvu("search", "ne viec", "--data-dir", str(paths.root), "--province", "Quảng Nam")
    assert (run.returncode, run.stdout.splitlines()[-1].startswith("2 kết quả")) == (0, True)


def test_cli_without_a_database_says_so(tmp_path: Path) -> None:
    run = run_congvu("search", "né việc", "--data-dir", str(tmp_path))
    assert (run.returncode, "no database at" in run.stderr, "Traceback" in run.stderr) == (
        2,
        True,
        False,
    )
    assert os.listdir(tmp_path) == []
