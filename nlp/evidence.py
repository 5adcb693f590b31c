"""The evidence model (kind "evidence-lr"): sentences scored by what annotators quoted, per article.

Two logistic regressions over syllable n-grams, which need no word segmentation (fast):

1. A sentence scorer, trained on the annotators' evidence phrases: a sentence holding the phrase
   of a praise or criticism article is that class, every sentence of a neutral article is
   neutral, and the other sentences of a praise / criticism article count as neutral at a low
   weight (they may carry the stance too, but the annotator pointed elsewhere). Each sentence also
   gets its cue-lexicon evidence and its position.
2. An article classifier over the article's syllable n-grams, its cue-lexicon evidence and the
   sentence scorer's verdicts aggregated per article (maximum, mean of the top 3, the title's,
   how many sentences lean each way). For training, those aggregates are out-of-fold: each comes
   from a sentence scorer that never saw the article (cross-fitting over inner folds).

Criticism and praise then get biases on their log-probabilities (the operating point) chosen on
held-out predictions of the training articles, never of the evaluated ones. The evidence shown
for a praise or criticism label is the up to 3 sentences the sentence scorer rates most so.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlp.classify import LABELS, Prediction, neutral
from nlp.lexicon import VIETNAMESE_RE, CueLexiconClassifier, Lexicon, SentenceScore, cue_summary
from nlp.linear import (
    calibration,
    criticism_bias,
    cue_vector,
    fit_temperature,
    identity,
    softmax,
    with_bias,
)
from nlp.metrics import (
    evidence_hits,
    metrics,
    phrase_parts,
    precision_at_mix,
    sentence_holds,
)
from nlp.progress import Progress
from nlp.trainset import TrainSet, cv_folds, fold_weak_ids

KIND = "evidence-lr"
ARTIFACT = "model.joblib"
_SYLLABLE_RE = re.compile(r"\w+")
POSITIONS = (0, 1, 2, 3, 4, 7, 11)  # sentence index buckets: title, 1, 2, 3, 4-6, 7-10, 11+
POLAR = ("praise", "criticism")
READ_BATCH = 500  # articles read between two progress lines


@dataclass(frozen=True)
class EvidenceOptions:
    """Training options of the evidence model; the defaults are the committed recipe."""

    c: float = 4.0  # inverse regularisation of the article classifier
    sentence_c: float = 4.0  # ... and of the sentence scorer
    other_weight: float = 0.3  # weight of a praise / criticism article's non-evidence sentences
    text: bool = True  # the article's syllable n-grams as features
    cues: bool = True  # the article's cue-lexicon evidence as features
    sentences: bool = True  # the sentence scorer's aggregates as features
    min_df: int = 2
    max_df: float = 0.5
    # Operating point: the smallest criticism bias reaching this recall on held-out predictions
    # of the training articles (0: none), then the praise bias maximising praise F1 on them.
    criticism_recall: float = 0.88
    praise_bias: bool = True
    inner_folds: int = 4
    cv_folds: int = 5
    seed: int = 0
    max_evidence: int = 3
    weak: bool = False  # train on the lexicon's weak labels too (cross-validation said no)
    hand_weight: float = 10.0  # with weak labels: a hand label counts this many weak ones


@dataclass
class Article:
    """What the models read of one article: its scored sentences and their tokens."""

    scored: list[SentenceScore]
    sentence_tokens: list[list[str]]
    sentence_extra: np.ndarray  # [sentences, 2 + len(POSITIONS)]
    doc: list[str]
    cues: list[float]


def syllables(text: str) -> list[str]:
    """Lower-cased syllables of a text."""
    return _SYLLABLE_RE.findall(text.lower())


def ngrams(words: Sequence[str]) -> list[str]:
    """Syllables and syllable pairs (a pair approximates a two-syllable word: "cán bộ")."""
    return [*words, *(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))]


def position_vector(index: int) -> list[float]:
    """One-hot bucket of a sentence's index (0 is the title)."""
    bucket = max(k for k, start in enumerate(POSITIONS) if index >= start)
    return [1.0 if k == bucket else 0.0 for k in range(len(POSITIONS))]


def read_article(text: str, cues: CueLexiconClassifier) -> Article:
    """Split, cue-score and tokenise one article."""
    scored = cues.score_sentences(text)
    tokens = [ngrams(syllables(s.text)) for s in scored]
    extra = np.array(
        [
            [math.log1p(s.praise), math.log1p(s.criticism), *position_vector(k)]
            for k, s in enumerate(scored)
        ],
        dtype=float,
    ).reshape(len(scored), 2 + len(POSITIONS))
    title = ["T:" + w for w in syllables(scored[0].text)] if scored else []
    doc = title + [t for sentence in tokens for t in sentence]
    return Article(scored, tokens, extra, doc, cue_vector(scored, cues.lexicon))


# Classifying one article at a time (as nightly does), sklearn's per-call input checks and
# sparse stacking cost more than the arithmetic; these two functions do the same arithmetic
# directly (tests/test_evidence.py checks them against sklearn's transform and predict_proba).


def tfidf(vectorizer: TfidfVectorizer, docs: Sequence[list[str]]) -> sparse.csr_matrix:
    """vectorizer.transform(docs) of a fitted token-list, sublinear-tf, l2-normed vectorizer."""
    vocabulary, idf = vectorizer.vocabulary_, vectorizer.idf_
    indptr, indices, values = [0], [], []
    for doc in docs:
        counts = Counter(j for j in map(vocabulary.get, doc) if j is not None)
        columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        weights = 1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))
        weights *= idf[columns]
        norm = float(np.sqrt(weights @ weights))
        indices.extend(columns.tolist())
        values.extend((weights / norm if norm else weights).tolist())
        indptr.append(len(indices))
    return sparse.csr_matrix((values, indices, indptr), shape=(len(docs), len(idf)))


def class_log_proba(model: LogisticRegression, blocks: Sequence[Any]) -> np.ndarray:
    """A multinomial regression's log-probabilities (LABELS order) of column blocks of X."""
    scores = np.tile(model.intercept_, (blocks[0].shape[0], 1))
    start = 0
    for block in blocks:
        width = block.shape[1]
        scores += np.asarray(block @ model.coef_[:, start : start + width].T)
        start += width
    scores = scores[:, [list(model.classes_).index(label) for label in LABELS]]
    top = scores.max(axis=1, keepdims=True)
    return scores - top - np.log(np.exp(scores - top).sum(axis=1, keepdims=True))


def stacked(blocks: Sequence[Any]) -> sparse.csr_matrix:
    """Column blocks as one sparse matrix (to fit on)."""
    return sparse.hstack([sparse.csr_matrix(b) for b in blocks]).tocsr()


@dataclass
class SentenceScorer:
    """Syllable n-grams, cue evidence and position of a sentence -> praise/criticism/neutral."""

    vectorizer: TfidfVectorizer
    model: LogisticRegression

    def proba(self, article: Article) -> np.ndarray:
        """Probabilities [sentences, LABELS] of every sentence of an article."""
        if not article.sentence_tokens:
            return np.zeros((0, len(LABELS)))
        blocks = [tfidf(self.vectorizer, article.sentence_tokens), article.sentence_extra]
        return np.exp(class_log_proba(self.model, blocks))


def sentence_examples(
    articles: dict[str, Article], labels: dict[str, str], evidence: dict[str, str], other: float
) -> tuple[list[list[str]], list[np.ndarray], list[str], list[float]]:
    """Sentences to train the scorer on: (tokens, extra, label, weight) lists.

    A praise / criticism article without an evidence phrase, or whose phrase is found in none of
    its sentences, gives no sentence (its polar sentence is unknown).
    """
    tokens, extra, y, w = [], [], [], []
    for i in sorted(labels):
        article = articles[i]
        label = labels[i]
        if label == "neutral":
            chosen = [(k, "neutral", 1.0) for k in range(len(article.scored))]
        else:
            parts = phrase_parts(evidence.get(i, ""))
            holds = [sentence_holds(s.text, parts) for s in article.scored] if parts else []
            if not any(holds):
                continue
            chosen = [
                (k, label, 1.0) if hit else (k, "neutral", other)
                for k, hit in enumerate(holds)
                if hit or other > 0
            ]
        for k, target, weight in chosen:
            tokens.append(article.sentence_tokens[k])
            extra.append(article.sentence_extra[k])
            y.append(target)
            w.append(weight)
    return tokens, extra, y, w


def fit_sentence_scorer(
    articles: dict[str, Article],
    labels: dict[str, str],
    evidence: dict[str, str],
    options: EvidenceOptions,
) -> SentenceScorer:
    """Fit the sentence scorer on some labelled articles."""
    tokens, extra, y, w = sentence_examples(articles, labels, evidence, options.other_weight)
    vectorizer = TfidfVectorizer(analyzer=identity, min_df=options.min_df, sublinear_tf=True)
    x = sparse.hstack([vectorizer.fit_transform(tokens), np.array(extra)]).tocsr()
    model = LogisticRegression(C=options.sentence_c, class_weight="balanced", max_iter=3000)
    model.fit(x, y, sample_weight=np.asarray(w))
    return SentenceScorer(vectorizer, model)


def aggregates(probs: np.ndarray) -> list[float]:
    """Per polar class: max, mean of the top 3, the title's, log(1 + sentences above 0.5)."""
    out: list[float] = []
    for label in POLAR:
        column = probs[:, LABELS.index(label)] if len(probs) else np.zeros(1)
        top = np.sort(column)[::-1]
        out += [
            float(top[0]),
            float(top[:3].mean()),
            float(column[0]),
            math.log1p(float((column > 0.5).sum())),
        ]
    return out


@dataclass
class Parts:
    """A fitted evidence model: the sentence scorer and the article classifier."""

    scorer: SentenceScorer
    vectorizer: TfidfVectorizer | None
    model: LogisticRegression
    options: EvidenceOptions

    def features(
        self, articles: Sequence[Article], sentence_aggregates: Sequence[list[float]]
    ) -> list[Any]:
        """The article classifier's features, as column blocks."""
        blocks: list[Any] = []
        if self.vectorizer is not None:
            blocks.append(tfidf(self.vectorizer, [a.doc for a in articles]))
        if self.options.cues:
            blocks.append(np.array([a.cues for a in articles], dtype=float))
        if self.options.sentences:
            blocks.append(np.array(sentence_aggregates, dtype=float).reshape(len(articles), -1))
        return blocks

    def log_proba(self, articles: Sequence[Article]) -> np.ndarray:
        """Log-probabilities in LABELS order (before biases and temperature)."""
        found = [aggregates(self.scorer.proba(a)) for a in articles]
        return class_log_proba(self.model, self.features(articles, found))


Folds = Callable[[list[str]], list[tuple[list[str], list[str]]]]


def fit_parts(
    articles: dict[str, Article],
    labels: dict[str, str],
    weights: dict[str, float],
    evidence: dict[str, str],
    options: EvidenceOptions,
    folds: Folds,
    hand_ids: list[str],
) -> tuple[Parts, dict[str, list[float]]]:
    """Fit on the given labels: out-of-fold sentence aggregates, then the article classifier.

    folds(hand_ids) gives the inner folds; weak labels (ids beyond hand_ids) take their
    aggregates from the scorer fitted on all hand labels (it never sees weak labels). Returns the
    parts and the out-of-fold aggregates of the hand labels (for the operating point).
    """
    hand = {i: labels[i] for i in hand_ids}
    oof: dict[str, list[float]] = {}
    if options.sentences:
        for train_ids, held_ids in folds(hand_ids):
            scorer = fit_sentence_scorer(
                articles, {i: hand[i] for i in train_ids}, evidence, options
            )
            oof.update({i: aggregates(scorer.proba(articles[i])) for i in held_ids})
    scorer = fit_sentence_scorer(articles, hand, evidence, options)
    ids = sorted(labels)
    found = [oof[i] if i in oof else aggregates(scorer.proba(articles[i])) for i in ids]
    vectorizer = None
    if options.text:
        vectorizer = TfidfVectorizer(
            analyzer=identity, min_df=options.min_df, max_df=options.max_df, sublinear_tf=True
        )
        vectorizer.fit([articles[i].doc for i in ids])
    parts = Parts(scorer, vectorizer, LogisticRegression(), options)
    x = stacked(parts.features([articles[i] for i in ids], found))
    model = LogisticRegression(C=options.c, class_weight="balanced", max_iter=5000)
    model.fit(x, [labels[i] for i in ids], sample_weight=np.array([weights[i] for i in ids]))
    parts.model = model
    return parts, oof


def held_out_log_proba(
    parts: Parts,
    articles: dict[str, Article],
    labels: dict[str, str],
    weights: dict[str, float],
    oof: dict[str, list[float]],
    folds: Folds,
    hand_ids: list[str],
) -> dict[str, np.ndarray]:
    """Held-out log-probabilities of the hand labels a model was fitted on (cross-fitting).

    Each inner fold's articles are scored by an article classifier refitted without them, on the
    same out-of-fold sentence aggregates: the held-out labels are never fitted on, and their
    aggregates come from a scorer that never saw them. (The TF-IDF vocabulary, which reads no
    label, is the fitted model's.)
    """
    out: dict[str, np.ndarray] = {}
    weak_ids = sorted(set(labels) - set(hand_ids))
    for train_ids, held_ids in folds(hand_ids):
        keep = sorted(train_ids) + weak_ids
        x = parts.features(
            [articles[i] for i in keep], [_aggregates(parts, articles, oof, i) for i in keep]
        )
        model = LogisticRegression(C=parts.options.c, class_weight="balanced", max_iter=5000)
        model.fit(
            stacked(x),
            [labels[i] for i in keep],
            sample_weight=np.array([weights[i] for i in keep]),
        )
        held = parts.features([articles[i] for i in held_ids], [oof.get(i, []) for i in held_ids])
        out.update(zip(held_ids, class_log_proba(model, held), strict=True))
    return out


def _aggregates(parts: Parts, articles: dict[str, Article], oof: dict, i: str) -> list[float]:
    """An article's out-of-fold aggregates, else (a weak label) the fitted scorer's."""
    if not parts.options.sentences:
        return []
    return oof[i] if i in oof else aggregates(parts.scorer.proba(articles[i]))


def praise_bias(log_probs: np.ndarray, gold: Sequence[str]) -> float:
    """The bias on praise's log-probability that maximises praise F1 (the smallest of ties)."""
    k = LABELS.index("praise")
    is_praise = np.array([g == "praise" for g in gold])
    if not is_praise.any():
        return 0.0
    margin = np.delete(log_probs, k, axis=1).max(axis=1) - log_probs[:, k]
    best = (-1.0, 0.0)
    for bias in sorted({0.0, *(round(float(m) + 1e-3, 4) for m in margin)}, key=abs):
        chosen = margin < bias
        tp = float((chosen & is_praise).sum())
        f1 = 2 * tp / (chosen.sum() + is_praise.sum())
        if f1 > best[0] + 1e-9:
            best = (f1, bias)
    return best[1]


def operating_point(
    log_probs: np.ndarray, gold: Sequence[str], options: EvidenceOptions
) -> dict[str, float]:
    """Criticism bias for the recall target, then the praise bias for praise F1 (held-out data)."""
    criticism = criticism_bias(log_probs, gold, options.criticism_recall)
    shifted = with_bias(log_probs, criticism)
    praise = praise_bias(shifted, gold) if options.praise_bias else 0.0
    return {"praise": praise, "criticism": criticism}


def biased(log_probs: np.ndarray, biases: dict[str, float]) -> np.ndarray:
    """log_probs with the praise and criticism biases added."""
    out = log_probs.copy()
    for label, bias in biases.items():
        out[:, LABELS.index(label)] += bias
    return out


def top_sentences(
    scored: list[SentenceScore], probs: np.ndarray, label: str, limit: int
) -> list[str]:
    """The up to `limit` sentences the scorer rates most of a label, strongest first."""
    if label not in POLAR or not len(probs):
        return []
    column = probs[:, LABELS.index(label)]
    order = sorted(range(len(scored)), key=lambda k: (-column[k], k))[:limit]
    return [scored[k].text for k in order]


class EvidenceClassifier:
    """The fitted evidence model: label from the article classifier, evidence from the scorer."""

    def __init__(
        self,
        parts: Parts,
        cues: CueLexiconClassifier,
        biases: dict[str, float],
        temperature: float = 1.0,
        model_id: str = KIND,
    ) -> None:
        """Wrap fitted parts under a model id."""
        self.parts = parts
        self.cues = cues
        self.biases = dict(biases)
        self.temperature = temperature
        self.model_id = model_id

    @classmethod
    def from_dir(cls, model_dir: Path, config: dict[str, Any]) -> EvidenceClassifier:
        """Load from a model folder: model.json, the joblib artifact and the folder's cues.yaml."""
        parts = joblib.load(Path(model_dir) / config.get("artifact", ARTIFACT))
        lexicon = Lexicon.from_yaml(Path(model_dir) / config.get("cues", "cues.yaml"))
        return cls(
            parts,
            CueLexiconClassifier(lexicon, "cues"),
            {k: float(v) for k, v in config.get("biases", {}).items()},
            float(config.get("temperature", 1.0)),
            str(config.get("model_id", Path(model_dir).name)),
        )

    def save(self, model_dir: Path) -> Path:
        """Write the artifact (both regressions and their vocabularies) into a model folder."""
        path = Path(model_dir) / ARTIFACT
        joblib.dump(self.parts, path, compress=3)
        return path

    def predict(self, text: str) -> tuple[np.ndarray, Article, np.ndarray]:
        """Calibrated probabilities (LABELS order), the read article and its sentence scores."""
        article = read_article(text, self.cues)
        probs = self.parts.scorer.proba(article)
        x = self.parts.features([article], [aggregates(probs)])
        logits = biased(class_log_proba(self.parts.model, x), self.biases)
        return softmax(logits, self.temperature)[0], article, probs

    def classify(self, text: str) -> Prediction:
        """Label one text with evidence; never raises on empty or non-Vietnamese input."""
        if not text or not text.strip():
            return neutral("empty text")
        if not VIETNAMESE_RE.search(text):
            return neutral("no Vietnamese letters found; the model only reads Vietnamese")
        probs, article, sentence_probs = self.predict(text)
        scores = {label: float(p) for label, p in zip(LABELS, probs, strict=True)}
        label = max(scores, key=scores.__getitem__)
        confidence = f"{label} {scores[label]:.2f} ({self.model_id})"
        if label == "neutral":
            return Prediction(label, scores, [], f"{confidence}; {cue_summary(article.scored)}")
        limit = self.parts.options.max_evidence
        evidence = top_sentences(article.scored, sentence_probs, label, limit)
        reason = (
            f"{confidence}; evidence: the sentences its sentence scorer rates most {label}; "
            f"{cue_summary(article.scored, label)}"
        )
        return Prediction(label, scores, evidence, reason)


def read_articles(
    texts: dict[str, str], cues: CueLexiconClassifier, progress: Progress | None = None
) -> dict[str, Article]:
    """Read every text once (sentences, cues, tokens); every fit reuses them."""
    out = {}
    ids = sorted(texts)
    for start in range(0, len(ids), READ_BATCH):
        batch = ids[start : start + READ_BATCH]
        out.update((i, read_article(texts[i], cues)) for i in batch)
        if progress is not None:
            progress.step(f"{start + len(batch)} articles read", items=len(batch))
    return out


def fit_model(
    trainset: TrainSet,
    articles: dict[str, Article],
    hand_ids: list[str],
    held_out: Sequence[str],
    options: EvidenceOptions,
) -> tuple[Parts, dict[str, float]]:
    """Fit on some hand labels (and weak ones not near held_out); operating point by inner CV."""
    weak_ids = fold_weak_ids(trainset, list(held_out)) if options.weak else []
    labels = {i: trainset.hand[i] for i in hand_ids} | {i: trainset.weak[i] for i in weak_ids}
    weights = dict.fromkeys(hand_ids, options.hand_weight if weak_ids else 1.0)
    weights |= dict.fromkeys(weak_ids, 1.0)

    def folds(ids: list[str]) -> list[tuple[list[str], list[str]]]:
        return cv_folds(trainset, options.inner_folds, options.seed, ids)

    parts, oof = fit_parts(articles, labels, weights, trainset.evidence, options, folds, hand_ids)
    biases = {"praise": 0.0, "criticism": 0.0}
    if options.criticism_recall > 0 or options.praise_bias:
        inner = held_out_log_proba(parts, articles, labels, weights, oof, folds, hand_ids)
        ids = sorted(inner)
        matrix = np.array([inner[i] for i in ids])
        biases = operating_point(matrix, [trainset.hand[i] for i in ids], options)
    return parts, biases


def cross_validate(
    trainset: TrainSet,
    articles: dict[str, Article],
    options: EvidenceOptions,
    progress: Progress | None = None,
    priors: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Outer CV over the split's folds: figures at argmax and at the nested operating point."""
    raw: dict[str, np.ndarray] = {}
    shifted: dict[str, np.ndarray] = {}
    shown: dict[str, tuple[str, list[str]]] = {}
    per_fold = []
    for k, (train_ids, held_ids) in enumerate(cv_folds(trainset, options.cv_folds, options.seed)):
        parts, biases = fit_model(trainset, articles, train_ids, held_ids, options)
        held = [articles[i] for i in held_ids]
        out = parts.log_proba(held)
        raw.update(zip(held_ids, out, strict=True))
        for i, row in zip(held_ids, biased(out, biases), strict=True):
            shifted[i] = row
            label = LABELS[int(np.argmax(row))]
            probs = parts.scorer.proba(articles[i])
            shown[i] = (
                label,
                top_sentences(articles[i].scored, probs, label, options.max_evidence),
            )
        per_fold.append(
            {"fold": k, "train": len(train_ids), "held_out": len(held_ids), "biases": biases}
        )
        if progress is not None:
            progress.step(
                f"fold {k + 1} fitted on {len(train_ids)} hand labels", items=len(train_ids)
            )
    ids = sorted(shifted)
    gold = [trainset.hand[i] for i in ids]
    matrix = np.array([shifted[i] for i in ids])
    chosen = metrics(gold, [LABELS[j] for j in matrix.argmax(axis=1)])
    argmax = metrics(gold, [LABELS[j] for j in np.array([raw[i] for i in ids]).argmax(axis=1)])
    temperature = fit_temperature(matrix, gold)
    result: dict[str, Any] = {
        "at_operating_point": chosen,
        "argmax": {k: argmax[k] for k in ("macro_f1", "accuracy", "per_class", "confusion_matrix")},
        "evidence_hits": evidence_hits(trainset.hand, shown, trainset.evidence),
        "folds": per_fold,
        "calibration": {
            "method": "temperature scaling fitted on these out-of-fold predictions",
            "temperature": temperature,
            "before": calibration(softmax(matrix), gold),
            "after": calibration(softmax(matrix, temperature), gold),
        },
    }
    if priors:
        result["precision_at_nightly_mix"] = precision_at_mix(chosen["confusion_matrix"], priors)
    return result


def options_dict(options: EvidenceOptions) -> dict[str, Any]:
    """The options as a plain dict for recipe.json."""
    return asdict(options)
