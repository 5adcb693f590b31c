"""The data the models learn from and write: hand-label CSVs, the corpus, hashes, model JSON."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from nlp.classify import LABELS

# The shared reference data, read from the working folder's sibling (never copied into the repo).
LABELS_DIR = Path("../shared/labels")
# dev.csv set the cue lexicon's constants and is what a model is evaluated on by default;
# training reads every hand label (the frozen split keeps train.csv's test part out).
DEV_LABELS = LABELS_DIR / "dev.csv"
HAND_LABELS = (LABELS_DIR / "train.csv", DEV_LABELS)
CORPUS_NAME = "vntc-politics-law.jsonl.gz"
CORPUS = Path("../shared/corpus") / CORPUS_NAME
TRAINSET_FILE = "trainset.csv.gz"


def data_dir() -> Path:
    """The data folder (database, evaluations, logs): $CONGVU_DATA_DIR, else ./data."""
    return Path(os.environ.get("CONGVU_DATA_DIR", "data"))


def read_corpus(path: Path) -> Iterator[dict]:
    """Yield the records (id, split, category, source, text) of a JSON-lines corpus."""
    opener = gzip.open if Path(path).suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def load_corpus_texts(corpus_path: Path, ids: Iterable[str]) -> dict[str, str]:
    """Return {id: text} for the wanted ids from a JSON-lines corpus (gzip or plain)."""
    wanted = set(ids)
    texts: dict[str, str] = {}
    for record in read_corpus(corpus_path):
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


def read_trainset_ids(path: Path) -> dict[str, str]:
    """Return {id: source} of a recorded training set, to refuse evaluating on training data."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return {r["id"]: r["source"] for r in csv.DictReader(f)}


def sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file, to pin which data a figure or a model came from."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def json_text(data: Any) -> str:
    """JSON as written into model folders: UTF-8, indented, newline-terminated."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
