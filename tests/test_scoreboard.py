"""The test-part scoreboard: its measures, README's table, and the default model's floors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp.classify import (
    DEFAULT_MODEL,
    available_models,
    mix_precision_ranges,
    models_dir,
    precision_at_nightly_mix,
    read_scoreboard,
)
from nlp.evaluate import evidence_hits, load_corpus_texts, pool_priors, precision_at_mix
from nlp.model_tables import README, card_block, readme_table, with_table
from nlp.scoreboard import (
    frozen_test_rows,
    kept_where_not_built,
    score_model,
    split_era_models,
    trained_on,
    write_test_sections,
)
from nlp.split import read_split
from nlp.train import DEFAULT_CORPUS

# The default model's figures on the frozen test part as models/scoreboard.json records them
# (evidence-lr-1: 0.6751, 0.8444, 0.3438), less 0.005. They are below the targets (0.80,
# 0.88, 0.60), which no model here reaches. Raise them when a better default is released; never
# lower them.
MACRO_F1_FLOOR = 0.6751 - 0.005
CRITICISM_RECALL_FLOOR = 0.8444 - 0.005
PRAISE_F1_FLOOR = 0.3438 - 0.005


def test_readme_table_is_what_the_scoreboard_writes() -> None:
    readme = README.read_text(encoding="utf-8")
    assert with_table(readme, readme_table(read_scoreboard())) == readme


def test_new_model_cards_hold_what_the_scoreboard_writes() -> None:
    cards = {m: models_dir() / m / "README.md" for m in split_era_models()}
    for model, card in cards.items():
        text = card.read_text(encoding="utf-8")
        assert with_table(text, card_block(model)) == text, model
    assert "evidence-lr-1" in cards


def test_every_model_is_on_the_scoreboard() -> None:
    assert sorted(e["model_id"] for e in read_scoreboard()["models"]) == available_models()


def test_models_are_scored_only_on_test_articles_they_never_saw() -> None:
    split = read_split()
    test_ids = [i for i, part in split.part.items() if part == "test" and i in split.labels]
    for entry in read_scoreboard()["models"]:
        trained = trained_on(models_dir() / entry["model_id"])
        groups = {split.group.get(i, i) for i in trained}
        unseen = [i for i in test_ids if split.group[i] not in groups]
        assert (entry["model_id"], entry.get("n", len(unseen))) == (entry["model_id"], len(unseen))
        assert sum(entry["left_out"].values()) == len(test_ids) - len(unseen)


@pytest.fixture(scope="module")
def default_on_test(shared_dir: Path) -> dict:
    """The default model's test figures, recomputed (a few seconds)."""
    split = read_split()
    rows = frozen_test_rows(split, shared_dir / "labels")
    texts = load_corpus_texts(DEFAULT_CORPUS, [r["id"] for r in rows])
    priors = pool_priors(shared_dir / "labels" / "train.csv")
    return score_model(DEFAULT_MODEL, rows, texts, split, priors)


def test_default_test_figures_match_the_scoreboard(default_on_test: dict) -> None:
    committed = next(e for e in read_scoreboard()["models"] if e["model_id"] == DEFAULT_MODEL)
    assert default_on_test["confusion_matrix"] == committed["confusion_matrix"]


def test_default_macro_f1_on_test_meets_floor(default_on_test: dict) -> None:
    assert default_on_test["macro_f1"] >= MACRO_F1_FLOOR


def test_default_criticism_recall_on_test_meets_floor(default_on_test: dict) -> None:
    assert default_on_test["per_class"]["criticism"]["recall"] >= CRITICISM_RECALL_FLOOR


def test_default_praise_f1_on_test_meets_floor(default_on_test: dict) -> None:
    assert default_on_test["per_class"]["praise"]["f1"] >= PRAISE_F1_FLOOR


def test_precision_at_mix_reweights_rows_by_priors() -> None:
    confusion = {
        "praise": {"praise": 8, "criticism": 0, "neutral": 2},
        "criticism": {"praise": 0, "criticism": 9, "neutral": 1},
        "neutral": {"praise": 10, "criticism": 10, "neutral": 80},
    }
    priors = {"praise": 0.01, "criticism": 0.19, "neutral": 0.8}
    found = precision_at_mix(confusion, priors)
    # praise: 0.01 * 0.8 / (0.01 * 0.8 + 0.8 * 0.1); criticism: 0.19 * 0.9 / (0.171 + 0.08)
    assert found == {"praise": round(0.008 / 0.088, 4), "criticism": round(0.171 / 0.251, 4)}


MIX_CONFUSION = {
    "praise": {"praise": 8, "criticism": 0, "neutral": 2},
    "criticism": {"praise": 0, "criticism": 9, "neutral": 1},
    "neutral": {"praise": 10, "criticism": 10, "neutral": 80},
}
MIX_COUNTS = {"praise": 1, "criticism": 19, "neutral": 80}


def scaled(counts: dict, times: int) -> dict:
    """Counts (or confusion rows) as if measured on times as many articles."""
    return {k: scaled(v, times) if isinstance(v, dict) else v * times for k, v in counts.items()}


def test_mix_precision_range_narrows_to_the_estimate_on_many_articles() -> None:
    estimate = precision_at_mix(MIX_CONFUSION, {k: v / 100 for k, v in MIX_COUNTS.items()})
    ranges = mix_precision_ranges(scaled(MIX_CONFUSION, 10_000), scaled(MIX_COUNTS, 10_000))
    assert {k: (round(lo, 2), round(hi, 2)) for k, (lo, hi) in ranges.items()} == {
        k: (round(v, 2), round(v, 2)) for k, v in estimate.items()
    }


def test_mix_precision_range_is_wide_on_one_praise_article_in_a_hundred() -> None:
    low, high = mix_precision_ranges(MIX_CONFUSION, MIX_COUNTS)["praise"]
    # 0.091 on these counts, but with one praise article in the mix it spans about 0.01 to 0.27
    assert (low < 0.03, high > 0.2) == (True, True)


def test_precision_of_the_default_at_the_nightly_mix_has_a_range_around_it() -> None:
    found = precision_at_nightly_mix(DEFAULT_MODEL)
    assert found is not None
    assert all(p.low < p.estimate < p.high for p in found.values()), found


def test_evidence_hit_ignores_case_spacing_and_tone_style() -> None:
    gold = {"a": "criticism"}
    shown = {"a": ("criticism", ["Cán bộ xã  GÂY PHIỀN HÀ khi hòa giải, nhũng nhiễu dân."])}
    phrase = {"a": "cán bộ xã gây phiền hà khi hoà giải"}
    assert evidence_hits(gold, shown, phrase)["criticism"]["hits"] == 1


def test_evidence_phrase_of_two_sentences_hits_with_one() -> None:
    gold = {"a": "praise"}
    shown = {"a": ("praise", ["Anh đã cứu sống ba em nhỏ."])}
    phrase = {"a": "Trời mưa to. Anh đã cứu sống ba em nhỏ."}
    assert evidence_hits(gold, shown, phrase)["praise"]["hit_rate"] == 1.0


def test_evidence_of_a_wrong_label_is_a_miss_only_in_hit_rate_all() -> None:
    gold = {"a": "praise", "b": "praise"}
    shown = {"a": ("praise", ["Anh đã cứu sống ba em nhỏ."]), "b": ("neutral", [])}
    phrase = {"a": "cứu sống ba em nhỏ", "b": "cứu sống"}
    found = evidence_hits(gold, shown, phrase)["praise"]
    assert (found["hit_rate"], found["hit_rate_all"]) == (1.0, 0.5)


def split_era_folder(root: Path, model: str, metrics: dict) -> Path:
    """A model folder trained with the frozen split, holding the given metrics.json."""
    folder = root / model
    folder.mkdir()
    (folder / "recipe.json").write_text(json.dumps({"data": {"split": "models/split.csv"}}))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def test_a_released_models_test_figures_are_written_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONGVU_MODELS_DIR", str(tmp_path))
    released = split_era_folder(tmp_path, "m-1", {"cv": {}, "test": {"macro_f1": 0.5}})
    before = (released / "metrics.json").read_bytes()
    new = split_era_folder(tmp_path, "m-2", {"cv": {}})
    board = {
        "models": [{"model_id": m, "status": "scored", "macro_f1": 0.6} for m in ("m-1", "m-2")]
    }
    assert write_test_sections(board) == [new / "metrics.json"]
    assert (released / "metrics.json").read_bytes() == before
    assert json.loads((new / "metrics.json").read_text())["test"]["macro_f1"] == 0.6


def test_a_model_not_built_here_keeps_its_committed_figures(tmp_path: Path) -> None:
    committed = tmp_path / "scoreboard.json"
    scored = {"model_id": "big-1", "status": "scored", "macro_f1": 0.5}
    committed.write_text(json.dumps({"models": [scored]}))
    missing = {"model_id": "big-1", "status": "not built", "reason": "no weights"}
    assert kept_where_not_built([missing], committed) == [scored]
