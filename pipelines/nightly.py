"""The nightly job: crawl to files, a short database write, classify what is new, digest."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from crawlers.profiles import SiteProfile
from crawlers.state import KnownPage
from nlp.classify import Classifier
from pipelines.checkpoints import checkpoint
from pipelines.crawl import SiteCrawl, log_to_file, run_crawl
from pipelines.digest import write_digest
from pipelines.drift import drift_warning, recent_runs
from pipelines.enrich import classify_frame, places_and_people
from pipelines.lock import RunLocked
from pipelines.paths import DataPaths, utc_stamp
from pipelines.snapshot import writing
from pipelines.staging import to_json
from pipelines.store import (
    DatabaseLocked,
    LoadResult,
    begin_run,
    finish_run,
    known_pages,
    load_staged,
    open_db,
    save_classifications,
    save_deferred_run,
    save_places,
    save_run,
    save_sites,
    unclassified,
    without_places,
)
from pipelines.stories import WINDOW_DAYS, assign_stories, neighbours, save_stories, unassigned

log = logging.getLogger(__name__)

EXIT_OK, EXIT_SITES_FAILED, EXIT_FAILED = 0, 1, 2


@dataclass
class RunReport:
    """What a run did; printed as the run summary and stored in crawl_runs."""

    run_id: str
    started_at: datetime
    sites: list[SiteCrawl] = field(default_factory=list)
    load: LoadResult | None = None
    classified: int = 0
    copies: int = 0
    digest: Path | None = None
    error: str = ""
    notes: list[str] = field(default_factory=list)
    warnings: dict[str, str] = field(default_factory=dict)  # site -> layout drift warning

    @property
    def status(self) -> str:
        """ok, sites_failed (the run completed but some sites gave nothing), failed, or running.

        A run is running until its digest is written: one killed before ends up interrupted.
        """
        if self.error:
            return "failed"
        if self.digest is None:
            return "running"
        return "sites_failed" if any(s.status != "ok" for s in self.sites) else "ok"

    @property
    def exit_code(self) -> int:
        """0 when all went well, 1 when some sites failed, 2 when the run failed."""
        return {"ok": EXIT_OK, "sites_failed": EXIT_SITES_FAILED}.get(self.status, EXIT_FAILED)

    def summary(self) -> str:
        """The run summary: one line per site and a total."""
        lines = [f"congvu run {self.run_id}"]
        lines += [f"  {s.line()}" for s in self.sites]
        ok = sum(s.status == "ok" for s in self.sites)
        crawled = sum(s.articles for s in self.sites)
        new = self.load.rows_new if self.load else 0
        lines.append(
            f"  total: {len(self.sites)} sites, {ok} ok, {len(self.sites) - ok} failed; "
            f"{crawled} articles crawled, {new} new in the database ({self.copies} copies of "
            f"earlier stories), {self.classified} classified"
        )
        failed = [s.site for s in self.sites if s.status != "ok"]
        if failed:
            lines.append(f"  sites that failed: {', '.join(failed)}")
        lines += [f"  warning: {site}: {text}" for site, text in self.warnings.items()]
        if self.load and (self.load.rows_rejected or self.load.rows_truncated):
            lines.append(f"  warning: staging: {self.load.unreadable()}")
        lines += [f"  note: {note}" for note in self.notes]
        if self.error:
            lines.append(f"  run failed: {self.error}")
        if self.digest:
            lines.append(f"  digest: {self.digest}")
        lines.append(f"  status: {self.status}")
        return "\n".join(lines)


def claim_run_id(staging: Path, now: datetime | None = None, prefix: str = "") -> str:
    """A run id from the UTC start time, sortable, claimed by creating its staging folder.

    mkdir is atomic: a run started in the same second as another gets the next free suffix
    (-02, -03, ...) instead of sharing its id, staging folder and log.
    """
    base = prefix + utc_stamp(now)
    staging.mkdir(parents=True, exist_ok=True)
    for number in range(1, 100):
        run_id = base if number == 1 else f"{base}-{number:02d}"
        try:
            (staging / run_id).mkdir()
        except FileExistsError:
            continue
        return run_id
    raise RuntimeError(f"no free run id for {base} in {staging}")


def load_new(
    paths: DataPaths, profiles: list[SiteProfile], wait_s: float, run_id: str | None = None
) -> LoadResult:
    """Load every staged crawl file not loaded yet (this run's and any a killed run left)."""
    with open_db(paths.store, wait_s=wait_s) as con:
        save_sites(con, profiles)
        return load_staged(con, paths.staging, run_id, paths.quarantine)


def classify_unlabelled(paths: DataPaths, classifier: Classifier, wait_s: float) -> int:
    """Label the stored articles this model has not labelled; the write lock is held briefly."""
    with open_db(paths.store, wait_s=wait_s) as con:
        todo = unclassified(con, classifier.model_id)
    rows = classify_frame(classifier, todo)  # no database connection held while classifying
    checkpoint("classify")
    with open_db(paths.store, wait_s=wait_s) as con:
        return save_classifications(con, rows)


def group_new_stories(paths: DataPaths, wait_s: float) -> int:
    """Link each new article to a story; return how many were copies of an earlier article."""
    with open_db(paths.store, wait_s=wait_s) as con:
        new = unassigned(con)
        if new.empty:
            return 0
        known = neighbours(con, new["dated"].min() - timedelta(days=WINDOW_DAYS))
    links = assign_stories(new, known)  # computed with no database connection held
    with open_db(paths.store, wait_s=wait_s) as con:
        save_stories(con, links)
    return sum(link.story_id != link.article_id for link in links)


def crawl_state(paths: DataPaths, report: RunReport) -> dict[str, KnownPage]:
    """The pages already stored, so the crawl fetches only what is new or changed."""
    if not paths.store.exists():
        return {}
    try:
        con = open_db(paths.store, read_only=True, wait_s=5)
    except DatabaseLocked:
        report.notes.append("database busy at start: stored pages are fetched again")
        return {}
    with con:
        return known_pages(con)


def find_who_and_where(paths: DataPaths, wait_s: float) -> int:
    """Give each new article its province and named entities; return how many were done."""
    with open_db(paths.store, wait_s=wait_s) as con:
        todo = without_places(con)
    places, entities = places_and_people(todo)  # computed with no database connection held
    with open_db(paths.store, wait_s=wait_s) as con:
        save_places(con, places, entities)
    return len(places)


DEFERRED = "run.json"  # a failed run's record, in its staging folder, for the next run to store


def start_run(paths: DataPaths, report: RunReport) -> None:
    """Record the run as running (briefly: if the database is busy, the final write records it).

    Runs that could not record their failure in the database left it in their staging folder:
    stored here first.
    """
    try:
        con = open_db(paths.store, wait_s=5)
    except DatabaseLocked:
        report.notes.append("database busy at start; the run is recorded at the end")
        return
    with con:
        for deferred in sorted(paths.staging.glob(f"*/{DEFERRED}")):
            record = json.loads(deferred.read_text(encoding="utf-8"))
            save_deferred_run(con, record["run"], record["sites"])
        interrupted = begin_run(con, report.run_id, report.started_at)
    if interrupted:
        report.notes.append(f"{interrupted} earlier run(s) had been killed: marked interrupted")


def run_row(report: RunReport) -> tuple[dict[str, object], list[dict[str, object]]]:
    """The run's crawl_runs row and its crawl_run_sites lines."""
    run = {
        "run_id": report.run_id,
        "started_at": report.started_at,
        "finished_at": datetime.now(timezone.utc),
        "status": report.status,
        "sites_ok": sum(s.status == "ok" for s in report.sites),
        "sites_failed": sum(s.status != "ok" for s in report.sites),
        "articles_crawled": sum(s.articles for s in report.sites),
        "articles_new": report.load.rows_new if report.load else None,  # NULL: nothing loaded
        "summary": report.summary(),
        "error": report.error or None,
    }
    sites = [{**asdict(s), "warning": report.warnings.get(s.site, "")} for s in report.sites]
    return run, sites


def record_run(paths: DataPaths, report: RunReport, wait_s: float) -> None:
    """Write the run and its per-site lines to crawl_runs / crawl_run_sites."""
    with open_db(paths.store, wait_s=wait_s) as con:
        history = recent_runs(con, report.run_id)
        for site in report.sites:
            if warning := drift_warning(site, history.get(site.site, [])):
                report.warnings[site.site] = warning
        save_run(con, *run_row(report))


def defer_record(paths: DataPaths, report: RunReport) -> None:
    """Leave a run's record in its staging folder; the next run stores it in crawl_runs."""
    run, sites = run_row(report)
    target = paths.staging / report.run_id / DEFERRED
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_text(json.dumps({"run": run, "sites": sites}, default=to_json), encoding="utf-8")
    partial.replace(target)


def record_failure(paths: DataPaths, report: RunReport) -> None:
    """Record a failed run in the database, or, if it cannot be written, for the next run."""
    try:
        record_run(paths, report, wait_s=5)  # not --wait again: the fault may be that lock
    except Exception:  # the database is the fault: keep the record for the next run
        log.exception("run %s: could not record its failure in the database", report.run_id)
        defer_record(paths, report)


def finish_run_record(paths: DataPaths, report: RunReport, since: object, until: object) -> None:
    """Record the digest and the final status together: the run is ok only once both are."""
    with open_db(paths.store) as con:
        finish_run(con, report.run_id, report.status, report.summary(), report.digest, since, until)


def run_stages(
    paths: DataPaths,
    report: RunReport,
    profiles: list[SiteProfile],
    classifier: Classifier,
    origin: str | None,
    wait_s: float,
) -> None:
    """Crawl, load, group, find who and where, classify, record and digest (under the lock)."""
    start_run(paths, report)
    known = crawl_state(paths, report)
    checkpoint("crawl")
    report.sites = run_crawl(
        profiles,
        paths.staging / report.run_id,
        paths.raw,
        origin=origin,
        log_file=paths.logs / f"{report.run_id}.log",
        known=known,
    )
    report.load = load_new(paths, profiles, wait_s, report.run_id)
    report.copies = group_new_stories(paths, wait_s)
    find_who_and_where(paths, wait_s)
    report.classified = classify_unlabelled(paths, classifier, wait_s)
    record_run(paths, report, wait_s)  # status running: the digest is not written yet
    checkpoint("report")
    report.digest, since, until = write_digest(
        paths, report.run_id, classifier.model_id, paths.store
    )
    finish_run_record(paths, report, since, until)


def failure(exc: Exception, paths: DataPaths) -> str:
    """The one-line reason a run failed, saying where its crawled articles are."""
    if isinstance(exc, RunLocked):
        return str(exc)
    return f"{exc}. The crawled articles stay staged in {paths.staging}: the next run loads them."


def nightly(
    paths: DataPaths,
    profiles: list[SiteProfile],
    classifier: Classifier,
    origin: str | None = None,
    wait_s: float = 300.0,
) -> RunReport:
    """Crawl, load, classify and digest under the run lock; never raises for an expected fault."""
    started = datetime.now(timezone.utc)
    report = RunReport(claim_run_id(paths.staging, started), started)
    log_to_file(paths.logs / f"{report.run_id}.log")
    try:
        with writing(paths, f"nightly {report.run_id}", wait_s) as takeover:
            if takeover:
                report.notes.append(takeover)
            try:
                run_stages(paths, report, profiles, classifier, origin, wait_s)
            except Exception as exc:  # reported in the summary; the traceback goes to the log
                log.exception("run %s failed", report.run_id)
                report.error = failure(exc, paths)
                record_failure(paths, report)
    except Exception as exc:  # taking the lock, adopting an old database or publishing failed
        log.exception("run %s failed", report.run_id)
        if not report.error:
            report.error = failure(exc, paths)
            defer_record(paths, report)  # nothing was written: the next run records it
    log.info("run summary\n%s", report.summary())  # the run's log file keeps it too
    return report
