"""Crawler nodes on a shared frontier: each crawls the sites whose leases it takes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.reactor import install_reactor
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure

from crawlers.profiles import SiteProfile
from crawlers.spiders.profile import ProfileSpider
from crawlers.state import KnownPage
from pipelines.crawl import (
    SiteCrawl,
    crawl_settings,
    in_processes,
    summarise,
    usable_cores,
    write_stats,
)

if TYPE_CHECKING:
    from crawlers.frontier import Frontier

log = logging.getLogger(__name__)
# How often a node renews its leases and looks for sites: how soon it notices that one another
# node held is done or free (a few Redis commands a site it waits for).
POLL_S = 1.0


class Node:
    """Takes free site leases (a few sites at a time), crawls them, renews its leases meanwhile.

    A site another node holds is waited for: done there, it is dropped; its lease lapsed (the
    node died), it is taken and its queue resumed here. A lease lost mid-crawl (this node was
    stalled past it) stops the site's crawl here at once.
    """

    def __init__(
        self,
        process: CrawlerProcess,
        frontier: Frontier,
        profiles: list[SiteProfile],
        crawl_args: dict[str, Any],
    ) -> None:
        self.process = process
        self.frontier = frontier
        self.waiting = list(profiles)
        self.crawl_args = crawl_args
        self.max_sites = max(1, process.settings.getint("CONGVU_FRONTIER_SITES", 16))
        self.crawling: dict[str, Crawler] = {}
        self.lost: set[str] = set()
        self.stats: dict[str, dict[str, Any]] = {}  # per site, summed over its crawls here
        self.error: Exception | None = None

    def run(self) -> None:
        """Crawl until every site is done (here or elsewhere); blocks while the reactor runs."""
        # Scrapy installs its reactor with its first crawler; the loop (which imports the
        # reactor, installing Twisted's default if none is) needs it before that.
        settings = self.process.settings
        install_reactor(settings["TWISTED_REACTOR"], settings["ASYNCIO_EVENT_LOOP"])
        self.loop = LoopingCall(self.tick)
        lease_s = self.frontier.lease_ms / 1000
        self.loop.start(min(lease_s / 3, POLL_S), now=True).addErrback(self.fail)
        self.process.start(stop_after_crawl=False)
        if self.error is not None:
            raise self.error

    def fail(self, failure: Failure) -> None:
        """Stop the node when the frontier fails (Redis gone): the error is raised by run()."""
        from crawlers.frontier import FrontierError

        self.error = FrontierError(f"the shared frontier failed: {failure.value}")
        log.error("frontier node stopped: %s", failure.value)
        self.process.stop()
        stop_reactor()

    def tick(self) -> None:
        """Renew the leases held, take free ones, and stop once nothing is left to crawl."""
        for site, crawler in list(self.crawling.items()):
            if site not in self.lost and not self.frontier.renew(site):
                log.warning("lease on %s lapsed to another node: its crawl stops here", site)
                self.lost.add(site)
                deferred_from_coro(crawler.stop_async())
        for profile in list(self.waiting):
            if len(self.crawling) >= self.max_sites:
                break
            if self.frontier.done(profile.name) is not None:
                self.waiting.remove(profile)
            elif self.frontier.take(profile.name):
                self.waiting.remove(profile)
                self.start(profile)
        if not self.waiting and not self.crawling and self.loop.running:
            self.loop.stop()
            stop_reactor()

    def start(self, profile: SiteProfile) -> None:
        """Crawl one site whose lease this node holds."""
        crawler = self.process.create_crawler(ProfileSpider)
        self.crawling[profile.name] = crawler
        done = self.process.crawl(crawler, profile=profile, **self.crawl_args)
        done.addBoth(self.finished, profile, crawler)

    def finished(self, outcome: Any, profile: SiteProfile, crawler: Crawler) -> None:
        """Record a site's crawl; mark it done, or give it back (lease lost: wait for it again)."""
        site = profile.name
        del self.crawling[site]
        stats = crawler.stats.get_stats() if crawler.stats else {}
        merged = self.stats.setdefault(site, {})
        for key, value in stats.items():
            counter = key.startswith("congvu/") and isinstance(value, int)
            merged[key] = merged.get(key, 0) + value if counter else value
        reason = stats.get("finish_reason")
        if site in self.lost:  # stopped by tick() itself (also "shutdown"): wait for it again
            self.lost.discard(site)
            self.waiting.append(profile)
        elif reason == "finished" and not isinstance(outcome, Failure):
            self.frontier.finish(site)
        else:  # stopped or failed: another node (or a rerun) resumes its queue
            log.warning("crawl of %s ended (%s): lease released", site, outcome)
            self.frontier.release(site)
            if reason == "shutdown" and self.loop.running:  # Ctrl-C or SIGTERM: no more sites
                self.loop.stop()
        if self.loop.running:
            # Not from here: a crawl that fails at once finishes inside tick()'s own loop.
            from twisted.internet import reactor

            reactor.callLater(0, self.tick)

    def results(self) -> list[SiteCrawl]:
        """What each site crawled here gave; a resumed site's rest may be small, not failed."""
        results = []
        for site, stats in self.stats.items():
            result = summarise(site, stats)
            if (
                result.status == "failed"
                and not result.errors
                and stats.get("congvu/frontier/resumed")
            ):
                left = f"{result.pages} pages were left" if result.pages else "nothing was left"
                message = f"Resumed after another node: {left}."
                result = replace(result, status="ok", message=message)
            results.append(result)
        return results


def stop_reactor() -> None:
    """Stop the reactor if it still runs (imported here: Scrapy installs its own first)."""
    from twisted.internet import reactor

    if reactor.running:
        reactor.stop()


def crawl_node(
    profiles: list[SiteProfile],
    run_dir: Path,
    raw_dir: Path,
    urls: list[str] | None,
    origin: str | None,
    log_file: Path | None,
    known: Mapping[str, KnownPage],
    since: datetime | None,
    frontier_url: str,
    round_: str,
) -> list[SiteCrawl]:
    """Crawl the sites this process gets leases for (the reactor runs once: once per process).

    Sites finished by other nodes are left out of the results.
    """
    from crawlers.frontier import Frontier, frontier_settings, node_id, shown

    settings = crawl_settings(run_dir, raw_dir, log_file, replay=origin is not None)
    for name, value in frontier_settings(frontier_url, round_).items():
        settings.set(name, value, priority="project")
    lease_s = settings.getfloat("CONGVU_FRONTIER_LEASE", 60)
    frontier = Frontier(frontier_url, round_, node_id(), lease_s)
    log.info("frontier %s, round %s, node %s", shown(frontier_url), round_, frontier.node)
    process = CrawlerProcess(settings)
    args = {"urls": urls, "origin": origin, "known": known, "since": since}
    node = Node(process, frontier, profiles, args)
    node.run()
    results = node.results()
    for result in results:
        write_stats(run_dir, result)
    return results


def crawl_shared(
    profiles: list[SiteProfile],
    run_dir: Path,
    raw_dir: Path,
    urls: list[str] | None = None,
    origin: str | None = None,
    log_file: Path | None = None,
    known: Mapping[str, KnownPage] | None = None,
    since: datetime | None = None,
    *,
    frontier_url: str,
) -> list[SiteCrawl]:
    """pipelines.crawl.run_crawl on the shared frontier: one node process per core, each taking
    site leases; only the sites crawled here are returned.

    Every process is offered every site: the leases decide which crawls what, here as across
    machines. A process that dies leaves its sites' queues on the frontier for a rerun.
    """
    try:
        from crawlers.frontier import Frontier, node_id, round_name
    except ImportError as exc:
        raise RuntimeError(
            f"--frontier needs the cluster extra: pip install -e '.[cluster]' ({exc})"
        ) from exc
    run_dir.mkdir(parents=True, exist_ok=True)
    known = dict(known or {})
    round_ = round_name(urls, since, origin)
    frontier = Frontier(frontier_url, round_, node_id(), 0)  # fails now if Redis does not answer
    args = (run_dir, raw_dir, urls, origin, log_file, known, since, frontier_url, round_)
    workers = min(usable_cores(), len(profiles))
    if workers <= 1:
        return crawl_node(profiles, *args)
    results: dict[str, SiteCrawl] = {}
    failure: Exception | None = None
    for outcome in in_processes(crawl_node, [(profiles, *args)] * workers):
        if isinstance(outcome, Exception):
            log.error("crawl node process failed", exc_info=outcome)
            failure = outcome
        else:
            results.update((r.site, r) for r in outcome)
    if failure is not None:  # the sites it held are neither reported here nor done elsewhere
        for profile in profiles:
            if profile.name not in results and frontier.done(profile.name) is None:
                message = f"Crawl process failed: {failure}; its queue stays on the frontier."
                results[profile.name] = SiteCrawl(
                    profile.name, "failed", 0, 0, 0, {"worker": 1}, message
                )
    return [results[p.name] for p in profiles if p.name in results]
