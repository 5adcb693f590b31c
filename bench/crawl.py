"""Crawl benchmark: pages/s of a real Scrapy crawl of a local server, delays switched off.

Run: .venv/bin/python bench/crawl.py [--articles N]  (needs ../shared/pages; writes in /tmp)

A server in a second process serves, for each of the six sites with saved pages, listing pages of
50 links and N/6 articles: the site's saved article page with a marker, so that every page has
its own bytes (and its own archive file). All six profiles crawl it at once through
pipelines.crawl.run_crawl with --origin, as a night's run does: decode, extract, archive, stage.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import resource
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from crawlers.profiles import Discovery, Listing, SiteProfile, load_profiles

SHARED = Path(__file__).resolve().parents[2] / "shared" / "pages"
PER_LISTING = 50
# An article path per site that its profile's article_url accepts, from a running number.
ARTICLE_PATHS = {
    "vnexpress": lambda n: f"/bai-thu-{1000000 + n}.html",
    "tuoitre": lambda n: f"/bai-thu-{20260307000000 + n}.htm",
    "dantri": lambda n: f"/kinh-doanh/bai-thu-{20260307000000 + n}.htm",
    "baochinhphu": lambda n: f"/bai-thu-{102260307000000 + n}.htm",
    "vietnamnet": lambda n: f"/bai-thu-{2000000 + n}.html",
    "baodautu": lambda n: f"/bai-thu-d{n}.html",
}


def serve(per_site: int, ports: Any) -> None:
    """Serve listings and articles for every site until killed (runs in its own process)."""
    articles = {site: (SHARED / site / "article.html").read_bytes() for site in ARTICLE_PATHS}
    listings: dict[str, bytes] = {}
    for site, path_of in ARTICLE_PATHS.items():
        pages = (per_site + PER_LISTING - 1) // PER_LISTING
        for page in range(1, pages + 1):
            numbers = range((page - 1) * PER_LISTING, min(page * PER_LISTING, per_site))
            links = "".join(f'<li><a href="{path_of(n)}">bài {n}</a></li>' for n in numbers)
            name = "/danh-sach" if page == 1 else f"/danh-sach-p{page}"
            listings[f"/{site}{name}"] = f"<html><body><ul>{links}</ul></body></html>".encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            site = self.path.split("/")[1]
            body = listings.get(self.path)
            if body is None and site in articles:
                body = articles[site] + f"<!-- {self.path} -->".encode()
            status = 200 if body is not None else 404
            body = body or b"not found"
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ports.put(server.server_address[1])
    server.serve_forever()


def bench_profiles(per_site: int) -> list[SiteProfile]:
    """The six profiles, each discovering its articles from the benchmark's listing pages."""
    profiles = load_profiles()
    chosen = []
    for site in ARTICLE_PATHS:
        profile = profiles[site]
        pages = (per_site + PER_LISTING - 1) // PER_LISTING
        listing = Listing(f"{profile.base_url}/danh-sach", pages, "{url}-p{page}")
        chosen.append(dataclasses.replace(profile, discovery=Discovery(listings=(listing,))))
    return chosen


def crawl_cpu() -> float:
    """CPU seconds of this process and its finished children (the crawl's worker processes)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def crawl(origin: str, per_site: int, folder: Path) -> dict[str, Any]:
    """Run the crawl in this process; its wall time and what it fetched."""
    from pipelines.crawl import run_crawl

    start, cpu = time.perf_counter(), crawl_cpu()
    results = run_crawl(
        bench_profiles(per_site),
        folder / "run",
        folder / "raw",
        origin=origin + "/{site}",
        log_file=folder / "crawl.log",
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "cpu": crawl_cpu() - cpu,
        "pages": sum(r.pages for r in results),
        "articles": sum(r.articles for r in results),
        "errors": {r.site: r.errors for r in results if r.errors},
    }


def main() -> None:
    """Start the server, crawl it, print pages/s."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=3000, help="articles in all (default 3000)")
    args = parser.parse_args()
    per_site = args.articles // len(ARTICLE_PATHS)
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    server = context.Process(target=serve, args=(per_site, ports), daemon=True)
    server.start()
    try:
        origin = f"http://127.0.0.1:{ports.get(timeout=30)}"
        with tempfile.TemporaryDirectory(prefix="congvu-bench-") as folder:
            result = crawl(origin, per_site, Path(folder))
    finally:
        server.terminate()
    rate = result["pages"] / result["seconds"]
    print(
        f"{result['pages']} pages ({result['articles']} articles staged and archived) "
        f"in {result['seconds']:.1f} s: {rate:.0f} pages/s"
    )
    print(
        f"crawler processes' CPU: {result['cpu']:.1f} s, "
        f"{1000 * result['cpu'] / result['pages']:.1f} ms a page"
    )
    if result["errors"]:
        print("errors:", json.dumps(result["errors"]))


if __name__ == "__main__":
    main()
