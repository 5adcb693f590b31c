"""Tags stored articles with a classifier, in memory, outside the database write lock."""

from __future__ import annotations

import pandas as pd

from nlp.classify import Classifier


def classify_frame(classifier: Classifier, articles: pd.DataFrame) -> pd.DataFrame:
    """Classification rows (as the classifications table) for a frame of article_id, text."""
    rows = []
    for article_id, text in zip(articles["article_id"], articles["text"], strict=True):
        prediction = classifier.classify(text or "")
        rows.append(
            {
                "article_id": article_id,
                "model_id": classifier.model_id,
                "label": prediction.label,
                "score_praise": prediction.scores["praise"],
                "score_criticism": prediction.scores["criticism"],
                "score_neutral": prediction.scores["neutral"],
                "evidence": list(prediction.evidence),
                "reason": prediction.reason,
            }
        )
    columns = ["article_id", "model_id", "label", "score_praise", "score_criticism"]
    columns += ["score_neutral", "evidence", "reason"]
    return pd.DataFrame(rows, columns=columns)
