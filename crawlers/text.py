"""Article text as congvu stores it: normalised, hashed to tell an edit from a refetch, compared."""

from __future__ import annotations

import hashlib
import html as htmllib
import re
import unicodedata
from collections import Counter
from typing import Any

# Bidirectional embeddings, overrides, isolates and marks: Vietnamese never needs them, and a
# U+202E (right-to-left override) in a title shows the text after it reversed to an analyst.
BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
BIDI = re.compile(f"[{BIDI_CONTROLS}]")
# Zero-width and soft-hyphen characters, control characters lxml passes through, lone surrogates
# (half a character, escaped in JSON-LD), which UTF-8 and so the staging file refuse, and the
# bidirectional controls.
INVISIBLE = re.compile(
    "[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0e-\x1b\ufffe\uffff\ud800-\udfff"
    f"{BIDI_CONTROLS}]"
)


def clean(text: Any, unescape: bool = False) -> str:
    """NFC, invisible characters dropped, whitespace collapsed (entities decoded if asked)."""
    if text is None:
        return ""
    text = str(text)
    if unescape:
        for _ in range(2):  # some sites escape entities twice inside JSON-LD
            if "&" not in text:
                break
            text = htmllib.unescape(text)
    text = INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return " ".join(text.split())


def content_hash(title: str | None, body: str | None) -> str:
    """SHA-256 of the normalised title and body text: equal when the article text is unchanged."""
    text = clean(title) + "\n" + clean(body)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens of NFC text."""
    return re.findall(r"\w+", unicodedata.normalize("NFC", text).lower())


def token_f1(found: str, truth: str) -> float:
    """Bag-of-tokens F1 of found against truth: how much two texts say the same words."""
    found_counts, truth_counts = Counter(tokens(found)), Counter(tokens(truth))
    overlap = sum((found_counts & truth_counts).values())
    if not overlap:
        return 0.0
    precision = overlap / sum(found_counts.values())
    recall = overlap / sum(truth_counts.values())
    return 2 * precision * recall / (precision + recall)
