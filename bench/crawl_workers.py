"""Crawl pages/s with one and two crawler nodes sharing a frontier in Redis (`--frontier`).

Run: .venv/bin/python bench/crawl_workers.py [--sites 16] [--articles 30] [--latency-ms 20]
    [--sites-per-node 4]   (needs redis-server and the cluster extra; writes in /tmp)

A local server (its own process) serves, for each site, two listing pages linking its articles,
every page after a fixed latency, as a distant site answers. Each node is a real
`congvu crawl --frontier` process pinned to one CPU core, all sites' profiles given to each: the
site leases decide who crawls what, each node crawling --sites-per-node sites at once
(CONGVU_FRONTIER_SITES; the nation's 2,000 sites are far more than the nodes' share at once, which
is what this mimics). For reference, a plain `congvu crawl` (no frontier) on one core crawls all
the sites at once. Printed: wall time from the nodes' start to their exit, and the crawl rate
between the first and the last page the server answered.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CONGVU = Path(sys.executable).with_name("congvu")
PROFILE = """\
name: {name}
base_url: https://{name}.test
domains: [{name}.test]
discovery:
  listings:
    - url: https://{name}.test/tin-tuc/
      pages: 2
      next_page: https://{name}.test/tin-tuc/trang-{{page}}/
article_url: '^https://{name}\\.test/bai/[a-z0-9-]+-\\d+\\.html$'
max_listing_links: 1000
fields:
  title: [{{css: h1.tieu-de}}]
  body: [{{css: "div.noi-dung > p"}}]
"""
TEXT = "Ủy ban nhân dân tỉnh chỉ đạo giải quyết dứt điểm hồ sơ đất đai tồn đọng của người dân. "


def site_names(count: int) -> list[str]:
    """Site names a profile accepts: trang-a, trang-b..."""
    return [f"trang-{chr(ord('a') + i)}" for i in range(count)]


def serve(sites: list[str], articles: int, latency_s: float, port: Any, log: Path) -> None:
    """Serve the sites' listings and articles until killed; log when each page was answered."""
    lock = threading.Lock()
    half = articles // 2
    listings = {}
    for site in sites:
        for page, numbers in ((1, range(half)), (2, range(half, articles))):
            links = "".join(
                f'<a href="https://{site}.test/bai/tin-{n}.html">{n}</a>' for n in numbers
            )
            name = "tin-tuc/" if page == 1 else "tin-tuc/trang-2/"
            listings[f"/{site}/{name}"] = f"<html><body>{links}</body></html>".encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            time.sleep(latency_s)
            body = listings.get(self.path)
            if body is None and "/bai/" in self.path:
                body = (
                    f'<html><head><meta charset="utf-8"></head><body><h1 class="tieu-de">'
                    f'Bài {self.path}</h1><div class="noi-dung"><p>{TEXT * 8}</p></div>'
                    "</body></html>"
                ).encode()
            status = 200 if body is not None else 404
            body = body or b"not found"
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            if self.path != "/robots.txt":
                with lock, log.open("a") as out:
                    out.write(f"{time.monotonic()}\n")

        def log_message(self, *args: object) -> None:
            pass

    # Every site's connection at once: the default backlog of 5 drops some, which time out.
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port.put(server.server_address[1])
    server.serve_forever()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    """A redis-server of its own in folder; its URL once it answers."""
    import redis

    port = free_port()
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
    process = subprocess.Popen([*command, "--save", ""], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return process, url
        except redis.ConnectionError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not answer")


def run_nodes(
    nodes: int, work: Path, profiles: list[Path], origin: str, frontier: str | None, at_once: int
) -> float:
    """Run `nodes` crawl processes (one core each) to their end; the wall time in seconds."""
    cores = sorted(os.sched_getaffinity(0))
    settings = {"CONGVU_FRONTIER_SITES": at_once}
    env = {**os.environ, "CONGVU_SCRAPY_SETTINGS": json.dumps(settings)}
    args = [arg for path in profiles for arg in ("--profile", str(path))]
    args += ["--origin", f"{origin}/{{site}}"]
    if frontier:
        args += ["--frontier", frontier]
    started = time.monotonic()
    running = []
    for i in range(nodes):
        core = cores[i % len(cores)]
        command = [str(CONGVU), "crawl", *args, "--data-dir", str(work / f"node{i}")]
        running.append(
            subprocess.Popen(
                ["taskset", "-c", str(core), *command],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        )
    for process in running:
        if process.wait() != 0:
            raise SystemExit(f"a node failed: exit {process.returncode}")
    return time.monotonic() - started


def main() -> None:
    """Print pages/s for a plain crawl, then one and two nodes on the frontier."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=16)
    parser.add_argument("--articles", type=int, default=30, help="per site")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--sites-per-node", type=int, default=4, help="crawled at once")
    options = parser.parse_args()
    sites = site_names(options.sites)
    pages = options.sites * (options.articles + 2)
    ctx = multiprocessing.get_context("spawn")
    print(
        f"{options.sites} sites x ({options.articles} articles + 2 listing pages) = {pages} pages, "
        f"{options.latency_ms:.0f} ms a page; one CPU core a node, {options.sites_per_node} "
        f"sites at once on the frontier; {os.cpu_count()} cores here"
    )
    for label, nodes, shared in (
        ("plain crawl", 1, False),
        ("frontier", 1, True),
        ("frontier", 2, True),
    ):
        with tempfile.TemporaryDirectory(prefix="congvu-bench-") as tmp:
            work = Path(tmp)
            profiles = []
            for site in sites:
                profiles.append(work / f"{site}.yaml")
                profiles[-1].write_text(PROFILE.format(name=site), encoding="utf-8")
            port, log = ctx.Queue(), work / "answered.txt"
            server = ctx.Process(
                target=serve, args=(sites, options.articles, options.latency_ms / 1000, port, log)
            )
            server.start()
            origin = f"http://127.0.0.1:{port.get(timeout=30)}"
            redis_process, url = start_redis(work) if shared else (None, None)
            try:
                wall = run_nodes(nodes, work, profiles, origin, url, options.sites_per_node)
            finally:
                server.kill()
                if redis_process is not None:
                    redis_process.terminate()
                    redis_process.wait()
            times = [float(line) for line in log.read_text().split()]
            span = max(times) - min(times)
            print(
                f"{label:<12} {nodes} node{'s' if nodes > 1 else ' '}: {len(times)} pages, "
                f"{wall:5.1f} s wall ({len(times) / wall:5.1f} pages/s), crawling "
                f"{span:5.1f} s ({len(times) / span:5.1f} pages/s)"
            )


if __name__ == "__main__":
    main()
