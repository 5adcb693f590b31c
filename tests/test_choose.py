"""nlp.choose: candidates cross-validated apart are chosen among as one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp.choose import CANDIDATES, main, reading_groups, write_predictions
from nlp.classify import LABELS, load_classifier, models_dir
from nlp.evidence import EvidenceOptions
from nlp.evidence_training import cross_validate, read_articles
from nlp.sources import by_source, label_sources
from nlp.split import read_split
from nlp.trainset import WeakRecipe, build_trainset
from tests.test_review import hand_sample


def candidate(name: str, macro_f1: float, criticism_recall: float) -> dict:
    """One row as nlp.choose writes it."""
    figures = {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    return {
        "candidate": name,
        "options": {},
        "macro_f1": macro_f1,
        "per_class": {
            "praise": figures,
            "criticism": {**figures, "recall": criticism_recall},
            "neutral": figures,
        },
        "argmax_macro_f1": macro_f1,
        "evidence_hit_rate": {"praise": 0.5, "criticism": 0.5},
        "precision_at_nightly_mix": None,
    }


def output(path: Path, command: str, *rows: dict) -> Path:
    """An earlier output of nlp.choose."""
    doc = {"command": command, "candidates": list(rows), "chosen": rows[0]["candidate"]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_with_chooses_among_earlier_runs_and_keeps_their_commands(tmp_path: Path) -> None:
    first = output(
        tmp_path / "a.json", "python -m nlp.choose --out a.json", candidate("a", 0.7, 0.9)
    )
    second = output(
        tmp_path / "b.json",
        "python -m nlp.choose --only b --only c --out b.json",
        candidate("b", 0.75, 0.9),
        candidate("c", 0.8, 0.85),  # the best macro-F1, but below the criticism recall floor
    )
    out = tmp_path / "merged.json"
    assert main(["--with", str(first), "--with", str(second), "--out", str(out)]) == 0
    merged = json.loads(out.read_text(encoding="utf-8"))
    assert merged["chosen"] == "b"
    assert [(r["candidate"], r["from"]) for r in merged["candidates"]] == [
        ("a", "python -m nlp.choose --out a.json"),
        ("b", "python -m nlp.choose --only b --only c --out b.json"),
        ("c", "python -m nlp.choose --only b --only c --out b.json"),
    ]
    again = tmp_path / "again.json"
    assert main(["--with", str(out), "--out", str(again)]) == 0
    assert json.loads(again.read_text(encoding="utf-8"))["candidates"] == merged["candidates"]


def test_a_candidate_given_twice_or_a_missing_file_is_refused(tmp_path: Path) -> None:
    first = output(
        tmp_path / "a.json", "python -m nlp.choose --out a.json", candidate("a", 0.7, 0.9)
    )
    with pytest.raises(SystemExit):
        main(["--with", str(first), "--with", str(first), "--out", str(tmp_path / "x.json")])
    with pytest.raises(SystemExit):
        main(["--with", str(tmp_path / "none.json"), "--out", str(tmp_path / "y.json")])
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "y.json").exists()


def test_candidates_are_read_once_per_embedded_text() -> None:
    names = ["all", "e5-head", "e5-pieces", "e5-head-argmax", "ensemble-all-e5-pieces"]
    assert reading_groups(names) == {
        (0, "head"): ["all"],
        (600, "head"): ["e5-head", "e5-head-argmax"],
        (600, "pieces"): ["e5-pieces", "ensemble-all-e5-pieces"],
    }


def test_every_candidate_s_cross_validation_is_committed() -> None:
    record = json.loads((models_dir() / "candidates.json").read_text(encoding="utf-8"))
    assert sorted(r["candidate"] for r in record["candidates"]) == sorted(CANDIDATES)


@pytest.fixture(scope="module")
def predictions(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """Out-of-fold labels of a small cross-validation (12 rest labels a class), as written."""
    work = tmp_path_factory.mktemp("choose")
    labels = hand_sample(shared_dir, work)
    corpus = shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"
    trainset = build_trainset(labels, corpus, WeakRecipe(), 1, 0, None, read_split())
    articles = read_articles(trainset.texts, load_classifier("cue-lexicon-1"))
    cv = cross_validate(trainset, articles, EvidenceOptions(cv_folds=2, inner_folds=2))
    write_predictions(work / "all.jsonl", trainset, cv["held_out"])
    lines = (work / "all.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_predictions_hold_every_hand_label_once(predictions: list[dict]) -> None:
    assert sorted(p["hand_label"] for p in predictions) == sorted(LABELS * 12)


def test_predictions_give_evidence_for_praise_and_criticism_only(predictions: list[dict]) -> None:
    shown = {(p["label"], bool(p["evidence"])) for p in predictions}
    assert shown <= {("praise", True), ("criticism", True), ("neutral", False)}


def test_out_of_fold_figures_are_split_by_where_the_labels_came_from(shared_dir: Path) -> None:
    sources = label_sources(shared_dir / "labels")
    dev = next(i for i, source in sources.items() if source == "dev")
    random = next(i for i, source in sources.items() if source == "train random")
    predictions = [
        {"id": dev, "hand_label": "criticism", "label": "criticism"},
        {"id": random, "hand_label": "criticism", "label": "neutral"},
    ]
    figures = by_source(predictions, sources)
    recall = {group: found["per_class"]["criticism"]["recall"] for group, found in figures.items()}
    assert recall == {"dev": 1.0, "train (all)": 0.0, "train random": 0.0}
