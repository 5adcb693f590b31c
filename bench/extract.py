"""Extraction benchmark: pages/s for profile extraction and for the generic fallback, one core.

Run: .venv/bin/python bench/extract.py [--rounds N]  (needs ../shared/pages)

Each saved article page (six sites, and the 2025 VnExpress page) goes from its raw bytes through
decoding, parsing and extraction, as the crawler does it (page_record); the fallback figure runs
the same pages with no profile, so trafilatura and htmldate do the work. Times are CPU seconds of
this one process, the best of several rounds (the machine is shared).
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


def main() -> None:
    """Print the two figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="passes; the best counts")
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


if __name__ == "__main__":
    main()
