"""What a run did: the summary printed and stored with it, its status and exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the annotations only: the command line imports the exit codes
    from pipelines.crawl import SiteCrawl
    from pipelines.load import LoadResult


EXIT_OK, EXIT_SITES_FAILED, EXIT_FAILED = 0, 1, 2


def totals(sites: list[tuple[str, int]]) -> dict[str, int]:
    """A run's totals (crawl_runs' columns) from its sites' (status, articles)."""
    ok = sum(status == "ok" for status, _ in sites)
    crawled = sum(articles for _, articles in sites)
    return {"sites_ok": ok, "sites_failed": len(sites) - ok, "articles_crawled": crawled}


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
    digest_from: datetime | None = None  # the load window the digest covers (write_digest)
    digest_until: datetime | None = None
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
        total = totals([(s.status, s.articles) for s in self.sites])
        new = self.load.rows_new if self.load else 0
        lines.append(
            f"  total: {len(self.sites)} sites, {total['sites_ok']} ok, "
            f"{total['sites_failed']} failed; {total['articles_crawled']} articles crawled, "
            f"{new} new in the database ({self.copies} copies of earlier stories), "
            f"{self.classified} classified"
        )
        failed = [s.site for s in self.sites if s.status != "ok"]
        if failed:
            lines.append(f"  sites that failed: {', '.join(failed)}")
        lines += [f"  warning: {site}: {text}" for site, text in self.warnings.items()]
        # Stored undated (none found, or only a future one): the digest says "không rõ ngày đăng"
        lines += [
            f"  warning: {s.site}: {n} of {s.articles} articles stored without a date"
            for s in self.sites
            if s.status == "ok"
            and (n := s.counts.get("date/missing", 0) + s.counts.get("date/future", 0))
        ]
        if self.load and (self.load.rows_rejected or self.load.rows_truncated):
            lines.append(f"  warning: staging: {self.load.unreadable()}")
        lines += [f"  note: {note}" for note in self.notes]
        if self.error:
            lines.append(f"  run failed: {self.error}")
        if self.digest:
            lines.append(f"  digest: {self.digest}")
        lines.append(f"  status: {self.status}")
        return "\n".join(lines)
