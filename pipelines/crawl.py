"""Runs the site spiders, one Scrapy process per core, and summarises what each site gave."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings

from crawlers.process import scrapy_settings
from crawlers.profiles import SiteProfile
from crawlers.spiders.profile import ProfileSpider
from crawlers.state import KnownPage, stored_links
from pipelines.lake import lake_target
from pipelines.page_state import known_pages
from pipelines.paths import DataPaths
from pipelines.staging import StagingPipeline
from pipelines.store import DatabaseLocked, open_db

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
# Scrapy's finish reason for a crawl stopped by its time budget (CLOSESPIDER_TIMEOUT).
BUDGET_SPENT = "closespider_timeout"


@dataclass
class SiteCrawl:
    """What one site's crawl fetched, found and failed on."""

    site: str
    status: str  # ok | failed
    articles: int
    discovered: int
    pages: int
    errors: dict[str, int]
    message: str
    # The other congvu/* counters: known, refetch, not_modified, unchanged, gone, date/missing,
    # date/future, extraction/profile|fallback, field/<name> (found by a profile rule),
    # pages/<kind>, retry_after... (layout drift is computed from these).
    counts: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        """One line for the run summary."""
        errors = ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items())) or "no errors"
        return (
            f"{self.site:<14} {self.status:<7} {self.articles:>5} articles  "
            f"{self.pages:>5} pages  {errors}. {self.message}".rstrip()
        )


def summarise(site: str, stats: dict[str, Any]) -> SiteCrawl:
    """Judge one site's crawl from its Scrapy stats."""
    counters = {k.removeprefix("congvu/"): v for k, v in stats.items() if k.startswith("congvu/")}
    errors = {k.removeprefix("error/"): v for k, v in counters.items() if k.startswith("error/")}
    counts = {k: v for k, v in counters.items() if not k.startswith("error/")}
    cut = ""
    if stats.get("finish_reason") == BUDGET_SPENT:
        # Requests queued but never sent: the pages (mostly articles) the next night finds
        # again through the listings and sitemaps, as nothing of them was stored.
        left = max(stats.get("scheduler/enqueued", 0) - stats.get("scheduler/dequeued", 0), 0)
        errors["time_budget"] = left
        cut = f"Cut short by its crawl time budget: {left} pages left for the next night."
    pages = sum(v for k, v in counters.items() if k.startswith("pages/"))
    articles = counters.get("articles", 0)
    discovered = counters.get("discovered", 0)
    stored = stored_links(counters)
    if pages == 0 and stored == 0:
        kinds = ", ".join(sorted(errors)) or stats.get("finish_reason", "nothing fetched")
        return SiteCrawl(site, "failed", 0, 0, 0, errors, f"Unreachable ({kinds}).", counts)
    if articles == 0 and discovered == 0:
        message = "Pages fetched but no article links matched: has the layout changed?"
        return SiteCrawl(site, "failed", 0, 0, pages, errors, message, counts)
    # Article links the site itself says are gone (404 or 410: a removed article a listing or
    # sitemap still names) were read as well as they can be: only beside stored ones, not alone.
    gone = counters.get("gone", 0) if stored else 0
    if articles == 0 and stored + gone < discovered:
        message = f"{discovered} article links found but no article could be extracted."
        return SiteCrawl(site, "failed", 0, discovered, pages, errors, message, counts)
    # Articles a moved sitemap or feed date made the crawl fetch again, their text the same:
    # counted among the articles, as staged, though nothing of them is new (as the digest says).
    unchanged = counters.get("unchanged", 0)
    message = " ".join(
        part
        for part in (
            cut,
            f"{stored} already stored, not fetched again." if stored else "",
            f"{unchanged} of the articles refetched, unchanged." if unchanged else "",
        )
        if part
    )
    return SiteCrawl(site, "ok", articles, discovered, pages, errors, message, counts)


class LogFile(logging.FileHandler):
    """A log file that, once a write to it fails (a full disk), says so once and stops there."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8")
        self.failed = False

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record, unless writing to the file has failed already."""
        if not self.failed:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        """On a failed write, one line on stderr instead of a traceback for every record."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):  # a faulty log call, not the file: as logging does
            super().handleError(record)
            return
        self.failed = True
        reason = error.strerror or str(error)
        print(
            f"congvu: cannot write the log file {self.baseFilename}: {reason}; logging to it stops",
            file=sys.stderr,
        )
        stream, self.stream = self.stream, None
        with contextlib.suppress(OSError):  # what is still buffered cannot be written either
            stream.close()


def log_to_file(path: Path) -> None:
    """Send all logging (Scrapy's included) to path only, at INFO; nothing to the terminal.

    underthesea adds a stderr handler to the root logger on import: it goes, so a nightly run
    prints its summary and nothing else.
    """
    root = logging.getLogger()
    if any(getattr(h, "baseFilename", None) == str(path.resolve()) for h in root.handlers):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    root.handlers.clear()
    handler = LogFile(path)
    handler.setFormatter(logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def crawl_state(paths: DataPaths, notes: list[str]) -> dict[str, KnownPage]:
    """The pages already stored, so the crawl fetches only what is new or changed."""
    if lake_target() is None and not paths.store.exists():
        return {}
    try:
        con = open_db(paths.store, read_only=True, wait_s=5)
    except DatabaseLocked:
        notes.append("database busy at start: stored pages are fetched again")
        return {}
    with con:
        return known_pages(con)


def crawl_settings(run_dir: Path, raw_dir: Path, log_file: Path | None, replay: bool) -> Settings:
    """Project settings plus this run's staging pipeline and folders; no delay when replaying.

    CONGVU_SCRAPY_SETTINGS (a JSON object) overrides any setting, e.g. a short DOWNLOAD_TIMEOUT.
    """
    settings = scrapy_settings(replay)
    # The crawlers only extract; what becomes of their items is this package's business.
    settings.set("ITEM_PIPELINES", {StagingPipeline: 500})
    settings.set("CONGVU_RUN_DIR", str(run_dir))
    settings.set("CONGVU_RAW_DIR", str(raw_dir))
    if log_file is not None:
        log_to_file(log_file)
        settings.set("LOG_INSTALL_ROOT_HANDLER", False)  # the root logger already writes there
    return settings


def run_crawl(
    profiles: list[SiteProfile],
    run_dir: Path,
    raw_dir: Path,
    urls: list[str] | None = None,
    origin: str | None = None,
    log_file: Path | None = None,
    known: Mapping[str, KnownPage] | None = None,
    since: datetime | None = None,
) -> list[SiteCrawl]:
    """Crawl the sites into run_dir, their profiles shared among one process per CPU core.

    A crawl is CPU-bound (parsing and extracting pages), and Scrapy runs on one core, so the
    sites are split among worker processes; each site stays in one process, so politeness per
    site is unchanged. With one core or one site the crawl runs in this process.
    known: stored pages by URL and canonical URL, not fetched again unless changed;
    since: backfill from this time on. Sharing the sites with other nodes: crawl_shared in
    pipelines/frontier.py.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    groups = site_groups(profiles, usable_cores())
    args = (run_dir, raw_dir, urls, origin, log_file, dict(known or {}), since)
    if len(groups) <= 1:
        return crawl_sites(profiles, *args)
    outcomes = in_processes(crawl_sites, [(group, *args) for group in groups])
    results: dict[str, SiteCrawl] = {}
    for group, outcome in zip(groups, outcomes, strict=True):
        if isinstance(outcome, Exception):  # a worker that died takes only its own sites down
            names = ", ".join(p.name for p in group)
            log.error("crawl worker for %s failed", names, exc_info=outcome)
            message = f"Crawl process failed: {outcome}."
            for profile in group:
                results[profile.name] = SiteCrawl(
                    profile.name, "failed", 0, 0, 0, {"worker": 1}, message
                )
        else:
            results.update((r.site, r) for r in outcome)
    return [results[profile.name] for profile in profiles]


def in_processes(
    work: Callable[..., list[SiteCrawl]], calls: list[tuple]
) -> list[list[SiteCrawl] | Exception]:
    """work(*args) for each args of calls, each in a process of its own that dies with this one.

    Returns each call's result, or the exception it raised: a failed call stops no other. A
    Scrapy process crawls once (its reactor cannot restart), so a worker never takes a second
    call: without max_tasks_per_child, one that finished early took the next queued call before
    the pool had started its other worker, and that crawl failed (ReactorNotRestartable).
    """
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        len(calls),
        mp_context=spawn,
        initializer=die_with,
        initargs=(os.getpid(),),
        max_tasks_per_child=1,
    ) as pool:
        futures = [pool.submit(work, *args) for args in calls]
    outcomes: list[list[SiteCrawl] | Exception] = []
    for future in futures:
        try:
            outcomes.append(future.result())
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


def usable_cores() -> int:
    """The CPU cores this process may run on (taskset and cpusets respected)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def site_groups(profiles: list[SiteProfile], workers: int) -> list[list[SiteProfile]]:
    """The profiles dealt round-robin into at most `workers` non-empty groups."""
    count = max(1, min(workers, len(profiles)))
    return [group for group in (profiles[i::count] for i in range(count)) if group]


def die_with(parent_pid: int) -> None:
    """Make this worker process die with the run that started it (Linux), never outlive it.

    A worker left behind by a killed run would go on writing staging files that the next run
    is already loading.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the check below still catches most cases
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def crawl_sites(
    profiles: list[SiteProfile],
    run_dir: Path,
    raw_dir: Path,
    urls: list[str] | None,
    origin: str | None,
    log_file: Path | None,
    known: Mapping[str, KnownPage],
    since: datetime | None,
) -> list[SiteCrawl]:
    """Crawl the sites in one Scrapy process (the reactor runs once: call once per process)."""
    process = CrawlerProcess(crawl_settings(run_dir, raw_dir, log_file, replay=origin is not None))
    crawlers: dict[str, Crawler] = {}
    for profile in profiles:
        crawler = process.create_crawler(ProfileSpider)
        crawlers[profile.name] = crawler
        process.crawl(crawler, profile=profile, urls=urls, origin=origin, known=known, since=since)
    process.start()
    results = []
    for site, crawler in crawlers.items():
        stats = crawler.stats.get_stats() if crawler.stats else {}
        result = summarise(site, stats)
        write_stats(run_dir, result)
        results.append(result)
    return results


def write_stats(run_dir: Path, result: SiteCrawl) -> None:
    """Keep a site's crawl summary beside its staging file."""
    (run_dir / f"{result.site}.stats.json").write_text(
        json.dumps(asdict(result), ensure_ascii=False, indent=1), encoding="utf-8"
    )
