"""Throughput of the nightly enrichment (classify with evidence) and of entity extraction.

Run from the project root:  .venv/bin/python bench/nlp.py [--n 2000] [--model ID ...]
Compare models on one core, classification only:
    taskset -c 1 .venv/bin/python bench/nlp.py --n 1000 --model tfidf-lr-1 --model e5-small-ft-1 \
        --threads 1 --classify-only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.classify import DEFAULT_MODEL, load_classifier  # noqa: E402
from nlp.datafiles import read_corpus  # noqa: E402
from nlp.entities import entities  # noqa: E402
from nlp.provinces import main_province  # noqa: E402

DEFAULT_CORPUS = Path("../shared/corpus/vntc-politics-law.jsonl.gz")


def peak_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(name: str, texts: list[str], work: Callable[[str], object]) -> float:
    """Run work over the texts once, print articles per second and peak memory; the seconds."""
    work(texts[0])  # load models and warm caches outside the clock
    started = time.perf_counter()
    for text in texts:
        work(text)
    seconds = time.perf_counter() - started
    line(name, len(texts), seconds)
    return seconds


def line(name: str, n: int, seconds: float) -> None:
    """Print one benchmark line: articles, seconds, articles per second, peak memory."""
    print(
        f"{name:<46} {n:>5} articles {seconds:>7.1f} s {n / seconds:>8.1f}/s"
        f"   peak memory so far {peak_mib():>6.0f} MiB",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Print the throughput of enrichment per model, then of entity and province extraction."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--n", type=int, default=2000, help="first N corpus articles")
    parser.add_argument("--entities-n", type=int, default=None, help="default: --n")
    parser.add_argument(
        "--model", action="append", help=f"model id (repeatable; default: {DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads for transformer models (0: default)",
    )
    parser.add_argument(
        "--classify-only", action="store_true", help="skip the entity and province timings"
    )
    parser.add_argument(
        "--record",
        type=Path,
        help="write the first model's figures as JSON here (a model card's speed.json)",
    )
    args = parser.parse_args(argv)
    if args.threads > 0:
        try:
            import torch
        except ImportError:
            parser.error("--threads needs torch (pip install -e '.[transformer]')")
        torch.set_num_threads(args.threads)
    if not args.corpus.is_file():
        parser.error(f"{args.corpus} not found (shared data: ../shared)")
    texts = [r["text"] for r in islice(read_corpus(args.corpus), args.n)]
    chars = sum(map(len, texts)) / len(texts)
    machine = (
        f"Python {platform.python_version()}, one process, {platform.processor() or 'cpu'}, "
        f"{len(os.sched_getaffinity(0))} core(s) allowed of {os.cpu_count()}"
    )
    print(f"{machine}; {chars:.0f} characters an article")
    print(f"{'after loading the corpus':<46} {'':>35}   peak memory so far {peak_mib():>6.0f} MiB")
    for model_id in args.model or [DEFAULT_MODEL]:
        started = time.perf_counter()
        classifier = load_classifier(model_id)
        loading = time.perf_counter() - started
        print(f"{'load ' + classifier.model_id:<46} {'':>14} {loading:>7.1f} s", flush=True)
        seconds = timed(
            f"enrich: classify with evidence, {classifier.model_id}", texts, classifier.classify
        )
        line("  the same, model load included", len(texts), seconds + loading)
        if args.record and model_id == (args.model or [DEFAULT_MODEL])[0]:
            record = {
                "model_id": classifier.model_id,
                "command": "python bench/nlp.py " + " ".join(argv or sys.argv[1:]),
                "machine": machine,
                "articles": len(texts),
                "articles_per_second": round(len(texts) / seconds, 1),
                "load_seconds": round(loading, 2),
                "with_load_per_second": round(len(texts) / (seconds + loading), 1),
            }
            args.record.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    if args.classify_only:
        return 0
    timed("provinces (34-province map)", texts, main_province)
    timed("entities (underthesea CRF, first 3000 chars)", texts[: args.entities_n], entities)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
