"""The frozen split of the hand labels: a test part no choice ever sees, and CV folds of the rest.

Run `python -m nlp.split` to (re)write models/split.csv; tests/test_split.py regenerates it and
checks that it equals the committed file. The decisions behind it (issue 10):

- The test part is drawn from ../shared/labels/train.csv only: TEST_SHARE (25%) of all hand
  labels, about 725 of 2,900, stratified by label x pool, whole near-duplicate groups at a time.
  All 400 dev.csv labels go to the rest, because cue-lexicon-1's constants (and so its weak
  labels and the cue features of every model that reads the lexicon) were set on them: a test
  holding dev ids could give no lexicon-using model an honest figure.
- Near-duplicates: two articles are one group when MinHash over their 5-word shingles
  (nlp.duplicates.signature, also the story grouping of the nightly job) estimates a Jaccard of at
  least duplicates.THRESHOLD, or when they share a normalised title or body (duplicate_keys,
  which the earlier models' folds used); groups are closed transitively. They are computed over
  the whole corpus, because any corpus article can become a weak label: every unlabelled article
  in a labelled article's group is listed in the file with that group's part and fold, and the
  training code never draws weak labels from a listed article. So no weak label is a
  near-duplicate of a test article, nor of a held-out fold.
- The rest is cut into N_FOLDS folds, stratified by label x pool (dev.csv counts as pool "dev"),
  whole groups at a time; every choice (options, thresholds, calibration, early stopping) is made
  by cross-validation over these folds, nested inside them when the folds' figures are reported.

The file holds ids only, never texts: id, part (test | rest), fold (0..N_FOLDS-1 for the rest,
empty for test), group (the smallest id of the article's near-duplicate group) and labels (the
labels file that labels the article, empty for an unlabelled near-duplicate).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from datasketch import MinHashLSH

from nlp.classify import models_dir
from nlp.datafiles import CORPUS, LABELS_DIR, load_labels, read_corpus
from nlp.duplicates import NUM_PERM, THRESHOLD, duplicate_keys, signature

SEED = 0
TEST_SHARE = 0.25  # of all hand labels, drawn from train.csv only
N_FOLDS = 5
SPLIT_FILE = "split.csv"
TEST_SOURCE, REST_ONLY_SOURCE = "train.csv", "dev.csv"
COLUMNS = ("id", "part", "fold", "group", "labels")


@dataclass(frozen=True)
class Split:
    """The frozen assignment: part, fold and group of every listed article."""

    part: dict[str, str]  # id -> "test" | "rest", for labelled articles and their duplicates
    fold: dict[str, int]  # id -> fold, for every listed article of the rest
    group: dict[str, str]  # id -> near-duplicate group
    labels: dict[str, str]  # id -> labels file name, for labelled articles only

    def ids(self, part: str, labelled: bool = True) -> list[str]:
        """The ids of a part, sorted: labelled ones only, or with their unlabelled duplicates."""
        found = (i for i, p in self.part.items() if p == part)
        return sorted(i for i in found if i in self.labels or not labelled)

    def listed(self) -> set[str]:
        """Every listed id: none of them may ever be a weak label."""
        return set(self.part)

    def test_groups(self) -> set[str]:
        """The groups of the test part (articles and near-duplicates no training may see)."""
        return {self.group[i] for i, p in self.part.items() if p == "test"}


def union_groups(ids: Iterable[str], pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Close linked pairs transitively; id -> the smallest id of its group."""
    parent: dict[str, str] = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {i: find(i) for i in parent}


def duplicate_pairs(texts: dict[str, str]) -> list[tuple[str, str]]:
    """Near-duplicate pairs: MinHash Jaccard >= THRESHOLD, or a shared title/body key."""
    ids = sorted(texts)
    signatures = {i: signature(texts[i]) for i in ids}
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    for i in ids:
        lsh.insert(i, signatures[i])
    pairs = [
        (i, j)
        for i in ids
        for j in sorted(lsh.query(signatures[i]))
        if j > i and signatures[i].jaccard(signatures[j]) >= THRESHOLD
    ]
    first_with_key: dict[str, str] = {}
    for i in ids:
        for key in duplicate_keys(texts[i]):
            pairs.append((first_with_key.setdefault(key, i), i))
    return pairs


def assign_folds(
    members: dict[str, list[str]], strata: dict[str, str], n_folds: int, seed: int
) -> dict[str, int]:
    """Deal whole groups into n_folds folds so that every stratum is spread evenly; id -> fold.

    Groups go in a seeded random order, largest first; each goes to the fold holding the fewest
    articles of its strata (then the fewest articles, then the lowest number).
    """
    order = sorted(members)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda g: -len(members[g]))  # stable: random order within a size
    counts = [Counter() for _ in range(n_folds)]
    sizes = [0] * n_folds
    out: dict[str, int] = {}
    for g in order:
        need = Counter(strata[i] for i in members[g])
        k = min(range(n_folds), key=lambda f: (sum(counts[f][s] for s in need), sizes[f], f))
        counts[k].update(need)
        sizes[k] += len(members[g])
        out.update(dict.fromkeys(members[g], k))
    return out


def draw_test(
    members: dict[str, list[str]], strata: dict[str, str], share: float, seed: int
) -> set[str]:
    """Whole groups, in a seeded random order, while every stratum stays within its quota."""
    total = Counter(strata[i] for m in members.values() for i in m)
    quota = {s: round(n * share) for s, n in total.items()}
    taken: Counter = Counter()
    order = sorted(members)
    random.Random(seed).shuffle(order)
    test: set[str] = set()
    for g in order:
        need = Counter(strata[i] for i in members[g])
        if all(taken[s] + n <= quota[s] for s, n in need.items()):
            taken.update(need)
            test.update(members[g])
    return test


def label_rows(labels_dir: Path = LABELS_DIR) -> dict[str, dict[str, str]]:
    """Every hand label: id -> label, pool ("dev" for dev.csv) and source (the file's name)."""
    rows: dict[str, dict[str, str]] = {}
    for name in (TEST_SOURCE, REST_ONLY_SOURCE):
        path = Path(labels_dir) / name
        load_labels(path)  # refuses unknown labels with a clear message
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row["id"] in rows:
                    raise ValueError(f"{row['id']} is labelled in two files ({name} and another)")
                pool = (row.get("pool") or "").strip() or "dev"
                rows[row["id"]] = {"label": row["label"].strip(), "pool": pool, "source": name}
    return rows


def make_split(
    labels_dir: Path = LABELS_DIR, corpus: Path = CORPUS, seed: int = SEED
) -> list[dict[str, str]]:
    """Compute the split's rows (see the module docstring), sorted by id."""
    rows = label_rows(labels_dir)
    texts = {r["id"]: r["text"] for r in read_corpus(corpus)}
    missing = sorted(set(rows) - set(texts))
    if missing:
        raise ValueError(f"{len(missing)} labelled ids are not in {corpus}, e.g. {missing[0]}")
    group = union_groups(texts, duplicate_pairs(texts))
    labelled_groups = {group[i] for i in rows}
    members: dict[str, list[str]] = defaultdict(list)  # labelled members of labelled groups
    for i in sorted(rows):
        members[group[i]].append(i)
    strata = {i: f"{r['label']}|{r['pool']}" for i, r in rows.items()}
    # A group with a dev.csv article stays in the rest whole (its dev article must).
    eligible = {
        g: m for g, m in members.items() if all(rows[i]["source"] == TEST_SOURCE for i in m)
    }
    share = TEST_SHARE * len(rows) / sum(r["source"] == TEST_SOURCE for r in rows.values())
    test = draw_test(eligible, strata, share, seed)
    test_groups = {group[i] for i in test}
    rest_members = {g: m for g, m in members.items() if g not in test_groups}
    folds = assign_folds(rest_members, strata, N_FOLDS, seed)
    group_fold = {group[i]: k for i, k in folds.items()}
    out = []
    for i in sorted(i for i in texts if group[i] in labelled_groups):
        g = group[i]
        is_test = g in test_groups
        out.append(
            {
                "id": i,
                "part": "test" if is_test else "rest",
                "fold": "" if is_test else str(group_fold[g]),
                "group": g,
                "labels": rows[i]["source"] if i in rows else "",
            }
        )
    return out


def split_csv(rows: list[dict[str, str]]) -> str:
    """The split as CSV text (what models/split.csv holds)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def split_path() -> Path:
    """The committed split: models/split.csv (under $CONGVU_MODELS_DIR when set)."""
    return models_dir() / SPLIT_FILE


def read_split(path: Path | None = None) -> Split:
    """Read a split file (default: the committed one)."""
    path = split_path() if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; write it with `python -m nlp.split`")
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return Split(
        part={r["id"]: r["part"] for r in rows},
        fold={r["id"]: int(r["fold"]) for r in rows if r["fold"] != ""},
        group={r["id"]: r["group"] for r in rows},
        labels={r["id"]: r["labels"] for r in rows if r["labels"]},
    )


def summary(rows: list[dict[str, str]], labels_dir: Path = LABELS_DIR) -> str:
    """Counts of the split by part and fold, label and labels file, for the terminal."""
    gold = load_labels(Path(labels_dir) / TEST_SOURCE) | load_labels(
        Path(labels_dir) / REST_ONLY_SOURCE
    )
    counts: Counter = Counter()
    for r in rows:
        where = "test" if r["part"] == "test" else f"rest fold {r['fold']}"
        counts[(where, gold.get(r["id"], "duplicate"))] += 1
    lines = []
    for where in sorted({w for w, _ in counts}):
        found = ", ".join(f"{label} {n}" for (w, label), n in sorted(counts.items()) if w == where)
        lines.append(f"{where:<12} {found}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Write the frozen split of the hand labels (models/split.csv) and print its counts."""
    parser = argparse.ArgumentParser(prog="python -m nlp.split", description=main.__doc__)
    parser.add_argument("--labels-dir", type=Path, default=LABELS_DIR, help="train.csv, dev.csv")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=None, help="default: models/split.csv")
    args = parser.parse_args(argv)
    rows = make_split(args.labels_dir, args.corpus)
    out = args.out or split_path()
    out.write_text(split_csv(rows), encoding="utf-8")
    print(summary(rows, args.labels_dir))
    print(f"wrote {out} ({len(rows)} ids)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
