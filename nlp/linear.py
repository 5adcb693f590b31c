"""A linear model over underthesea word segments plus cue-lexicon evidence (kind "tfidf-lr")."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy import sparse
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlp.classify import LABELS, Prediction, neutral
from nlp.lexicon import (
    VIETNAMESE_RE,
    CueLexiconClassifier,
    Lexicon,
    SentenceScore,
    explain,
)
from nlp.metrics import metrics
from nlp.progress import Progress
from nlp.text import head_lines, segment_lines, sentences
from nlp.trainset import TrainSet, cv_folds, fold_weak_ids

KIND = "tfidf-lr"
ARTIFACT = "model.joblib"
_WORD_RE = re.compile(r"\w")
_BREAK_RE = re.compile(r"[,;:.!?()\[\]…]")
# A word after one of these, up to NEGATION_WINDOW words and no clause break, is marked "neg:"
# ("không hề gây phiền hà" -> neg:hề neg:gây neg:phiền_hà), so the model can learn negation.
NEGATORS = {
    "không", "chưa", "chẳng", "chả", "không_hề", "chưa_hề", "chẳng_hề", "chưa_từng",
    "không_từng", "không_bao_giờ", "chưa_bao_giờ", "không_để", "không_có",
}  # fmt: skip
NEGATION_WINDOW = 3


@dataclass(frozen=True)
class LinearOptions:
    """Training options of the linear model; the defaults are the committed recipe."""

    head_chars: int = 2000  # the title and the first lines up to this many characters are read
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


def doc_tokens(lines_words: Sequence[Sequence[str]]) -> list[str]:
    """Turn segmented lines into model tokens: words, title words ("T:"), in-line word pairs."""
    out: list[str] = []
    for j, words in enumerate(lines_words):
        toks: list[str] = []
        scope = 0
        for word in words:
            lowered = word.lower().replace(" ", "_")
            if not _WORD_RE.search(lowered):
                if _BREAK_RE.search(lowered):
                    scope = 0
                continue
            if lowered in NEGATORS:
                toks.append(lowered)
                scope = NEGATION_WINDOW
                continue
            toks.append("neg:" + lowered if scope > 0 else lowered)
            scope = max(scope - 1, 0)
        if j == 0:
            out.extend("T:" + t for t in toks)
        out.extend(toks)
        out.extend(f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False))
    return out


def identity(tokens: list[str]) -> list[str]:
    """The vectorizer's analyzer: documents arrive as token lists already."""
    return tokens


def cue_vector(scored: Sequence[SentenceScore], lexicon: Lexicon) -> list[float]:
    """Cue features: log(1 + evidence) of the title and of the body, praise and criticism."""
    if not scored:
        return [0.0, 0.0, 0.0, 0.0]
    scope = lexicon.scope
    body_divisor = scope.body_divisor(len(scored) - 1)
    title = scored[0]
    return [
        math.log1p(title.praise / scope.title_weight),
        math.log1p(title.criticism / scope.title_weight),
        math.log1p(sum(s.praise for s in scored[1:]) * body_divisor),
        math.log1p(sum(s.criticism for s in scored[1:]) * body_divisor),
    ]


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
    x = sparse.hstack([vectorizer.fit_transform(docs), sparse.csr_matrix(cues)]).tocsr()
    model = LogisticRegression(
        C=options.c, class_weight="balanced", solver="newton-cg", max_iter=1000
    )
    model.fit(x, list(labels), sample_weight=np.asarray(weights, dtype=float))
    return vectorizer, model


def log_proba(
    vectorizer: TfidfVectorizer, model: LogisticRegression, docs: Sequence[list[str]], cues: Any
) -> np.ndarray:
    """Log-probabilities in LABELS order (before temperature scaling)."""
    x = sparse.hstack([vectorizer.transform(docs), sparse.csr_matrix(cues)]).tocsr()
    order = [list(model.classes_).index(label) for label in LABELS]
    return model.predict_log_proba(x)[:, order]


def criticism_bias(log_probs: np.ndarray, gold: Sequence[str], recall: float) -> float:
    """The smallest bias on criticism's log-probability giving held-out criticism `recall`."""
    k = LABELS.index("criticism")
    is_criticism = np.array([g == "criticism" for g in gold])
    if recall <= 0 or not is_criticism.any():
        return 0.0
    others = np.delete(log_probs, k, axis=1).max(axis=1)
    needed = np.sort(np.maximum(others - log_probs[:, k], 0.0)[is_criticism])
    reach = needed[math.ceil(recall * len(needed)) - 1]
    return round(float(reach) + 1e-3, 4) if reach > 0 else 0.0


def with_bias(log_probs: np.ndarray, bias: float) -> np.ndarray:
    """log_probs with bias added to criticism's column."""
    out = log_probs.copy()
    out[:, LABELS.index("criticism")] += bias
    return out


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of logits / temperature."""
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(log_probs: np.ndarray, gold: Sequence[str]) -> float:
    """Temperature that minimises the log-loss of held-out predictions (keeps every argmax)."""
    target = np.array([LABELS.index(g) for g in gold])

    def nll(log_t: float) -> float:
        p = softmax(log_probs, math.exp(log_t))
        return float(-np.mean(np.log(p[np.arange(len(target)), target] + 1e-12)))

    return round(math.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x), 4)


def calibration(probs: np.ndarray, gold: Sequence[str], bins: int = 10) -> dict[str, float]:
    """Log-loss, Brier score and top-label expected calibration error of probabilities."""
    target = np.array([LABELS.index(g) for g in gold])
    onehot = np.eye(len(LABELS))[target]
    top = probs.max(axis=1)
    correct = probs.argmax(axis=1) == target
    ece = 0.0
    for lo in np.linspace(0, 1, bins, endpoint=False):
        in_bin = (top > lo) & (top <= lo + 1 / bins)
        if in_bin.any():
            ece += in_bin.mean() * abs(top[in_bin].mean() - correct[in_bin].mean())
    return {
        "log_loss": round(
            float(-np.mean(np.log(probs[np.arange(len(target)), target] + 1e-12))), 4
        ),
        "brier": round(float(np.mean(np.sum((probs - onehot) ** 2, axis=1))), 4),
        "ece": round(float(ece), 4),
    }


class LinearClassifier:
    """TF-IDF over word segments + cue evidence -> logistic regression, temperature-scaled."""

    def __init__(
        self,
        vectorizer: TfidfVectorizer,
        model: LogisticRegression,
        cues: CueLexiconClassifier,
        head_chars: int,
        temperature: float = 1.0,
        model_id: str = KIND,
        bias: float = 0.0,
    ) -> None:
        """Wrap fitted parts under a model id."""
        self.vectorizer = vectorizer
        self.model = model
        self.cues = cues
        self.head_chars = head_chars
        self.temperature = temperature
        self.bias = bias
        self.model_id = model_id
        order = [list(model.classes_).index(label) for label in LABELS]
        n_words = len(vectorizer.vocabulary_)
        self._coef = model.coef_[order][:, :n_words]

    @classmethod
    def from_dir(cls, model_dir: Path, config: dict[str, Any]) -> LinearClassifier:
        """Load from a model folder: model.json, the joblib artifact and the folder's cues.yaml."""
        parts = joblib.load(model_dir / config.get("artifact", ARTIFACT))
        lexicon = Lexicon.from_yaml(model_dir / config.get("cues", "cues.yaml"))
        return cls(
            parts["vectorizer"],
            parts["model"],
            CueLexiconClassifier(lexicon, "cues"),
            int(config.get("head_chars", LinearOptions.head_chars)),
            float(config.get("temperature", 1.0)),
            str(config.get("model_id", model_dir.name)),
            float(config.get("criticism_bias", 0.0)),
        )

    def save(self, model_dir: Path) -> Path:
        """Write the artifact (vectorizer and regression) into a model folder."""
        path = Path(model_dir) / ARTIFACT
        joblib.dump({"vectorizer": self.vectorizer, "model": self.model}, path, compress=3)
        return path

    def classify(self, text: str) -> Prediction:
        """Label one text with evidence; never raises on empty or non-Vietnamese input."""
        if not text or not text.strip():
            return neutral("empty text")
        if not VIETNAMESE_RE.search(text):
            return neutral("no Vietnamese letters found; the model only reads Vietnamese")
        scored = self.cues.score_sentences(text)
        tokens = doc_tokens(segment_lines(head_lines(text, self.head_chars)))
        cue = [cue_vector(scored, self.cues.lexicon)]
        logits = with_bias(log_proba(self.vectorizer, self.model, [tokens], cue), self.bias)
        probs = softmax(logits, self.temperature)[0]
        scores = {label: float(p) for label, p in zip(LABELS, probs, strict=True)}
        return explain(
            scores,
            self.model_id,
            self.cues,
            scored,
            lambda label: self.weighted_sentences(text, label, limit=2),
            "sentences the model weighs most",
        )

    def weighted_sentences(self, text: str, label: str, limit: int = 2) -> list[str]:
        """Return the sentences of the text's head whose words push most towards a label."""
        k = LABELS.index(label)
        direction = self._coef[k] - self._coef.mean(axis=0)
        budget = self.head_chars
        ranked = []
        for i, sentence in enumerate(sentences(text)):
            if budget <= 0:
                break
            budget -= len(sentence)
            words = segment_lines([sentence])
            tokens = doc_tokens(words) if i == 0 else doc_tokens([[], *words])
            x = self.vectorizer.transform([tokens])
            ranked.append((float((x @ direction)[0]), i, sentence))
        ranked.sort(key=lambda r: (-r[0], r[1]))
        return [s for score, _, s in ranked[:limit] if score > 0]


def options_dict(options: LinearOptions) -> dict[str, Any]:
    """The options as a plain dict for recipe.json."""
    return asdict(options)


@dataclass
class Features:
    """Model tokens and cue features of every article of a training set."""

    docs: dict[str, list[str]]
    cues: dict[str, list[float]]


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
    ids = hand_ids + weak_ids
    labels = [trainset.hand[i] for i in hand_ids] + [trainset.weak[i] for i in weak_ids]
    weights = [options.hand_weight] * len(hand_ids) + [1.0] * len(weak_ids)
    cues = np.array([features.cues[i] for i in ids])
    return fit([features.docs[i] for i in ids], cues, labels, weights, options)


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
            vectorizer, model = fit_ids(trainset, features, train_ids, weak_ids, options)
            cues = np.array([features.cues[i] for i in test_ids])
            out = log_proba(vectorizer, model, [features.docs[i] for i in test_ids], cues)
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
        vectorizer, model = fit_ids(trainset, features, train_ids, weak_ids, options)
        cues = np.array([features.cues[i] for i in test_ids])
        out = log_proba(vectorizer, model, [features.docs[i] for i in test_ids], cues)
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
    import json

    from nlp.trainset import read_trainset

    recipe = json.loads((Path(model_dir) / "recipe.json").read_text(encoding="utf-8"))
    known = {f for f in LinearOptions.__dataclass_fields__}
    saved = {k: v for k, v in recipe["options"].items() if k in known}
    options = LinearOptions(**saved | {"cv_repeats": repeats, "jobs": jobs})
    trainset = read_trainset(Path(model_dir) / recipe["data"]["trainset"], labels_csv, corpus)
    features = featurize(trainset.texts, Path(model_dir) / "cues.yaml", options)
    return cross_validate(trainset, features, options)
