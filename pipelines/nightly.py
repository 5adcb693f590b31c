"""The nightly job: crawl to files, a short database write, classify what is new, digest."""

from __future__ import annotations

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
from pipelines.lock import RunLocked, run_lock
from pipelines.paths import DataPaths
from pipelines.store import (
    DatabaseLocked,
    LoadResult,
    begin_run,
    known_pages,
    load_staged,
    open_db,
    save_classifications,
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
        """ok, sites_failed (the run completed but some sites gave nothing) or failed."""
        if self.error:
            return "failed"
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
        lines += [f"  note: {note}" for note in self.notes]
        if self.error:
            lines.append(f"  run failed: {self.error}")
        if self.digest:
            lines.append(f"  digest: {self.digest}")
        lines.append(f"  status: {self.status}")
        return "\n".join(lines)


def new_run_id(now: datetime | None = None) -> str:
    """A run id from the UTC start time, sortable."""
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")


def load_new(paths: DataPaths, profiles: list[SiteProfile], wait_s: float) -> LoadResult:
    """Load every staged crawl file not loaded yet (this run's and any a killed run left)."""
    con = open_db(paths.db, wait_s=wait_s)
    try:
        save_sites(con, profiles)
        return load_staged(con, paths.staging)
    finally:
        con.close()


def classify_unlabelled(
    paths: DataPaths, classifier: Classifier, wait_s: float, progress: bool = False
) -> int:
    """Label the stored articles this model has not labelled; the write lock is held briefly."""
    con = open_db(paths.db, wait_s=wait_s)
    try:
        todo = unclassified(con, classifier.model_id)
    finally:
        con.close()
    rows = classify_frame(classifier, todo, progress)  # no database connection held meanwhile
    checkpoint("classify")
    con = open_db(paths.db, wait_s=wait_s)
    try:
        return save_classifications(con, rows)
    finally:
        con.close()


def group_new_stories(paths: DataPaths, wait_s: float) -> int:
    """Link each new article to a story; return how many were copies of an earlier article."""
    con = open_db(paths.db, wait_s=wait_s)
    try:
        new = unassigned(con)
        if new.empty:
            return 0
        known = neighbours(con, new["dated"].min() - timedelta(days=WINDOW_DAYS))
    finally:
        con.close()
    links = assign_stories(new, known)  # computed with no database connection held
    con = open_db(paths.db, wait_s=wait_s)
    try:
        save_stories(con, links)
    finally:
        con.close()
    return sum(link.story_id != link.article_id for link in links)


def crawl_state(paths: DataPaths, report: RunReport) -> dict[str, KnownPage]:
    """The pages already stored, so the crawl fetches only what is new or changed."""
    if not paths.db.exists():
        return {}
    try:
        con = open_db(paths.db, read_only=True, wait_s=5)
    except DatabaseLocked:
        report.notes.append("database busy at start: stored pages are fetched again")
        return {}
    try:
        return known_pages(con)
    finally:
        con.close()


def find_who_and_where(paths: DataPaths, wait_s: float) -> int:
    """Give each new article its province and named entities; return how many were done."""
    con = open_db(paths.db, wait_s=wait_s)
    try:
        todo = without_places(con)
    finally:
        con.close()
    places, entities = places_and_people(todo)  # computed with no database connection held
    con = open_db(paths.db, wait_s=wait_s)
    try:
        save_places(con, places, entities)
    finally:
        con.close()
    return len(places)


def start_run(paths: DataPaths, report: RunReport) -> None:
    """Record the run as running (briefly: if the database is busy, the final write records it)."""
    try:
        con = open_db(paths.db, wait_s=5)
    except DatabaseLocked:
        report.notes.append("database busy at start; the run is recorded at the end")
        return
    try:
        interrupted = begin_run(con, report.run_id, report.started_at)
    finally:
        con.close()
    if interrupted:
        report.notes.append(f"{interrupted} earlier run(s) had been killed: marked interrupted")


def record_run(paths: DataPaths, report: RunReport, wait_s: float) -> None:
    """Write the run and its per-site lines to crawl_runs / crawl_run_sites."""
    con = open_db(paths.db, wait_s=wait_s)
    try:
        history = recent_runs(con, report.run_id)
        for site in report.sites:
            if warning := drift_warning(site, history.get(site.site, [])):
                report.warnings[site.site] = warning
        save_run(
            con,
            {
                "run_id": report.run_id,
                "started_at": report.started_at,
                "finished_at": datetime.now(timezone.utc),
                "status": report.status,
                "sites_ok": sum(s.status == "ok" for s in report.sites),
                "sites_failed": sum(s.status != "ok" for s in report.sites),
                "articles_crawled": sum(s.articles for s in report.sites),
                "articles_new": report.load.rows_new if report.load else 0,
                "summary": report.summary(),
            },
            [{**asdict(s), "warning": report.warnings.get(s.site, "")} for s in report.sites],
        )
    finally:
        con.close()


def nightly(
    paths: DataPaths,
    profiles: list[SiteProfile],
    classifier: Classifier,
    origin: str | None = None,
    wait_s: float = 300.0,
) -> RunReport:
    """Crawl, load, classify and digest under the run lock; never raises for an expected fault."""
    started = datetime.now(timezone.utc)
    report = RunReport(new_run_id(started), started)
    log_file = paths.logs / f"{report.run_id}.log"
    log_to_file(log_file)
    try:
        with run_lock(paths.lock, f"nightly {report.run_id}") as takeover:
            if takeover:
                report.notes.append(takeover)
            start_run(paths, report)
            known = crawl_state(paths, report)
            checkpoint("crawl")
            report.sites = run_crawl(
                profiles,
                paths.staging / report.run_id,
                paths.raw,
                origin=origin,
                log_file=log_file,
                known=known,
            )
            report.load = load_new(paths, profiles, wait_s)
            report.copies = group_new_stories(paths, wait_s)
            find_who_and_where(paths, wait_s)
            report.classified = classify_unlabelled(paths, classifier, wait_s)
            record_run(paths, report, wait_s)
            checkpoint("report")
            report.digest = write_digest(paths, report.run_id, classifier.model_id)
    except RunLocked as exc:
        report.error = str(exc)
    except DatabaseLocked as exc:
        report.error = (
            f"{exc}. The crawled articles stay staged in {paths.staging}: the next run loads them."
        )
    except Exception as exc:  # reported in the summary; the traceback goes to the log
        log.exception("run %s failed", report.run_id)
        report.error = f"{exc}. Crawled data stays staged in {paths.staging} for the next run."
    log.info("run summary\n%s", report.summary())  # the run's log file keeps it too
    return report
