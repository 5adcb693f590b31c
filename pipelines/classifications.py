"""Model labels: articles classified in memory, outside the write lock, written in one step."""

from __future__ import annotations

import duckdb
import pandas as pd

from nlp.classify import Classifier
from nlp.progress import Progress
from pipelines.checkpoints import checkpoint
from pipelines.enrich import ARTICLE_TEXT, analysed, cut_note
from pipelines.lake import begin, retried, rollback
from pipelines.paths import DataPaths
from pipelines.store import open_db

PROGRESS_EVERY = 500  # articles between two progress lines


def classify_unlabelled(
    paths: DataPaths, classifier: Classifier, wait_s: float, progress: bool = False
) -> int:
    """Label the stored articles this model has not labelled; the write lock is held briefly."""
    with open_db(paths.store, wait_s=wait_s) as con:
        todo = unclassified(con, classifier.model_id)
    rows = classify_frame(classifier, todo, progress)  # no database connection held meanwhile
    checkpoint("classify")
    with open_db(paths.store, wait_s=wait_s) as con:
        return save_classifications(con, rows)


# The articles a model (the parameter) has not classified yet, with the hash of their text.
UNCLASSIFIED = f"""
    SELECT a.article_id, a.content_hash, {ARTICLE_TEXT} AS text
    FROM articles a
    ANTI JOIN (SELECT article_id FROM classifications WHERE model_id = ?) c USING (article_id)
    ORDER BY a.article_id
"""


def unclassified(con: duckdb.DuckDBPyConnection, model_id: str) -> pd.DataFrame:
    """Articles that model_id has not classified yet: article_id, content_hash and the text."""
    return con.execute(UNCLASSIFIED, [model_id]).df()


def classify_frame(
    classifier: Classifier, articles: pd.DataFrame, progress: bool = False
) -> pd.DataFrame:
    """Classification rows (as the classifications table) for a frame of article_id, text.

    progress: print a line (done, articles/s, time left) every PROGRESS_EVERY articles.
    """
    steps = -(-len(articles) // PROGRESS_EVERY)
    counter = Progress(f"classified with {classifier.model_id}", steps, "articles")
    rows = []
    for n, (article_id, text) in enumerate(
        zip(articles["article_id"], articles["text"], strict=True), start=1
    ):
        read = analysed(text)
        prediction = classifier.classify(read)
        if progress and (n % PROGRESS_EVERY == 0 or n == len(articles)):
            counter.step(f"{n} of {len(articles)} articles", items=n - counter.items)
        rows.append(
            {
                "article_id": article_id,
                "model_id": classifier.model_id,
                "label": prediction.label,
                "score_praise": prediction.scores["praise"],
                "score_criticism": prediction.scores["criticism"],
                "score_neutral": prediction.scores["neutral"],
                "evidence": list(prediction.evidence),
                "reason": cut_note(text) + prediction.reason,
                "analysed_chars": len(read),
            }
        )
    columns = ["article_id", "model_id", "label", "score_praise", "score_criticism"]
    columns += ["score_neutral", "evidence", "reason", "analysed_chars"]
    return pd.DataFrame(rows, columns=columns)


@retried
def save_classifications(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> int:
    """Bulk-insert classification rows (columns as the table); existing keys are kept."""
    if rows.empty:
        return 0
    con.register("new_classifications", rows)
    try:
        begin(con)
        added = con.execute(
            """
            INSERT INTO classifications BY NAME
            SELECT article_id, model_id, label, score_praise, score_criticism, score_neutral,
                   evidence, reason, now() AS classified_at, analysed_chars
            FROM new_classifications ANTI JOIN classifications USING (article_id, model_id)
            """
        ).fetchone()[0]
        con.execute("COMMIT")
        return added
    except BaseException:
        rollback(con)
        raise
    finally:
        con.unregister("new_classifications")
