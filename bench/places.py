"""Redoing who and where for articles an older rules version placed: the nightly batch's speed.

Run from the project root (needs ../shared):
    nice -n 10 .venv/bin/python bench/places.py [--n 1000]
The first N corpus articles are loaded into a new store and placed, then marked as placed by the
previous rules version and redone in one batch by the nightly step (read, compute with no
connection held, replace in one transaction). Prints articles/s for both, and how long
REDO_BATCH articles take at the redo's speed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.reclassify import DEFAULT_CORPUS, corpus_store, line  # noqa: E402
from pipelines import places  # noqa: E402
from pipelines.paths import DataPaths  # noqa: E402
from pipelines.store import open_db  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Print articles/s of placing new articles and of redoing old ones, and the batch's time."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--n", type=int, default=1000, help="first N corpus articles")
    args = parser.parse_args(argv)
    if not args.corpus.is_file():
        parser.error(f"{args.corpus} not found (shared data: ../shared)")
    with tempfile.TemporaryDirectory() as tmp:
        paths = DataPaths(Path(tmp))
        n = corpus_store(paths.root, args.corpus, args.n)
        places.places_and_people(pd.DataFrame({"article_id": ["x"], "text": ["Hà Nội"]}))
        started = time.perf_counter()  # models loaded and warm: as in a nightly run
        places.find_who_and_where(paths, wait_s=60)
        line("who and where of new articles", n, time.perf_counter() - started)
        with open_db(paths.store) as con:
            con.execute("UPDATE article_places SET rules_version = ?", [places.RULES_VERSION - 1])
        batch, places.REDO_BATCH = places.REDO_BATCH, n
        started = time.perf_counter()
        redone, left, _ = places.redo_older_rules(paths, wait_s=60)
        seconds = time.perf_counter() - started
        line("redo of articles placed by older rules", redone, seconds)
        print(f"REDO_BATCH = {batch:,} articles at this speed: {batch * seconds / redone:.0f} s")
        assert left == 0, left
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
