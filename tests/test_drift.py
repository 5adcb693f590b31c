"""Layout drift: a site whose coverage falls against its recent runs gets a warning."""

from __future__ import annotations

from pipelines.crawl import SiteCrawl
from pipelines.drift import drift_warning


def crawl(discovered: int, profile: int = 10, fallback: int = 0, undated: int = 0) -> SiteCrawl:
    """One site's crawl result with the given links found, extraction and undated counts."""
    counts = {"extraction/profile": profile, "extraction/fallback": fallback}
    counts |= {"date/missing": undated} if undated else {}
    return SiteCrawl("tinh", "ok", profile + fallback, discovered, 50, {}, "", counts)


USUAL = [(40, {"extraction/profile": 10, "extraction/fallback": 0})] * 7


def test_usual_night_has_no_warning() -> None:
    assert drift_warning(crawl(38), USUAL) == ""


def test_links_falling_below_half_warn() -> None:
    assert "12 article links found, usually 40" in drift_warning(crawl(12), USUAL)


def test_fallback_extraction_taking_over_warns() -> None:
    assert "needed the generic extractor" in drift_warning(crawl(40, profile=2, fallback=8), USUAL)


def test_most_articles_stored_undated_warns() -> None:
    warning = drift_warning(crawl(40, undated=8), USUAL)
    assert "8 of 10 articles stored without a date, usually 0%" in warning


def test_first_run_of_a_site_has_no_warning() -> None:
    assert drift_warning(crawl(1), []) == ""


def test_small_site_is_not_judged_on_links() -> None:
    small = [(4, {"extraction/profile": 4})] * 7
    assert drift_warning(crawl(1, profile=1), small) == ""
