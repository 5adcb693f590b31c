"""Choices made on held-out predictions: temperature, criticism bias, calibration figures."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize_scalar

from nlp.classify import LABELS
from nlp.scores import softmax


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
