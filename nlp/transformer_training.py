"""Fine-tuning a transformer classifier: frozen layers, cross-validation, the model folder."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from nlp.classify import LABELS
from nlp.metrics import metrics
from nlp.model_folder import CUES_FILE, copy_cues, model_config, write_model_files
from nlp.progress import Progress
from nlp.trainset import TrainSet, cv_folds, fold_weak_ids
from nlp.transformer import KIND, TransformerOptions, encode, predict_logits, prepare, torch_device


def _load_base(base_model: str | Path) -> tuple[Any, Any]:
    """Load a tokenizer and a fresh 3-label classification head from a folder or hub name."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_model))
    model = AutoModelForSequenceClassification.from_pretrained(
        str(base_model),
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
        ignore_mismatched_sizes=True,
    )
    return tokenizer, model


def _set_threads(options: TransformerOptions) -> None:
    """Apply options.threads to torch (0: leave torch's default)."""
    import torch

    if options.threads > 0:
        torch.set_num_threads(options.threads)


def _encoder_layers(model: Any) -> Any:
    """The encoder's layer list of a BERT-like model (BERT, RoBERTa, XLM-R, PhoBERT, e5)."""
    layers = getattr(getattr(model.base_model, "encoder", None), "layer", None)
    if layers is None or not hasattr(model.base_model, "embeddings"):
        name = type(model.base_model).__name__
        raise ValueError(
            f"freeze_layers needs a BERT-like encoder (embeddings, encoder.layer); {name}"
        )
    return layers


def _passthrough() -> Any:
    """An embeddings stand-in that returns the inputs_embeds it is given (cached hidden states)."""
    import torch

    class Given(torch.nn.Module):
        def forward(self, inputs_embeds: Any = None, **_: Any) -> Any:
            return inputs_embeds

    return Given()


@contextmanager
def _only_layers(model: Any, start: int, stop: int | None, given_input: bool) -> Iterator[None]:
    """Run only encoder layers [start:stop]; given_input: hidden states come as inputs_embeds."""
    import torch

    base = model.base_model
    layers = _encoder_layers(model)
    embeddings = base.embeddings
    base.encoder.layer = torch.nn.ModuleList(list(layers)[start:stop])
    if given_input:
        base.embeddings = _passthrough()
    try:
        yield
    finally:
        base.encoder.layer = layers
        base.embeddings = embeddings


def _freeze(model: Any, n_layers: int) -> None:
    """Stop gradients through the embeddings and the lower n_layers encoder layers."""
    layers = _encoder_layers(model)
    if not 0 < n_layers <= len(layers):
        raise ValueError(f"freeze_layers={n_layers}: the model has {len(layers)} encoder layers")
    for module in [model.base_model.embeddings, *list(layers)[:n_layers]]:
        for parameter in module.parameters():
            parameter.requires_grad_(False)


def frozen_features(
    tokenizer: Any, model: Any, texts: list[str], options: TransformerOptions
) -> list[Any]:
    """Each prepared text's hidden states after the frozen lower layers ([tokens, hidden])."""
    import torch

    _set_threads(options)
    device = next(model.parameters()).device
    out: list[Any] = [None] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
    model.eval()
    batches = range(0, len(order), options.batch_size)
    every = max(1, len(batches) // 10)  # about ten progress lines
    progress = Progress("frozen layers", -(-len(batches) // every), "articles")
    with torch.no_grad(), _only_layers(model, 0, options.freeze_layers, given_input=False):
        for n, start in enumerate(batches, start=1):
            batch = order[start : start + options.batch_size]
            encoded = encode(tokenizer, [texts[i] for i in batch], options.max_length, device)
            hidden = model.base_model(**encoded).last_hidden_state
            lengths = encoded["attention_mask"].sum(dim=1).tolist()
            for i, row, length in zip(batch, hidden, lengths, strict=True):
                out[i] = row[: int(length)].clone()
            if n % every == 0 or n == len(batches):
                done = min(start + options.batch_size, len(order))
                progress.step(f"{done} of {len(order)} articles", items=done - progress.items)
    return out


def _stack(features: list[Any], device: Any) -> tuple[Any, Any]:
    """Pad [tokens, hidden] tensors into a batch and its attention mask."""
    import torch

    longest = max(f.shape[0] for f in features)
    batch = torch.zeros(len(features), longest, features[0].shape[1], device=device)
    mask = torch.zeros(len(features), longest, dtype=torch.long, device=device)
    for k, f in enumerate(features):
        batch[k, : f.shape[0]] = f
        mask[k, : f.shape[0]] = 1
    return batch, mask


def fine_tune(
    base_model: str | Path,
    texts: list[str],
    labels: list[str],
    weights: list[float],
    options: TransformerOptions,
    features: list[Any] | None = None,
    label: str = "",
) -> tuple[Any, Any]:
    """Fine-tune a fresh copy of the base model with class- and source-weighted cross-entropy.

    With options.freeze_layers, features are the frozen layers' outputs for texts (computed
    here when not given); only the upper layers and the head are trained.
    """
    import torch

    _set_threads(options)
    torch.manual_seed(options.seed)
    random.seed(options.seed)
    tokenizer, model = _load_base(base_model)
    device = torch_device(options.device)
    model.to(device)
    if options.freeze_layers:
        _freeze(model, options.freeze_layers)
        if features is None:
            features = frozen_features(tokenizer, model, texts, options)
    counts = Counter(labels)
    class_weight = torch.tensor(
        [len(labels) / (len(LABELS) * counts[label]) if counts[label] else 0.0 for label in LABELS],
        dtype=torch.float,
        device=device,
    )
    order = list(range(len(texts)))
    steps_per_epoch = math.ceil(len(order) / options.batch_size)
    total = options.max_steps or max(1, math.ceil(options.epochs * steps_per_epoch))
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=options.learning_rate,
        weight_decay=options.weight_decay,
    )
    warmup = int(total * options.warmup_ratio)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(1.0, (step + 1) / max(1, warmup)) * max(0.0, 1 - step / total),
    )
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weight, reduction="none")
    rng = random.Random(options.seed)
    model.train()
    step = 0
    epochs = Progress(
        f"{label} epoch" if label else "epoch", math.ceil(total / steps_per_epoch), "articles"
    )
    running = (
        _only_layers(model, options.freeze_layers, None, given_input=True)
        if features
        else nullcontext()
    )
    with running:
        while step < total:
            rng.shuffle(order)
            for start in range(0, len(order), options.batch_size):
                batch = order[start : start + options.batch_size]
                if features:
                    hidden, mask = _stack([features[i] for i in batch], device)
                    logits = model(inputs_embeds=hidden, attention_mask=mask).logits
                else:
                    encoded = encode(
                        tokenizer, [texts[i] for i in batch], options.max_length, device
                    )
                    logits = model(**encoded).logits
                target = torch.tensor([LABELS.index(labels[i]) for i in batch], device=device)
                weight = torch.tensor([weights[i] for i in batch], dtype=torch.float, device=device)
                loss = (loss_fn(logits, target) * weight).sum() / weight.sum()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                step += 1
                if step >= total:
                    break
            epochs.step(
                f"{step} of {total} steps",
                items=min(len(order), step * options.batch_size - epochs.items),
            )
    model.eval()
    return tokenizer, model


def features_logits(model: Any, features: list[Any], freeze_layers: int) -> np.ndarray:
    """Logits in LABELS order from frozen-layer features (what predict_logits gives, faster)."""
    import torch

    device = next(model.parameters()).device
    order = [model.config.label2id[label] for label in LABELS]
    out = []
    with torch.no_grad(), _only_layers(model, freeze_layers, None, given_input=True):
        for start in range(0, len(features), 16):
            hidden, mask = _stack(features[start : start + 16], device)
            logits = model(inputs_embeds=hidden, attention_mask=mask).logits
            out.append(logits[:, order].float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(LABELS)))


def fold_scheme(trainset: TrainSet, options: TransformerOptions) -> str:
    """How the cross-validation folds were cut and what each fold trains on."""
    folds = (
        "the frozen split's folds of the rest (nlp.split; near-duplicates together)"
        if trainset.folds and options.cv_folds == len(set(trainset.folds.values()))
        else f"StratifiedGroupKFold over the hand labels (groups: near-duplicates), seed "
        f"{options.seed}"
    )
    weak = " plus the weak labels" if trainset.weak else ""
    return (
        f"{options.cv_folds} folds: {folds}; each fold fine-tunes a fresh copy of the base model "
        f"on the other folds' hand labels{weak}"
    )


def train_transformer(
    trainset: TrainSet,
    out_dir: Path,
    base_model: str | Path,
    options: TransformerOptions,
    model_id: str,
    build: str = "",
) -> dict[str, Any]:
    """Cross-validate (unless cv_folds is 0), fine-tune on everything and write the folder.

    build is the command that rebuilds the folder, recorded for when its weights are not
    committed (the loader names it when they are missing).
    """
    prepared = {i: prepare(t, options) for i, t in trainset.texts.items()}
    cached: dict[str, Any] = {}
    if options.freeze_layers:
        # The frozen layers give every fold the same outputs: compute them once per article.
        tokenizer, model = _load_base(base_model)
        model.to(torch_device(options.device))
        ids = sorted(prepared)
        found = frozen_features(tokenizer, model, [prepared[i] for i in ids], options)
        cached = dict(zip(ids, found, strict=True))
        del tokenizer, model

    def run(hand_ids: list[str], weak_ids: list[str], label: str) -> tuple[Any, Any]:
        ids = hand_ids + weak_ids
        labels = [trainset.hand[i] for i in hand_ids] + [trainset.weak[i] for i in weak_ids]
        weights = [options.hand_weight] * len(hand_ids) + [1.0] * len(weak_ids)
        texts = [prepared[i] for i in ids]
        features = [cached[i] for i in ids] if cached else None
        return fine_tune(base_model, texts, labels, weights, options, features, label)

    if options.cv_folds >= 2:
        logits: dict[str, np.ndarray] = {}
        folds = cv_folds(trainset, options.cv_folds, options.seed)
        progress = Progress("cross-validation fold", len(folds), "articles")
        for k, (train_ids, test_ids) in enumerate(folds, start=1):
            weak_ids = fold_weak_ids(trainset, test_ids)
            tokenizer, model = run(train_ids, weak_ids, f"fold {k}/{len(folds)}")
            if cached:
                test_features = [cached[i] for i in test_ids]
                out = features_logits(model, test_features, options.freeze_layers)
            else:
                texts = [prepared[i] for i in test_ids]
                out = predict_logits(tokenizer, model, texts, options.max_length)
            logits.update(zip(test_ids, out, strict=True))
            progress.step(f"{len(test_ids)} held out", items=len(train_ids) + len(weak_ids))
        ids = sorted(logits)
        predicted = [LABELS[int(np.argmax(logits[i]))] for i in ids]
        metrics_doc: dict[str, Any] = {
            "model_id": model_id,
            "evaluation": "cross-validation on the hand labels (never in-sample)",
            **metrics([trainset.hand[i] for i in ids], predicted),
            "fold_scheme": fold_scheme(trainset, options),
        }
    else:
        metrics_doc = {
            "model_id": model_id,
            "evaluation": "none: trained with cv_folds=0, so there are no held-out figures; "
            "evaluate it on labels it was not trained on",
        }
    tokenizer, model = run(sorted(trainset.hand), sorted(trainset.weak), "final fit")
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    lexicon_id = trainset.recipe.lexicon
    settings = {
        "segment": options.segment,
        "prefix": options.prefix,
        "head_chars": options.head_chars,
        "max_length": options.max_length,
    }
    description = "A fine-tuned transformer; evidence sentences come from the cue lexicon."
    files = {"base_model": str(base_model)}
    config = model_config(
        model_id, KIND, files, copy_cues(lexicon_id, out_dir), settings, description
    ) | {"build": build}
    write_model_files(out_dir, config, metrics_doc)
    cues = {"file": CUES_FILE, "from": f"models/{lexicon_id}"}
    return {"options": asdict(options), "cues": cues}
