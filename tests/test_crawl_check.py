"""`congvu sites check`: check_site against a local server replaying saved pages, and broken."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawlers.check import SiteCheck, check_site, format_check
from crawlers.profiles import load_profiles
from tests.conftest import Site, serve

PROFILES = load_profiles()


def saved_site(shared_dir: Path, article: bytes | None = None) -> Site:
    """The saved VnExpress listing at its section path; article bytes at every article it links."""
    pages = shared_dir / "pages"
    facts = json.loads((pages / "expected.json").read_text(encoding="utf-8"))
    listing = (pages / "vnexpress" / "listing.html").read_bytes()
    body = article if article is not None else (pages / "vnexpress" / "article.html").read_bytes()
    site = Site()
    site.add("/vnexpress" + urlsplit(facts["vnexpress/listing.html"]["url"]).path, listing)
    for path in set(re.findall(rb"https://vnexpress\.net(/[a-z0-9-]+-\d{7}\.html)", listing)):
        site.add("/vnexpress" + path.decode(), body)
    return site


def run_check(site: Site) -> tuple[SiteCheck, str]:
    """check_site for vnexpress against site; the result and its text."""
    with serve(site) as origin:
        check = check_site(PROFILES["vnexpress"], origin + "/{site}")
    return check, format_check(check)


@pytest.fixture(scope="module")
def saved(shared_dir: Path) -> tuple[SiteCheck, str]:
    """The check of the saved pages."""
    return run_check(saved_site(shared_dir))


@pytest.fixture(scope="module")
def broken(shared_dir: Path) -> tuple[SiteCheck, str]:
    """The check after the site renamed its article body and headline classes."""
    raw = (shared_dir / "pages" / "vnexpress" / "article.html").read_bytes()
    changed = raw.replace(b"fck_detail", b"noi-dung-moi").replace(b"title-detail", b"tieu-de")
    return run_check(saved_site(shared_dir, changed))


@pytest.fixture(scope="module")
def unreachable() -> tuple[SiteCheck, str]:
    """The check against a server that has none of the site's pages."""
    return run_check(Site())


@pytest.fixture(scope="module")
def empty(shared_dir: Path) -> tuple[SiteCheck, str]:
    """The check when every article page comes back empty."""
    return run_check(saved_site(shared_dir, b""))


def field(check: SiteCheck, name: str):  # noqa: ANN201 - a FieldCheck
    """One field of the check's article."""
    return next(item for item in check.fields if item.name == name)


def test_saved_pages_pass(saved: tuple[SiteCheck, str]) -> None:
    check, text = saved
    assert check.problems == [], text


def test_listing_links_counted(saved: tuple[SiteCheck, str]) -> None:
    listing = next(source for source in saved[0].sources if source.url.endswith("/kinh-doanh"))
    assert listing.links >= 40


def test_failed_feed_named_with_its_error(saved: tuple[SiteCheck, str]) -> None:
    feed = next(source for source in saved[0].sources if source.kind == "feed")
    assert feed.error == "http_404"


def test_title_rule_reported(saved: tuple[SiteCheck, str]) -> None:
    assert field(saved[0], "title").rule == "css:h1.title-detail"


def test_date_rule_reported(saved: tuple[SiteCheck, str]) -> None:
    assert field(saved[0], "published_at").rule == "meta:pubdate"


def test_text_says_ok(saved: tuple[SiteCheck, str]) -> None:
    assert "Result: OK" in saved[1]


def test_broken_selectors_fail_the_check(broken: tuple[SiteCheck, str]) -> None:
    assert not broken[0].ok


def test_broken_body_reported_as_fallback(broken: tuple[SiteCheck, str]) -> None:
    assert broken[0].extraction == "fallback"


def test_broken_body_names_where_it_came_from(broken: tuple[SiteCheck, str]) -> None:
    assert "body came from fallback:trafilatura" in " ".join(broken[0].problems)


def test_broken_title_found_by_the_profile_fallback_rule(broken: tuple[SiteCheck, str]) -> None:
    assert field(broken[0], "title").rule == "meta:og:title"


def test_broken_text_lists_the_rules_tried(broken: tuple[SiteCheck, str]) -> None:
    assert "css:article.fck_detail > p" in broken[1]


def test_unreachable_site_says_no_links(unreachable: tuple[SiteCheck, str]) -> None:
    assert "No discovery source gave an article link" in unreachable[1]


def test_empty_article_named_as_not_read(empty: tuple[SiteCheck, str]) -> None:
    check, text = empty
    assert check.article_error == "empty_body"
    assert "could not be read (empty_body)" in text
