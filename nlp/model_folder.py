"""What every trained model folder holds besides its weights: its lexicon copy and model.json."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from nlp.classify import LABELS, models_dir
from nlp.datafiles import TRAINSET_FILE, json_text, sha256

CUES_FILE = "cues.yaml"


def copy_cues(lexicon: str, out_dir: Path) -> Path:
    """Copy a cue lexicon's cues.yaml into a model folder (a model reads only its own copy)."""
    path = Path(out_dir) / CUES_FILE
    shutil.copyfile(models_dir() / lexicon / CUES_FILE, path)
    return path


def cues_record(lexicon: str, cues_path: Path) -> dict[str, str]:
    """The recipe's record of a model's cues.yaml: file, hash and the lexicon it came from."""
    return {"file": CUES_FILE, "sha256": sha256(cues_path), "from": f"models/{lexicon}"}


def model_config(
    model_id: str,
    kind: str,
    files: dict[str, Any],
    cues_path: Path,
    settings: dict[str, Any],
    description: str,
) -> dict[str, Any]:
    """model.json of a trained model: kind, its files, the cues' hash, settings and references."""
    return {
        "model_id": model_id,
        "kind": kind,
        **files,
        "cues": CUES_FILE,
        "cues_sha256": sha256(cues_path),
        **settings,
        "labels": list(LABELS),
        "description": description,
        "definition": "shared/docs/labeling-guide.md",
        "metrics": "metrics.json",
        "recipe": "recipe.json",
        "trainset": TRAINSET_FILE,
    }


def write_model_files(out_dir: Path, config: dict[str, Any], metrics_doc: dict[str, Any]) -> None:
    """Write model.json and metrics.json into a model folder."""
    (Path(out_dir) / "model.json").write_text(json_text(config), encoding="utf-8")
    (Path(out_dir) / "metrics.json").write_text(json_text(metrics_doc), encoding="utf-8")
