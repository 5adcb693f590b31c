"""The linear model at inference (kind "tfidf-lr"): word segments and cue evidence, weighed."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlp.classify import LABELS, Prediction
from nlp.lexicon import (
    CueLexiconClassifier,
    Lexicon,
    SentenceScore,
    explain,
    unreadable,
)
from nlp.scores import softmax, with_bias
from nlp.text import head_lines, segment_lines, sentences

KIND = "tfidf-lr"
ARTIFACT = "model.joblib"
HEAD_CHARS = 2000  # the title and the first lines up to this many characters are read
_WORD_RE = re.compile(r"\w")
_BREAK_RE = re.compile(r"[,;:.!?()\[\]…]")
# A word after one of these, up to NEGATION_WINDOW words and no clause break, is marked "neg:"
# ("không hề gây phiền hà" -> neg:hề neg:gây neg:phiền_hà), so the model can learn negation.
NEGATORS = {
    "không", "chưa", "chẳng", "chả", "không_hề", "chưa_hề", "chẳng_hề", "chưa_từng",
    "không_từng", "không_bao_giờ", "chưa_bao_giờ", "không_để", "không_có",
}  # fmt: skip
NEGATION_WINDOW = 3


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


def log_proba(
    vectorizer: TfidfVectorizer, model: LogisticRegression, docs: Sequence[list[str]], cues: Any
) -> np.ndarray:
    """Log-probabilities in LABELS order (before temperature scaling)."""
    return regression_log_proba(model, vectorizer.transform(docs), cues)


def regression_log_proba(model: LogisticRegression, words: Any, cues: Any) -> np.ndarray:
    """Log-probabilities in LABELS order of TF-IDF rows and their cue features."""
    x = sparse.hstack([words, sparse.csr_matrix(cues)]).tocsr()
    order = [list(model.classes_).index(label) for label in LABELS]
    return model.predict_log_proba(x)[:, order]


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
            int(config.get("head_chars", HEAD_CHARS)),
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
        if (unread := unreadable(text)) is not None:
            return unread
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
