"""The analysts' labels (the view analyst_labels) as data to evaluate and train the models on."""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from nlp.classify import DEFAULT_MODEL, resolve_model
from nlp.datafiles import sha256
from pipelines.enrich import ARTICLE_TEXT, analysed
from pipelines.paths import DataPaths
from pipelines.store import open_db

if TYPE_CHECKING:
    from nlp.split import Split
    from nlp.trainset import TrainSet

LABELS_FILE = "analyst_labels.csv"  # written into a model folder trained on them


def analyst_gold(db: Path) -> pd.DataFrame:
    """Each reviewed article's current analyst label, with its text as the nightly job reads it."""
    with open_db(db, read_only=True) as con:
        frame = con.execute(
            f"""
            SELECT l.article_id, l.label, l.reviewer, l.labelled_at, {ARTICLE_TEXT} AS text
            FROM analyst_labels l JOIN articles a USING (article_id)
            ORDER BY l.article_id
            """
        ).df()
    if frame.empty:
        raise LookupError(
            f"no analyst labels in {db} yet: `congvu review export` writes stories to check, "
            "`congvu review import FILE --reviewer NAME` stores the labels"
        )
    return frame.assign(text=frame["text"].map(analysed))


def labels_csv(gold: pd.DataFrame) -> str:
    """The id,label CSV of analyst labels (what nlp.evaluate and nlp.train read)."""
    buffer = io.StringIO()
    gold.rename(columns={"article_id": "id"})[["id", "label"]].to_csv(
        buffer, index=False, lineterminator="\n"
    )
    return buffer.getvalue()


def evaluate_on_analyst_labels(
    db: Path, model: str | Path | None, out: Path | None = None, allow_trained: bool = False
) -> tuple[dict, str]:
    """nlp.evaluate's figures and report for a model on the analysts' labels of a database.

    The texts are the articles' as stored (title and body, read as the nightly job reads them);
    a model trained on some of these articles is refused, or marked in-sample (allow_trained).
    """
    from nlp.evaluate import evaluate_model

    gold = analyst_gold(db)
    labels_text = labels_csv(gold)
    texts = "".join(
        json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n"
        for i, t in zip(gold["article_id"], gold["text"], strict=True)
    )
    with tempfile.TemporaryDirectory(prefix="congvu-analyst-labels-") as work:
        labels_path, texts_path = Path(work) / "analyst_labels.csv", Path(work) / "texts.jsonl"
        labels_path.write_text(labels_text, encoding="utf-8")
        texts_path.write_text(texts, encoding="utf-8")
        result, text = evaluate_model(
            resolve_model(DEFAULT_MODEL if model is None else model),
            labels_path,
            texts_path,
            allow_trained=allow_trained,
        )
        hashes = sha256(labels_path), sha256(texts_path)
    result["data"] = {
        "labels": "analyst_labels (the current label of each reviewed article)",
        "database": str(db),
        "labels_sha256": hashes[0],
        "texts": "articles: title and body, as the nightly job reads them",
        "texts_sha256": hashes[1],
        "reviewers": sorted(set(gold["reviewer"])),
        "latest_labelled_at": gold["labelled_at"].max().isoformat(),
    }
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return result, text


def evaluate_main(argv: Sequence[str]) -> int:
    """`congvu evaluate --labels db`: a model's figures on the analysts' labels of the database."""
    from nlp.evaluate import TrainedOnLabelsError

    parser = argparse.ArgumentParser(prog="congvu evaluate", description=evaluate_main.__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model id or model folder")
    parser.add_argument(
        "--labels", choices=["db"], required=True, help="db: the view analyst_labels"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DataPaths.default().root,
        help="the data folder whose published database is read (default: %(default)s)",
    )
    parser.add_argument(
        "--out", type=Path, help="the JSON to write (default: evaluations/ in the data folder)"
    )
    parser.add_argument("--no-write", action="store_true", help="only print the report")
    parser.add_argument(
        "--allow-trained",
        action="store_true",
        help="evaluate even on articles the model was trained on (marked in-sample)",
    )
    args = parser.parse_args(list(argv))
    paths = DataPaths(args.data_dir)
    model_dir = resolve_model(args.model)
    out = None
    if not args.no_write:
        out = args.out or paths.root / "evaluations" / f"{model_dir.name}-analyst-labels.json"
    try:
        result, text = evaluate_on_analyst_labels(paths.db, model_dir, out, args.allow_trained)
    except TrainedOnLabelsError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    print(f"analyst labels of {paths.db} (latest {result['data']['latest_labelled_at']})")
    print(text)
    if out is not None:
        print(f"wrote {out}", file=sys.stderr)
    return 0


def labels_option(argv: Sequence[str]) -> str | None:
    """The value of --labels in a command line, if given."""
    for index, arg in enumerate(argv):
        if arg == "--labels" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--labels="):
            return arg.partition("=")[2]
    return None


@dataclass(frozen=True)
class AnalystLabels:
    """Adds a database's analyst labels to a training set: `congvu train --with-db-labels DB`.

    nlp.train calls it once the training set is built. They join the hand labels, except the
    articles that are near-duplicates of a test article of the frozen split (MinHash or a shared
    title or body, as nlp.split groups them), which are left out and counted: the test part
    stays untouched. An article that is a near-duplicate of a training article joins its group
    (and fold), so cross-validation never holds one copy out while training on the other.
    """

    db: Path

    def __call__(
        self, trainset: TrainSet, split: Split | None, corpus: Path, out_dir: Path
    ) -> dict:
        """Add the labels to trainset (in place); write them into out_dir; return the record."""
        from nlp.datafiles import read_corpus
        from nlp.split import assign_folds, duplicate_pairs, union_groups

        if (out_dir / "model.json").exists():
            raise ValueError(
                f"{out_dir} already holds a model, and a released model never changes: "
                "train on the analysts' labels into a new folder (a new model id)"
            )
        gold = analyst_gold(self.db)
        label = dict(zip(gold["article_id"], gold["label"], strict=True))
        texts = dict(zip(gold["article_id"], gold["text"], strict=True))
        clash = sorted(set(label) & set(trainset.texts))
        if clash:
            raise ValueError(f"analyst-labelled article {clash[0]} has a corpus article's id")
        test_ids = set(split.ids("test", labelled=False)) if split is not None else set()
        compare = dict(trainset.texts)
        if test_ids:
            compare |= {r["id"]: r["text"] for r in read_corpus(corpus) if r["id"] in test_ids}
        group = union_groups([*compare, *texts], duplicate_pairs(compare | texts))
        members: dict[str, list[str]] = defaultdict(list)
        for article_id, root in sorted(group.items()):
            members[root].append(article_id)
        test_roots = {group[i] for i in test_ids}
        left_out = sorted(i for i in label if group[i] in test_roots)
        kept = sorted(i for i in label if group[i] not in test_roots)
        n_folds = len(set(trainset.folds.values()))
        groups: dict[str, str] = {}
        folds: dict[str, int] = {}
        unplaced: dict[str, list[str]] = defaultdict(list)
        for i in kept:
            known = [j for j in members[group[i]] if j in trainset.texts]
            groups[i] = trainset.groups[known[0]] if known else group[i]
            hand_folds = [trainset.folds[j] for j in known if j in trainset.folds]
            if hand_folds:
                folds[i] = hand_folds[0]
            else:
                unplaced[groups[i]].append(i)
        if n_folds and unplaced:
            folds |= assign_folds(unplaced, label, n_folds, seed=0)
        trainset.hand |= {i: label[i] for i in kept}
        trainset.texts |= {i: texts[i] for i in kept}
        trainset.groups |= groups
        if n_folds:
            trainset.folds |= folds
        used = gold[gold["article_id"].isin(kept)]
        written = used[["article_id", "label", "reviewer", "labelled_at"]].to_csv(
            index=False, lineterminator="\n"
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / LABELS_FILE).write_text(written, encoding="utf-8")
        return {
            "source": "analyst_labels (the current label of each reviewed article)",
            "database": str(self.db),
            "file": LABELS_FILE,
            "sha256": sha256(out_dir / LABELS_FILE),
            "used": len(kept),
            "label_counts": dict(sorted(used["label"].value_counts().items())),
            "left_out_near_duplicates_of_test": len(left_out),
            "latest_labelled_at": gold["labelled_at"].max().isoformat(),
        }
