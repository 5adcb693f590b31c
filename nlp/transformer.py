"""A fine-tuned transformer classifier at inference (kind "transformer"), cue evidence."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlp.classify import LABELS, ModelNotFoundError, Prediction
from nlp.lexicon import CueLexiconClassifier, Lexicon, explain, unreadable
from nlp.scores import softmax
from nlp.text import head_lines, segment_lines, sentences

KIND = "transformer"
# What a model folder needs besides model.json; the weights are not committed when over 50 MB.
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")


@dataclass(frozen=True)
class TransformerOptions:
    """Fine-tuning options; the defaults suit PhoBERT-base on a GPU."""

    segment: bool = True  # underthesea words joined by "_" ("cán_bộ"), as PhoBERT was trained
    head_chars: int = 2000  # the title and first lines up to this many characters are read
    max_length: int = 256  # tokens per article (PhoBERT's limit is 256)
    epochs: float = 3.0
    max_steps: int = 0  # > 0: stop after this many optimiser steps (quick runs, tests)
    batch_size: int = 16
    learning_rate: float = 2e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    hand_weight: float = 10.0  # a hand label's loss counts this many weak labels'
    cv_folds: int = 5  # 0: no cross-validation (metrics.json then says there are no figures)
    seed: int = 0
    device: str = "auto"  # "auto": cuda when available, else cpu
    prefix: str = ""  # put before every input, e.g. "query: " for the e5 models
    # > 0: freeze the embeddings and the lower N encoder layers; their outputs are computed once
    # per article and reused by every fold, so training runs only the upper layers and the head.
    freeze_layers: int = 0
    threads: int = 0  # > 0: torch CPU threads (torch.set_num_threads); 0 leaves torch's default


def prepare(text: str, options: TransformerOptions) -> str:
    """The model's input: options.prefix + the head of the article (word-segmented if asked)."""
    lines = head_lines(text, options.head_chars)
    if not options.segment:
        return options.prefix + "\n".join(lines)
    words = (" ".join(w.replace(" ", "_") for w in line) for line in segment_lines(lines))
    return options.prefix + "\n".join(words)


def encode(tokenizer: Any, texts: list[str], max_length: int, device: Any) -> Any:
    """A padded, truncated batch of token ids on device."""
    batch = tokenizer(
        texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt"
    )
    return batch.to(device)


def torch_device(name: str) -> Any:
    """The torch device of a name; "auto": cuda when available."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def predict_logits(
    tokenizer: Any, model: Any, texts: list[str], max_length: int, batch_size: int = 16
) -> np.ndarray:
    """Logits in LABELS order for prepared texts."""
    import torch

    device = next(model.parameters()).device
    order = [model.config.label2id[label] for label in LABELS]
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            encoded = encode(tokenizer, texts[start : start + batch_size], max_length, device)
            out.append(model(**encoded).logits[:, order].float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(LABELS)))


class TransformerClassifier:
    """A fine-tuned sequence classifier; evidence from the cue lexicon, else its top sentences."""

    def __init__(
        self,
        tokenizer: Any,
        model: Any,
        cues: CueLexiconClassifier,
        options: TransformerOptions,
        model_id: str,
    ) -> None:
        """Wrap a tokenizer and model under a model id."""
        self.tokenizer = tokenizer
        self.model = model
        self.cues = cues
        self.options = options
        self.model_id = model_id

    @classmethod
    def from_dir(cls, model_dir: Path, config: dict[str, Any]) -> TransformerClassifier:
        """Load from a model folder written by train_transformer (no download ever)."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        missing = [name for name in REQUIRED_FILES if not (Path(model_dir) / name).is_file()]
        if missing:
            build = config.get("build") or "the command in its recipe.json"
            raise ModelNotFoundError(
                f"{model_dir} lacks {', '.join(missing)}: large weights are built, not committed; "
                f"build them with `{build}` (see the folder's README)"
            )

        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(
            str(model_dir), local_files_only=True
        )
        model.to(torch_device("auto"))
        model.eval()
        lexicon = Lexicon.from_yaml(Path(model_dir) / config.get("cues", "cues.yaml"))
        options = TransformerOptions(
            segment=bool(config.get("segment", True)),
            prefix=str(config.get("prefix", "")),
            head_chars=int(config.get("head_chars", TransformerOptions.head_chars)),
            max_length=int(config.get("max_length", TransformerOptions.max_length)),
        )
        model_id = str(config.get("model_id", Path(model_dir).name))
        return cls(tokenizer, model, CueLexiconClassifier(lexicon, "cues"), options, model_id)

    def classify(self, text: str) -> Prediction:
        """Label one text with evidence; never raises on empty or non-Vietnamese input."""
        if (unread := unreadable(text)) is not None:
            return unread
        probs = softmax(
            predict_logits(
                self.tokenizer, self.model, [prepare(text, self.options)], self.options.max_length
            )
        )[0]
        scores = {label: float(p) for label, p in zip(LABELS, probs, strict=True)}
        return explain(
            scores,
            self.model_id,
            self.cues,
            self.cues.score_sentences(text),
            lambda label: self.rated_sentences(text, label),
            "sentences the model rates most",
        )

    def rated_sentences(self, text: str, label: str, limit: int = 2) -> list[str]:
        """The sentences of the text's head that the model rates most of a label, in order."""
        head = sentences("\n".join(head_lines(text, self.options.head_chars)))
        sentence_probs = softmax(
            predict_logits(
                self.tokenizer,
                self.model,
                [prepare(s, self.options) for s in head],
                self.options.max_length,
            )
        )
        k = LABELS.index(label)
        ranked = sorted(range(len(head)), key=lambda i: -sentence_probs[i, k])[:limit]
        return [head[i] for i in sorted(ranked)]
