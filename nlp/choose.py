"""Choose the evidence model's options by cross-validation on the rest (never the test part).

`python -m nlp.choose --out models/evidence-lr-1/candidates.json` cross-validates every
candidate of CANDIDATES over the frozen split's 5 folds of the rest, each with its nested
operating point, and writes their figures and the choice: the best cross-validated macro-F1 among
the candidates whose criticism recall reaches the floor. `--only NAME` runs one candidate (each
takes minutes); `--with FILE` adds the candidates of an earlier output to the choice, so runs
made apart are chosen among as one. The chosen options are then trained with
`python -m nlp.train --backend evidence` and evaluated on the test part once.

models/candidates.json is the record of every candidate's figures, each with the command that
ran it (a new round: `--only NEW --with models/candidates.json --out models/candidates.json`).
`--predictions DIR` also writes each run candidate's out-of-fold labels and evidence, to read
its errors without touching the test part.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from nlp.classify import models_dir
from nlp.datafiles import json_text
from nlp.evidence import EvidenceOptions
from nlp.evidence_training import READ_BATCH, cross_validate, random_pool_priors, read_articles
from nlp.lexicon import CueLexiconClassifier, Lexicon
from nlp.progress import Progress
from nlp.split import read_split
from nlp.train import DEFAULT_CORPUS, DEFAULT_LABELS
from nlp.trainset import TrainSet, WeakRecipe, build_trainset

CRITICISM_RECALL_FLOOR = 0.88
# What the issue suggests trying, within the CPU budget of a 2-core machine (see the model card).
CANDIDATES: dict[str, dict[str, Any]] = {
    "all": {},  # syllable n-grams + cue features + sentence-scorer aggregates, hand labels only
    "no-sentences": {"sentences": False},  # the article classifier alone
    "no-text": {"text": False},  # cue features + sentence aggregates only
    "weak": {"weak": True},  # plus the lexicon's weak labels
    "c1": {"c": 1.0},  # stronger regularisation of the article classifier
    # Round 2 (praise). The praise bias is chosen on the ~50 praise of the inner held-out
    # predictions and swings from 0.32 to 1.13 across folds; plain argmax had the better CV
    # praise F1 (0.443 against 0.421), so leave praise at argmax.
    "praise-argmax": {"praise_bias": False},
    # The sentence scorer learns praise from ~45 evidence sentences per fold, each weighted
    # hundreds of times by class_weight=balanced: regularise it harder.
    "sentence-c1": {"sentence_c": 1.0},
    # Praise rest articles state it in the title and lead (honours, portraits of devoted
    # officials): add the mean sentence score of the title and the next 3 sentences.
    "lead4": {"lead": 4},
    # Round 3 (meaning, not words). Whether an honour is for public service or not, and a
    # ceremony's subject, are not single words: add the e5 embedding of the title and lead
    # (nlp.head_embedding), at both operating points.
    "e5-head": {"embed_chars": 600},
    "e5-head-argmax": {"embed_chars": 600, "praise_bias": False},
    # Round 4 (long articles, the "head + tail or chunk pooling"): a verdict stated at
    # the end (the discipline decided) or in the middle is missed by the head alone.
    "e5-head-tail": {"embed_chars": 600, "embed_pool": "head-tail"},
    "e5-pieces": {"embed_chars": 600, "embed_pool": "pieces"},
    # Round 5, on round 4's choice (e5-pieces). Praise in words no training evidence used:
    # the e5 embedding of every sentence in the sentence scorer too. And the issue's "an
    # ensemble": the round-1 choice ("all") and e5-pieces, their log-probabilities averaged.
    "e5-pieces-sentences": {"embed_chars": 600, "embed_pool": "pieces", "sentence_embed": True},
    "ensemble-all-e5-pieces": {
        "embed_chars": 600,
        "embed_pool": "pieces",
        "members": ({"embed_chars": 0}, {}),
    },
    # Round 6 (e5-pieces-sentences was stopped in round 5, unread): with it, e5-pieces with its
    # embedding weighted twice the a-priori scale, as the embedding carried rounds 3 to 5.
    # Neither beat e5-pieces (macro-F1 0.7339): e5-pieces-sentences 0.7336 (praise F1 0.473
    # against 0.458, criticism P / R 0.771 / 0.892 against 0.786 / 0.901), scale6 0.6968.
    "e5-pieces-scale6": {"embed_chars": 600, "embed_pool": "pieces", "embed_scale": 6.0},
    # Round 7: the sentence embeddings found more praise, the article ones surer criticism:
    # average the two. Macro-F1 0.7294 (praise F1 0.444): e5-pieces stays the choice.
    "ensemble-e5-pieces-sentences": {
        "embed_chars": 600,
        "embed_pool": "pieces",
        "sentence_embed": True,
        "members": ({"sentence_embed": False}, {}),
    },
    # Round 8: who is commended or blamed. Most praise false positives of round 1's choice
    # ("all") in the cross-validation were honours for pupils, companies or drivers and
    # commemorations (neutral by the guide). Macro-F1 0.7011 against 0.6990 (praise F1 0.426
    # against 0.421): within noise, and below e5-pieces. On e5-pieces: 0.7351 against 0.7339
    # (praise F1 0.463 against 0.458, criticism P / R 0.781 / 0.903): the rule's choice, so it
    # is released (evidence-e5-3), though the margin is within noise.
    "cue-context": {"cue_context": True},
    "e5-pieces-cue-context": {"embed_chars": 600, "embed_pool": "pieces", "cue_context": True},
    # Round 9: the guide's hard cases for praise as six article features (nlp.hard_cases:
    # honours outside public service, commemorations, routine meetings), its terms written from
    # the guide's text, on round 1's recipe. Macro-F1 0.7021 against 0.6990 (praise P / R / F1
    # 0.414 / 0.450 / 0.431 against 0.396 / 0.450 / 0.421): within noise again, and 50 of the
    # 2,177 out-of-fold labels changed, both ways, so no e5 round was run on it.
    "hard-cases": {"hard_cases": True},
}


def row(name: str, options: EvidenceOptions, cv: dict) -> dict[str, Any]:
    """One candidate's options and cross-validated figures."""
    chosen = cv["at_operating_point"]
    return {
        "candidate": name,
        "options": {k: v for k, v in vars(options).items() if k in _changed(options)},
        "macro_f1": chosen["macro_f1"],
        "per_class": {
            label: {k: c[k] for k in ("precision", "recall", "f1")}
            for label, c in chosen["per_class"].items()
        },
        "argmax_macro_f1": cv["argmax"]["macro_f1"],
        "evidence_hit_rate": {k: v["hit_rate"] for k, v in cv["evidence_hits"].items()},
        "precision_at_nightly_mix": cv.get("precision_at_nightly_mix"),
    }


def _changed(options: EvidenceOptions) -> set[str]:
    """The option names that differ from the defaults."""
    default = EvidenceOptions()
    return {k for k, v in vars(options).items() if getattr(default, k) != v}


def reading_groups(names: list[str]) -> dict[tuple[int, str], list[str]]:
    """The candidates by the article text they embed, so that each reading is done once."""
    groups: dict[tuple[int, str], list[str]] = {}
    for name in names:
        options = replace(EvidenceOptions(), **CANDIDATES[name])
        chars = options.embed_chars
        groups.setdefault((chars, options.embed_pool if chars else "head"), []).append(name)
    return groups


def write_predictions(path: Path, trainset: TrainSet, held_out: dict[str, dict]) -> None:
    """Each article's hand label, out-of-fold label and evidence, and its opening, as JSON lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for i, found in held_out.items():
            line = {
                "id": i,
                "hand_label": trainset.hand[i],
                "hand_evidence": trainset.evidence.get(i),
                **found,
                "opening": trainset.texts[i][:200],
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


def run_candidates(names: list[str], predictions: Path | None = None) -> list[dict[str, Any]]:
    """Cross-validate the named candidates on the rest; their rows, in order.

    With predictions, each candidate's out-of-fold labels go to <predictions>/<name>.jsonl.
    """
    labels = list(DEFAULT_LABELS)
    weak = any(CANDIDATES[n].get("weak") for n in names)
    trainset = build_trainset(
        labels, DEFAULT_CORPUS, WeakRecipe(), 2, None if weak else 0, None, read_split()
    )
    cues = CueLexiconClassifier(
        Lexicon.from_yaml(models_dir() / WeakRecipe().lexicon / "cues.yaml"), "cues"
    )
    priors = random_pool_priors(labels)
    rows: dict[str, dict[str, Any]] = {}
    for (chars, pool), group in reading_groups(names).items():
        # Sentence embeddings are read when one candidate of the group needs them; the others
        # leave them unread.
        embed_sentences = any(CANDIDATES[n].get("sentence_embed", False) for n in group)
        reading = Progress("reading", -(-len(trainset.texts) // READ_BATCH), "articles")
        articles = read_articles(trainset.texts, cues, reading, chars, pool, embed_sentences)
        for name in group:
            options = replace(EvidenceOptions(), **CANDIDATES[name])
            print(f"candidate: {name}", file=sys.stderr, flush=True)
            progress = Progress("  fold", options.cv_folds, "hand labels")
            cv = cross_validate(trainset, articles, options, progress, priors["priors"])
            rows[name] = row(name, options, cv)
            if predictions is not None:
                write_predictions(predictions / f"{name}.jsonl", trainset, cv["held_out"])
            print(json.dumps(rows[name], ensure_ascii=False), file=sys.stderr, flush=True)
    return [rows[name] for name in names]


def main(argv: list[str] | None = None) -> int:
    """Cross-validate the candidates and write their figures and the choice as JSON."""
    parser = argparse.ArgumentParser(prog="python -m nlp.choose", description=main.__doc__)
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--only", action="append", help="run only these candidates (by name)")
    parser.add_argument(
        "--predictions",
        type=Path,
        help="folder for each run candidate's out-of-fold labels and evidence (<name>.jsonl)",
    )
    parser.add_argument(
        "--with",
        dest="earlier",
        type=Path,
        action="append",
        default=[],
        help="an earlier output of this command whose candidates join the choice (repeatable; "
        "with it, only the --only candidates run)",
    )
    args = parser.parse_args(argv)
    names = args.only or ([] if args.earlier else list(CANDIDATES))
    unknown = sorted(set(names) - set(CANDIDATES))
    if unknown:
        parser.error(f"unknown candidates {unknown}; known: {list(CANDIDATES)}")
    rows = []
    for path in args.earlier:
        if not path.is_file():
            parser.error(f"--with {path}: no such file (an earlier output of this command)")
        found = json.loads(path.read_text(encoding="utf-8"))
        # A row keeps the command that cross-validated it, also when merged again.
        rows += [{"from": found["command"], **r} for r in found["candidates"]]
    if names:
        rows += run_candidates(names, args.predictions)
    if not rows:
        parser.error("nothing to choose from: give --only or --with")
    taken = [r["candidate"] for r in rows]
    if len(set(taken)) < len(taken):
        parser.error(f"a candidate appears twice: {taken}")
    eligible = [r for r in rows if r["per_class"]["criticism"]["recall"] >= CRITICISM_RECALL_FLOOR]
    best = max(eligible or rows, key=lambda r: r["macro_f1"])
    doc = {
        "method": (
            "each candidate cross-validated over the frozen split's 5 folds of the rest "
            "(every hand label outside the test part), operating point nested in each fold; "
            "chosen: the "
            f"best macro-F1 among those with criticism recall >= {CRITICISM_RECALL_FLOOR}"
        ),
        "command": "python -m nlp.choose " + " ".join(argv or sys.argv[1:]),
        "candidates": rows,
        "chosen": best["candidate"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json_text(doc), encoding="utf-8")
    print(f"chosen: {best['candidate']} (wrote {args.out})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
