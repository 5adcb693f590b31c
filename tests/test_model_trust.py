"""Pickled models load only from the models folder, or from a folder the user says to trust."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import joblib
import pytest

from nlp.classify import UntrustedModelError, load_classifier, models_dir
from tests.conftest import run_congvu


class Payload:
    """Pickles into a call: unpickling it creates the marker file (any code could run there)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


@pytest.fixture
def hostile_model(tmp_path: Path) -> Path:
    """A tfidf-lr model folder from elsewhere whose joblib file runs code when loaded."""
    folder = tmp_path / "downloaded" / "tfidf-lr-9"
    folder.mkdir(parents=True)
    (folder / "model.json").write_text(json.dumps({"model_id": "tfidf-lr-9", "kind": "tfidf-lr"}))
    joblib.dump(Payload(tmp_path / "code-ran"), folder / "model.joblib")
    return folder


def classify(tmp_path: Path, *model_args: str) -> tuple[int, str]:
    """Run `congvu classify` on one text with the given model options: exit code and output."""
    source = tmp_path / "texts.jsonl"
    source.write_text(json.dumps({"id": 1, "text": "Sở Y tế bị phê bình vì chậm trễ."}) + "\n")
    result = run_congvu(
        "classify", "--input", str(source), "--output", str(tmp_path / "out.jsonl"), *model_args
    )
    return result.returncode, result.stdout + result.stderr


def test_pickled_model_from_elsewhere_is_refused_unloaded(
    tmp_path: Path, hostile_model: Path
) -> None:
    code, output = classify(tmp_path, "--model", str(hostile_model))
    refused = "outside the models folder" in output and "Traceback" not in output
    assert (code, refused, (tmp_path / "code-ran").exists()) == (2, True, False), output


def test_pickled_model_from_elsewhere_is_refused_by_the_library(hostile_model: Path) -> None:
    with pytest.raises(UntrustedModelError, match="--trust-model"):
        load_classifier(hostile_model)


def test_trusted_model_from_elsewhere_loads(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    shutil.copytree(models_dir() / "evidence-lr-1", mine)
    code, output = classify(tmp_path, "--model", str(mine), "--trust-model")
    assert (code, json.loads((tmp_path / "out.jsonl").read_text())["id"]) == (0, 1), output


def test_pickled_model_in_the_models_folder_loads_by_path() -> None:
    assert load_classifier(models_dir() / "tfidf-lr-2").model_id == "tfidf-lr-2"
