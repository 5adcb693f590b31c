"""Train a classifier (linear or transformer) into a model folder with metrics and provenance."""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from nlp.classify import LABELS, load_classifier, models_dir
from nlp.progress import Progress
from nlp.trainset import (
    TRAINSET_FILE,
    TrainSet,
    WeakRecipe,
    build_trainset,
    sha256,
    write_trainset,
)

BACKENDS = ("linear", "transformer", "evidence")
# All hand labels; the frozen split (models/split.csv) keeps its test part out of training.
DEFAULT_LABELS = (Path("../shared/labels/train.csv"), Path("../shared/labels/dev.csv"))
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
    from nlp.split import read_split, split_path

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
        from nlp.linear import LinearOptions

        recipe_kw, opts_kw = _split_options(options, WeakRecipe, LinearOptions)
        recipe, opts = WeakRecipe(**recipe_kw), LinearOptions(**opts_kw)
        trainset = build_trainset(
            label_files, corpus, recipe, opts.jobs, max_weak, max_corpus, frozen
        )
        added = add_labels(trainset, frozen, corpus, out_dir) if add_labels else None
        out_dir.mkdir(parents=True, exist_ok=True)
        details = _train_linear(trainset, out_dir, opts, model_id)
    elif backend == "evidence":
        from nlp.evidence import EvidenceOptions

        recipe_kw, opts_kw = _split_options(options, WeakRecipe, EvidenceOptions)
        recipe, eopts = WeakRecipe(**recipe_kw), EvidenceOptions(**opts_kw)
        weak_cap = max_weak if eopts.weak else 0  # 0: the lexicon is not even run
        trainset = build_trainset(label_files, corpus, recipe, 2, weak_cap, max_corpus, frozen)
        added = add_labels(trainset, frozen, corpus, out_dir) if add_labels else None
        out_dir.mkdir(parents=True, exist_ok=True)
        details = _train_evidence(trainset, out_dir, eopts, model_id, label_files)
    else:
        if not base_model:
            raise ValueError("the transformer backend needs --base-model (a local folder or name)")
        from nlp.transformer import TransformerOptions, train_transformer

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
    (out_dir / "recipe.json").write_text(_dumps(recipe_doc), encoding="utf-8")
    print(f"{model_id}: done in {round(time.time() - started)} s", file=sys.stderr, flush=True)
    return out_dir


def _train_evidence(
    trainset: TrainSet, out_dir: Path, opts: Any, model_id: str, label_files: list[Path]
) -> dict:
    """Cross-validate and fit the evidence model; write model.json, artifact, cues and metrics."""
    from nlp.evidence import (
        ARTIFACT,
        KIND,
        READ_BATCH,
        EvidenceClassifier,
        cross_validate,
        fit_model,
        options_dict,
        read_articles,
    )
    from nlp.lexicon import CueLexiconClassifier, Lexicon

    lexicon_dir = models_dir() / trainset.recipe.lexicon
    cues_path = out_dir / "cues.yaml"
    shutil.copyfile(lexicon_dir / "cues.yaml", cues_path)
    cues = CueLexiconClassifier(Lexicon.from_yaml(cues_path), "cues")
    reading = Progress("reading", -(-len(trainset.texts) // READ_BATCH), "articles")
    articles = read_articles(trainset.texts, cues, reading)
    priors = random_pool_priors(label_files)
    folds = Progress("cross-validation fold", opts.cv_folds, "hand labels")
    cv = cross_validate(trainset, articles, opts, folds, priors["priors"] if priors else None)
    hand_ids = sorted(trainset.hand)
    final = Progress("final fit", 1, "hand labels")
    parts, biases = fit_model(trainset, articles, hand_ids, [], opts)
    final.step(f"fitted on {len(hand_ids)} hand labels", items=len(hand_ids))
    temperature = cv["calibration"]["temperature"]
    EvidenceClassifier(parts, cues, biases, temperature, model_id).save(out_dir)
    config = {
        "model_id": model_id,
        "kind": KIND,
        "artifact": ARTIFACT,
        "cues": "cues.yaml",
        "cues_sha256": sha256(cues_path),
        "biases": biases,
        "temperature": temperature,
        "labels": list(LABELS),
        "description": (
            "A sentence scorer learnt from the annotators' evidence phrases, aggregated per "
            "article with syllable n-grams and cue-lexicon evidence into a class-weighted "
            "logistic regression; evidence = the sentences the scorer rates most."
        ),
        "definition": "shared/docs/labeling-guide.md",
        "metrics": "metrics.json",
        "recipe": "recipe.json",
        "trainset": TRAINSET_FILE,
    }
    metrics_doc = {
        "model_id": model_id,
        "cross_validated": {
            "evaluation": (
                f"{opts.cv_folds}-fold cross-validation over the frozen split's folds of the rest "
                f"({len(hand_ids)} hand labels; the test part is never read); each fold fits the "
                f"whole recipe, operating point included (by {opts.inner_folds} inner folds of "
                "its training labels), on the other folds"
            ),
            **cv,
        },
        "nightly_mix": priors,
        "which_labels_set_which_choices": _choices(opts),
    }
    (out_dir / "model.json").write_text(_dumps(config), encoding="utf-8")
    (out_dir / "metrics.json").write_text(_dumps(metrics_doc), encoding="utf-8")
    return {
        "options": options_dict(opts),
        "model": (
            "sentence scorer: LogisticRegression(multinomial, class_weight=balanced) over "
            "syllable 1-2-grams (TF-IDF), the sentence's cue evidence and position; article: "
            "LogisticRegression(multinomial, class_weight=balanced) over syllable 1-2-grams of "
            "the whole text (title words again with T:), 4 cue features and 8 out-of-fold "
            "sentence-scorer aggregates"
        ),
        "cues": {
            "file": "cues.yaml",
            "sha256": sha256(cues_path),
            "from": f"models/{lexicon_dir.name}",
        },
    }


def random_pool_priors(label_files: list[Path]) -> dict | None:
    """The label mix of the random pool (an unbiased corpus sample), if a labels file has one."""
    from nlp.evaluate import pool_priors

    for path in label_files:
        try:
            return {"source": str(path), **pool_priors(path)}
        except (ValueError, KeyError):
            continue
    return None


def _choices(opts: Any) -> dict[str, str]:
    """Which labels set which choice of an evidence model (for its metrics.json)."""
    return {
        "options (features, regularisation, weak labels or not)": (
            "cross-validation over the split's 5 folds of the rest (train.csv outside test and "
            "all of dev.csv); see the model card for the candidates and their figures"
        ),
        "criticism and praise biases (operating point)": (
            f"held-out predictions of the training labels by {opts.inner_folds} inner folds "
            "(cross-fitting), inside each outer fold for the cross-validated figures and over "
            "the whole rest for the released model"
        ),
        "temperature": "the outer out-of-fold predictions of the rest",
        "cue lexicon constants (cues.yaml of cue-lexicon-1)": "dev.csv, which is all in the rest",
        "sentence scorer targets": "the evidence phrases of train.csv's rest articles",
        "precision at the nightly mix": (
            "the label mix of the random pool of train.csv (not a model choice: test included)"
        ),
        "test part": "nothing; read once by `python -m nlp.heldout` after the choice",
    }


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
        "cues_sha256": sha256(cues_path),
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


def _shown(path: Path) -> str:
    """A path as recorded in a recipe: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _dumps(data: Any) -> str:
    """JSON as written into model folders: UTF-8, indented, newline-terminated."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


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


def main(argv: list[str] | None = None) -> int:
    """Train a model folder from the hand labels and the corpus (see nlp.train.train)."""
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
    parser.add_argument(
        "--with-db-labels",
        type=Path,
        metavar="DB",
        help="train on the analysts' labels in this database too (e.g. data/congvu.duckdb)",
    )
    args = parser.parse_args(argv)
    options = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--option {item!r}: expected KEY=VALUE")
        options[key.replace("-", "_")] = _parse_value(value)
    command = shlex.join(["python", "-m", "nlp.train", *(sys.argv[1:] if argv is None else argv)])
    add_labels = None
    if args.with_db_labels is not None:
        from pipelines.analyst_labels import AnalystLabels

        add_labels = AnalystLabels(args.with_db_labels)
    out = train(
        args.backend, args.out, args.base_model, args.labels or list(DEFAULT_LABELS),
        args.corpus, args.split, add_labels, command=command, **options,
    )  # fmt: skip
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
