"""The shipped demo site, served on 127.0.0.1 so the nightly job runs with no internet."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parents[1] / "crawlers" / "demo"


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without logging each request to the terminal."""

    def log_message(self, format: str, *args: object) -> None:
        """Drop per-request log lines."""


@contextmanager
def serve_on_loopback(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run an HTTP server with handler on a free 127.0.0.1 port in a thread; yield its origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_demo_site(root: Path = DEMO_DIR / "www") -> Iterator[str]:
    """Serve the demo pages on a free 127.0.0.1 port; yield the origin URL."""
    with serve_on_loopback(functools.partial(QuietHandler, directory=str(root))) as origin:
        yield origin
