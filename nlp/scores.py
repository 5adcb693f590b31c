"""Class scores at inference: softmax with a temperature, and biases added to classes."""

from __future__ import annotations

import numpy as np

from nlp.classify import LABELS


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of logits / temperature."""
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def biased(log_probs: np.ndarray, biases: dict[str, float]) -> np.ndarray:
    """log_probs with a bias added to each named label's column."""
    out = log_probs.copy()
    for label, bias in biases.items():
        out[:, LABELS.index(label)] += bias
    return out


def with_bias(log_probs: np.ndarray, bias: float) -> np.ndarray:
    """log_probs with bias added to criticism's column."""
    return biased(log_probs, {"criticism": bias})
