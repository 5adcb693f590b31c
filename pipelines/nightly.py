"""The nightly job: crawl to files, a short database write, classify what is new, digest."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from crawlers.profiles import SiteProfile
from nlp.classify import Classifier
from pipelines.checkpoints import checkpoint
from pipelines.classifications import classify_unlabelled
from pipelines.crawl import crawl_state, log_to_file, run_crawl
from pipelines.digest import digests_listing, write_digest
from pipelines.frontier import crawl_shared
from pipelines.load import load_new
from pipelines.lock import RunLocked
from pipelines.paths import DataPaths
from pipelines.places import RULES_VERSION, find_who_and_where, redo_older_rules
from pipelines.report import RunReport
from pipelines.runs import (
    claim_run_id,
    defer_record,
    finish_run_record,
    record_failure,
    record_run,
    release_reserve,
    start_run,
)
from pipelines.snapshot import NoRoom, writing
from pipelines.store import DatabaseLocked, open_db
from pipelines.stories import group_new_stories

log = logging.getLogger(__name__)


def run_stages(
    paths: DataPaths,
    report: RunReport,
    profiles: list[SiteProfile],
    classifier: Classifier,
    origin: str | None,
    wait_s: float,
    frontier: str | None = None,
) -> list[str]:
    """Crawl, load, group, find who and where, classify and record (under the lock).

    Returns the older articles whose who and where was redone: their digests are rewritten once
    tonight's is written (rewrite_listing).
    """
    start_run(paths, report)
    known = crawl_state(paths, report.notes)
    checkpoint("crawl")
    where = (paths.staging / report.run_id, paths.raw)
    log_file = paths.logs / f"{report.run_id}.log"
    if frontier is None:
        report.sites = run_crawl(profiles, *where, origin=origin, log_file=log_file, known=known)
    else:
        report.sites = crawl_shared(
            profiles, *where, origin=origin, log_file=log_file, known=known, frontier_url=frontier
        )
        elsewhere = len(profiles) - len(report.sites)
        report.notes.append(f"{elsewhere} sites crawled by other nodes on the shared frontier")
    report.load = load_new(paths, profiles, wait_s, report.run_id, report.started_at)
    report.copies = group_new_stories(paths, wait_s)
    find_who_and_where(paths, wait_s)
    redone, left, batch = redo_older_rules(paths, wait_s)
    if redone or left:
        report.notes.append(
            f"who and where redone by rules version {RULES_VERSION}: {redone} articles, "
            f"{left} left for the next runs"
        )
    report.classified = classify_unlabelled(paths, classifier, wait_s)
    record_run(paths, report, wait_s)  # status running: the digest is not written yet
    return batch


def rewrite_listing(
    paths: DataPaths, report: RunReport, model_id: str, articles: list[str]
) -> None:
    """Rewrite the earlier digests that list these articles, their who and where just redone.

    After tonight's digest, written and recorded (a rewritten one then never takes latest.html
    from it), as a review import does, each from a read-only connection. A failure is the run's
    note, naming the digests left stale, never its failure: tonight's own digest matters more.
    """
    if not articles:
        return
    runs: list[str] = []
    done = 0
    try:
        with open_db(paths.store, read_only=True) as con:
            runs = [run for run in digests_listing(con, articles) if run != report.run_id]
        for run_id in runs:
            write_digest(paths, run_id, model_id, paths.store)
            done += 1
    except Exception as exc:  # reported in the summary; the traceback goes to the log
        log.exception("run %s: digests listing redone articles not rewritten", report.run_id)
        left = f"those of runs {', '.join(runs[done:])}" if runs else "any of them"
        report.notes.append(
            f"digests listing articles whose who and where was redone: not rewritten ({exc}): "
            f"{left}; `congvu digest --run RUN` rewrites one"
        )
        return
    if runs:
        report.notes.append(f"{len(runs)} earlier digest(s) rewritten with who and where redone")


def failure(exc: Exception, paths: DataPaths, report: RunReport) -> str:
    """The one-line reason a run failed, saying where its crawled articles are."""
    if isinstance(exc, RunLocked):
        return str(exc)
    if report.load is not None:  # the failure came after the load committed
        once = " once that space is free" if isinstance(exc, NoRoom) else ""
        return (
            f"{exc}. The crawled articles were loaded: the next run labels any left unlabelled "
            f"and publishes them{once}."
        )
    if not any(f.stat().st_size for f in (paths.staging / report.run_id).glob("*.jsonl")):
        if report.sites:  # the crawl ended and staged nothing: nothing new, or its sites failed
            return f"{exc}. The crawl found no new article."
        return f"{exc}. No article was crawled."  # it failed before the crawl ended
    return f"{exc}. The crawled articles stay staged in {paths.staging}: the next run loads them."


def nightly(
    paths: DataPaths,
    profiles: list[SiteProfile],
    classifier: Classifier,
    origin: str | None = None,
    wait_s: float = 300.0,
    frontier: str | None = None,
) -> RunReport:
    """Crawl, load, classify and digest under the run lock; never raises for an expected fault.

    frontier: a Redis URL shared with other nodes; this node crawls and loads its share.
    """
    started = datetime.now(timezone.utc)
    report = RunReport(claim_run_id(paths.staging, started), started)
    log_to_file(paths.logs / f"{report.run_id}.log")
    failed: Exception | None = None  # the run's own failure, recorded before any publish
    try:
        with writing(paths, f"nightly {report.run_id}", wait_s) as takeover:
            if takeover:
                report.notes.append(takeover)
            try:
                redone = run_stages(paths, report, profiles, classifier, origin, wait_s, frontier)
                checkpoint("report")
                report.digest, report.digest_from, report.digest_until = write_digest(
                    paths, report.run_id, classifier.model_id, paths.store
                )
                finish_run_record(paths, report)
                if redone:  # tonight's digest first, recorded: it stays latest.html if it lists
                    rewrite_listing(paths, report, classifier.model_id, redone)
                    finish_run_record(paths, report)  # the summary with the rewrite's note
            except Exception as exc:  # reported in the summary; the traceback goes to the log
                failed = exc
                log.exception("run %s failed", report.run_id)
                report.error = failure(exc, paths, report)
                record_failure(paths, report)
                if isinstance(exc, DatabaseLocked):  # no publish: it would wait that lock out again
                    raise
    except Exception as exc:  # taking the lock, adopting an old database or publishing failed
        if exc is not failed:  # the run's own failure (a locked database) is recorded already
            log.exception("run %s failed", report.run_id)
            if report.error:  # publishing failed after the run had: said and recorded too,
                if str(exc) not in report.error:  # unless it is the run's own fault again
                    report.error += f" Publishing failed too: {exc}"
                    record_failure(paths, report)
            else:
                report.error = failure(exc, paths, report)
                if report.digest is not None:  # publishing failed: the store holds the run as ok
                    record_failure(paths, report)
                else:  # nothing was written: the next run records it
                    defer_record(paths, report)
    release_reserve(paths, report.run_id)
    log.info("run summary\n%s", report.summary())  # the run's log file keeps it too
    return report
