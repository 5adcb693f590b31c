"""Reclassify throughput: the single process beside `reclassify --ray` on one and on two Ray nodes.

Run from the project root (needs the cluster extra and ../shared):
    nice .venv/bin/python bench/reclassify.py [--n 2000] [--model tfidf-lr-1] [--cpus-per-node 1]
Each figure is articles/s for the whole command on a copy of one store of N corpus articles:
export, classification, writing the labels and loading them; the Ray nodes (local ones, started
beforehand, CPUS_PER_NODE cores each) are already running, as a cluster is.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.classify import load_classifier  # noqa: E402
from nlp.datafiles import read_corpus  # noqa: E402
from pipelines.classifications import classify_unlabelled  # noqa: E402
from pipelines.load import load_staged  # noqa: E402
from pipelines.paths import DataPaths  # noqa: E402
from pipelines.store import open_db  # noqa: E402

DEFAULT_CORPUS = Path("../shared/corpus/vntc-politics-law.jsonl.gz")


def stage_corpus(staging: Path, corpus: Path, n: int) -> Path:
    """Write the first n corpus articles as one crawl staging file; its path."""
    target = staging / "20260101T000000Z" / "corpus.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as out:
        for record in islice(read_corpus(corpus), n):
            title, _, body = record["text"].partition("\n")
            url = "https://corpus.example.vn/" + hashlib.md5(record["id"].encode()).hexdigest()
            article = {
                "url": url,
                "canonical_url": url,
                "site": "corpus",
                "title": title,
                "sapo": "",
                "body": body,
                "author": None,
                "category": record["category"],
                "published_at": "2026-01-01T08:00:00+07:00",
                "date_source": "meta",
                "extraction": "profile",
                "fetched_at": "2026-01-01T09:00:00+00:00",
                "raw_sha256": "0" * 64,
                "raw_path": "corpus/x.html.gz",
            }
            out.write(json.dumps(article, ensure_ascii=False) + "\n")
    return target


def corpus_store(root: Path, corpus: Path, n: int) -> int:
    """A data folder under root whose store holds the first n corpus articles; how many."""
    paths = DataPaths(root)
    stage_corpus(paths.staging, corpus, n)
    with open_db(paths.store) as con:
        return load_staged(con, paths.staging).rows_new


def line(name: str, n: int, seconds: float) -> None:
    """Print one figure: articles, seconds, articles per second."""
    rate = n / seconds
    print(f"{name:<44} {n:>6} articles {seconds:>7.1f} s {rate:>7.1f} articles/s", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Print articles/s of reclassify in one process and on Ray with one and two nodes."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--n", type=int, default=2000, help="first N corpus articles")
    parser.add_argument("--model", default="tfidf-lr-1", help="model id (default: %(default)s)")
    parser.add_argument("--cpus-per-node", type=int, default=1, help="default: %(default)s")
    args = parser.parse_args(argv)
    if not args.corpus.is_file():
        parser.error(f"{args.corpus} not found (shared data: ../shared)")
    import ray
    from ray.cluster_utils import Cluster

    from pipelines.cluster_reclassify import reclassify_on_ray

    classifier = load_classifier(args.model)
    print(f"{os.cpu_count()} cores on this machine, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        n = corpus_store(store, args.corpus, args.n)

        def fresh(name: str) -> DataPaths:
            shutil.copytree(store, Path(tmp) / name)
            return DataPaths(Path(tmp) / name)

        started = time.perf_counter()
        added = classify_unlabelled(fresh("single"), classifier, 60)
        line(f"single process, {classifier.model_id}", added, time.perf_counter() - started)
        for nodes in (1, 2):
            started = time.perf_counter()
            cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": args.cpus_per_node})
            for _ in range(nodes - 1):
                cluster.add_node(num_cpus=args.cpus_per_node)
            cluster.wait_for_nodes()
            ray.init(address=cluster.address, log_to_driver=False)
            print(f"{nodes} Ray node(s) started in {time.perf_counter() - started:.1f} s")
            try:
                started = time.perf_counter()
                added = reclassify_on_ray(
                    fresh(f"ray{nodes}"), classifier, args.model, False, None, 60
                )
                seconds = time.perf_counter() - started
            finally:
                ray.shutdown()
                cluster.shutdown()
            line(f"Ray, {nodes} node(s) x {args.cpus_per_node} CPU", added, seconds)
    print(f"store of {n} articles; each line's count is the articles it labelled")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
