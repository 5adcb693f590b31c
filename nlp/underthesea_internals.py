"""Where congvu reaches past underthesea's public API (it has none for these); tests guard each."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

# underthesea imports its translation, dependency-parsing and agent pipelines eagerly, and with
# them transformers and torch (about 4 s per process, every `congvu` command). congvu uses none
# of the three; marking them absent makes underthesea skip them (it tolerates the ImportError).
# tests/test_entities.py checks that importing the nlp modules loads neither torch nor these.
UNUSED_PIPELINES = (
    "underthesea.pipeline.translate",
    "underthesea.pipeline.dependency_parse",
    "underthesea.agent",
)


def skip_unused_pipelines() -> None:
    """Mark underthesea's unused eager pipelines absent; runs before underthesea is imported."""
    for module in UNUSED_PIPELINES:
        sys.modules.setdefault(module, None)  # type: ignore[arg-type]


def shipped_crf_models() -> list[tuple[Any, list[str]]]:
    """underthesea's shipped part-of-speech, chunking and NER CRF models, with feature templates.

    underthesea.ner() runs the same three, but rebuilds every column of a sentence for every token
    and template (quadratic in sentence length); nlp.entities tags with the models themselves
    (tests/test_entities.py checks that its tags equal underthesea.ner's).
    """
    from underthesea.pipeline.chunking.model_crf import CRFChunkingPredictor
    from underthesea.pipeline.ner.model_crf import CRFNERPredictor
    from underthesea.pipeline.pos_tag.model_crf import CRFPOSTagPredictor

    out = []
    for predictor in (CRFPOSTagPredictor, CRFChunkingPredictor, CRFNERPredictor):
        instance = predictor.Instance()
        out.append((instance.model, list(instance.transformer.template)))
    return out


def template_function() -> Callable[[str, str], str]:
    """underthesea's function that applies a feature template's named function to a word."""
    from underthesea.pipeline.ner.tagged_feature import apply_function

    return apply_function
