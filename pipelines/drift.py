"""Layout drift: a site whose coverage falls against its recent runs has probably changed."""

from __future__ import annotations

import json
from statistics import median

import duckdb

from pipelines.crawl import SiteCrawl

RECENT_RUNS = 7  # runs of a site compared against
MIN_USUAL_LINKS = 10  # below this a site is too small to judge a drop
DROP = 0.5  # warn when links found fall below half the usual
FALLBACK_SHARE = 0.5  # warn when over half the articles needed the generic extractor...
USUAL_FALLBACK_SHARE = 0.2  # ...while usually fewer than a fifth did


def fallback_share(counts: dict[str, int]) -> float | None:
    """The share of extracted articles that needed the generic extractor (None: too few)."""
    fallback = counts.get("extraction/fallback", 0)
    total = fallback + counts.get("extraction/profile", 0)
    return fallback / total if total >= 4 else None


def recent_runs(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, list[tuple[int, dict]]]:
    """Per site, (links found, counters) of its last RECENT_RUNS runs before run_id."""
    rows = con.execute(
        """
        SELECT site, discovered, counts FROM crawl_run_sites
        WHERE run_id < ? AND status = 'ok'
        QUALIFY row_number() OVER (PARTITION BY site ORDER BY run_id DESC) <= ?
        """,
        [run_id, RECENT_RUNS],
    ).fetchall()
    history: dict[str, list[tuple[int, dict]]] = {}
    for site, discovered, counts in rows:
        history.setdefault(site, []).append((discovered or 0, json.loads(counts or "{}")))
    return history


def drift_warning(site: SiteCrawl, history: list[tuple[int, dict]]) -> str:
    """A warning when the site found far fewer links or fell back to the generic extractor."""
    if not history or site.status != "ok":
        return ""
    usual = median(links for links, _ in history)
    if usual >= MIN_USUAL_LINKS and site.discovered < DROP * usual:
        return (
            f"layout drift? {site.discovered} article links found, usually {usual:.0f}: "
            f"check the profile with `congvu sites check {site.site}`"
        )
    share = fallback_share(site.counts)
    shares = [s for _, counts in history if (s := fallback_share(counts)) is not None]
    if (
        share is not None
        and share > FALLBACK_SHARE
        and shares
        and median(shares) < USUAL_FALLBACK_SHARE
    ):
        return (
            f"layout drift? {share:.0%} of articles needed the generic extractor, usually "
            f"{median(shares):.0%}: the profile's selectors stopped matching"
        )
    return ""
