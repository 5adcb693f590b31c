"""Extraction benchmark: pages/s for profile extraction and for the generic fallback, one core.

Run: .venv/bin/python bench/extract.py [--rounds N]  (needs ../shared/pages)

Each saved article page (six sites, and the 2025 VnExpress page) goes from its raw bytes through
decoding, parsing and extraction, as the crawler does it (page_record); the fallback figure runs
the same pages with no profile, so trafilatura and htmldate do the work. Times are CPU seconds of
this one process, the best of several rounds (the machine is shared). A last line reads one
article of --long-chars characters (a hostile page) with no profile, once.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path

from crawlers.article import page_record
from crawlers.profiles import SiteProfile, load_profiles

SHARED = Path(__file__).resolve().parents[2] / "shared" / "pages"
SITES = ("vnexpress", "tuoitre", "dantri", "baochinhphu", "vietnamnet", "baodautu")
VNE_2025 = "https://vnexpress.net/dau-bung-keo-dai-phat-hien-ung-thu-lymphoma-ruot-non-4954454.html"

Page = tuple[SiteProfile, str, bytes]


def saved_pages() -> list[Page]:
    """(profile, public URL, raw bytes) of every saved article page."""
    profiles = load_profiles()
    facts = json.loads((SHARED / "expected.json").read_text(encoding="utf-8"))
    pages = [
        (
            profiles[site],
            facts[f"{site}/article.html"]["url"],
            (SHARED / site / "article.html").read_bytes(),
        )
        for site in SITES
    ]
    raw = gzip.decompress((SHARED / "vnexpress-2025" / "article.html.gz").read_bytes())
    return [*pages, (profiles["vnexpress"], VNE_2025, raw)]


def best_rate(pages: list[Page], work: Callable[[Page], object], rounds: int) -> float:
    """Pages per CPU second, the best of rounds passes over all pages."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for page in pages:
            work(page)
        best = min(best, time.process_time() - start)
    return len(pages) / best


def long_page(chars: int) -> bytes:
    """An article page of about chars characters of text, in paragraphs, with a menu and footer."""
    paragraph = (
        "<p>Đoạn {} nói về việc cán bộ xã chậm giải quyết hồ sơ của người dân trong nhiều tháng, "
        "khiến bà con phải đi lại nhiều lần.</p>"
    )
    paragraphs = "".join(paragraph.format(n) for n in range(chars // 110))
    return (
        "<html><head><title>Bài rất dài</title></head><body><nav><a href='/'>Trang chủ</a></nav>"
        f"<article><h1>Bài rất dài</h1><p>Sapo của bài.</p>{paragraphs}</article>"
        "<div class='footer'><p>Tải ứng dụng</p></div></body></html>"
    ).encode()


def main() -> None:
    """Print the two figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="passes; the best counts")
    parser.add_argument("--long-chars", type=int, default=5_000_000, help="the long article's size")
    args = parser.parse_args()
    pages = saved_pages()
    size = sum(len(raw) for _, _, raw in pages) / len(pages) / 1024

    def profile(page: Page) -> object:
        return page_record(page[0], page[1], page[2], "text/html")

    def fallback(page: Page) -> object:
        return page_record(None, page[1], page[2], "text/html")

    kinds = {profile(p)["extraction"] for p in pages}
    assert kinds == {"profile"}, f"expected profile extraction, got {kinds}"
    print(f"{len(pages)} saved article pages, {size:.0f} KiB on average, best of {args.rounds}")
    print(f"profile extraction:  {best_rate(pages, profile, args.rounds):7.1f} pages/s (one core)")
    rounds = max(1, args.rounds // 4)
    print(f"generic fallback:    {best_rate(pages, fallback, rounds):7.1f} pages/s (one core)")
    raw = long_page(args.long_chars)
    start = time.process_time()
    body = page_record(None, "http://127.0.0.1/long.html", raw, "text/html")["body"]
    seconds = time.process_time() - start
    print(f"generic, one long article: {seconds:5.1f} s for {len(body):,} characters of body")


if __name__ == "__main__":
    main()
