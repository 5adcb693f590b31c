"""Evaluate a classifier on hand labels: macro-F1, per-class P/R/F1 and a confusion matrix."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from nlp.classify import (
    DEFAULT_MODEL,
    LABELS,
    Classifier,
    load_classifier,
    read_model_config,
    resolve_model,
)
from nlp.datafiles import (  # noqa: F401 (public names of nlp.evaluate, moved to their home)
    CORPUS_NAME,
    DEV_LABELS,
    data_dir,
    json_text,
    load_corpus_texts,
    load_evidence,
    load_labels,
    pool_priors,
    read_trainset_ids,
    sha256,
)
from nlp.metrics import (  # noqa: F401 (public names of nlp.evaluate, moved to their home)
    POLAR,
    evidence_hits,
    match_form,
    metrics,
    phrase_parts,
    precision_at_mix,
    sentence_holds,
)

DEFAULT_LABELS = DEV_LABELS


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
        "labels_sha256": sha256(labels_csv),
        "corpus": Path(corpus_path).name,
        "corpus_sha256": sha256(corpus_path),
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
        p.name: sha256(p)
        for p in sorted(model_dir.iterdir())
        if p.is_file()
        and p.suffix in {".json", ".yaml", ".yml", ".joblib", ".safetensors"}
        and not p.name.startswith(("metrics", "evaluation", "oof"))
    }
    if out is not None:
        Path(out).write_text(json_text(result), "utf-8")
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
        out = data_dir() / "evaluations" / f"{model_dir.name}-{args.labels.stem}.json"
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
