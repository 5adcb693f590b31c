"""README's model table and the split-era model cards' figures, written from the metrics files.

`python -m nlp.scoreboard --readme` writes them; tests/test_scoreboard.py checks that README.md
and the cards hold what these functions write.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nlp.classify import DEFAULT_MODEL, LABELS, models_dir

README = Path(__file__).resolve().parents[1] / "README.md"
TABLE_START = "<!-- model table: written by `python -m nlp.scoreboard --readme`; do not edit -->"
TABLE_END = "<!-- end of the model table -->"


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
