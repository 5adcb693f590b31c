"""Who and where: each article's main province and the people, organisations and places named."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.enrich import ARTICLE_TEXT, analysed
from pipelines.lake import begin, retried, rollback
from pipelines.paths import DataPaths
from pipelines.store import open_db

# The version of the rules that find who and where (nlp/entities.py, names.py, provinces.py), stored
# with each article_places row. Bump it whenever those modules change what they find: each
# nightly run then redoes a batch of the articles an older version made (redo_older_rules).
# 1: the rules before commit 69cc9d8. 2: 69cc9d8 (ministries keep their whole names, an
# official's name is no longer glued to his body, no one-word persons). 3: no weekday, Roman
# numeral, single letter, sentence-opening common noun or "Bác Hồ" is a place; a person the
# article names as a place ("tỉnh Vĩnh Long", "TP Lạng Sơn") is one; "ĐB" is a title; a
# two-word given name counts into its full name. 4: rules find the public bodies the CRF misses
# ("Sở Nội vụ", "Văn phòng UBND tỉnh", "Ban Quản lý dự án ..."), a body without its place counts
# into its full name; "GRDP", "OCOP" are no places; "Tôn", "Đồng" are family names. 5: "Hội đồng
# ...", "Chi nhánh ..." and more lower-case fields ("Cục Quản lý giá") name bodies; an initial
# keeps its dot ("Đỗ Văn K."); "Tết", year names ("Đinh Mùi"), "Ngày", "Điều", "Điểm" are no
# places; a place glued after an office or a post ("Thống kê phường An Lạc") is the place alone;
# a family and a given name right after a body ("Bộ Ngoại giao Lê Dũng") is a person. 6: a name of
# the address table is no person unless addressed as one ("Hà Nội", "Đông Đô"); a title in any
# case makes the name after it a person ("Phó thủ tướng Vũ Khoan"); "VKS", "BHXH", "Hạt Kiểm
# lâm" head bodies; a body is not cut at "Vì" ("Hội đồng Vì ..."). 7: a titled name underthesea
# split takes its last given name back ("thứ trưởng Đặng Hùng Võ"); universities, academies and
# hospitals head bodies, named after their place alone ("ĐH Huế"), and an acronym's head glued
# to its place is a body ("TAND Bà Rịa - Vũng Tàu"); "Quỹ", "Hội" head bodies and keep what
# they are for after "Vì" ("Quỹ Vì người nghèo"); a court's level follows it ("VKS tối cao");
# a province in a quoted nickname (Dũng “Huế”) or a sports team's or club's name ("đội bóng CA
# TP.HCM") is no place. 8: no body ends on a join ("Bộ Kế hoạch và đầu tư") or runs into the
# next clause; lower-case nouns before its unit stay ("Hội Liên hiệp thanh niên thành phố Huế");
# clubs and "DNTN" firms are bodies, "Hội nghị", "Hội trường" and "xe Minsk" none; "HLV", "Vụ
# phó" are titles; less common family names (Bành, Quách, Nông) and a full name glued to an
# acronym ("Bộ GDĐT Quách Tuấn Ngọc") are persons; names after "báo", "tạp chí", "hãng thông
# tấn" and the list they open are bodies ("Daily Express"), each ending before a verb or a
# person ("báo Tuổi Trẻ Lê Hoàng nhắc"), none after a comma, no "Hội nghị"; a slash joins two
# words of a name; a canal ("kênh Tiêu Ba Bò") and a house number's street ("58A Hồ Học Lãm")
# are no persons.
RULES_VERSION = 8
# The SHA-256 of those files as RULES_VERSION was last set for them: tests/test_rules_version.py
# fails when one changes. New values: `sha256sum nlp/entities.py nlp/names.py nlp/provinces.py`.
RULES_SHA256 = {
    "nlp/entities.py": "f79d691a0edbf3599e045a12e3631cd1b1083ff3191a7b65cb158ca37686767b",
    "nlp/names.py": "42bdd28b15fd58ef1fac988d84b429fbe9248133b480097d2113260d114a5acd",
    "nlp/provinces.py": "1cd697b59ce87709b6602dda30280da0ec48b84dad0cf6263ee6f6385b800b1a",
}
# Articles a nightly run redoes for an older version: about a minute or two a night. The redo
# runs at the speed of new articles, one core: `bench/places.py --n 1000` measured 18.0
# articles/s (18.7 for new ones) with the 2-core machine's load average at 17; entity_counts
# alone runs at 34/s on an idle core. So 2,000 take 60 to 110 s, and 100,000 about 50 nights.
REDO_BATCH = 2_000
# SQL: an article_places row an older version made (NULL: written on a shared store by a node
# whose code predates migration 013).
OLDER_RULES = "coalesce(rules_version, 0) < ?"


def find_who_and_where(paths: DataPaths, wait_s: float) -> int:
    """Give each new article its province and named entities; return how many were done."""
    with open_db(paths.store, wait_s=wait_s) as con:
        todo = without_places(con)
    places, entities = places_and_people(todo)  # computed with no database connection held
    with open_db(paths.store, wait_s=wait_s) as con:
        save_places(con, places, entities)
    return len(places)


def without_places(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Articles not yet given a province and entities: article_id and their text."""
    return con.execute(
        f"""
        SELECT a.article_id, {ARTICLE_TEXT} AS text
        FROM articles a ANTI JOIN article_places p USING (article_id)
        ORDER BY a.article_id
        """
    ).df()


def places_and_people(articles: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows for article_places (main province) and article_entities, from article_id, text."""
    from nlp.entities import entity_counts
    from nlp.provinces import main_province, provinces

    places, named = [], []
    for article_id, text in zip(articles["article_id"], articles["text"], strict=True):
        text = analysed(text)
        main = main_province(text)
        places.append(
            {
                "article_id": article_id,
                "province": main.name if main else None,
                "province_named": main.original if main else None,
                "provinces": sorted({p.name for p in provinces(text)}),
                "analysed_chars": len(text),
                "rules_version": RULES_VERSION,
            }
        )
        for (kind, name), count in entity_counts(text).items():
            named.append({"article_id": article_id, "kind": kind, "name": name, "mentions": count})
    entity_columns = ["article_id", "kind", "name", "mentions"]
    return pd.DataFrame(places), pd.DataFrame(named, columns=entity_columns)


@retried
def save_places(
    con: duckdb.DuckDBPyConnection, places: pd.DataFrame, entities: pd.DataFrame
) -> None:
    """Bulk-insert who and where; articles already done keep their rows."""
    if places.empty:
        return
    con.register("new_places", places)
    con.register("new_entities", entities)
    try:
        begin(con)
        con.execute(
            "INSERT INTO article_places BY NAME "
            "SELECT article_id, province, province_named, provinces, analysed_chars, "
            "rules_version FROM new_places ANTI JOIN article_places USING (article_id)"
        )
        if not entities.empty:
            con.execute(
                "INSERT INTO article_entities SELECT article_id, kind, name, mentions "
                "FROM new_entities ANTI JOIN article_entities USING (article_id, kind, name)"
            )
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    finally:
        con.unregister("new_places")
        con.unregister("new_entities")


def redo_older_rules(paths: DataPaths, wait_s: float) -> tuple[int, int, list[str]]:
    """Redo who and where for REDO_BATCH articles an older RULES_VERSION made; (redone, left,
    the batch's article ids: all of the current version now, here or by another node)."""
    with open_db(paths.store, wait_s=wait_s) as con:
        todo = made_by_older_rules(con, REDO_BATCH)
    places, entities = places_and_people(todo)  # computed with no database connection held
    with open_db(paths.store, wait_s=wait_s) as con:
        redone = replace_places(con, places, entities)
        left = con.execute(
            f"SELECT count(*) FROM article_places WHERE {OLDER_RULES}", [RULES_VERSION]
        ).fetchone()[0]
    return redone, left, list(todo["article_id"])


def made_by_older_rules(con: duckdb.DuckDBPyConnection, batch: int) -> pd.DataFrame:
    """The first batch of articles an older version placed (oldest version, then loaded first)."""
    return con.execute(
        f"""
        SELECT a.article_id, {ARTICLE_TEXT} AS text
        FROM articles a JOIN article_places p USING (article_id)
        WHERE {OLDER_RULES}
        ORDER BY coalesce(p.rules_version, 0), a.loaded_at, a.article_id
        LIMIT ?
        """,
        [RULES_VERSION, batch],
    ).df()


@retried
def replace_places(
    con: duckdb.DuckDBPyConnection, places: pd.DataFrame, entities: pd.DataFrame
) -> int:
    """Replace the rows of articles still made by an older version, all in one transaction.

    Another node may have redone some of them since they were read: those keep its rows. An
    article is left wholly old or wholly new; returns how many were replaced.
    """
    if places.empty:
        return 0
    con.register("new_places", places)
    con.register("new_entities", entities)
    try:
        begin(con)
        stale = con.execute(
            f"SELECT article_id FROM article_places SEMI JOIN new_places USING (article_id) "
            f"WHERE {OLDER_RULES}",
            [RULES_VERSION],
        ).df()
        con.register("stale", stale)
        con.execute("DELETE FROM article_entities WHERE article_id IN (FROM stale)")
        con.execute("DELETE FROM article_places WHERE article_id IN (FROM stale)")
        con.execute(
            "INSERT INTO article_places BY NAME "
            "SELECT article_id, province, province_named, provinces, analysed_chars, "
            "rules_version FROM new_places SEMI JOIN stale USING (article_id)"
        )
        if not entities.empty:
            con.execute(
                "INSERT INTO article_entities SELECT article_id, kind, name, mentions "
                "FROM new_entities SEMI JOIN stale USING (article_id)"
            )
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    finally:
        for name in ("new_places", "new_entities", "stale"):
            con.unregister(name)
    return len(stale)
