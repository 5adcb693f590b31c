"""Scrapy item pipeline: archives each page's raw HTML and appends its article to a staging file."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import re
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from scrapy.crawler import Crawler
from scrapy.utils.asyncio import run_in_thread

log = logging.getLogger(__name__)
# gzip level 3 (zlib's fast deflate): a fifth of level 9's CPU for archives ~10% larger.
COMPRESS_LEVEL = 3
# Half a character (a lone surrogate, which escaped JSON can carry): UTF-8 cannot hold it.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def archive_raw(raw_dir: Path, site: str, body: bytes) -> tuple[str, str]:
    """Store body gzip-compressed under its SHA-256; return (sha256, path relative to raw_dir)."""
    digest = hashlib.sha256(body).hexdigest()
    relative = Path(site) / digest[:2] / f"{digest}.html.gz"
    target = raw_dir / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own per writer: two threads may archive the same page at once.
        partial = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.part")
        partial.write_bytes(gzip.compress(body, compresslevel=COMPRESS_LEVEL, mtime=0))
        partial.replace(target)
    return digest, relative.as_posix()


def read_raw(raw_dir: Path, relative: str) -> bytes:
    """The original bytes of an archived page."""
    return gzip.decompress((raw_dir / relative).read_bytes())


def to_json(value: Any) -> Any:
    """JSON form of a record value: datetimes as ISO 8601 with their offset."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to a staging file")


class StagingPipeline:
    """Appends each site's articles to <run_dir>/<site>.jsonl; the database load reads them."""

    def __init__(self, run_dir: Path, raw_dir: Path, crawler: Crawler) -> None:
        self.run_dir = run_dir
        self.raw_dir = raw_dir
        self.crawler = crawler
        self.files: dict[str, BinaryIO] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StagingPipeline:
        """Build from the CONGVU_RUN_DIR and CONGVU_RAW_DIR settings."""
        settings = crawler.settings
        return cls(Path(settings["CONGVU_RUN_DIR"]), Path(settings["CONGVU_RAW_DIR"]), crawler)

    def open_spider(self) -> None:
        """Create the run folder."""
        self.run_dir.mkdir(parents=True, exist_ok=True)

    async def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        """Archive the raw page, then append the article line (flushed: a kill loses at most it).

        Compression runs in a worker thread (zlib releases the GIL) so the crawl goes on meanwhile.
        A not-modified line (HTTP 304, no page) is appended as it is.
        """
        try:
            if item.get("http_status") == 304:
                self.append(item)
                return item
            raw = item.pop("raw_html")
            archived = await run_in_thread(archive_raw, self.raw_dir, item["site"], raw)
            item["raw_sha256"], item["raw_path"] = archived
            self.append(item)
        except OSError:
            # Our disk, not the site: counted so the summary says so (the log has the reason);
            # the page is not recorded as stored, so the next run fetches it again.
            self.crawler.stats.inc_value("congvu/error/storage")
            raise
        except Exception:
            # A value the staging file cannot hold (our bug, not the site's): counted so the
            # summary says so; Scrapy logs the reason and drops the item, nothing of it written.
            self.crawler.stats.inc_value("congvu/error/item")
            raise
        self.crawler.stats.inc_value("congvu/articles")
        return item

    def append(self, item: dict[str, Any]) -> None:
        """Append one line to the site's staging file and flush it (encoded first: all or none).

        Half a character in the text is written as U+FFFD, counted: a hostile page keeps its
        article, and the mark shows where the text was broken.
        """
        line = json.dumps(item, ensure_ascii=False, default=to_json) + "\n"
        try:
            data = line.encode("utf-8")
        except UnicodeEncodeError:
            data = LONE_SURROGATE.sub("\ufffd", line).encode("utf-8")
            self.crawler.stats.inc_value("congvu/lone_surrogate")
            log.warning(
                "%s: half a character replaced by U+FFFD at %s", item["site"], item.get("url")
            )
        out = self.files.get(item["site"])
        if out is None:
            out = (self.run_dir / f"{item['site']}.jsonl").open("ab")
            self.files[item["site"]] = out
        out.write(data)
        out.flush()

    def close_spider(self) -> None:
        """Close the staging files."""
        for out in self.files.values():
            out.close()
