"""Out-of-fold figures by where the hand labels came from: dev.csv, and each pool of train.csv.

The rest that cross-validation runs on mixes dev.csv (400 articles) with train.csv's pools, and
their praise and criticism are not equally hard; the test part is train.csv's only. So
`python -m nlp.sources data/choose/oof/NAME.jsonl` (out-of-fold labels written by
`python -m nlp.choose --only NAME --predictions data/choose/oof`) prints each source's figures.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nlp.classify import POLAR
from nlp.metrics import metrics
from nlp.split import LABELS_DIR, label_rows


def label_sources(labels_dir: Path = LABELS_DIR) -> dict[str, str]:
    """Each hand-labelled id's source (nlp.split.label_rows): "dev", or "train" and its pool."""
    return {
        i: row["pool"] if row["pool"] == "dev" else f"{Path(row['source']).stem} {row['pool']}"
        for i, row in label_rows(labels_dir).items()
    }


def by_source(predictions: list[dict], sources: dict[str, str]) -> dict[str, dict]:
    """metrics() of the out-of-fold labels of each source, then of each labels file."""
    groups: dict[str, list[dict]] = {}
    for row in predictions:
        source = sources[row["id"]]
        file, _, pool = source.partition(" ")
        for group in (f"{file} (all)", source) if pool else (source,):
            groups.setdefault(group, []).append(row)
    return {
        group: metrics([r["hand_label"] for r in rows], [r["label"] for r in rows])
        for group, rows in sorted(groups.items())
    }


def table(figures: dict[str, dict]) -> str:
    """The figures as a Markdown table: articles, then per polar class support, P and R."""
    head = ["source", "articles"]
    for label in POLAR:
        head += [f"{label} (gold)", f"{label} P", f"{label} R"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for group, found in figures.items():
        cells = [group, str(found["n"])]
        for label in POLAR:
            c = found["per_class"][label]
            cells += [str(c["support"]), f"{c['precision']:.3f}", f"{c['recall']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the out-of-fold figures of a predictions file by the source of its hand labels."""
    parser = argparse.ArgumentParser(prog="python -m nlp.sources", description=main.__doc__)
    parser.add_argument("predictions", type=Path, help="a <name>.jsonl of nlp.choose")
    args = parser.parse_args(argv)
    if not args.predictions.is_file():
        parser.error(f"{args.predictions}: no such file (python -m nlp.choose --predictions DIR)")
    lines = args.predictions.read_text(encoding="utf-8").splitlines()
    predictions = [json.loads(line) for line in lines if line.strip()]
    print(table(by_source(predictions, label_sources())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
