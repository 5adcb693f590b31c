"""Evaluate a classifier on hand labels: macro-F1, per-class P/R/F1 and a confusion matrix."""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO

from nlp.classify import (
    DEFAULT_MODEL,
    LABELS,
    Classifier,
    load_classifier,
    read_model_config,
    resolve_model,
)

DEFAULT_LABELS = Path("../shared/labels/dev.csv")
CORPUS_NAME = "vntc-politics-law.jsonl.gz"
POLAR = ("praise", "criticism")
_SPACE_RE = re.compile(r"\s+")


def _open_text(path: Path) -> IO[str]:
    """Open a plain or gzip-compressed UTF-8 text file."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def load_corpus_texts(corpus_path: Path, ids: Iterable[str]) -> dict[str, str]:
    """Return {id: text} for the wanted ids from a JSON-lines corpus (gzip or plain)."""
    wanted = set(ids)
    texts: dict[str, str] = {}
    with _open_text(Path(corpus_path)) as lines:
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            if record["id"] in wanted:
                texts[record["id"]] = record["text"]
                if len(texts) == len(wanted):
                    break
    return texts


def load_labels(labels_csv: Path) -> dict[str, str]:
    """Read an id,label CSV; every label must be one of LABELS."""
    with Path(labels_csv).open(encoding="utf-8", newline="") as f:
        gold = {row["id"]: row["label"].strip() for row in csv.DictReader(f)}
    bad = sorted({label for label in gold.values() if label not in LABELS})
    if bad:
        raise ValueError(f"{labels_csv}: unknown labels {bad}; expected {LABELS}")
    return gold


def load_evidence(labels_csv: Path) -> dict[str, str]:
    """Read the annotators' evidence phrases of a labels CSV (id -> phrase; none: {})."""
    with Path(labels_csv).open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return {r["id"]: r["evidence"].strip() for r in rows if (r.get("evidence") or "").strip()}


def metrics(gold: list[str], predicted: list[str]) -> dict:
    """Compute accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix."""
    matrix = {g: dict.fromkeys(LABELS, 0) for g in LABELS}
    for g, p in zip(gold, predicted, strict=True):
        matrix[g][p] += 1
    per_class = {}
    for label in LABELS:
        tp = matrix[label][label]
        n_pred = sum(matrix[g][label] for g in LABELS)
        n_gold = sum(matrix[label].values())
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": n_gold,
            "predicted": n_pred,
        }
    correct = sum(matrix[label][label] for label in LABELS)
    return {
        "n": len(gold),
        "accuracy": round(correct / len(gold), 4) if gold else 0.0,
        "macro_f1": round(sum(c["f1"] for c in per_class.values()) / len(LABELS), 4),
        "per_class": per_class,
        "confusion_matrix": matrix,
        "confusion_matrix_is": "confusion_matrix[gold label][predicted label] = article count",
    }


def match_form(text: str) -> str:
    """The form evidence is compared in: NFC, new-style tone marks, lower case, single spaces."""
    from nlp.text import normalize

    return _SPACE_RE.sub(" ", normalize(text).lower()).strip()


def phrase_parts(phrase: str) -> list[str]:
    """An annotator's evidence phrase as its sentences (nlp.text.sentences), in match_form."""
    from nlp.text import sentences

    return [form for form in (match_form(s) for s in sentences(phrase)) if form]


def sentence_holds(sentence: str, parts: Sequence[str]) -> bool:
    """Whether a sentence contains one of a phrase's sentences, both in match_form."""
    form = match_form(sentence)
    return any(part in form for part in parts)


def evidence_hits(
    gold: Mapping[str, str],
    predicted: Mapping[str, tuple[str, Sequence[str]]],
    phrases: Mapping[str, str],
) -> dict:
    """How often a model's evidence sentences hold the annotator's evidence phrase, per class.

    Over the praise / criticism articles with a phrase: a hit is an article whose evidence
    sentences (predicted[id] = (label, evidence)) include one that contains one of the phrase's
    sentences (sentence_holds). `hit_rate` counts the articles the model gave their gold label
    (the evidence an analyst reads next to a right label); `hit_rate_all` counts them all, a
    wrong label counting as a miss.
    """
    out = {}
    for label in POLAR:
        ids = [i for i in sorted(phrases) if gold.get(i) == label and i in predicted]
        right = [i for i in ids if predicted[i][0] == label]
        hits = [
            i
            for i in right
            if any(sentence_holds(s, phrase_parts(phrases[i])) for s in predicted[i][1])
        ]
        out[label] = {
            "articles": len(ids),
            "labelled_so": len(right),
            "hits": len(hits),
            "hit_rate": round(len(hits) / len(right), 4) if right else 0.0,
            "hit_rate_all": round(len(hits) / len(ids), 4) if ids else 0.0,
        }
    return out


def pool_priors(labels_csv: Path, pool: str = "random") -> dict:
    """The label mix of one pool of a labels CSV (the random pool: what a nightly run sees)."""
    with Path(labels_csv).open(encoding="utf-8", newline="") as f:
        found = [r["label"].strip() for r in csv.DictReader(f) if r.get("pool") == pool]
    if not found:
        raise ValueError(f"{labels_csv} has no articles of pool {pool!r}")
    counts = {label: found.count(label) for label in LABELS}
    return {
        "pool": pool,
        "counts": counts,
        "priors": {label: round(n / len(found), 6) for label, n in counts.items()},
    }


def precision_at_mix(
    confusion: Mapping[str, Mapping[str, int]], priors: Mapping[str, float]
) -> dict:
    """Praise and criticism precision if articles came in the priors' label mix.

    Each gold class's prediction rates (a row of the confusion matrix over its total) are
    weighted by that class's prior: precision(c) = prior(c) rate(c->c) / sum_g prior(g) rate(g->c).
    """
    rate = {}
    for g in LABELS:
        total = sum(confusion[g].values())
        rate[g] = {p: confusion[g][p] / total if total else 0.0 for p in LABELS}
    out = {}
    for label in POLAR:
        shown = sum(priors[g] * rate[g][label] for g in LABELS)
        out[label] = round(priors[label] * rate[label][label] / shown, 4) if shown else 0.0
    return out


def _sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file, to pin which data a metric came from."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def evaluate(classifier: Classifier, labels_csv: Path, corpus_path: Path) -> dict:
    """Classify every labelled article of the corpus and return the metrics dict."""
    gold = load_labels(labels_csv)
    texts = load_corpus_texts(corpus_path, gold)
    missing = sorted(set(gold) - set(texts))
    if missing:
        raise ValueError(f"{len(missing)} labelled ids are not in {corpus_path}, e.g. {missing[0]}")
    ids = sorted(gold)
    predicted = [classifier.classify(texts[i]).label for i in ids]
    result = {"model_id": classifier.model_id}
    result.update(metrics([gold[i] for i in ids], predicted))
    result["data"] = {
        "labels": Path(labels_csv).name,
        "labels_sha256": _sha256(labels_csv),
        "corpus": Path(corpus_path).name,
        "corpus_sha256": _sha256(corpus_path),
    }
    return result


class TrainedOnLabelsError(ValueError):
    """Raised when a model would be evaluated on articles it was trained on."""


def training_overlap(model_dir: Path, ids: Iterable[str]) -> dict[str, list[str]]:
    """Return the given ids a model was trained on, by source (hand, weak); {} if none known."""
    config = read_model_config(model_dir)
    trainset = Path(model_dir) / str(config.get("trainset", "trainset.csv.gz"))
    if not trainset.is_file():
        return {}
    from nlp.trainset import read_trainset_ids

    sources = read_trainset_ids(trainset)
    out: dict[str, list[str]] = {}
    for article_id in sorted(set(ids)):
        if article_id in sources:
            out.setdefault(sources[article_id], []).append(article_id)
    return out


def evaluate_model(
    model: str | Path | None,
    labels_csv: Path,
    corpus_path: Path,
    out: Path | None = None,
    allow_trained: bool = False,
) -> tuple[dict, str]:
    """Evaluate a model id or folder on an id,label CSV; return the metrics and a text report.

    A trained model is refused labels it was trained on (its cross-validated figures are in its
    metrics.json); with allow_trained the figures are computed but marked in-sample, and the
    articles it never saw are also scored on their own. out: where to write the JSON.
    """
    model_dir = resolve_model(DEFAULT_MODEL if model is None else model)
    gold = load_labels(labels_csv)
    overlap = training_overlap(model_dir, gold)
    n_trained = sum(len(v) for v in overlap.values())
    if n_trained and not allow_trained:
        counts = ", ".join(f"{len(v)} {k}-labelled" for k, v in sorted(overlap.items()))
        raise TrainedOnLabelsError(
            f"{model_dir.name} was trained on {n_trained} of these {len(gold)} articles "
            f"({counts}); its cross-validated figures are in {model_dir / 'metrics.json'}. "
            "Evaluate on labels it has not seen, or pass allow_trained=True (--allow-trained) "
            "for figures marked in-sample."
        )
    classifier = load_classifier(model_dir)
    result = evaluate(classifier, labels_csv, corpus_path)
    if n_trained:
        seen = {i for ids in overlap.values() for i in ids}
        result["in_sample"] = {
            "warning": "IN-SAMPLE: the model was trained on some of these articles; "
            "these figures overstate its quality",
            "trained_articles": {k: len(v) for k, v in sorted(overlap.items())},
        }
        unseen = sorted(set(gold) - seen)
        if unseen:
            texts = load_corpus_texts(corpus_path, unseen)
            predicted = [classifier.classify(texts[i]).label for i in unseen]
            result["unseen_only"] = metrics([gold[i] for i in unseen], predicted)
    result["model_files_sha256"] = {
        p.name: _sha256(p)
        for p in sorted(model_dir.iterdir())
        if p.is_file()
        and p.suffix in {".json", ".yaml", ".yml", ".joblib", ".safetensors"}
        and not p.name.startswith(("metrics", "evaluation", "oof"))
    }
    if out is not None:
        Path(out).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return result, report(result)


def report(result: dict) -> str:
    """A plain-text report of a metrics dict: macro-F1, per-class P/R/F1, confusion matrix."""
    out = []
    if "in_sample" in result:
        out.append("!! " + result["in_sample"]["warning"] + " !!")
    out.append(
        f"model {result.get('model_id', '?')}  articles {result['n']}  "
        f"macro-F1 {result['macro_f1']:.3f}  accuracy {result['accuracy']:.3f}"
    )
    out.append(f"{'class':<10} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}")
    for label in LABELS:
        c = result["per_class"][label]
        out.append(
            f"{label:<10} {c['precision']:>9.3f} {c['recall']:>7.3f} {c['f1']:>6.3f} "
            f"{c['support']:>8}"
        )
    out.append("confusion (rows: gold, columns: predicted)")
    out.append(f"{'':<10} " + " ".join(f"{label:>9}" for label in LABELS))
    for gold in LABELS:
        row = result["confusion_matrix"][gold]
        out.append(f"{gold:<10} " + " ".join(f"{row[p]:>9}" for p in LABELS))
    if "unseen_only" in result:
        unseen = result["unseen_only"]
        out.append(
            f"articles the model never trained on: {unseen['n']}, "
            f"macro-F1 {unseen['macro_f1']:.3f}, accuracy {unseen['accuracy']:.3f}"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Evaluate a model on hand labels: print a report and write the metrics as JSON."""
    parser = argparse.ArgumentParser(prog="python -m nlp.evaluate", description=main.__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model id or model folder")
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="id,label CSV")
    parser.add_argument(
        "--corpus", type=Path, help=f"JSON-lines corpus (default: ../corpus/{CORPUS_NAME})"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write the JSON (default: evaluations/<model>-<labels>.json under the data "
        "folder, $CONGVU_DATA_DIR or data/; never inside models/ unless given here)",
    )
    parser.add_argument("--no-write", action="store_true", help="only print the report")
    parser.add_argument(
        "--allow-trained",
        action="store_true",
        help="evaluate even on articles the model was trained on (marked in-sample)",
    )
    args = parser.parse_args(argv)
    corpus = args.corpus or args.labels.parent.parent / "corpus" / CORPUS_NAME
    for path in (args.labels, corpus):
        if not path.is_file():
            parser.error(f"{path} not found; pass --labels and --corpus (shared data: ../shared)")
    model_dir = resolve_model(args.model)
    out = args.out
    if out is None and not args.no_write:
        from pipelines.paths import DataPaths

        out = DataPaths.default().root / "evaluations" / f"{model_dir.name}-{args.labels.stem}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
    try:
        _, text = evaluate_model(
            model_dir, args.labels, corpus, None if args.no_write else out, args.allow_trained
        )
    except TrainedOnLabelsError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    print(text)
    if not args.no_write:
        print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
