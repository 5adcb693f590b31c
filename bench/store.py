"""Storage benchmark: bulk load, analysts' queries over 1,000,000 rows, publishing the snapshot.

Run: .venv/bin/python bench/store.py  (prints articles/s, query latencies, the snapshot's size and
publish time; writes in /tmp)
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipelines.load import load_staged
from pipelines.paths import DataPaths
from pipelines.snapshot import publish
from pipelines.store import open_db

LOAD_ROWS = 100_000
QUERY_ROWS = 1_000_000
PROVINCES = ["Hà Nội", "Đà Nẵng", "Huế", "Nghệ An", "Thành phố Hồ Chí Minh", "Cà Mau", "Lào Cai"]
WORDS = [
    "cán",
    "bộ",
    "người",
    "dân",
    "thủ",
    "tục",
    "hành",
    "chính",
    "tỉnh",
    "xã",
    "phường",
    "dự",
    "án",
    "đất",
    "đai",
    "kinh",
    "tế",
]


def synthetic_article(n: int, start: datetime) -> dict:
    """One crawled article record of realistic size (about 3,000 characters of body)."""
    rng = random.Random(n)
    published = start + timedelta(minutes=n)
    body = "\n\n".join(" ".join(rng.choices(WORDS, k=60)) for _ in range(10))
    url = f"https://bao.example.vn/bai-viet-{n}.html"
    return {
        "url": url,
        "canonical_url": url,
        "site": f"site{n % 20}",
        "title": " ".join(rng.choices(WORDS, k=12)),
        "sapo": " ".join(rng.choices(WORDS, k=30)),
        "body": body,
        "author": "Phóng viên",
        "category": "Thời sự",
        "published_at": published.isoformat(),
        "date_source": "meta:article:published_time",
        "extraction": "profile",
        "fetched_at": (published + timedelta(hours=1)).isoformat(),
        "raw_sha256": f"{n:064x}",
        "raw_path": f"site/{n}.html.gz",
    }


def bench_load(work: Path) -> float:
    """Articles/s for loading LOAD_ROWS staged articles (one run, 20 site files) into a new DB."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    (work / "staging" / "run").mkdir(parents=True)
    for part in range(20):
        target = work / "staging" / "run" / f"site{part}.jsonl"
        with target.open("w", encoding="utf-8") as out:
            for n in range(part * LOAD_ROWS // 20, (part + 1) * LOAD_ROWS // 20):
                out.write(json.dumps(synthetic_article(n, start), ensure_ascii=False) + "\n")
    con = open_db(work / "load.duckdb")
    began = time.perf_counter()
    result = load_staged(con, work / "staging")
    elapsed = time.perf_counter() - began
    con.close()
    assert result.rows_new == LOAD_ROWS, result
    return LOAD_ROWS / elapsed


def fill_for_queries(path: Path) -> None:
    """A database with QUERY_ROWS articles, labels and provinces, generated in SQL."""
    con = open_db(path)
    con.execute(
        f"""
        INSERT INTO articles
        SELECT printf('%016x', i), 'https://bao.example.vn/' || i, 'https://bao.example.vn/' || i,
               'site' || (i % 40), 'Tiêu đề ' || i, 'Sapo', repeat('nội dung ', 200), NULL,
               'Thời sự', TIMESTAMPTZ '2024-01-01 00:00:00+07' + to_minutes(i), 'meta', 'profile',
               TIMESTAMPTZ '2024-01-01 00:00:00+07' + to_minutes(i), NULL, NULL, 'text/html',
               NULL, 1, 'bench', now()
        FROM range({QUERY_ROWS}) t(i)
        """
    )
    con.execute(
        f"""
        INSERT INTO classifications
        SELECT printf('%016x', i), 'bench-model',
               CASE WHEN i % 10 = 0 THEN 'criticism' WHEN i % 37 = 0 THEN 'praise'
                    ELSE 'neutral' END,
               0.1, 0.8, 0.1, ['Câu căn cứ thứ nhất ' || i, 'Câu căn cứ thứ hai'], '', now(), 1600
        FROM range({QUERY_ROWS}) t(i)
        """
    )
    provinces = ", ".join(f"'{p}'" for p in PROVINCES)
    con.execute(
        f"""
        INSERT INTO article_places (article_id, province, province_named, provinces, analysed_chars)
        SELECT printf('%016x', i), list_extract([{provinces}], 1 + i % {len(PROVINCES)}), NULL,
               NULL, 1600
        FROM range({QUERY_ROWS}) t(i)
        """
    )
    con.close()


QUERIES = {
    "counts by province x week x label": """
        SELECT p.province, date_trunc('week', a.published_at) AS week, c.label, count(*) AS n
        FROM articles a
        JOIN classifications c ON c.article_id = a.article_id AND c.model_id = 'bench-model'
        LEFT JOIN article_places p ON p.article_id = a.article_id
        GROUP BY ALL
    """,
    "latest 50 criticism articles with evidence": """
        SELECT a.published_at, a.site, a.title, a.url, c.score_criticism, c.evidence
        FROM articles a
        JOIN classifications c ON c.article_id = a.article_id AND c.model_id = 'bench-model'
        WHERE c.label = 'criticism'
        ORDER BY a.published_at DESC LIMIT 50
    """,
}


def bench_queries(path: Path, repeats: int = 5) -> dict[str, float]:
    """Best-of-repeats seconds per query on a read-only connection, as a notebook runs them."""
    con = open_db(path, read_only=True)
    timings = {}
    for name, sql in QUERIES.items():
        best = float("inf")
        for _ in range(repeats):
            began = time.perf_counter()
            con.execute(sql).fetchall()
            best = min(best, time.perf_counter() - began)
        timings[name] = best
    con.close()
    return timings


def bench_publish(paths: DataPaths) -> float:
    """Seconds to publish the store as the analysts' snapshot (checkpoint, copy, rename)."""
    began = time.perf_counter()
    publish(paths, wait_s=0)
    return time.perf_counter() - began


def main() -> None:
    """Print the load rate, the query latencies and the cost of publishing the snapshot."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rate = bench_load(work)
        print(f"bulk load: {LOAD_ROWS:,} articles at {rate:,.0f} articles/s (target >= 20,000)")
        paths = DataPaths(work / "data")
        fill_for_queries(paths.store)
        for name, seconds in bench_queries(paths.store).items():
            print(f"query over {QUERY_ROWS:,} rows, {name}: {seconds:.3f} s (target < 0.5)")
        seconds = bench_publish(paths)
        size = paths.db.stat().st_size / 2**20
        print(f"publish: {QUERY_ROWS:,} articles, a {size:,.0f} MiB snapshot in {seconds:.1f} s")


if __name__ == "__main__":
    main()
