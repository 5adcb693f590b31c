"""The evidence model's parts: its direct arithmetic equals sklearn's, its sentence targets."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlp.classify import LABELS, load_classifier
from nlp.evidence import (
    EvidenceOptions,
    class_log_proba,
    identity,
    ngrams,
    read_article,
    sentence_examples,
    stacked,
    syllables,
    tfidf,
)
from nlp.lexicon import CueLexiconClassifier
from nlp.trainset import read_corpus


@pytest.fixture(scope="module")
def sentence_tokens(shared_dir: Path) -> list[list[str]]:
    """Syllable n-grams of the sentences of 60 real corpus articles."""
    cues = load_classifier("cue-lexicon-1")
    assert isinstance(cues, CueLexiconClassifier)
    corpus = shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"
    articles = [read_article(r["text"], cues) for r in islice(read_corpus(corpus), 60)]
    return [tokens for a in articles for tokens in a.sentence_tokens]


def test_direct_tfidf_equals_sklearn_transform(sentence_tokens: list[list[str]]) -> None:
    vectorizer = TfidfVectorizer(analyzer=identity, min_df=2, sublinear_tf=True)
    vectorizer.fit(sentence_tokens[::2])
    unseen = [*sentence_tokens[1::2], ["không_có_trong_từ_điển"]]
    assert np.allclose(tfidf(vectorizer, unseen).toarray(), vectorizer.transform(unseen).toarray())


def test_direct_log_proba_equals_sklearn(sentence_tokens: list[list[str]]) -> None:
    vectorizer = TfidfVectorizer(analyzer=identity, min_df=2, sublinear_tf=True)
    words = vectorizer.fit_transform(sentence_tokens)
    extra = np.arange(words.shape[0] * 2, dtype=float).reshape(-1, 2) % 3
    labels = [LABELS[k % 3] for k in range(words.shape[0])]
    model = LogisticRegression(max_iter=500).fit(stacked([words, extra]), labels)
    order = [list(model.classes_).index(label) for label in LABELS]
    expected = model.predict_log_proba(sparse.hstack([words, extra]).tocsr())[:, order]
    assert np.allclose(class_log_proba(model, [words, extra]), expected)


def test_syllable_pairs_stand_for_two_syllable_words() -> None:
    assert ngrams(syllables("Cán bộ né việc")) == [
        "cán", "bộ", "né", "việc", "cán bộ", "bộ né", "né việc",
    ]  # fmt: skip


def test_evidence_sentence_is_the_class_and_the_others_weigh_little() -> None:
    cues = load_classifier("cue-lexicon-1")
    text = "Kỷ luật cán bộ\nHôm nay trời mưa.\nÔng A đã nhận hối lộ của doanh nghiệp.\nHết."
    articles = {"a": read_article(text, cues), "b": read_article("Tin thời tiết\nTrời nắng.", cues)}
    labels = {"a": "criticism", "b": "neutral"}
    evidence = {"a": "ông A đã nhận  hối lộ"}
    _, _, y, w = sentence_examples(articles, labels, evidence, EvidenceOptions().other_weight)
    assert list(zip(y, w, strict=True)) == [
        ("neutral", 0.3), ("neutral", 0.3), ("criticism", 1.0), ("neutral", 0.3),
        ("neutral", 1.0), ("neutral", 1.0),
    ]  # fmt: skip


def test_polar_article_without_its_phrase_gives_no_sentence() -> None:
    cues = load_classifier("cue-lexicon-1")
    articles = {"a": read_article("Kỷ luật cán bộ\nÔng A nhận hối lộ.", cues)}
    found = sentence_examples(articles, {"a": "criticism"}, {}, 0.3)
    assert found == ([], [], [], [])
