"""Every model on the frozen test part, and README's model table, written from the metrics files.

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
metrics.json, candidates.json and speed.json; tests/test_scoreboard.py checks that they hold what
it writes.
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
    DEFAULT_MODEL,
    LABELS,
    ModelNotFoundError,
    available_models,
    load_classifier,
    models_dir,
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
from nlp.split import TEST_SOURCE, Split, read_split

SCOREBOARD = "scoreboard.json"
README = Path(__file__).resolve().parents[1] / "README.md"
TABLE_START = "<!-- model table: written by `python -m nlp.scoreboard --readme`; do not edit -->"
TABLE_END = "<!-- end of the model table -->"


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
    """Put each split-era model's test figures into its own metrics.json."""
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
        doc["test"] = {k: v for k, v in entry.items() if k != "model_id"}
        path.write_text(json_text(doc), encoding="utf-8")
        written.append(path)
    return written


def _cv_figure(model: str) -> str:
    """The cross-validated macro-F1 a model's metrics.json gives, and on which labels."""
    path = models_dir() / model / "metrics.json"
    if not path.is_file():
        return "-"
    doc = json.loads(path.read_text(encoding="utf-8"))
    if "cross_validated" in doc:
        cv = doc["cross_validated"]["at_operating_point"]
        return f"{cv['macro_f1']:.3f} (rest, {cv['n']:,})"
    if str(doc.get("evaluation", "")).startswith("cross-validation"):
        return f"{doc['macro_f1']:.3f} (dev, {doc['n']})"
    return f"{doc['macro_f1']:.3f} (dev, in-sample)"


def readme_table(board: dict[str, Any]) -> str:
    """The model table README.md shows, from the scoreboard and the metrics files."""
    head = (
        "| model | test macro-F1 | criticism P / R | praise P / R / F1 | evidence hit "
        "(praise / criticism) | precision at the nightly mix (praise / criticism) | test articles "
        "scored | macro-F1 on the test articles no model trained on | cross-validated macro-F1 |"
        "\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    lines = [TABLE_START, "", head]
    for entry in sorted(board["models"], key=lambda e: e["model_id"] != DEFAULT_MODEL):
        is_default = entry["model_id"] == DEFAULT_MODEL
        name = f"`{entry['model_id']}`" + (" (default)" if is_default else "")
        if entry.get("status") != "scored":
            lines.append(f"| {name} | not built | | | | | | | {_cv_figure(entry['model_id'])} |")
            continue
        c, p = (entry["per_class"][k] for k in ("criticism", "praise"))
        hits = entry["evidence_hits"]
        mix = entry["precision_at_nightly_mix"]
        same = entry["articles_no_model_trained_on"]
        lines.append(
            f"| {name} | {entry['macro_f1']:.3f} | {c['precision']:.3f} / {c['recall']:.3f} | "
            f"{p['precision']:.3f} / {p['recall']:.3f} / {p['f1']:.3f} | "
            f"{hits['praise']['hit_rate']:.2f} / {hits['criticism']['hit_rate']:.2f} | "
            f"{mix['praise']:.3f} / {mix['criticism']:.3f} | "
            f"{entry['n']} of {entry['test_articles']} | "
            f"{same['macro_f1']:.3f} ({same['n']}) | {_cv_figure(entry['model_id'])} |"
        )
    lines += ["", TABLE_END]
    return "\n".join(lines)


def with_table(readme: str, table: str) -> str:
    """A README's text with its generated block (between the markers) replaced."""
    start, end = readme.find(TABLE_START), readme.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"the README lacks the markers {TABLE_START!r} ... {TABLE_END!r}")
    return readme[:start] + table + readme[end + len(TABLE_END) :]


def _class_rows(found: dict[str, Any]) -> list[str]:
    """Markdown rows of per-class precision / recall / F1 / support."""
    return [
        f"| {label} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |"
        for label, c in found["per_class"].items()
    ]


def _confusion(found: dict[str, Any]) -> str:
    """The confusion matrix in one line: gold -> predicted praise / criticism / neutral."""
    rows = found["confusion_matrix"]
    return "; ".join(f"{g} {' / '.join(str(rows[g][p]) for p in LABELS)}" for g in LABELS)


def card_block(model: str) -> str:
    """The figures of a split-era model's card, from its metrics.json (and candidates, speed)."""
    folder = models_dir() / model
    doc = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    config = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    cv = doc["cross_validated"]
    chosen = cv["at_operating_point"]
    head = "| class | precision | recall | F1 | support |\n| --- | --- | --- | --- | --- |"
    out = [TABLE_START, ""]
    test = doc.get("test")
    if test:
        hits = test["evidence_hits"]
        mix = test["precision_at_nightly_mix"]
        pool = test["random_pool_articles"]
        out += [
            f"**On the frozen test part** ({test['n']} articles, evaluated once after the choice "
            f"was committed; `python -m nlp.scoreboard`): macro-F1 **{test['macro_f1']:.3f}**, "
            f"accuracy {test['accuracy']:.3f}.",
            "",
            head,
            *_class_rows(test),
            "",
            f"Confusion (gold: predicted praise / criticism / neutral): {_confusion(test)}.",
            "",
            f"- Evidence hit rate (articles labelled right whose evidence sentences hold the "
            f"annotator's phrase): praise {hits['praise']['hits']} of "
            f"{hits['praise']['labelled_so']} ({hits['praise']['hit_rate']:.2f}), criticism "
            f"{hits['criticism']['hits']} of {hits['criticism']['labelled_so']} "
            f"({hits['criticism']['hit_rate']:.2f}); counting wrong labels as misses: "
            f"{hits['praise']['hit_rate_all']:.2f} and {hits['criticism']['hit_rate_all']:.2f}.",
            f"- Precision at the nightly label mix (see README): praise {mix['praise']:.3f}, "
            f"criticism {mix['criticism']:.3f}. Of the {pool['articles']} test articles from "
            f"the random pool, it called {pool['praise']['labelled_so']} praise "
            f"({pool['praise']['right']} right) and {pool['criticism']['labelled_so']} criticism "
            f"({pool['criticism']['right']} right).",
            "",
        ]
    hits = cv["evidence_hits"]
    out += [
        f"**Cross-validated on the rest** ({chosen['n']} hand labels, the split's 5 folds, "
        f"operating point chosen inside each fold): macro-F1 {chosen['macro_f1']:.3f} "
        f"(plain argmax: {cv['argmax']['macro_f1']:.3f}).",
        "",
        head,
        *_class_rows(chosen),
        "",
        f"Confusion: {_confusion(chosen)}. Evidence hit rate: praise "
        f"{hits['praise']['hit_rate']:.2f}, criticism {hits['criticism']['hit_rate']:.2f}.",
        "",
        f"Operating point of the released model (chosen on the rest): criticism bias "
        f"{config['biases']['criticism']:.3f}, praise bias {config['biases']['praise']:.3f}, "
        f"temperature {config['temperature']:.3f}.",
    ]
    candidates = folder / "candidates.json"
    if candidates.is_file():
        found = json.loads(candidates.read_text(encoding="utf-8"))
        out += [
            "",
            f"**Candidates** (`{found['command']}`; chosen: `{found['chosen']}`):",
            "",
            "| candidate | options | macro-F1 | criticism P / R | praise P / R / F1 | evidence "
            "hit (praise / criticism) |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for r in found["candidates"]:
            c, p = r["per_class"]["criticism"], r["per_class"]["praise"]
            hit = r["evidence_hit_rate"]
            options = ", ".join(f"{k}={v}" for k, v in r["options"].items()) or "defaults"
            out.append(
                f"| {r['candidate']} | {options} | {r['macro_f1']:.3f} | {c['precision']:.3f} / "
                f"{c['recall']:.3f} | {p['precision']:.3f} / {p['recall']:.3f} / {p['f1']:.3f} | "
                f"{hit['praise']:.2f} / {hit['criticism']:.2f} |"
            )
    speed = folder / "speed.json"
    if speed.is_file():
        found = json.loads(speed.read_text(encoding="utf-8"))
        out += [
            "",
            f"**Speed** (`{found['command']}`, {found['machine']}): enrichment "
            f"{found['articles_per_second']:.1f} articles/s over {found['articles']} corpus "
            f"articles; with the model load ({found['load_seconds']:.1f} s) included "
            f"{found['with_load_per_second']:.1f} articles/s.",
        ]
    return "\n".join([*out, "", TABLE_END])


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


def read_scoreboard() -> dict[str, Any]:
    """The committed scoreboard."""
    path = models_dir() / SCOREBOARD
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; write it with `python -m nlp.scoreboard`")
    return json.loads(path.read_text(encoding="utf-8"))


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
