"""Training the linear model: features, cross-validation, the final fit and its model folder."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlp.calibration import calibration, criticism_bias, fit_temperature
from nlp.classify import LABELS, load_classifier, models_dir
from nlp.lexicon import CueLexiconClassifier, Lexicon
from nlp.linear import (
    ARTIFACT,
    HEAD_CHARS,
    KIND,
    LinearClassifier,
    cue_vector,
    doc_tokens,
    identity,
    regression_log_proba,
)
from nlp.metrics import metrics
from nlp.model_folder import copy_cues, cues_record, model_config, write_model_files
from nlp.progress import Progress
from nlp.scores import softmax, with_bias
from nlp.text import head_lines, segment_lines
from nlp.trainset import TrainSet, cv_folds, fold_weak_ids, read_trainset


@dataclass(frozen=True)
class LinearOptions:
    """Training options of the linear model; the defaults are the committed recipe."""

    head_chars: int = HEAD_CHARS
    c: float = 4.0  # inverse regularisation strength of the logistic regression
    hand_weight: float = 10.0  # a hand label counts this many weak labels
    min_df: int = 2
    max_df: float = 0.5
    cv_folds: int = 5
    cv_repeats: int = 3  # repeated with seeds seed .. seed + repeats - 1
    seed: int = 0
    jobs: int = 2  # processes for word segmentation
    # Operating point: missing criticism costs the department more than a false alarm, so the
    # model favours criticism by the smallest bias (added to its log-probability) that gives
    # this recall on held-out predictions. The bias is learnt by inner cross-validation inside
    # each training fold, never from the articles being evaluated. 0: plain argmax.
    criticism_recall: float = 0.0
    inner_folds: int = 4


def fit(
    docs: Sequence[list[str]],
    cues: np.ndarray,
    labels: Sequence[str],
    weights: Sequence[float],
    options: LinearOptions,
) -> tuple[TfidfVectorizer, LogisticRegression]:
    """Fit the TF-IDF vocabulary and a class-weighted multinomial logistic regression."""
    vectorizer = TfidfVectorizer(
        analyzer=identity, min_df=options.min_df, max_df=options.max_df, sublinear_tf=True
    )
    return vectorizer, regression(vectorizer.fit_transform(docs), cues, labels, weights, options)


def regression(
    words: sparse.spmatrix,
    cues: np.ndarray,
    labels: Sequence[str],
    weights: Sequence[float],
    options: LinearOptions,
) -> LogisticRegression:
    """The class-weighted multinomial logistic regression on TF-IDF and cue features."""
    x = sparse.hstack([words, sparse.csr_matrix(cues)]).tocsr()
    model = LogisticRegression(
        C=options.c, class_weight="balanced", solver="newton-cg", max_iter=1000
    )
    model.fit(x, list(labels), sample_weight=np.asarray(weights, dtype=float))
    return model


# A fold's TF-IDF matrices are cut from counts made once, exactly as a TfidfVectorizer fitted
# on the fold's documents computes them, down to the order of the entries in each row (the order
# in which the fold's documents first use each term): every float, and so every fitted model, is
# the vectorizer's, without counting the tokens again in each of the CV's 25 fits.
class TermCounts:
    """Token counts of every article, counted once for all the folds."""

    def __init__(self, docs: dict[str, list[str]]) -> None:
        """Count each document's tokens, its terms in the order it first uses them."""
        self.row = {i: k for k, i in enumerate(docs)}
        seen: dict[str, int] = {}
        indices: list[int] = []
        counts: list[int] = []
        indptr = [0]
        for tokens in docs.values():
            counter: dict[int, int] = {}
            for token in tokens:
                term = seen.setdefault(token, len(seen))
                counter[term] = counter.get(term, 0) + 1
            indices.extend(counter)
            counts.extend(counter.values())
            indptr.append(len(indices))
        alphabetical = np.empty(len(seen), dtype=np.int64)
        for k, token in enumerate(sorted(seen)):
            alphabetical[seen[token]] = k
        self.n_terms = len(seen)
        self.indices = alphabetical[np.asarray(indices, dtype=np.int64)]
        self.counts = np.asarray(counts, dtype=np.float64)  # TfidfVectorizer counts in floats
        self.indptr = np.asarray(indptr, dtype=np.int64)

    def entries(self, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the documents' entries, in document order, and the row of each."""
        rows = np.array([self.row[i] for i in ids], dtype=np.int64)
        starts, lengths = self.indptr[rows], np.diff(self.indptr)[rows]
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        return offsets + np.arange(lengths.sum()), np.repeat(np.arange(len(rows)), lengths)

    def matrix(
        self,
        n_rows: int,
        entries: np.ndarray,
        rows: np.ndarray,
        order: np.ndarray,
        column: np.ndarray,
    ) -> sparse.csr_matrix:
        """A count matrix of the entries in this order, those with a column (>= 0) only."""
        entries, rows = entries[order], rows[order]
        kept = column[self.indices[entries]] >= 0
        entries, rows = entries[kept], rows[kept]
        indptr = np.zeros(n_rows + 1, dtype=np.int32)
        np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
        indices = column[self.indices[entries]].astype(np.int32)
        shape = (n_rows, int(column.max()) + 1)
        return sparse.csr_matrix((self.counts[entries], indices, indptr), shape=shape)

    def fit(self, ids: Sequence[str], options: LinearOptions) -> FoldWords:
        """What TfidfVectorizer(min_df, max_df, sublinear_tf) fitted on these documents learns."""
        entries, rows = self.entries(ids)
        terms = self.indices[entries]
        first_terms, first_use = np.unique(terms, return_index=True)
        rank = np.zeros(self.n_terms, dtype=np.int64)
        rank[first_terms[np.argsort(first_use)]] = np.arange(len(first_terms))
        df = np.bincount(terms, minlength=self.n_terms)
        n_doc = len(ids)
        high = options.max_df if isinstance(options.max_df, int) else options.max_df * n_doc
        low = options.min_df if isinstance(options.min_df, int) else options.min_df * n_doc
        kept = (df > 0) & (df <= high) & (df >= low)
        if not kept.any():
            raise ValueError("After pruning, no terms remain: lower min_df or raise max_df.")
        column = np.where(kept, np.cumsum(kept) - 1, -1)
        counts = self.matrix(n_doc, entries, rows, np.lexsort((rank[terms], rows)), column)
        tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
        return FoldWords(self, column, tfidf, tfidf.transform(counts, copy=False))


@dataclass
class FoldWords:
    """One fold's TF-IDF: its vocabulary (column of each counted term, -1 when left out)."""

    counts: TermCounts
    column: np.ndarray
    tfidf: TfidfTransformer
    train: sparse.csr_matrix  # the fitted documents' matrix

    def transform(self, ids: Sequence[str]) -> sparse.csr_matrix:
        """The TF-IDF of other documents, as the fitted TfidfVectorizer.transform gives it."""
        entries, rows = self.counts.entries(ids)
        order = np.lexsort((self.counts.indices[entries], rows))
        counts = self.counts.matrix(len(ids), entries, rows, order, self.column)
        return self.tfidf.transform(counts, copy=False)


@dataclass
class Features:
    """Model tokens and cue features of every article of a training set."""

    docs: dict[str, list[str]]
    cues: dict[str, list[float]]

    @cached_property
    def counts(self) -> TermCounts:
        """The documents' token counts, for the cross-validation's folds."""
        return TermCounts(self.docs)


def _featurize_chunk(args: tuple[int, str, list[str]]) -> list[tuple[list[str], list[float]]]:
    """Tokens and cue features of a chunk of texts (runs in a worker process)."""
    head_chars, cues_path, texts = args
    lexicon = _cached_lexicon(cues_path)
    cues = CueLexiconClassifier(lexicon, "cues")
    return [
        (
            doc_tokens(segment_lines(head_lines(t, head_chars))),
            cue_vector(cues.score_sentences(t), lexicon),
        )
        for t in texts
    ]


_LEXICONS: dict[str, Lexicon] = {}


def _cached_lexicon(path: str) -> Lexicon:
    """Load a cues.yaml once per process."""
    if path not in _LEXICONS:
        _LEXICONS[path] = Lexicon.from_yaml(Path(path))
    return _LEXICONS[path]


def featurize(texts: dict[str, str], cues_path: Path, options: LinearOptions) -> Features:
    """Segment and cue-score every text; word segmentation runs in options.jobs processes."""
    ids = sorted(texts)
    chunks = [ids[i : i + 100] for i in range(0, len(ids), 100)]
    tasks = [(options.head_chars, str(cues_path), [texts[i] for i in c]) for c in chunks]
    if options.jobs > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(options.jobs) as pool:
            results = list(pool.map(_featurize_chunk, tasks))
    else:
        results = [_featurize_chunk(task) for task in tasks]
    pairs = [pair for result in results for pair in result]
    return Features(
        docs={i: doc for i, (doc, _) in zip(ids, pairs, strict=True)},
        cues={i: cue for i, (_, cue) in zip(ids, pairs, strict=True)},
    )


def fit_ids(
    trainset: TrainSet,
    features: Features,
    hand_ids: list[str],
    weak_ids: list[str],
    options: LinearOptions,
) -> tuple[TfidfVectorizer, LogisticRegression]:
    """Fit on some hand-labelled and some weakly labelled articles of a training set."""
    ids, labels, weights = _labelled(trainset, hand_ids, weak_ids, options)
    cues = np.array([features.cues[i] for i in ids])
    return fit([features.docs[i] for i in ids], cues, labels, weights, options)


def fold_log_proba(
    trainset: TrainSet,
    features: Features,
    hand_ids: list[str],
    weak_ids: list[str],
    test_ids: list[str],
    options: LinearOptions,
) -> np.ndarray:
    """Log-probabilities of test_ids from the model fit_ids fits (the same floats, faster)."""
    ids, labels, weights = _labelled(trainset, hand_ids, weak_ids, options)
    words = features.counts.fit(ids, options)
    cues = np.array([features.cues[i] for i in ids])
    model = regression(words.train, cues, labels, weights, options)
    test_cues = np.array([features.cues[i] for i in test_ids])
    return regression_log_proba(model, words.transform(test_ids), test_cues)


def _labelled(
    trainset: TrainSet, hand_ids: list[str], weak_ids: list[str], options: LinearOptions
) -> tuple[list[str], list[str], list[float]]:
    """The ids, labels and sample weights of some hand and some weak labels."""
    labels = [trainset.hand[i] for i in hand_ids] + [trainset.weak[i] for i in weak_ids]
    weights = [options.hand_weight] * len(hand_ids) + [1.0] * len(weak_ids)
    return hand_ids + weak_ids, labels, weights


def cross_validate(
    trainset: TrainSet,
    features: Features,
    options: LinearOptions,
    folds: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Cross-validate on the hand labels (grouped, stratified, repeated); weak labels train only."""
    repeats = []
    biases: dict[int, list[float]] = {}
    n_folds = options.cv_folds if folds is None else len(folds)
    progress = Progress("cross-validation fold", options.cv_repeats * n_folds, "hand labels")
    for repeat in range(options.cv_repeats):
        seed = options.seed + repeat
        logits: dict[str, np.ndarray] = {}
        biases[seed] = []
        for k, (train_ids, test_ids) in enumerate(cv_folds(trainset, options.cv_folds, seed)):
            if folds is not None and k not in folds:
                continue
            weak_ids = fold_weak_ids(trainset, test_ids)
            out = fold_log_proba(trainset, features, train_ids, weak_ids, test_ids, options)
            bias = 0.0
            if options.criticism_recall > 0:
                inner = out_of_fold(trainset, features, options, seed, train_ids, test_ids)
                gold = [trainset.hand[i] for i in sorted(inner)]
                matrix = np.array([inner[i] for i in sorted(inner)])
                bias = criticism_bias(matrix, gold, options.criticism_recall)
            biases[seed].append(bias)
            logits.update(zip(test_ids, with_bias(out, bias), strict=True))
            progress.step(f"seed {seed}, fold {k + 1}", items=len(train_ids))
        ids = sorted(logits)
        gold = [trainset.hand[i] for i in ids]
        matrix = np.array([logits[i] for i in ids])
        predicted = [LABELS[k] for k in matrix.argmax(axis=1)]
        repeats.append((seed, ids, gold, matrix, metrics(gold, predicted)))
    seed, ids, gold, matrix, first = repeats[0]
    temperature = fit_temperature(matrix, gold)
    result: dict[str, Any] = dict(first)
    result["fold_scheme"] = (
        f"{options.cv_folds}-fold StratifiedGroupKFold over the hand labels (groups: "
        f"near-duplicate articles by normalised title or body hash), shuffled with seed {seed}"
        + (f", folds {list(folds)} only" if folds is not None else "")
        + "; each fold trains on the other folds' hand labels plus the weak labels, none of which "
        "is a held-out article or its near-duplicate. Headline figures: the first seed."
    )
    result["repeats"] = [
        {
            "seed": s,
            "macro_f1": m["macro_f1"],
            "accuracy": m["accuracy"],
            "per_class": {
                label: {k: m["per_class"][label][k] for k in ("precision", "recall", "f1")}
                for label in LABELS
            },
        }
        for s, _, _, _, m in repeats
    ]
    result["mean_over_repeats"] = _mean_metrics([m for *_, m in repeats])
    if options.criticism_recall > 0:
        result["operating_point"] = {
            "criticism_recall_target": options.criticism_recall,
            "method": (
                f"in each outer fold, {options.inner_folds}-fold cross-validation inside its "
                "training hand labels gives out-of-fold predictions; the criticism bias is the "
                "smallest that reaches the target recall on them; the outer fold is then "
                "labelled with that bias (the evaluated articles never choose it)"
            ),
            "bias_per_fold": {str(seed): b for seed, b in biases.items()},
        }
    result["calibration"] = {
        "method": "temperature scaling fitted on the first seed's out-of-fold predictions",
        "temperature": temperature,
        "before": calibration(softmax(matrix), gold),
        "after": calibration(softmax(matrix, temperature), gold),
    }
    result["out_of_fold"] = {
        i: [round(float(p), 4) for p in row]
        for i, row in zip(ids, softmax(matrix, temperature), strict=True)
    }
    return result


def out_of_fold(
    trainset: TrainSet,
    features: Features,
    options: LinearOptions,
    seed: int,
    hand_ids: list[str],
    held_out: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    """Unbiased log-probabilities for hand_ids from inner folds over them (weak labels too).

    held_out: articles of an outer fold, whose near-duplicates no inner fold trains on.
    """
    logits: dict[str, np.ndarray] = {}
    for train_ids, test_ids in cv_folds(trainset, options.inner_folds, seed, hand_ids):
        weak_ids = fold_weak_ids(trainset, [*held_out, *test_ids])
        out = fold_log_proba(trainset, features, train_ids, weak_ids, test_ids, options)
        logits.update(zip(test_ids, out, strict=True))
    return logits


def _mean_metrics(runs: list[dict]) -> dict[str, Any]:
    """Mean and spread of macro-F1 and per-class P/R/F1 over repeated cross-validations."""
    f1s = [m["macro_f1"] for m in runs]
    return {
        "repeats": len(runs),
        "macro_f1": round(float(np.mean(f1s)), 4),
        "macro_f1_min": min(f1s),
        "macro_f1_max": max(f1s),
        "per_class": {
            label: {
                k: round(float(np.mean([m["per_class"][label][k] for m in runs])), 4)
                for k in ("precision", "recall", "f1")
            }
            for label in LABELS
        },
    }


def train_final(
    trainset: TrainSet,
    features: Features,
    options: LinearOptions,
    cues_path: Path,
    temperature: float,
    model_id: str,
) -> LinearClassifier:
    """Fit on every hand and weak label; temperature and criticism bias from cross-validation.

    The bias is chosen as inside each outer fold: from out-of-fold predictions over all the
    hand labels (options.inner_folds folds).
    """
    hand_ids = sorted(trainset.hand)
    vectorizer, model = fit_ids(trainset, features, hand_ids, sorted(trainset.weak), options)
    bias = 0.0
    if options.criticism_recall > 0:
        held = out_of_fold(trainset, features, options, options.seed, hand_ids)
        matrix = np.array([held[i] for i in hand_ids])
        gold = [trainset.hand[i] for i in hand_ids]
        bias = criticism_bias(matrix, gold, options.criticism_recall)
    cues = CueLexiconClassifier(Lexicon.from_yaml(cues_path), "cues")
    return LinearClassifier(
        vectorizer, model, cues, options.head_chars, temperature, model_id, bias
    )


def recompute_cv(
    model_dir: Path, labels_csv: Path, corpus: Path, repeats: int = 1, jobs: int = 2
) -> dict[str, Any]:
    """Redo a committed model's cross-validation from its recorded training set and options."""
    recipe = json.loads((Path(model_dir) / "recipe.json").read_text(encoding="utf-8"))
    known = {f for f in LinearOptions.__dataclass_fields__}
    saved = {k: v for k, v in recipe["options"].items() if k in known}
    options = LinearOptions(**saved | {"cv_repeats": repeats, "jobs": jobs})
    trainset = read_trainset(Path(model_dir) / recipe["data"]["trainset"], labels_csv, corpus)
    features = featurize(trainset.texts, Path(model_dir) / "cues.yaml", options)
    return cross_validate(trainset, features, options)


def train_linear(trainset: TrainSet, out_dir: Path, opts: LinearOptions, model_id: str) -> dict:
    """Cross-validate and fit the linear model; write model.json, artifact, cues and metrics."""
    lexicon_id = trainset.recipe.lexicon
    cues_path = copy_cues(lexicon_id, out_dir)
    features = featurize(trainset.texts, cues_path, opts)
    cv = cross_validate(trainset, features, opts)
    out_of_fold = cv.pop("out_of_fold")
    temperature = cv["calibration"]["temperature"]
    classifier = train_final(trainset, features, opts, cues_path, temperature, model_id)
    classifier.save(out_dir)
    config = model_config(
        model_id,
        KIND,
        {"artifact": ARTIFACT},
        cues_path,
        {
            "head_chars": opts.head_chars,
            "temperature": temperature,
            "criticism_bias": classifier.bias,
        },
        "TF-IDF over underthesea word segments of the title and first lines, plus cue-lexicon "
        "evidence, into a class-weighted logistic regression; weak labels + hand labels.",
    )
    lexicon = load_classifier(models_dir() / lexicon_id)
    hand_ids = sorted(trainset.hand)
    baseline = metrics(
        [trainset.hand[i] for i in hand_ids],
        [lexicon.classify(trainset.texts[i]).label for i in hand_ids],
    )
    metrics_doc = {
        "model_id": model_id,
        "evaluation": "cross-validation on the hand labels (never in-sample)",
        **cv,
        "baseline_same_articles": {
            "model_id": lexicon.model_id,
            "note": "no training, so every fold gives the same figures; its constants were "
            "tuned on these labels, so they are optimistic",
            **baseline,
        },
        "out_of_fold_scores": "oof.json",
    }
    write_model_files(out_dir, config, metrics_doc)
    oof = {"labels_order": list(LABELS), "scores": out_of_fold}
    (out_dir / "oof.json").write_text(json.dumps(oof, ensure_ascii=False) + "\n", "utf-8")
    return {
        "options": asdict(opts),
        "features": (
            "underthesea word segments (lower-cased, spaces -> _) of the normalised title and "
            f"lines up to {opts.head_chars} characters; title words again with a T: prefix; "
            "in-line word pairs; words within 3 of a negator marked neg:; TF-IDF (sublinear tf); "
            "plus log(1 + cue evidence) of title and body, praise and criticism, from cues.yaml"
        ),
        "model": "LogisticRegression(multinomial, class_weight=balanced, solver=newton-cg)",
        "cues": cues_record(lexicon_id, cues_path),
    }
