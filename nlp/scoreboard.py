"""Every model on the frozen test part; `--readme` writes the tables of nlp.model_tables.

`python -m nlp.scoreboard` classifies the test part of models/split.csv with every model in
models/ and writes models/scoreboard.json: per model, macro-F1, per-class precision / recall / F1,
the confusion matrix, the evidence hit rate and the precision at the nightly label mix. A model
trained with the split (its recipe names it) also gets these figures as "test" in its own
metrics.json; the released folders of older models are not touched.

Older models drew their weak labels before train.csv existed, so some test articles may be in
their training sets: each model is scored on the test articles it never trained on, neither the
article nor a near-duplicate of it, and the scoreboard says how many were left out and why.

`python -m nlp.scoreboard --readme` rewrites README.md's model table from models/scoreboard.json
and the models' metrics.json, and the figures block of each split-era model's card from its
metrics.json, candidates.json and speed.json (nlp/model_tables.py); tests/test_scoreboard.py
checks that they hold what it writes.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

from nlp.classify import (
    SCOREBOARD,
    ModelNotFoundError,
    available_models,
    load_classifier,
    models_dir,
    read_scoreboard,
)
from nlp.datafiles import (
    CORPUS,
    LABELS_DIR,
    json_text,
    load_corpus_texts,
    pool_priors,
    read_trainset_ids,
)
from nlp.metrics import POLAR, evidence_hits, metrics, precision_at_mix
from nlp.model_tables import README, card_block, readme_table, with_table
from nlp.split import TEST_SOURCE, Split, read_split


def frozen_test_rows(split: Split, labels_dir: Path = LABELS_DIR) -> list[dict[str, str]]:
    """The test part's rows of train.csv (id, label, evidence, pool)."""
    with (Path(labels_dir) / TEST_SOURCE).open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if split.part.get(r["id"]) == "test"]
    return sorted(rows, key=lambda r: r["id"])


def trained_on(model_dir: Path) -> dict[str, str]:
    """The ids a model folder records training on ({} for a model that trained on none)."""
    path = Path(model_dir) / "trainset.csv.gz"
    return read_trainset_ids(path) if path.is_file() else {}


def score_model(
    model: str,
    rows: list[dict[str, str]],
    texts: dict[str, str],
    split: Split,
    priors: dict,
    common: set[str] | None = None,
) -> dict[str, Any]:
    """One model's figures on the test articles it never trained on (nor a near-duplicate).

    common: the test articles no model trained on, scored apart so that models compare on the
    same articles.
    """
    model_dir = models_dir() / model
    trained = trained_on(model_dir)
    trained_groups = {split.group.get(i, i) for i in trained}
    left_out = {"hand": 0, "weak": 0, "near_duplicate_of_a_training_article": 0}
    scored = []
    for r in rows:
        if r["id"] in trained:
            left_out[trained[r["id"]]] += 1
        elif split.group[r["id"]] in trained_groups:
            left_out["near_duplicate_of_a_training_article"] += 1
        else:
            scored.append(r)
    out: dict[str, Any] = {"model_id": model, "test_articles": len(rows), "left_out": left_out}
    try:
        classifier = load_classifier(model_dir)
    except ModelNotFoundError as error:
        return out | {"status": "not built", "reason": str(error)}
    started = time.perf_counter()
    predicted = {r["id"]: classifier.classify(texts[r["id"]]) for r in scored}
    seconds = time.perf_counter() - started
    gold = {r["id"]: r["label"] for r in scored}
    found = metrics([gold[i] for i in sorted(gold)], [predicted[i].label for i in sorted(gold)])
    shown = {i: (p.label, p.evidence) for i, p in predicted.items()}
    same = sorted(common or [])
    on_common = metrics([gold[i] for i in same], [predicted[i].label for i in same])
    phrases = {r["id"]: r["evidence"] for r in scored if r["evidence"].strip()}
    random_pool = [r["id"] for r in scored if r["pool"] == priors["pool"]]
    return out | {
        "status": "scored",
        **found,
        "evidence_hits": evidence_hits(gold, shown, phrases),
        "precision_at_nightly_mix": precision_at_mix(found["confusion_matrix"], priors["priors"]),
        "random_pool_articles": {
            "articles": len(random_pool),
            **{
                label: {
                    "labelled_so": sum(predicted[i].label == label for i in random_pool),
                    "right": sum(predicted[i].label == label == gold[i] for i in random_pool),
                }
                for label in POLAR
            },
        },
        "articles_per_second_while_scoring": round(len(scored) / seconds, 1) if seconds else None,
        "articles_no_model_trained_on": {
            k: on_common[k] for k in ("n", "macro_f1", "per_class", "confusion_matrix")
        },
    }


def scoreboard(models: list[str] | None = None, labels_dir: Path = LABELS_DIR) -> dict[str, Any]:
    """Score every model (or the given ones) on the test part."""
    split = read_split()
    rows = frozen_test_rows(split, labels_dir)
    texts = load_corpus_texts(CORPUS, [r["id"] for r in rows])
    priors = pool_priors(Path(labels_dir) / TEST_SOURCE)
    chosen = models or available_models()
    trained_groups = {
        split.group.get(i, i) for model in chosen for i in trained_on(models_dir() / model)
    }
    common = {r["id"] for r in rows if split.group[r["id"]] not in trained_groups}
    board = []
    for model in chosen:
        print(f"scoring {model} on {len(rows)} test articles", file=sys.stderr, flush=True)
        board.append(score_model(model, rows, texts, split, priors, common))
    return {
        "what": (
            "each model on the frozen test part of models/split.csv (train.csv articles only), "
            "leaving out the articles it trained on and their near-duplicates"
        ),
        "written_by": "python -m nlp.scoreboard",
        "nightly_mix": {
            "method": (
                "class-conditional prediction rates on the test articles (confusion-matrix rows), "
                "weighted by the label mix of train.csv's random pool, an unbiased corpus sample: "
                "precision(c) = prior(c) rate(c->c) / sum over gold g of prior(g) rate(g->c). The "
                "neutral test articles come mostly from the praise and uncertain pools, chosen "
                "because they look like praise or criticism, so their false-alarm rates are "
                "higher than a random neutral's: the estimate is pessimistic"
            ),
            **priors,
        },
        "evidence_hit_rate": (
            "praise / criticism test articles with an annotator's evidence phrase: share of those "
            "the model labels right whose evidence sentences hold the phrase (nlp.evaluate."
            "evidence_hits: NFC, new-style tone marks, lower case, single spaces; a phrase of "
            "several sentences is found when one of them is inside an evidence sentence); "
            "hit_rate_all counts a wrong label as a miss"
        ),
        "models": board,
    }


def write_test_sections(board: dict[str, Any]) -> list[Path]:
    """Put each split-era model's test figures into its own metrics.json, once.

    A released folder never changes: a metrics.json that already has its test figures keeps
    them (a rerun would only rewrite the scoring speed of the machine it ran on).
    """
    written = []
    for entry in board["models"]:
        folder = models_dir() / entry["model_id"]
        recipe = folder / "recipe.json"
        if entry.get("status") != "scored" or not recipe.is_file():
            continue
        data = json.loads(recipe.read_text(encoding="utf-8")).get("data", {})
        if data.get("split", "none") == "none":
            continue  # a folder from before the split (or rebuilt as one): not touched
        path = folder / "metrics.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        if "test" in doc:
            continue
        doc["test"] = {k: v for k, v in entry.items() if k != "model_id"}
        path.write_text(json_text(doc), encoding="utf-8")
        written.append(path)
    return written


def kept_where_not_built(entries: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    """The entries, each model not built here (large weights) keeping its committed figures."""
    if not path.is_file():
        return entries
    committed = {e["model_id"]: e for e in json.loads(path.read_text(encoding="utf-8"))["models"]}
    return [
        committed[e["model_id"]]
        if e.get("status") == "not built"
        and committed.get(e["model_id"], {}).get("status") == "scored"
        else e
        for e in entries
    ]


def split_era_models() -> list[str]:
    """The models trained with the frozen split (their recipe names it)."""
    out = []
    for model in available_models():
        recipe = models_dir() / model / "recipe.json"
        if recipe.is_file():
            data = json.loads(recipe.read_text(encoding="utf-8")).get("data", {})
            if data.get("split", "none") != "none":
                out.append(model)
    return out


def main(argv: list[str] | None = None) -> int:
    """Score every model on the test part (models/scoreboard.json), or rewrite README's table."""
    parser = argparse.ArgumentParser(prog="python -m nlp.scoreboard", description=main.__doc__)
    parser.add_argument("--readme", action="store_true", help="rewrite README.md's model table")
    parser.add_argument("--labels-dir", type=Path, default=LABELS_DIR)
    args = parser.parse_args(argv)
    if args.readme:
        README.write_text(
            with_table(README.read_text(encoding="utf-8"), readme_table(read_scoreboard())),
            encoding="utf-8",
        )
        print(f"wrote the model table into {README}")
        for model in split_era_models():
            card = models_dir() / model / "README.md"
            text = with_table(card.read_text(encoding="utf-8"), card_block(model))
            card.write_text(text, encoding="utf-8")
            print(f"wrote the figures of {card}")
        return 0
    board = scoreboard(labels_dir=args.labels_dir)
    path = models_dir() / SCOREBOARD
    board["models"] = kept_where_not_built(board["models"], path)
    path.write_text(json_text(board), encoding="utf-8")
    for written in write_test_sections(board):
        print(f"wrote the test figures into {written}", file=sys.stderr)
    for entry in board["models"]:
        if entry.get("status") == "scored":
            print(
                f"{entry['model_id']:<16} macro-F1 {entry['macro_f1']:.3f}  "
                + "  ".join(
                    f"{label} P {c['precision']:.3f} R {c['recall']:.3f} F1 {c['f1']:.3f}"
                    for label, c in entry["per_class"].items()
                )
                + f"  ({entry['n']} of {entry['test_articles']} test articles)"
            )
        else:
            print(f"{entry['model_id']:<16} {entry['status']}: {entry.get('reason', '')}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
