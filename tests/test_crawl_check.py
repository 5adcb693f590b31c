"""`congvu sites check`: check_site against a local server replaying saved pages, and broken."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawlers.article import page_record
from crawlers.check import FieldCheck, Headline, SiteCheck, check_site, format_check, judge
from crawlers.profiles import Rule, SiteProfile, load_profiles
from tests.conftest import Site, run_congvu, serve

PROFILES = load_profiles()
# An article the saved listing links, not the first one (the check fetches the first by default).
CHOSEN = "https://vnexpress.net/tau-hang-o-chau-a-chat-vat-tim-dau-5047537.html"


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


def run_check(
    site: Site, profile: SiteProfile = PROFILES["vnexpress"], article: str | None = None
) -> tuple[SiteCheck, str]:
    """check_site for a vnexpress profile against site; the result and its text."""
    with serve(site) as origin:
        check = check_site(profile, origin + "/{site}", article)
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


@pytest.fixture(scope="module")
def chosen(shared_dir: Path) -> tuple[SiteCheck, str]:
    """The check of one article named with --article."""
    return run_check(saved_site(shared_dir), article=CHOSEN)


@pytest.fixture(scope="module")
def one_block(shared_dir: Path) -> tuple[SiteCheck, str]:
    """The check with a body rule that selects the article's container, not its paragraphs."""
    profile = PROFILES["vnexpress"]
    fields = {**profile.fields, "body": (Rule("css", "article.fck_detail"),)}
    return run_check(saved_site(shared_dir), dataclasses.replace(profile, fields=fields))


@pytest.fixture(scope="module")
def scoped(shared_dir: Path) -> tuple[SiteCheck, str]:
    """The check with listing links scoped to the listing's top story."""
    profile = dataclasses.replace(PROFILES["vnexpress"], links_within="section.section_topstory")
    return run_check(saved_site(shared_dir), profile)


def test_chosen_article_is_the_one_read(chosen: tuple[SiteCheck, str]) -> None:
    assert chosen[0].article_url == CHOSEN


def test_chosen_article_named_in_the_text(chosen: tuple[SiteCheck, str]) -> None:
    assert "(named with --article)" in chosen[1]


def test_chosen_article_outside_article_url_warned() -> None:
    check = SiteCheck("vnexpress", "VnExpress", True, article_url="https://vnexpress.net/x")
    check.chosen, check.matches_article_url, check.extraction = True, False, "profile"
    assert any("does not match article_url" in warning for warning in judge(check)[1])


def test_replay_check_says_the_profile_is_not_marked_verified(saved: tuple[SiteCheck, str]) -> None:
    assert "the profile is not marked verified" in saved[1]


def test_replay_check_does_not_advise_removing_a_feed(saved: tuple[SiteCheck, str]) -> None:
    feed = next(w for w in saved[0].warnings if "vnexpress.net/rss" in w)
    assert "remove" not in feed


def test_listing_links_placed_on_the_page(saved: tuple[SiteCheck, str]) -> None:
    assert "section.section.section_topstory.section_topstory_folder 4" in saved[1]


def test_links_within_leaves_links_out(scoped: tuple[SiteCheck, str]) -> None:
    listing = next(source for source in scoped[0].sources if source.url.endswith("/kinh-doanh"))
    assert listing.left_out > 0


def test_links_within_shown_in_the_text(scoped: tuple[SiteCheck, str]) -> None:
    assert "left out by links_within" in scoped[1]


def test_one_huge_paragraph_warned(one_block: tuple[SiteCheck, str]) -> None:
    assert any("one paragraph of" in warning for warning in one_block[0].warnings)


def test_paragraph_rule_not_warned(saved: tuple[SiteCheck, str]) -> None:
    assert not any("one paragraph of" in warning for warning in saved[0].warnings)


def test_cli_checks_the_named_article(shared_dir: Path) -> None:
    with serve(saved_site(shared_dir)) as origin:
        result = run_congvu(
            "sites", "check", "vnexpress", "--origin", origin + "/{site}", "--article", CHOSEN
        )
    assert f"Article: {CHOSEN} (named with --article)" in result.stdout, result.stdout


def open_h1_site(shared_dir: Path) -> tuple[Site, str, bytes]:
    """The saved baochinhphu listing, and its article with the </h1> removed (the h1 then holds
    the whole article); the article's URL and bytes."""
    pages = shared_dir / "pages"
    facts = json.loads((pages / "expected.json").read_text(encoding="utf-8"))
    url = facts["baochinhphu/article.html"]["url"]
    article = (pages / "baochinhphu" / "article.html").read_bytes()
    assert b"</h1>" in article
    article = article.replace(b"</h1>", b"", 1)
    site = Site()
    listing = urlsplit(facts["baochinhphu/listing.html"]["url"]).path
    site.add("/baochinhphu" + listing, (pages / "baochinhphu" / "listing.html").read_bytes())
    site.add("/baochinhphu" + urlsplit(url).path, article)
    return site, url, article


# A profile that reads the title from the h1 alone (no og:title rule behind it).
H1_ONLY = dataclasses.replace(
    PROFILES["baochinhphu"],
    fields={
        **PROFILES["baochinhphu"].fields,
        "title": (Rule("css", "h1.detail-title"), Rule("css", "h1[data-role=title]")),
    },
)


@pytest.fixture(scope="module")
def open_h1(shared_dir: Path) -> tuple[SiteCheck, str]:
    """The check of that article by a profile reading the title from the h1 only."""
    site, url, _ = open_h1_site(shared_dir)
    return run_check(site, H1_ONLY, article=url)


def test_open_h1_named_in_the_title_problem(open_h1: tuple[SiteCheck, str]) -> None:
    check, text = open_h1
    assert any("h1.detail-title is left open (no </h1>)" in p for p in check.problems), text


def test_open_h1_pin_suggested(open_h1: tuple[SiteCheck, str]) -> None:
    assert 'add {css: "h1.detail-title::text"} to the profile\'s title rules' in open_h1[1]


def test_open_h1_body_problem_blames_the_title(open_h1: tuple[SiteCheck, str]) -> None:
    assert any("the profile read no title" in problem for problem in open_h1[0].problems)


def pinned_record(shared_dir: Path, check: SiteCheck) -> dict:
    """The open-h1 article read by the h1-only profile with the title rule the check suggests."""
    _, url, article = open_h1_site(shared_dir)
    pinned = (*H1_ONLY.fields["title"], check.headline.pin)
    profile = dataclasses.replace(H1_ONLY, fields={**H1_ONLY.fields, "title": pinned})
    return page_record(profile, url, article, "text/html; charset=utf-8")


def test_open_h1_pin_reads_the_title(shared_dir: Path, open_h1: tuple[SiteCheck, str]) -> None:
    facts = json.loads((shared_dir / "pages" / "expected.json").read_text(encoding="utf-8"))
    title = facts["baochinhphu/article.html"]["title"]
    assert pinned_record(shared_dir, open_h1[0])["title"] == title


def test_open_h1_pin_reads_the_article_by_profile(
    shared_dir: Path, open_h1: tuple[SiteCheck, str]
) -> None:
    assert pinned_record(shared_dir, open_h1[0])["extraction"] == "profile"


def test_generic_title_pinned_without_an_open_note() -> None:
    check = SiteCheck("vnexpress", "VnExpress", True, article_url="https://vnexpress.net/x")
    check.extraction = "fallback"
    check.fields = [FieldCheck("title", "Tiêu đề", "generic:headline:h1.tieu-de", ["css:h1.a"])]
    check.headline = Headline("h1.tieu-de", 40, Rule("css", "h1.tieu-de"))
    assert (
        "title came from generic:headline:h1.tieu-de, not from the profile's rules (css:h1.a). "
        'Pin the title: add {css: "h1.tieu-de"} to the profile\'s title rules (it reads it alone).'
    ) in judge(check)[0]


@pytest.fixture(scope="module")
def open_h1_og(shared_dir: Path) -> tuple[SiteCheck, str]:
    """The check of the open-h1 article by the shipped profile (its og:title rule reads it)."""
    site, url, _ = open_h1_site(shared_dir)
    return run_check(site, PROFILES["baochinhphu"], article=url)


def test_open_h1_behind_og_title_warned(open_h1_og: tuple[SiteCheck, str]) -> None:
    check, text = open_h1_og
    assert any("h1.detail-title is left open (no </h1>)" in w for w in check.warnings), text


def test_open_h1_behind_og_title_still_ok(open_h1_og: tuple[SiteCheck, str]) -> None:
    assert re.search(r"Result: OK.*\nCould be better:\n(  - .*\n)*.*left open", open_h1_og[1])


def test_open_h1_behind_og_title_pin_suggested(open_h1_og: tuple[SiteCheck, str]) -> None:
    pin = 'add {css: "h1.detail-title::text"} to the profile\'s title rules, before meta:og:title'
    assert pin in " ".join(open_h1_og[0].warnings)


SHARED_TITLE = "Thế giới xoay xở ra sao khi năng lượng Trung Đông gián đoạn?"


@pytest.fixture(scope="module")
def reworded(shared_dir: Path) -> tuple[SiteCheck, str]:
    """The check after the site renamed its headline class and reworded og:title for sharing."""
    raw = (shared_dir / "pages" / "vnexpress" / "article.html").read_bytes()
    og = b'<meta content="C\xc3\xa1ch c\xc3\xa1c n\xc6\xb0\xe1\xbb\x9bc'
    assert og in raw
    changed = raw.replace(b"title-detail", b"tieu-de").replace(
        og + " đối phó cú sốc năng lượng từ Trung Đông".encode(),
        b'<meta content="' + SHARED_TITLE.encode(),
    )
    check, text = run_check(saved_site(shared_dir, changed))
    assert field(check, "title").value == SHARED_TITLE, text
    return check, text


def test_reworded_og_title_names_the_shown_headline(reworded: tuple[SiteCheck, str]) -> None:
    check, text = reworded
    shown = "The headline h1.tieu-de reads 'Cách các nước đối phó cú sốc năng lượng từ Trung Đông'."
    assert any(shown in warning for warning in check.warnings), text


def test_reworded_og_title_pin_suggested(reworded: tuple[SiteCheck, str]) -> None:
    pin = 'add {css: "h1.tieu-de"} to the profile\'s title rules, before meta:og:title'
    assert pin in " ".join(reworded[0].warnings)
