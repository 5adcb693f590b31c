"""Figures of labels against hand labels: P/R/F1, confusion, evidence hits, precision at a mix."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from nlp.classify import LABELS, POLAR
from nlp.text import normalize, sentences

_SPACE_RE = re.compile(r"\s+")


def metrics(gold: list[str], predicted: list[str]) -> dict:
    """Compute accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix."""
    matrix = {g: dict.fromkeys(LABELS, 0) for g in LABELS}
    for g, p in zip(gold, predicted, strict=True):
        matrix[g][p] += 1
    per_class = {}
    for label in LABELS:
        tp = matrix[label][label]
        n_pred = sum(matrix[g][label] for g in LABELS)
        n_gold = sum(matrix[label].values())
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": n_gold,
            "predicted": n_pred,
        }
    correct = sum(matrix[label][label] for label in LABELS)
    return {
        "n": len(gold),
        "accuracy": round(correct / len(gold), 4) if gold else 0.0,
        "macro_f1": round(sum(c["f1"] for c in per_class.values()) / len(LABELS), 4),
        "per_class": per_class,
        "confusion_matrix": matrix,
        "confusion_matrix_is": "confusion_matrix[gold label][predicted label] = article count",
    }


def match_form(text: str) -> str:
    """The form evidence is compared in: NFC, new-style tone marks, lower case, single spaces."""
    return _SPACE_RE.sub(" ", normalize(text).lower()).strip()


def phrase_parts(phrase: str) -> list[str]:
    """An annotator's evidence phrase as its sentences (nlp.text.sentences), in match_form."""
    return [form for form in (match_form(s) for s in sentences(phrase)) if form]


def sentence_holds(sentence: str, parts: Sequence[str]) -> bool:
    """Whether a sentence contains one of a phrase's sentences, both in match_form."""
    form = match_form(sentence)
    return any(part in form for part in parts)


def evidence_hits(
    gold: Mapping[str, str],
    predicted: Mapping[str, tuple[str, Sequence[str]]],
    phrases: Mapping[str, str],
) -> dict:
    """How often a model's evidence sentences hold the annotator's evidence phrase, per class.

    Over the praise / criticism articles with a phrase: a hit is an article whose evidence
    sentences (predicted[id] = (label, evidence)) include one that contains one of the phrase's
    sentences (sentence_holds). `hit_rate` counts the articles the model gave their gold label
    (the evidence an analyst reads next to a right label); `hit_rate_all` counts them all, a
    wrong label counting as a miss.
    """
    out = {}
    for label in POLAR:
        ids = [i for i in sorted(phrases) if gold.get(i) == label and i in predicted]
        right = [i for i in ids if predicted[i][0] == label]
        hits = [
            i
            for i in right
            if any(sentence_holds(s, phrase_parts(phrases[i])) for s in predicted[i][1])
        ]
        out[label] = {
            "articles": len(ids),
            "labelled_so": len(right),
            "hits": len(hits),
            "hit_rate": round(len(hits) / len(right), 4) if right else 0.0,
            "hit_rate_all": round(len(hits) / len(ids), 4) if ids else 0.0,
        }
    return out


def precision_at_mix(
    confusion: Mapping[str, Mapping[str, int]], priors: Mapping[str, float]
) -> dict:
    """Praise and criticism precision if articles came in the priors' label mix.

    Each gold class's prediction rates (a row of the confusion matrix over its total) are
    weighted by that class's prior: precision(c) = prior(c) rate(c->c) / sum_g prior(g) rate(g->c).
    """
    rate = {}
    for g in LABELS:
        total = sum(confusion[g].values())
        rate[g] = {p: confusion[g][p] / total if total else 0.0 for p in LABELS}
    out = {}
    for label in POLAR:
        shown = sum(priors[g] * rate[g][label] for g in LABELS)
        out[label] = round(priors[label] * rate[label][label] / shown, 4) if shown else 0.0
    return out
