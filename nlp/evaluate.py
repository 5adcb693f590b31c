"""Evaluate a classifier on hand labels: macro-F1, per-class P/R/F1 and a confusion matrix."""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from nlp.classify import DEFAULT_MODEL, LABELS, Classifier, load_classifier, models_dir

DEFAULT_LABELS = Path("../shared/labels/dev.csv")
CORPUS_NAME = "vntc-politics-law.jsonl.gz"


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


def main(argv: list[str] | None = None) -> int:
    """Evaluate a model on hand labels, print the metrics and write them to metrics.json."""
    parser = argparse.ArgumentParser(prog="python -m nlp.evaluate", description=main.__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model id or model folder")
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="id,label CSV")
    parser.add_argument(
        "--corpus", type=Path, help=f"JSON-lines corpus (default: ../corpus/{CORPUS_NAME})"
    )
    parser.add_argument(
        "--out", type=Path, help="where to write the JSON (default: <model folder>/metrics.json)"
    )
    parser.add_argument("--no-write", action="store_true", help="only print the metrics")
    args = parser.parse_args(argv)
    corpus = args.corpus or args.labels.parent.parent / "corpus" / CORPUS_NAME
    for path in (args.labels, corpus):
        if not path.is_file():
            parser.error(f"{path} not found; pass --labels and --corpus (shared data: ../shared)")
    classifier = load_classifier(args.model)
    result = evaluate(classifier, args.labels, corpus)
    model_path = Path(args.model)
    model_dir = model_path if model_path.is_dir() else models_dir() / str(args.model)
    result["model_files_sha256"] = {
        p.name: _sha256(p)
        for p in sorted(model_dir.iterdir())
        if p.is_file() and p.name != "metrics.json" and p.suffix in {".json", ".yaml", ".yml"}
    }
    text = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    sys.stdout.write(text)
    if not args.no_write:
        out = args.out or model_dir / "metrics.json"
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
