"""Layout drift: a site whose coverage falls against its recent runs has probably changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from statistics import median

import duckdb

from pipelines.crawl import SiteCrawl

RECENT_RUNS = 7  # runs of a site compared against
MIN_USUAL_LINKS = 10  # below this a site is too small to judge a drop
DROP = 0.5  # warn when links found fall below half the usual
FALLBACK_SHARE = 0.5  # warn when over half the articles needed the generic extractor...
USUAL_FALLBACK_SHARE = 0.2  # ...while usually fewer than a fifth did
UNDATED_SHARE = 0.5  # warn when over half the articles were stored without a date...
USUAL_UNDATED_SHARE = 0.2  # ...while usually fewer than a fifth were
MIN_ARTICLES = 4  # fewer extracted articles are too few for a share
# What each drift warning says (in its English text, as stored in crawl_run_sites.warning), so
# the digest can say the same in Vietnamese (pipelines/vietnamese.py DRIFT_TEXT).
FEWER_LINKS = "article links found"
FALLBACK = "needed the generic extractor"
UNDATED = "stored without a date"


def extracted(counts: dict[str, int]) -> int:
    """The articles extracted (by the profile or the generic extractor)."""
    return counts.get("extraction/fallback", 0) + counts.get("extraction/profile", 0)


def undated(counts: dict[str, int]) -> int:
    """The articles stored without a date: none found, or only one later than the fetch."""
    return counts.get("date/missing", 0) + counts.get("date/future", 0)


def fallback_share(counts: dict[str, int]) -> float | None:
    """The share of extracted articles that needed the generic extractor (None: too few)."""
    total = extracted(counts)
    return counts.get("extraction/fallback", 0) / total if total >= MIN_ARTICLES else None


def undated_share(counts: dict[str, int]) -> float | None:
    """The share of extracted articles stored without a date (None: too few)."""
    total = extracted(counts)
    return undated(counts) / total if total >= MIN_ARTICLES else None


def jumped(
    share: Callable[[dict[str, int]], float | None],
    counts: dict[str, int],
    history: list[tuple[int, dict]],
    above: float,
    usually_below: float,
) -> float | None:
    """The usual share (the median of history's) when this run's is above `above` while the
    usual is below `usually_below`; else None."""
    now = share(counts)
    shares = [found for _, past in history if (found := share(past)) is not None]
    if now is None or now <= above or not shares or median(shares) >= usually_below:
        return None
    return median(shares)


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
    """A warning when the site found far fewer links, fell back to the generic extractor or
    stored most articles without a date."""
    if not history or site.status != "ok":
        return ""
    usual = median(links for links, _ in history)
    if usual >= MIN_USUAL_LINKS and site.discovered < DROP * usual:
        return (
            f"layout drift? {site.discovered} {FEWER_LINKS}, usually {usual:.0f}: "
            f"check the profile with `congvu sites check {site.site}`"
        )
    usually = jumped(fallback_share, site.counts, history, FALLBACK_SHARE, USUAL_FALLBACK_SHARE)
    if usually is not None:
        return (
            f"layout drift? {fallback_share(site.counts):.0%} of articles {FALLBACK}, "
            f"usually {usually:.0%}: the profile's selectors stopped matching"
        )
    usually = jumped(undated_share, site.counts, history, UNDATED_SHARE, USUAL_UNDATED_SHARE)
    if usually is not None:
        return (
            f"layout drift? {undated(site.counts)} of {extracted(site.counts)} articles {UNDATED}, "
            f"usually {usually:.0%}: check the profile's published_at rules "
            f"with `congvu sites check {site.site}`"
        )
    return ""


def drift_kind(warning: str) -> str:
    """Which drift a stored warning reports (FEWER_LINKS, FALLBACK, UNDATED), or "" if none."""
    return next((kind for kind in (FEWER_LINKS, FALLBACK, UNDATED) if kind in warning), "")
