"""The site profiles as a set: coverage for a provincial department, and real home pages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import crawlers.profiles
from crawlers.profiles import SITES_DIR, load_profile, load_profiles
from crawlers.urls import article_links
from pipelines.cli import main
from pipelines.sites import in_shard, mark_verified

PROFILES = load_profiles()
SAVED = {"vnexpress", "tuoitre", "dantri", "baochinhphu", "vietnamnet", "baodautu"}
NATIONAL = {"nhandan", "daibieunhandan", "thanhnien", "laodong", "baotintuc"}
# Saved home pages (../shared/pages/homepages) of profiled sites, and the links each must give.
HOMEPAGES = {
    "laodong.vn_home.html": ("laodong", "https://laodong.vn/", 80),
    "baotintuc.vn_home.html": ("baotintuc", "https://baotintuc.vn/", 80),
    "danviet.vn_home.html": ("danviet", "https://danviet.vn/", 20),
    "giaoduc.net.vn_page.html": ("giaoduc", "https://giaoduc.net.vn/", 50),
    "dantri_2017.html": ("dantri", "https://dantri.com.vn/", 50),
    "dantri_2020.html": ("dantri", "https://dantri.com.vn/", 50),
}
NEW = sorted(set(PROFILES) - SAVED)


def test_at_least_ten_sites_beyond_the_saved_six() -> None:
    assert len(NEW) >= 10


def test_at_least_five_provincial_portals() -> None:
    portals = [
        p for p in PROFILES.values() if p.kind == "portal" and p.base_url.endswith(".gov.vn")
    ]
    assert len(portals) >= 5


def test_at_least_three_provincial_or_sector_papers() -> None:
    papers = [n for n in NEW if PROFILES[n].kind == "press" and n not in NATIONAL]
    assert len(papers) >= 3


def test_national_outlets_the_department_reads() -> None:
    assert set(PROFILES) >= NATIONAL


@pytest.mark.parametrize("name", [n for n, p in PROFILES.items() if p.kind == "portal"])
def test_portal_records_its_province(name: str) -> None:
    assert PROFILES[name].province


def verified_without_a_check(path: Path) -> bool:
    """Whether a profile says `verified: true` without the stamp `congvu sites check` writes."""
    line = next(
        x for x in path.read_text(encoding="utf-8").splitlines() if x.startswith("verified:")
    )
    return load_profile(path).verified and "confirmed live by `congvu sites check` on" not in line


@pytest.mark.parametrize("name", NEW)
def test_profile_without_a_saved_page_is_verified_only_by_a_live_check(name: str) -> None:
    assert not verified_without_a_check(SITES_DIR / f"{name}.yaml")


def test_profile_marked_by_sites_check_counts_as_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `congvu sites check NAME` writes when the live check passes, and the README says to
    # commit: it must keep the suite green.
    shutil.copy(SITES_DIR / f"{NEW[0]}.yaml", tmp_path)
    monkeypatch.setattr(crawlers.profiles, "SITES_DIR", tmp_path)
    marked = mark_verified(NEW[0])
    assert (load_profile(marked).verified, verified_without_a_check(marked)) == (True, False)


def test_profile_set_verified_by_hand_is_caught(tmp_path: Path) -> None:
    path = tmp_path / f"{NEW[0]}.yaml"
    text = (SITES_DIR / path.name).read_text(encoding="utf-8")
    path.write_text(text.replace("\nverified: false", "\nverified: true", 1), encoding="utf-8")
    assert verified_without_a_check(path)


@pytest.mark.parametrize("name", NEW)
def test_unverified_profile_says_what_is_unchecked(name: str) -> None:
    text = (SITES_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert "From knowledge (unchecked)" in text or "from knowledge (unchecked)" in text


@pytest.mark.parametrize("name", NEW)
def test_profile_has_generic_fallback_rules(name: str) -> None:
    rules = [str(rule) for rule in PROFILES[name].rules("title")]
    assert "meta:og:title" in rules


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_has_a_discovery_source(name: str) -> None:
    discovery = PROFILES[name].discovery
    assert discovery.rss or discovery.sitemaps or discovery.listings


@pytest.mark.parametrize(("page", "site"), [(k, v[0]) for k, v in HOMEPAGES.items()])
def test_homepage_yields_article_links(shared_dir: Path, page: str, site: str) -> None:
    _, url, least = HOMEPAGES[page]
    html = (shared_dir / "pages" / "homepages" / page).read_bytes()
    assert len(article_links(PROFILES[site], url, html)) >= least


def test_laodong_media_sections_left_out(shared_dir: Path) -> None:
    html = (shared_dir / "pages" / "homepages" / "laodong.vn_home.html").read_bytes()
    links = article_links(PROFILES["laodong"], "https://laodong.vn/", html)
    assert not any("/video" in link or "/photo/" in link for link in links)


def test_each_site_is_in_one_shard_whatever_the_other_sites() -> None:
    profiles = list(load_profiles().values())
    shards = [in_shard(profiles, (k, 3)) for k in (1, 2, 3)]
    assert sorted(p.name for part in shards for p in part) == sorted(p.name for p in profiles)
    assert all(shards), "22 sites over 3 shards: none empty"
    for k, part in enumerate(shards, start=1):
        assert all(in_shard([p], (k, 3)) == [p] for p in part)  # alone, the same shard


def test_a_shard_beyond_the_count_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["nightly", "--shard", "3/2"])
    assert "expected K/N with 1 <= K <= N" in capsys.readouterr().err
