"""Tags stored articles with a classifier, in memory, outside the database write lock."""

from __future__ import annotations

import pandas as pd

from nlp.classify import Classifier
from nlp.progress import Progress

PROGRESS_EVERY = 500  # articles between two progress lines

# What is analysed of an article (label, province, entities, story): its first this many
# characters of title and body. The longest of the 20,442 corpus articles has 76,300; a broken
# page can carry millions, and one such article made every later nightly run run out of memory.
MAX_ANALYSED_CHARS = 100_000


def analysed(text: str | None) -> str:
    """The part of an article's text that is analysed: all of it, up to MAX_ANALYSED_CHARS."""
    return (text or "")[:MAX_ANALYSED_CHARS]


def cut_note(text: str | None) -> str:
    """A note for a text longer than what is analysed (empty otherwise)."""
    length = len(text or "")
    if length <= MAX_ANALYSED_CHARS:
        return ""
    return f"text cut: only its first {MAX_ANALYSED_CHARS:,} of {length:,} characters read; "


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
