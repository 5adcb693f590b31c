"""Why a request failed, as the short names of the per-site error counters.

The one place that leans on Scrapy's internals, for want of a public API: a robots.txt refusal,
a redirect loop and a decompression bomb all reach the spider as an IgnoreRequest told apart only
by its message, and the error Scrapy's gunzip raises past max_size is private (GzipBomb). The
crawls of tests/test_crawl_robustness.py (robots_disallowed, redirect_loop, gzip_bomb) and
tests/test_crawl_incremental.py (a gzip-bomb sitemap) fail when a Scrapy release changes them.
"""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils._compression import _DecompressionMaxSizeExceeded
from twisted.internet.defer import CancelledError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)

# What Scrapy's gunzip raises past its max_size: a decompression bomb (no public name).
GzipBomb = _DecompressionMaxSizeExceeded

ERROR_KINDS = {
    DownloadConnectionRefusedError: "connection_refused",
    ConnectionRefusedError: "connection_refused",
    CannotResolveHostError: "dns",
    DNSLookupError: "dns",
    DownloadTimeoutError: "timeout",
    TimeoutError: "timeout",
    TCPTimedOutError: "timeout",
    ResponseDataLossError: "data_loss",
    DownloadCancelledError: "too_large",  # the only cancellation: DOWNLOAD_MAXSIZE exceeded
    CancelledError: "too_large",
}
IGNORED_KINDS = {  # why a downloader middleware dropped a request, by its message
    "robots.txt": "robots_disallowed",
    "max redirections": "redirect_loop",
    "decompression": "gzip_bomb",
}


def error_kind(failure: Any) -> str:
    """A short name for why a request failed, used as a per-site counter."""
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(IgnoreRequest):
        message = str(failure.value)
        return next((kind for key, kind in IGNORED_KINDS.items() if key in message), "ignored")
    for exception, kind in ERROR_KINDS.items():
        if failure.check(exception):
            return kind
    return failure.type.__name__.lower() if failure.type else "unknown"
