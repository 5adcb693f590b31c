"""No test article reaches training: a small real training, watched at every place it reads labels.

The labels given to it include test-part articles on purpose, and the corpus prefix it draws weak
labels from holds test articles and a near-duplicate of one; none of them may be read, fitted on,
weak-labelled or used to choose the operating point.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import nlp.evidence_training
from nlp.classify import LABELS
from nlp.datafiles import read_corpus, read_trainset_ids
from nlp.split import Split, read_split

PER_LABEL = 30
MAX_CORPUS = 1000  # the first 1,000 corpus articles hold 48 test-part articles


@pytest.fixture(scope="module")
def split() -> Split:
    """The committed split."""
    return read_split()


@pytest.fixture(scope="module")
def watched(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Train the evidence model (with weak labels) on a small sample; record what it touched."""
    from nlp.train import train

    work = tmp_path_factory.mktemp("protocol")
    with (shared_dir / "labels" / "train.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    sample = [r for label in LABELS for r in [x for x in rows if x["label"] == label][:PER_LABEL]]
    labels_csv = work / "labels.csv"
    with labels_csv.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(sample)
    seen: dict[str, set[str]] = {"read": set(), "sentence_fits": set(), "article_fits": set()}
    read_articles = nlp.evidence_training.read_articles
    fit_scorer = nlp.evidence_training.fit_sentence_scorer
    fit_parts = nlp.evidence_training.fit_parts
    held_out = nlp.evidence_training.held_out_log_proba

    def spy_read(texts, *args, **kwargs):
        seen["read"] |= set(texts)
        return read_articles(texts, *args, **kwargs)

    def spy_scorer(articles, labels, *args, **kwargs):
        seen["sentence_fits"] |= set(labels)
        return fit_scorer(articles, labels, *args, **kwargs)

    def spy_parts(articles, labels, *args, **kwargs):
        seen["article_fits"] |= set(labels)
        return fit_parts(articles, labels, *args, **kwargs)

    def spy_held_out(parts, articles, labels, *args, **kwargs):
        seen["article_fits"] |= set(labels)
        return held_out(parts, articles, labels, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nlp.evidence_training, "read_articles", spy_read)
        patch.setattr(nlp.evidence_training, "fit_sentence_scorer", spy_scorer)
        patch.setattr(nlp.evidence_training, "fit_parts", spy_parts)
        patch.setattr(nlp.evidence_training, "held_out_log_proba", spy_held_out)
        folder = train(
            "evidence",
            work / "watched-1",
            labels_csv=labels_csv,
            corpus=shared_dir / "corpus" / "vntc-politics-law.jsonl.gz",
            weak=True,
            max_corpus=MAX_CORPUS,
            max_weak=150,
            cv_folds=2,
            inner_folds=2,
        )
    corpus_prefix = [
        r["id"]
        for r, _ in zip(
            read_corpus(shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"),
            range(MAX_CORPUS),
            strict=False,
        )
    ]
    return {
        "folder": folder,
        "given": [r["id"] for r in sample],
        "prefix": corpus_prefix,
        **seen,
        "trainset": read_trainset_ids(folder / "trainset.csv.gz"),
    }


def in_test(ids: set[str] | list[str], split: Split) -> list[str]:
    """The ids that are test articles or near-duplicates of one."""
    groups = split.test_groups()
    return sorted(i for i in ids if split.group.get(i) in groups)


def test_the_sample_and_corpus_do_offer_test_articles(watched: dict, split: Split) -> None:
    assert in_test(watched["given"], split) and in_test(watched["prefix"], split)


def test_training_reads_no_test_article(watched: dict, split: Split) -> None:
    assert watched["read"] and in_test(watched["read"], split) == []


def test_sentence_scorers_never_fit_a_test_article(watched: dict, split: Split) -> None:
    assert watched["sentence_fits"] and in_test(watched["sentence_fits"], split) == []


def test_article_classifiers_never_fit_a_test_article(watched: dict, split: Split) -> None:
    assert watched["article_fits"] and in_test(watched["article_fits"], split) == []


def test_recorded_training_set_has_no_test_article(watched: dict, split: Split) -> None:
    assert in_test(watched["trainset"], split) == []


def test_no_listed_article_becomes_a_weak_label(watched: dict, split: Split) -> None:
    weak = {i for i, source in watched["trainset"].items() if source == "weak"}
    assert weak and not weak & split.listed()


def test_recipe_counts_the_test_labels_left_out(watched: dict, split: Split) -> None:
    recipe = json.loads((watched["folder"] / "recipe.json").read_text(encoding="utf-8"))
    left_out = len([i for i in watched["given"] if split.part[i] == "test"])
    assert recipe["training_set"]["test_labels_left_out"] == left_out > 0
