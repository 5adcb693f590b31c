"""`train("transformer", ...)`: fine-tune a tiny BERT built here, then load and classify with it.

No weights can be downloaded, so the base model is a 2-layer BERT made from a config, with a
word-level vocabulary learnt from real labelled articles; the code path is the one PhoBERT takes.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, import_or_skip
from tests.test_layers import TRAINING

import_or_skip("torch")
import_or_skip("transformers")

from nlp.classify import LABELS, Classifier, load_classifier  # noqa: E402
from nlp.datafiles import read_corpus  # noqa: E402


def labelled_sample(shared_dir: Path, per_label: int = 12) -> list[tuple[str, str]]:
    """The first hand labels of each class, as (id, label)."""
    with (shared_dir / "labels" / "dev.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for label in LABELS:
        out += [(r["id"], r["label"]) for r in rows if r["label"] == label][:per_label]
    return out


def tiny_base_model(folder: Path, texts: list[str]) -> Path:
    """Save a 2-layer BERT with a word-level tokenizer learnt from texts (segmented words)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    from nlp.transformer import TransformerOptions, prepare

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(vocab_size=3000, special_tokens=specials)
    tokenizer.train_from_iterator([prepare(t, TransformerOptions()) for t in texts], trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[(t, tokenizer.token_to_id(t)) for t in ("[CLS]", "[SEP]")],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=130,
        num_labels=2,  # a different head on purpose: training must replace it with 3 labels
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def trained(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fine-tune the tiny model for a few steps on 36 hand labels and a few weak labels."""
    from nlp.train import train

    work = tmp_path_factory.mktemp("transformer")
    sample = labelled_sample(shared_dir)
    labels_csv = work / "labels.csv"
    with labels_csv.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "label"])
        writer.writerows(sample)
    corpus = shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"
    wanted = {i for i, _ in sample}
    texts = [r["text"] for r in read_corpus(corpus) if r["id"] in wanted]
    base = tiny_base_model(work / "base", texts)
    return train(
        "transformer",
        work / "tiny-transformer-1",
        base_model=str(base),
        labels_csv=labels_csv,
        corpus=corpus,
        max_corpus=300,
        max_weak=24,
        cv_folds=2,
        max_steps=3,
        batch_size=8,
        max_length=128,
        learning_rate=1e-3,
    )


@pytest.fixture(scope="module")
def classifier(trained: Path) -> Classifier:
    """The fine-tuned tiny model, loaded the way classify and nightly load models."""
    return load_classifier(trained)


def test_model_folder_names_the_transformer_kind(trained: Path) -> None:
    config = json.loads((trained / "model.json").read_text(encoding="utf-8"))
    assert (config["kind"], config["model_id"]) == ("transformer", "tiny-transformer-1")


def test_cross_validated_metrics_are_written(trained: Path) -> None:
    found = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))
    assert (found["n"], sorted(found["per_class"])) == (36, sorted(LABELS))


def test_recipe_records_the_base_model_and_data(trained: Path) -> None:
    recipe = json.loads((trained / "recipe.json").read_text(encoding="utf-8"))
    assert recipe["base_model"].endswith("base") and len(recipe["data"]["corpus_sha256"]) == 64


def test_loading_it_imports_no_training_code(trained: Path) -> None:
    code = (
        "import json, sys; from nlp.classify import load_classifier; "
        f"load_classifier({str(trained)!r}).classify('Cán bộ tham nhũng bị kỷ luật'); "
        "print(json.dumps(sorted(sys.modules)))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert [m for m in json.loads(found.stdout.splitlines()[-1]) if m in TRAINING] == []


def test_loaded_model_reports_its_id(classifier: Classifier) -> None:
    assert classifier.model_id == "tiny-transformer-1"


def test_loaded_model_classifies_the_seed_article(classifier: Classifier, shared_dir: Path) -> None:
    text = (shared_dir / "seed" / "quangnam-ne-viec.txt").read_text(encoding="utf-8")
    prediction = classifier.classify(text.split("\nHoạt động chính quyền\n")[0])
    assert prediction.label in LABELS and sum(prediction.scores.values()) == pytest.approx(1.0)


def test_non_neutral_label_comes_with_evidence(classifier: Classifier, shared_dir: Path) -> None:
    text = (shared_dir / "seed" / "quangnam-ne-viec.txt").read_text(encoding="utf-8")
    prediction = classifier.classify(text.split("\nHoạt động chính quyền\n")[0])
    assert prediction.label == "neutral" or prediction.evidence


def test_empty_text_is_neutral_with_reason(classifier: Classifier) -> None:
    assert classifier.classify("").reason == "empty text"


def test_training_prints_folds_and_epochs(
    shared_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nlp.train import train

    sample = labelled_sample(shared_dir, per_label=4)
    labels_csv = tmp_path / "labels.csv"
    labels_csv.write_text("id,label\n" + "".join(f"{i},{label}\n" for i, label in sample), "utf-8")
    corpus = shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"
    wanted = {i for i, _ in sample}
    texts = [r["text"] for r in read_corpus(corpus) if r["id"] in wanted]
    base = tiny_base_model(tmp_path / "base", texts)
    train(
        "transformer", tmp_path / "tiny-2", base_model=str(base), labels_csv=labels_csv,
        corpus=corpus, max_corpus=100, max_weak=4, cv_folds=2, max_steps=2, batch_size=4,
        max_length=64,
    )  # fmt: skip
    err = capsys.readouterr().err
    assert "fold 1/2 epoch 1/1, 2 of 2 steps" in err and "final fit epoch 1/1" in err
    assert "articles/s" in err and "left" in err


def test_metrics_name_the_folds_and_weak_labels_trained_on(trained: Path) -> None:
    found = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))
    assert found["fold_scheme"].endswith("hand labels plus the weak labels")


def test_hand_labels_alone_on_the_split_s_folds_are_named_so() -> None:
    from nlp.trainset import TrainSet
    from nlp.transformer import TransformerOptions
    from nlp.transformer_training import fold_scheme

    ids = [f"a{k}" for k in range(10)]
    trainset = TrainSet(
        hand=dict.fromkeys(ids, "neutral"), weak={}, texts={}, groups={},
        folds={i: k % 5 for k, i in enumerate(ids)},
    )  # fmt: skip
    found = fold_scheme(trainset, TransformerOptions(cv_folds=5))
    assert found.startswith("5 folds: the frozen split's folds") and "weak" not in found
