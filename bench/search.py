"""Search benchmark: `congvu search` over 1,000,000 synthetic articles made of corpus sentences.

Run: .venv/bin/python bench/search.py [--articles N]  (prints the time to build the index from
nothing, each query's latency through pipelines.search.search with the index built, and the first
search after a night of new and relabelled articles, which indexes the new ones only: labels are
not in the index; needs ../shared/corpus; writes in /tmp, about 3 GB, removed at the end)
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

# The project root before bench/, whose nlp.py would otherwise stand for the nlp package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawlers.dates import VN_TZ  # noqa: E402
from nlp.classify import DEFAULT_MODEL, LABELS  # noqa: E402
from pipelines.search import Filters, search  # noqa: E402
from pipelines.store import open_db  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"
CORPUS = CORPUS / "vntc-politics-law.jsonl.gz"
PROVINCES = ["Hà Nội", "Đà Nẵng", "Huế", "Nghệ An", "Thành phố Hồ Chí Minh", "Cà Mau", "Lào Cai"]
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
CHUNK = 100_000
NIGHT = 1_000  # articles a night adds, and labels it changes
QUERIES = [
    ("né tránh", Filters()),
    ("ne tranh", Filters()),
    ("đùn đẩy trách nhiệm", Filters()),
    ("dun day trach nhiem", Filters()),
    ("cán bộ", Filters()),  # in most articles: the most results to rank
    ("tham nhũng", Filters(province="Đà Nẵng")),
    ("gây phiền hà người dân", Filters(label="criticism")),
    ("khen thuong", Filters(start=date(2026, 6, 1), end=date(2026, 6, 30))),
]


def corpus_sentences() -> list[str]:
    """Sentences of 40-400 characters from the corpus (about 300,000)."""
    found = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as lines:
        for line in lines:
            for paragraph in json.loads(line)["text"].split("\n"):
                found += [s for s in SENTENCE_END.split(paragraph) if 40 <= len(s) <= 400]
    return found


def write_articles(db: Path, first: int, count: int, sentences: list[str]) -> None:
    """count articles (a title and 4-8 sentences each), labels of the default model, provinces."""
    rng = random.Random(first)
    first_day = datetime(2026, 1, 1, 8, 0, tzinfo=VN_TZ)
    with open_db(db) as con:
        con.execute("INSERT OR REPLACE INTO sites (site, title) VALUES ('bench', 'Báo Thử Nghiệm')")
        for start in range(first, first + count, CHUNK):
            ids = [f"a{n:07d}" for n in range(start, min(start + CHUNK, first + count))]
            published = [first_day + timedelta(minutes=rng.randrange(525_600)) for _ in ids]
            articles = pd.DataFrame(
                {
                    "article_id": ids,
                    "url": [f"https://bench.vn/{i}.html" for i in ids],
                    "title": [rng.choice(sentences)[:120] for _ in ids],
                    "body": ["\n\n".join(rng.sample(sentences, rng.randint(4, 8))) for _ in ids],
                    "published_at": published,
                    "label": rng.choices(LABELS, weights=[1, 10, 89], k=len(ids)),
                    "province": [rng.choice([*PROVINCES, None, None]) for _ in ids],
                }
            )
            con.register("chunk", articles)
            con.execute(
                "INSERT INTO articles (article_id, canonical_url, url, site, title, body, "
                "published_at, fetched_at, loaded_at) SELECT article_id, url, url, 'bench', "
                "title, body, published_at, published_at, published_at FROM chunk"
            )
            con.execute(
                "INSERT INTO classifications (article_id, model_id, label) "
                f"SELECT article_id, '{DEFAULT_MODEL}', label FROM chunk"
            )
            con.execute(
                "INSERT INTO article_places (article_id, province) "
                "SELECT article_id, province FROM chunk WHERE province IS NOT NULL"
            )
            con.unregister("chunk")
            print(f"  {start + len(ids) - first:,} articles written", flush=True)


def main() -> None:
    """Write the articles, build the index with a first search, then time each query."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=1_000_000)
    count = parser.parse_args().articles
    started = time.perf_counter()
    sentences = corpus_sentences()
    print(f"{len(sentences):,} corpus sentences read in {time.perf_counter() - started:.0f} s")
    with tempfile.TemporaryDirectory(prefix="congvu-search-") as folder:
        db = Path(folder) / "congvu.duckdb"
        started = time.perf_counter()
        write_articles(db, 0, count, sentences)
        print(f"{count:,} articles written in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        search(db, "cán bộ")
        built = time.perf_counter() - started
        index_mb = sum(f.stat().st_size for f in (Path(folder) / "search").rglob("*")) / 1e6
        print(f"first search (builds the index, {index_mb:,.0f} MB): {built:.0f} s")
        worst = 0.0
        for text, filters in QUERIES:
            times = []
            for _ in range(5):
                started = time.perf_counter()
                found = search(db, text, filters)
                times.append(time.perf_counter() - started)
            worst = max(worst, statistics.median(times))
            limits = {k: str(v) for k, v in vars(filters).items() if v and k != "model_id"}
            print(
                f"  {text!r} {limits or ''}: median {statistics.median(times) * 1000:.0f} ms, "
                f"max {max(times) * 1000:.0f} ms, {len(found)} shown"
            )
        print(f"slowest query (median of 5): {worst * 1000:.0f} ms over {count:,} articles")
        # A night: new articles, and labels changed (as a reclassify or a review would).
        write_articles(db, count, NIGHT, sentences)
        with open_db(db) as con:
            con.execute(
                "UPDATE classifications SET label = 'criticism' WHERE article_id IN "
                f"(SELECT article_id FROM articles ORDER BY article_id LIMIT {NIGHT})"
            )
        started = time.perf_counter()
        search(db, "cán bộ")
        print(
            f"first search after a night ({NIGHT:,} new articles, indexed; {NIGHT:,} relabelled, "
            f"not reindexed: labels are not in the index): {time.perf_counter() - started:.0f} s"
        )


if __name__ == "__main__":
    main()
