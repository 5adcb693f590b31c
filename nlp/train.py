"""Train a classifier (linear or transformer) into a model folder with metrics and provenance."""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import shutil
import sys
import time
from dataclasses import fields
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from nlp.classify import LABELS, load_classifier, models_dir
from nlp.trainset import (
    TRAINSET_FILE,
    TrainSet,
    WeakRecipe,
    build_trainset,
    sha256,
    write_trainset,
)

BACKENDS = ("linear", "transformer")
DEFAULT_LABELS = Path("../shared/labels/dev.csv")
DEFAULT_CORPUS = Path("../shared/corpus/vntc-politics-law.jsonl.gz")
PACKAGES = (
    "scikit-learn", "numpy", "scipy", "joblib", "underthesea", "underthesea_core",
    "torch", "transformers", "tokenizers",
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
    labels_csv: Path = DEFAULT_LABELS,
    corpus: Path = DEFAULT_CORPUS,
    **options: Any,
) -> Path:
    """Build the training set, cross-validate, fit on everything and write a model folder."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    for path in (labels_csv, corpus):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path} not found; pass the hand labels CSV and the corpus")
    out_dir = Path(out_dir)
    command = options.pop("command", None) or _command(
        backend, out_dir, base_model, labels_csv, corpus
    )
    build = options.pop("build", None) or command  # what rebuilds uncommitted weights
    max_weak = options.pop("max_weak", None)
    max_corpus = options.pop("max_corpus", None)
    model_id = options.pop("model_id", None) or out_dir.name
    started = time.time()
    if backend == "linear":
        from nlp.linear import LinearOptions

        recipe_kw, opts_kw = _split_options(options, WeakRecipe, LinearOptions)
        recipe, opts = WeakRecipe(**recipe_kw), LinearOptions(**opts_kw)
        trainset = build_trainset(
            labels_csv, corpus, recipe, jobs=opts.jobs, max_weak=max_weak, max_corpus=max_corpus
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        details = _train_linear(trainset, out_dir, opts, model_id)
    else:
        if not base_model:
            raise ValueError("the transformer backend needs --base-model (a local folder or name)")
        from nlp.transformer import TransformerOptions, train_transformer

        recipe_kw, opts_kw = _split_options(options, WeakRecipe, TransformerOptions)
        recipe, topts = WeakRecipe(**recipe_kw), TransformerOptions(**opts_kw)
        trainset = build_trainset(
            labels_csv, corpus, recipe, max_weak=max_weak, max_corpus=max_corpus
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        details = train_transformer(trainset, out_dir, base_model, topts, model_id, build)
    write_trainset(trainset, out_dir / TRAINSET_FILE)
    recipe_doc = {
        "model_id": model_id,
        "backend": backend,
        "base_model": base_model,
        "command": command,
        "data": {
            "labels": str(labels_csv),
            "labels_sha256": sha256(labels_csv),
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
    (out_dir / "recipe.json").write_text(_dumps(recipe_doc), encoding="utf-8")
    return out_dir


def _train_linear(trainset: TrainSet, out_dir: Path, opts: Any, model_id: str) -> dict:
    """Cross-validate and fit the linear model; write model.json, artifact, cues and metrics."""
    from nlp.evaluate import metrics
    from nlp.linear import ARTIFACT, KIND, cross_validate, featurize, options_dict, train_final

    lexicon_dir = models_dir() / trainset.recipe.lexicon
    cues_path = out_dir / "cues.yaml"
    shutil.copyfile(lexicon_dir / "cues.yaml", cues_path)
    features = featurize(trainset.texts, cues_path, opts)
    cv = cross_validate(trainset, features, opts)
    out_of_fold = cv.pop("out_of_fold")
    temperature = cv["calibration"]["temperature"]
    classifier = train_final(trainset, features, opts, cues_path, temperature, model_id)
    classifier.save(out_dir)
    config = {
        "model_id": model_id,
        "kind": KIND,
        "artifact": ARTIFACT,
        "cues": "cues.yaml",
        "head_chars": opts.head_chars,
        "temperature": temperature,
        "criticism_bias": classifier.bias,
        "labels": list(LABELS),
        "description": (
            "TF-IDF over underthesea word segments of the title and first lines, plus cue-lexicon "
            "evidence, into a class-weighted logistic regression; weak labels + hand labels."
        ),
        "definition": "shared/docs/labeling-guide.md",
        "metrics": "metrics.json",
        "recipe": "recipe.json",
        "trainset": TRAINSET_FILE,
    }
    lexicon = load_classifier(lexicon_dir)
    hand_ids = sorted(trainset.hand)
    baseline = metrics(
        [trainset.hand[i] for i in hand_ids],
        [lexicon.classify(trainset.texts[i]).label for i in hand_ids],
    )
    metrics_doc = {
        "model_id": model_id,
        "evaluation": "cross-validation on the hand labels (never in-sample)",
        **cv,
        "baseline_same_articles": {
            "model_id": lexicon.model_id,
            "note": "no training, so every fold gives the same figures; its constants were "
            "tuned on these labels, so they are optimistic",
            **baseline,
        },
        "out_of_fold_scores": "oof.json",
    }
    (out_dir / "model.json").write_text(_dumps(config), encoding="utf-8")
    (out_dir / "metrics.json").write_text(_dumps(metrics_doc), encoding="utf-8")
    oof = {"labels_order": list(LABELS), "scores": out_of_fold}
    (out_dir / "oof.json").write_text(json.dumps(oof, ensure_ascii=False) + "\n", "utf-8")
    return {
        "options": options_dict(opts),
        "features": (
            "underthesea word segments (lower-cased, spaces -> _) of the normalised title and "
            f"lines up to {opts.head_chars} characters; title words again with a T: prefix; "
            "in-line word pairs; words within 3 of a negator marked neg:; TF-IDF (sublinear tf); "
            "plus log(1 + cue evidence) of title and body, praise and criticism, from cues.yaml"
        ),
        "model": "LogisticRegression(multinomial, class_weight=balanced, solver=newton-cg)",
        "cues": {
            "file": "cues.yaml",
            "sha256": sha256(cues_path),
            "from": f"models/{lexicon_dir.name}",
        },
    }


def _dumps(data: Any) -> str:
    """JSON as written into model folders: UTF-8, indented, newline-terminated."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _command(
    backend: str, out_dir: Path, base_model: str | None, labels_csv: Path, corpus: Path
) -> str:
    """The command line that reproduces a training run."""
    parts = ["python", "-m", "nlp.train", "--backend", backend, "--out", str(out_dir)]
    if base_model:
        parts += ["--base-model", base_model]
    parts += ["--labels", str(labels_csv), "--corpus", str(corpus)]
    return shlex.join(parts)


def _parse_value(text: str) -> Any:
    """Read an --option value as JSON when it is a number or boolean, else as a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv: list[str] | None = None) -> int:
    """Train a model folder from the hand labels and the corpus (see nlp.train.train)."""
    parser = argparse.ArgumentParser(prog="python -m nlp.train", description=main.__doc__)
    parser.add_argument("--backend", choices=BACKENDS, default="linear")
    parser.add_argument("--out", type=Path, required=True, help="model folder to write")
    parser.add_argument("--base-model", help="transformer: a local folder or a hub name")
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="id,label CSV")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="JSON-lines corpus")
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
    command = shlex.join(["python", "-m", "nlp.train", *(sys.argv[1:] if argv is None else argv)])
    out = train(
        args.backend, args.out, args.base_model, args.labels, args.corpus,
        command=command, **options,
    )  # fmt: skip
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
