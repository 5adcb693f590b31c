"""The stable classifier interface: labels, predictions and model loading."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import yaml

LABELS = ("praise", "criticism", "neutral")
POLAR = ("praise", "criticism")  # the labels an analyst acts on, with evidence sentences
DEFAULT_MODEL = "evidence-lr-1"
MODEL_FILES = ("model.json", "model.yaml", "model.yml")
# The cues.yaml hashes of the folders released before model.json recorded one (sha256sum format,
# `cd models && sha256sum -c cues.sha256` checks them): their model.json stays as released.
RELEASED_CUES = "cues.sha256"
SCOREBOARD = "scoreboard.json"  # every model on the frozen test part (python -m nlp.scoreboard)
# The stated range of a precision at the nightly mix covers this share of its likely values.
RANGE_COVERS = 0.9

# Model kind -> "module:factory"; the factory takes (model_dir, config) and returns a Classifier.
# A new kind (a trained linear model, a transformer) plugs in by adding one line here.
KINDS: dict[str, str] = {
    "cue-lexicon": "nlp.lexicon:CueLexiconClassifier.from_dir",
    "tfidf-lr": "nlp.linear:LinearClassifier.from_dir",
    "transformer": "nlp.transformer:TransformerClassifier.from_dir",
    "evidence-lr": "nlp.evidence:EvidenceClassifier.from_dir",
}
# Kinds whose loader unpickles a file (joblib): loading one runs whatever code the file holds.
PICKLED_KINDS = {"tfidf-lr", "evidence-lr"}


@dataclass(frozen=True)
class Prediction:
    """One article's label, class scores and the sentences that carry the label."""

    label: str
    scores: dict[str, float]
    evidence: list[str]
    reason: str = ""


@runtime_checkable
class Classifier(Protocol):
    """Anything that labels a text as praise, criticism or neutral."""

    model_id: str

    def classify(self, text: str) -> Prediction:
        """Label one text ("title\\nsapo\\nbody" or any text; the first line is the title)."""
        ...


class ModelNotFoundError(FileNotFoundError):
    """Raised when a model id or folder does not exist or has no model file."""


class UntrustedModelError(PermissionError):
    """Raised for a pickled model outside the models folder that the caller did not trust."""


class ModelChangedError(ValueError):
    """Raised when a model's cues.yaml is not the one it was released with."""


def models_dir() -> Path:
    """Return the models folder: $CONGVU_MODELS_DIR, else <repo>/models."""
    env = os.environ.get("CONGVU_MODELS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "models"


def available_models(root: Path | None = None) -> list[str]:
    """Return the ids of the model folders under root (default: models_dir())."""
    root = models_dir() if root is None else root
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if any((p / f).is_file() for f in MODEL_FILES))


def read_model_config(model_dir: Path) -> dict:
    """Read model.json (or model.yaml) of a model folder."""
    for name in MODEL_FILES:
        path = model_dir / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            config = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
            if not isinstance(config, dict) or "kind" not in config:
                raise ValueError(f"{path} must be a mapping with a 'kind' key")
            return config
    raise ModelNotFoundError(f"{model_dir} has no {' or '.join(MODEL_FILES)}")


def resolve_model(model: str | Path) -> Path:
    """Turn a model id or a folder path into an existing model folder."""
    path = Path(model)
    if isinstance(model, Path) or path.is_dir() or len(path.parts) > 1:
        if path.is_dir():
            return path
        raise ModelNotFoundError(f"model folder {path} does not exist")
    root = models_dir()
    candidate = root / str(model)
    if candidate.is_dir():
        return candidate
    found = ", ".join(available_models(root)) or "none"
    raise ModelNotFoundError(
        f"no model '{model}' in {root} (available: {found}); pass one of those ids, "
        "a path to a model folder, or set CONGVU_MODELS_DIR"
    )


def load_classifier(model: str | Path | None = None, trusted: bool = False) -> Classifier:
    """Load a model by id or folder; a pickled one only from models_dir() unless trusted."""
    model_dir = resolve_model(DEFAULT_MODEL if model is None else model)
    config = read_model_config(model_dir)
    kind = config["kind"]
    if kind not in KINDS:
        raise ValueError(f"{model_dir}: unknown model kind '{kind}'; known kinds: {sorted(KINDS)}")
    root = models_dir().resolve()
    if kind in PICKLED_KINDS and not trusted and not model_dir.resolve().is_relative_to(root):
        raise UntrustedModelError(
            f"{model_dir} is a pickled model ({kind}) outside the models folder {root}, and "
            "loading a pickle runs any code it holds: move the folder into the models folder (or "
            "set CONGVU_MODELS_DIR to the folder holding it), or pass --trust-model if you made it"
        )
    check_cues(model_dir, config)
    module_name, _, attr_path = KINDS[kind].partition(":")
    factory: object = importlib.import_module(module_name)
    for attr in attr_path.split("."):
        factory = getattr(factory, attr)
    return factory(model_dir, config)  # type: ignore[operator]


def released_cues(model_dir: Path, cues_file: str) -> str | None:
    """The cues.yaml hash models/cues.sha256 records for a folder released before model.json did."""
    registry = Path(model_dir).parent / RELEASED_CUES
    if not registry.is_file():
        return None
    wanted = f"{Path(model_dir).name}/{cues_file}"
    for line in registry.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        if name.strip() == wanted:
            return digest.strip()
    return None


def check_cues(model_dir: Path, config: dict) -> None:
    """Refuse a model whose cues.yaml differs from the one it records (or records none)."""
    cues_file = config.get("cues")
    path = Path(model_dir) / str(cues_file)
    if not cues_file or not path.is_file():
        return  # no lexicon, or the model's own loader names what is missing
    expected = config.get("cues_sha256") or released_cues(model_dir, str(cues_file))
    if not expected:
        raise ModelChangedError(
            f"{model_dir}: model.json records no cues_sha256 for {cues_file}; a model must name "
            f'the lexicon it was measured with: add "cues_sha256": "<sha256sum of {cues_file}>"'
        )
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected:
        raise ModelChangedError(
            f"{path} changed (sha256 {actual[:12]}..., released with {expected[:12]}...): a "
            "released model never changes, its figures were measured with the old lexicon. "
            "Restore the file (git checkout), or copy the folder under a new model id, record "
            "the new file's sha256 as cues_sha256 in its model.json and measure it again"
        )


def read_scoreboard() -> dict[str, Any]:
    """The committed scoreboard."""
    path = models_dir() / SCOREBOARD
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; write it with `python -m nlp.scoreboard`")
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class MixPrecision:
    """Of a label's articles at the nightly mix, the share that is right, and its likely range."""

    estimate: float
    low: float
    high: float


def mix_precision_ranges(
    confusion: dict[str, dict[str, int]], mix_counts: dict[str, int], draws: int = 20_000
) -> dict[str, tuple[float, float]]:
    """The range (RANGE_COVERS of its likely values) of each polar label's precision at the mix.

    The figure rests on few articles: the label mix on the random pool's counts (one praise
    article in 300) and the prediction rates on the confusion matrix's rows (23 praise test
    articles). Both are drawn from their Dirichlet posteriors (Jeffreys prior: counts + 0.5) and
    the precision computed per draw, with a fixed seed so a page states the same range every
    night. The range is sampling error only; the scoreboard's method says why the estimate itself
    is pessimistic.
    """
    rng = np.random.default_rng(0)
    mix = rng.dirichlet([mix_counts[g] + 0.5 for g in LABELS], draws)  # [draw, gold]
    rates = np.stack(
        [rng.dirichlet([confusion[g][p] + 0.5 for p in LABELS], draws) for g in LABELS], axis=1
    )  # [draw, gold, predicted]
    shown = np.einsum("dg,dgp->dp", mix, rates)
    tail = (1 - RANGE_COVERS) / 2
    ranges = {}
    for k, label in enumerate(LABELS):
        if label in POLAR:
            right = mix[:, k] * rates[:, k, k] / shown[:, k]
            low, high = np.quantile(right, [tail, 1 - tail])
            ranges[label] = (float(low), float(high))
    return ranges


def precision_at_nightly_mix(model_id: str) -> dict[str, MixPrecision] | None:
    """A model's precision per polar label at the nightly mix; None if the scoreboard lacks it."""
    try:
        board = read_scoreboard()
    except FileNotFoundError:
        return None
    for entry in board["models"]:
        if entry["model_id"] == model_id and entry.get("status") == "scored":
            return mix_precision(entry, board["nightly_mix"]["counts"])
    return None


def mix_precision(entry: dict[str, Any], mix_counts: dict[str, int]) -> dict[str, MixPrecision]:
    """A scored scoreboard entry's precision per polar label at the mix, with its range."""
    ranges = mix_precision_ranges(entry["confusion_matrix"], mix_counts)
    estimates = entry["precision_at_nightly_mix"]
    return {
        label: MixPrecision(
            estimates[label],
            min(ranges[label][0], estimates[label]),
            max(ranges[label][1], estimates[label]),
        )
        for label in POLAR
    }


def neutral(reason: str) -> Prediction:
    """Return a neutral prediction with full confidence and the given reason."""
    return Prediction("neutral", {"praise": 0.0, "criticism": 0.0, "neutral": 1.0}, [], reason)
