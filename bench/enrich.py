"""Enrichment benchmark: one 5,000,000-character article through the nightly enrichment.

The article is loaded from a staging file into a new database, then goes through the steps a
nightly run takes after the load: stories, provinces and entities, and the default classifier.
Two shapes, each in a fresh process so that peak memory is its own: paragraphs of ordinary
sentences, and one "sentence" with no full stop or line break (a page whose markup broke).

Run: .venv/bin/python bench/enrich.py  (prints seconds and peak memory per shape; writes in /tmp)
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The project root first: bench/nlp.py would otherwise stand for the nlp package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ARTICLE_CHARS = 5_000_000
SENTENCES = [
    "Chủ tịch UBND tỉnh Quảng Nam Lê Trí Thanh yêu cầu các sở, ngành chấn chỉnh tình trạng cán bộ "
    "né tránh, đùn đẩy công việc, gây phiền hà cho người dân và doanh nghiệp.",
    "Sở Tài nguyên và Môi trường tỉnh Bình Dương đã giải quyết dứt điểm hồ sơ đất đai tồn đọng.",
    "Ông Nguyễn Văn An, Giám đốc Sở Nội vụ, được khen thưởng vì dám nghĩ, dám làm, dám chịu "
    "trách nhiệm vì lợi ích chung.",
    "Thời tiết hôm nay tại Hà Nội nắng nhẹ, nhiệt độ cao nhất 28 độ C.",
]


def article_text(shape: str) -> str:
    """ARTICLE_CHARS characters of body: paragraphs, or one sentence with no full stop."""
    if shape == "paragraphs":
        unit = " ".join(SENTENCES) + "\n\n"
    else:
        unit = " ".join(SENTENCES).replace(".", "").replace(",", "") + " "
    return (unit * (ARTICLE_CHARS // len(unit) + 1))[:ARTICLE_CHARS]


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB (ru_maxrss is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_shape(shape: str) -> None:
    """Load one article of the shape and enrich it; print seconds and memory per step."""
    from nlp.classify import load_classifier
    from pipelines.classifications import classify_unlabelled
    from pipelines.load import load_staged
    from pipelines.paths import DataPaths
    from pipelines.places import find_who_and_where
    from pipelines.store import open_db
    from pipelines.stories import group_new_stories

    with tempfile.TemporaryDirectory() as tmp:
        paths = DataPaths(Path(tmp))
        staged = paths.staging / "bench" / "bench.jsonl"
        staged.parent.mkdir(parents=True)
        url = "https://bao.example.vn/bai-rat-dai-1.html"
        record = {
            "url": url,
            "canonical_url": url,
            "site": "bench",
            "title": "Bài rất dài: cán bộ né tránh, đùn đẩy công việc",
            "body": article_text(shape),
            "published_at": "2026-03-07T08:00:00+07:00",
            "fetched_at": "2026-03-07T09:00:00+07:00",
        }
        staged.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
        del record
        classifier = load_classifier()
        con = open_db(paths.store)
        load_staged(con, paths.staging)
        con.close()
        before = peak_mb()
        began = time.perf_counter()
        steps = {
            "stories": lambda: group_new_stories(paths, wait_s=5),
            "provinces and entities": lambda: find_who_and_where(paths, wait_s=5),
            "classify": lambda: classify_unlabelled(paths, classifier, wait_s=5),
        }
        timings = {}
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            timings[name] = time.perf_counter() - started
        total = time.perf_counter() - began
        con = open_db(paths.store, read_only=True)
        analysed = con.execute(
            "SELECT c.analysed_chars, p.analysed_chars FROM classifications c "
            "JOIN article_places p USING (article_id)"
        ).fetchone()
        con.close()
    each = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
    print(
        f"{ARTICLE_CHARS:,}-character article ({shape}): enrichment {total:.1f} s ({each}); "
        f"peak memory {peak_mb():,.0f} MB ({before:,.0f} MB before the enrichment, after imports "
        f"and the load); analysed {analysed[0]:,} characters (places: {analysed[1]:,})",
        flush=True,
    )


def main() -> None:
    """Run each shape in its own process."""
    if len(sys.argv) > 1:
        run_shape(sys.argv[1])
        return
    for shape in ("paragraphs", "one-sentence"):
        subprocess.run([sys.executable, __file__, shape], check=True)


if __name__ == "__main__":
    main()
