"""The training set: cue-lexicon weak labels over the corpus plus the hand labels, and CV folds."""

from __future__ import annotations

import csv
import gzip
import io
import random
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

from nlp.classify import LABELS, load_classifier
from nlp.datafiles import load_evidence, load_labels, read_corpus
from nlp.duplicates import near_duplicate_groups
from nlp.lexicon import CueLexiconClassifier
from nlp.split import Split, assign_folds


@dataclass(frozen=True)
class WeakRecipe:
    """How weak labels are drawn from the cue lexicon; every number is in the lexicon's units."""

    lexicon: str = "cue-lexicon-1"
    margin: float = 2.0  # praise / criticism: evidence >= margin x the lexicon's neutral score
    dominance: float = 3.0  # ... and >= dominance x the other polarity's evidence
    neutral_below: float = 0.5  # neutral: both polarities < neutral_below x the neutral score
    neutral_sample: int = 2000  # clear neutrals are plentiful: keep this many, drawn with seed
    seed: int = 0


@dataclass
class TrainSet:
    """Hand-labelled and weakly labelled corpus articles, with near-duplicate groups."""

    hand: dict[str, str]  # id -> hand label
    weak: dict[str, str]  # id -> weak label (never a hand-labelled article or its duplicate)
    texts: dict[str, str]  # id -> text, for every hand and weak id
    groups: dict[str, str]  # id -> near-duplicate group, for every hand and weak id
    recipe: WeakRecipe = field(default_factory=WeakRecipe)
    counts: dict = field(default_factory=dict)
    # With a frozen split (nlp.split): the committed CV fold of every hand label, and the
    # annotators' evidence phrase of the praise / criticism hand labels that have one.
    folds: dict[str, int] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict:
        """Return the recipe and the per-label counts, as recorded with a model."""
        return {
            "weak_recipe": asdict(self.recipe),
            "hand_counts": dict(sorted(Counter(self.hand.values()).items())),
            "weak_counts": dict(sorted(Counter(self.weak.values()).items())),
            **self.counts,
        }


@cache
def _lexicon(model: str) -> CueLexiconClassifier:
    """Load a cue lexicon once per process."""
    classifier = load_classifier(model)
    if not isinstance(classifier, CueLexiconClassifier):
        raise ValueError(f"{model} is not a cue-lexicon model; weak labels need one")
    return classifier


def cue_totals(classifier: CueLexiconClassifier, text: str) -> tuple[float, float]:
    """Return the lexicon's praise and criticism evidence for a text (its decision units)."""
    scored = classifier.score_sentences(text)
    scope = classifier.lexicon.scope
    praise = scope.praise_factor * sum(s.praise for s in scored)
    return praise, sum(s.criticism for s in scored)


def weak_label(praise: float, criticism: float, neutral_score: float, recipe: WeakRecipe) -> str:
    """Return the weak label of an article's cue evidence, or "" when it is not clear enough."""
    if criticism >= recipe.margin * neutral_score and criticism >= recipe.dominance * praise:
        return "criticism"
    if praise >= recipe.margin * neutral_score and praise >= recipe.dominance * criticism:
        return "praise"
    if max(praise, criticism) < recipe.neutral_below * neutral_score:
        return "neutral"
    return ""


def _weak_labels_chunk(args: tuple[str, WeakRecipe, list[tuple[str, str]]]) -> list[str]:
    """Weak-label a chunk of (id, text) in a worker process."""
    model, recipe, items = args
    classifier = _lexicon(model)
    neutral_score = classifier.lexicon.scope.neutral_score
    return [weak_label(*cue_totals(classifier, text), neutral_score, recipe) for _, text in items]


def weak_labels(items: list[tuple[str, str]], recipe: WeakRecipe, jobs: int = 1) -> dict[str, str]:
    """Weak-label (id, text) pairs with the recipe's lexicon; unclear articles are left out."""
    chunks = [items[i : i + 500] for i in range(0, len(items), 500)]
    tasks = [(recipe.lexicon, recipe, chunk) for chunk in chunks]
    if jobs > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(_weak_labels_chunk, tasks))
    else:
        results = [_weak_labels_chunk(task) for task in tasks]
    labels = [label for result in results for label in result]
    return {i: label for (i, _), label in zip(items, labels, strict=True) if label}


def build_trainset(
    labels_csv: Path | list[Path],
    corpus: Path,
    recipe: WeakRecipe | None = None,
    jobs: int = 1,
    max_weak: int | None = None,
    max_corpus: int | None = None,
    split: Split | None = None,
) -> TrainSet:
    """Weak-label the corpus, keep the clear cases and add the hand labels (see WeakRecipe).

    max_weak and max_corpus make small sets for quick runs: at most max_weak weak labels (each
    label keeping its share; 0: none, and the lexicon is not run), drawn from the first
    max_corpus corpus articles only. With a split, hand labels of its test part are dropped, its
    near-duplicate groups and folds are used, and no article it lists becomes a weak label.
    """
    recipe = recipe or WeakRecipe()
    files = [labels_csv] if isinstance(labels_csv, (str, Path)) else list(labels_csv)
    hand: dict[str, str] = {}
    evidence: dict[str, str] = {}
    for path in files:
        hand |= load_labels(path)
        evidence |= load_evidence(path)
    texts = {r["id"]: r["text"] for r in read_corpus(corpus)}
    missing = sorted(set(hand) - set(texts))
    if missing:
        raise ValueError(f"{len(missing)} labelled ids are not in {corpus}, e.g. {missing[0]}")
    counts: dict = {}
    if split is None:
        groups = near_duplicate_groups(texts)
        excluded = {groups[i] for i in hand}
        listed: set[str] = set()
    else:
        unknown = sorted(set(hand) - set(split.part))
        if unknown:
            raise ValueError(
                f"{len(unknown)} labelled ids are not in the split, e.g. {unknown[0]}; "
                "new labels need a new split (python -m nlp.split) or a separate evaluation"
            )
        test = {i for i in hand if split.part[i] == "test"}
        hand = {i: label for i, label in hand.items() if i not in test}
        counts["test_labels_left_out"] = len(test)
        groups = {i: split.group.get(i, i) for i in texts}
        excluded = set()
        listed = split.listed()
    pool = list(texts)[:max_corpus] if max_corpus is not None else list(texts)
    candidates = sorted(
        i for i in pool if i not in hand and i not in listed and groups[i] not in excluded
    )
    if max_weak == 0:
        weak: dict[str, str] = {}
    else:
        weak = weak_labels([(i, texts[i]) for i in candidates], recipe, jobs)
    found = Counter(weak.values())
    neutrals = sorted(i for i, label in weak.items() if label == "neutral")
    rng = random.Random(recipe.seed)
    dropped = set(neutrals) - set(rng.sample(neutrals, min(recipe.neutral_sample, len(neutrals))))
    weak = {i: label for i, label in weak.items() if i not in dropped}
    if max_weak is not None and len(weak) > max_weak:
        # A smaller set for quick runs and tests: the same share of each label.
        keep = set()
        for label in LABELS:
            ids = sorted(i for i, lab in weak.items() if lab == label)
            share = max(1, round(max_weak * len(ids) / len(weak))) if ids else 0
            keep.update(rng.sample(ids, min(share, len(ids))))
        weak = {i: label for i, label in weak.items() if i in keep}
    counts |= {
        "corpus_articles": len(texts),
        "considered": len(pool),
        "excluded_as_hand_labelled_or_duplicate": len(pool) - len(candidates),
        "weak_candidates": len(candidates),
        "weak_clear_before_sampling": dict(sorted(found.items())),
        "weak_unclear": len(candidates) - sum(found.values()),
    }
    kept = set(hand) | set(weak)
    return TrainSet(
        hand=hand,
        weak=weak,
        texts={i: texts[i] for i in kept},
        groups={i: groups[i] for i in kept},
        recipe=recipe,
        counts=counts,
        folds={i: split.fold[i] for i in hand} if split is not None else {},
        evidence={i: phrase for i, phrase in evidence.items() if i in hand},
    )


def write_trainset(trainset: TrainSet, path: Path) -> None:
    """Write the weak labels (id, label) and the hand ids (label left to the labels file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "source", "label"])
    for article_id in sorted(trainset.hand):
        writer.writerow([article_id, "hand", ""])
    for article_id, label in sorted(trainset.weak.items()):
        writer.writerow([article_id, "weak", label])
    # mtime=0: the same training set gives the same bytes.
    Path(path).write_bytes(gzip.compress(buffer.getvalue().encode("utf-8"), mtime=0))


def read_trainset(path: Path, labels_csv: Path, corpus: Path) -> TrainSet:
    """Rebuild a recorded training set from its file, the hand labels and the corpus."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    hand_all = load_labels(labels_csv)
    hand = {r["id"]: hand_all[r["id"]] for r in rows if r["source"] == "hand"}
    weak = {r["id"]: r["label"] for r in rows if r["source"] == "weak"}
    all_texts = {r["id"]: r["text"] for r in read_corpus(corpus)}
    groups = near_duplicate_groups(all_texts)
    kept = set(hand) | set(weak)
    return TrainSet(
        hand=hand,
        weak=weak,
        texts={i: all_texts[i] for i in kept},
        groups={i: groups[i] for i in kept},
    )


def cv_folds(
    trainset: TrainSet, n_splits: int = 5, seed: int = 0, hand_ids: list[str] | None = None
) -> list[tuple[list[str], list[str]]]:
    """Split hand labels (all, or hand_ids) into stratified folds, near-duplicates together.

    With a frozen split, all the hand labels are cut along its committed folds when n_splits is
    its fold count, and any other set (inner folds) is dealt by nlp.split.assign_folds; without
    one, StratifiedGroupKFold (the older models' folds).
    """
    ids = sorted(trainset.hand if hand_ids is None else hand_ids)
    if trainset.folds:
        if hand_ids is None and n_splits == len(set(trainset.folds.values())):
            fold = trainset.folds
        else:
            members: dict[str, list[str]] = {}
            for i in ids:
                members.setdefault(trainset.groups[i], []).append(i)
            fold = assign_folds(members, {i: trainset.hand[i] for i in ids}, n_splits, seed)
        return [
            ([i for i in ids if fold[i] != k], [i for i in ids if fold[i] == k])
            for k in range(n_splits)
        ]
    from sklearn.model_selection import StratifiedGroupKFold

    labels = [trainset.hand[i] for i in ids]
    groups = [trainset.groups[i] for i in ids]
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [
        ([ids[k] for k in train], [ids[k] for k in test])
        for train, test in splitter.split(ids, labels, groups)
    ]


def fold_weak_ids(trainset: TrainSet, held_out: list[str]) -> list[str]:
    """The weak ids a fold may train on: none in a held-out article's near-duplicate group."""
    # build_trainset already leaves every hand-labelled group out of the weak pool; this keeps a
    # fold honest for any weak pool, e.g. one read back from an older file.
    held = {trainset.groups[i] for i in held_out}
    return sorted(i for i in trainset.weak if trainset.groups[i] not in held)
