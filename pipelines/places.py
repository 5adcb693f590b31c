"""Who and where: each article's main province and the people, organisations and places named."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.enrich import ARTICLE_TEXT, analysed
from pipelines.lake import begin, retried, rollback
from pipelines.paths import DataPaths
from pipelines.store import open_db


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
            "SELECT article_id, province, province_named, provinces, analysed_chars "
            "FROM new_places ANTI JOIN article_places USING (article_id)"
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
