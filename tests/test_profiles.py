"""Site profiles in crawlers/sites load, agree with their file names and fit the saved pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from crawlers.profiles import SITES_DIR, Listing, ProfileError, load_profile, load_profiles
from crawlers.urls import is_article_url

PROFILE_FILES = sorted(SITES_DIR.glob("*.yaml"))
SAVED_SITES = ("vnexpress", "tuoitre", "dantri", "baochinhphu", "vietnamnet", "baodautu")
MINIMAL = """\
name: {name}
base_url: https://example.vn
domains: [example.vn]
article_url: '^https://example\\.vn/.+\\.html$'
fields:
  title: [{{css: h1}}]
  body: [{{css: "article p"}}]
"""


@pytest.fixture(scope="module")
def expected(shared_dir: Path) -> dict:
    """Hand-read facts about the saved pages."""
    return json.loads((shared_dir / "pages" / "expected.json").read_text(encoding="utf-8"))


def write(folder: Path, name: str, text: str) -> Path:
    """A profile file named name.yaml holding text."""
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", PROFILE_FILES, ids=lambda p: p.stem)
def test_profile_loads(path: Path) -> None:
    assert load_profile(path).fields["body"]


@pytest.mark.parametrize("path", PROFILE_FILES, ids=lambda p: p.stem)
def test_file_stem_is_name(path: Path) -> None:
    assert load_profile(path).name == path.stem


def test_every_saved_site_has_a_profile() -> None:
    assert set(SAVED_SITES) <= set(load_profiles())


@pytest.mark.parametrize("site", SAVED_SITES)
def test_saved_article_url_matches(site: str, expected: dict) -> None:
    profile = load_profiles()[site]
    assert is_article_url(profile, expected[f"{site}/article.html"]["url"])


@pytest.mark.parametrize("site", SAVED_SITES)
def test_saved_listing_is_discovered(site: str, expected: dict) -> None:
    urls = [listing.url for listing in load_profiles()[site].discovery.listings]
    assert expected[f"{site}/listing.html"]["url"] in urls


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "demo", MINIMAL.format(name="demo") + "colour: red\n")
    with pytest.raises(ProfileError, match=re.escape(str(path)) + r".*colour"):
        load_profile(path)


def test_unknown_field_names_file_and_key(tmp_path: Path) -> None:
    text = MINIMAL.format(name="demo").replace("  title:", "  titel: [{css: h2}]\n  title:")
    path = write(tmp_path, "demo", text)
    with pytest.raises(ProfileError, match=re.escape(str(path)) + r".*fields\.titel"):
        load_profile(path)


def test_unknown_rule_kind_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "demo", MINIMAL.format(name="demo").replace("{css: h1}", "{cs: h1}"))
    with pytest.raises(ProfileError, match=r"fields\.title\[0\]\.cs"):
        load_profile(path)


def test_name_must_equal_file_stem(tmp_path: Path) -> None:
    path = write(tmp_path, "other", MINIMAL.format(name="demo"))
    with pytest.raises(ProfileError, match=re.escape(str(path)) + r".*name"):
        load_profile(path)


def test_missing_body_rules_is_an_error(tmp_path: Path) -> None:
    text = MINIMAL.format(name="demo").replace('  body: [{css: "article p"}]\n', "")
    with pytest.raises(ProfileError, match=r"fields\.body"):
        load_profile(write(tmp_path, "demo", text))


def test_bad_css_is_an_error(tmp_path: Path) -> None:
    text = MINIMAL.format(name="demo").replace("{css: h1}", '{css: "h1[["}')
    with pytest.raises(ProfileError, match=r"fields\.title\[0\]\.css"):
        load_profile(write(tmp_path, "demo", text))


def test_load_profiles_reads_a_directory(tmp_path: Path) -> None:
    write(tmp_path, "demo", MINIMAL.format(name="demo"))
    assert list(load_profiles(tmp_path)) == ["demo"]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{url}-p{page}", "https://x.vn/thoi-su-p2"),
        ("{url}-page{index}", "https://x.vn/thoi-su-page1"),
        ("https://x.vn/thoi-su/trang-{page}.htm", "https://x.vn/thoi-su/trang-2.htm"),
    ],
)
def test_page_url_for_page_two(template: str, expected: str) -> None:
    assert Listing("https://x.vn/thoi-su", 3, template).page_url(2) == expected


def test_page_one_is_the_listing_itself() -> None:
    assert Listing("https://x.vn/thoi-su", 3, "{url}-p{page}").page_url(1) == "https://x.vn/thoi-su"


DISCOVERY = """\
discovery:
  listings: [https://example.vn/thoi-su]
  sitemaps: [https://example.vn/robots.txt]
  rss: [https://example.vn/rss.xml]
"""


def test_sitemaps_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, "demo", MINIMAL.format(name="demo") + DISCOVERY)
    assert load_profile(path).discovery.sitemaps == ("https://example.vn/robots.txt",)


def test_discovery_order_is_the_order_written(tmp_path: Path) -> None:
    path = write(tmp_path, "demo", MINIMAL.format(name="demo") + DISCOVERY)
    assert load_profile(path).discovery.order == ("listings", "sitemaps", "rss")


def test_bad_sitemap_url_names_the_key(tmp_path: Path) -> None:
    text = MINIMAL.format(name="demo") + "discovery:\n  sitemaps: [sitemap.xml]\n"
    with pytest.raises(ProfileError, match=r"discovery\.sitemaps\[0\]"):
        load_profile(write(tmp_path, "demo", text))


def test_listing_link_cap_has_a_default(tmp_path: Path) -> None:
    assert load_profile(write(tmp_path, "x", MINIMAL.format(name="x"))).max_listing_links == 200


@pytest.mark.parametrize("value", ["0", "-5", "many", "true"])
def test_bad_listing_link_cap_named(tmp_path: Path, value: str) -> None:
    text = MINIMAL.format(name="x") + f"max_listing_links: {value}\n"
    with pytest.raises(ProfileError, match="max_listing_links"):
        load_profile(write(tmp_path, "x", text))


def test_links_within_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "a", MINIMAL.format(name="a") + "links_within: div.list-news\n")
    assert load_profile(path).links_within == "div.list-news"


def test_bad_links_within_css_named(tmp_path: Path) -> None:
    path = write(tmp_path, "a", MINIMAL.format(name="a") + "links_within: 'div[['\n")
    with pytest.raises(ProfileError, match="links_within"):
        load_profile(path)


@pytest.mark.parametrize("key", ["title", "province"])
@pytest.mark.parametrize("control", ["\u202e", "\u202b", "\u2067", "\u200f"])
def test_bidirectional_control_in_a_shown_value_is_refused(
    tmp_path: Path, key: str, control: str
) -> None:
    """A source title holding U+202E would show every card's meta line after it reversed."""
    path = write(tmp_path, "a", MINIMAL.format(name="a") + f"{key}: 'Báo {control}Hòa An'\n")
    message = re.escape(str(path)) + rf".*{key}: .*U\+{ord(control):04X}"
    with pytest.raises(ProfileError, match=message):
        load_profile(path)
