"""A page without a date of its own is stored without a date, never a date of its other-news list.

The demo's pages with their article:published_time and visible date taken off (as an audit did)
still list other articles with their dates ("Tin khác"): none of those may become the page's.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from crawlers.article import page_record
from crawlers.evaluation import DEMO_DIR
from crawlers.profiles import load_profile
from pipelines.crawl import SiteCrawl
from pipelines.report import RunReport
from tests.test_crawl_robustness import SETTINGS, Reply, Server, run_crawl_job

PROFILE = DEMO_DIR / "demo.yaml"
BASE = "http://demo.congvu.invalid/tin-tuc/"
# 100201: htmldate read the first "Tin khác" date; 100202 (a short article): the date line by the
# headline reached into "Tin khác".
PAGES = (
    "khien-trach-cong-chuc-dia-chinh-xa-tan-phu-gay-phien-ha-nguoi-dan-100201.html",
    "nong-dan-khan-truong-thu-hoach-lua-mua-truoc-dot-mua-lon-100202.html",
)
DATED = "tang-bang-khen-chu-tich-xa-my-loc-dam-nghi-dam-lam-100203.html"  # crawled as it is
OWN_DATE = re.compile(
    rb'<meta property="article:published_time"[^>]*>|<span class="article-date">.*?</span>', re.S
)
OTHER_NEWS = re.compile(rb'<section class="other-news">.*?</section>', re.S)
NEWS_ITEM = re.compile(rb'<article class="news-item">.*?</article>', re.S)
# After every date on the pages below, and before 1 December 2026 in Vietnam: htmldate reads the
# notice's "tháng 12/2026" as that day, which only the fetch time keeps out, whatever today is.
FETCHED = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)


def undated(name: str) -> bytes:
    """The demo page without its own date (meta and visible), its other-news list kept."""
    raw = (DEMO_DIR / "www" / "tin-tuc" / name).read_bytes()
    page = OWN_DATE.sub(b"", raw)
    assert page != raw and b'class="news-date"' in page  # its date is gone, the others' stay
    return page


def with_leads(name: str) -> bytes:
    """The undated demo page whose "Tin khác" lists other articles as the listing page does:
    each with its date and its lead (over 100 characters), not its title and date alone."""
    listing = (DEMO_DIR / "www" / "tin-tuc" / "index.html").read_bytes()
    items = b"\n".join(NEWS_ITEM.findall(listing)[:3])
    other = '<section class="other-news">\n<h2>Tin khác</h2>\n'.encode() + items + b"\n</section>"
    page = OTHER_NEWS.sub(lambda _: other, undated(name))
    assert b'class="news-sapo"' in page  # the leads are there, with the others' dates
    return page


VARIANTS = [(name, how) for name in PAGES for how in ("profile", "none")]
VARIANT_IDS = [f"{name[-11:-5]}-{how}" for name, how in VARIANTS]


@pytest.fixture(scope="module", params=VARIANTS, ids=VARIANT_IDS)
def record(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The undated page read with the demo profile, or without any."""
    name, how = request.param
    profile = load_profile(PROFILE) if how == "profile" else None
    return page_record(profile, BASE + name, undated(name), "text/html")


def test_undated_page_has_no_date(record: dict[str, Any]) -> None:
    assert record["published_at"] is None


def test_undated_page_has_no_date_source(record: dict[str, Any]) -> None:
    assert record["date_source"] is None


@pytest.fixture(scope="module", params=VARIANTS, ids=VARIANT_IDS)
def led_record(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The undated page whose other news come with their leads, with the profile or without."""
    name, how = request.param
    profile = load_profile(PROFILE) if how == "profile" else None
    return page_record(profile, BASE + name, with_leads(name), "text/html", FETCHED)


def test_other_news_with_leads_give_no_date(led_record: dict[str, Any]) -> None:
    assert led_record["published_at"] is None


def test_other_news_with_leads_give_no_date_source(led_record: dict[str, Any]) -> None:
    assert led_record["date_source"] is None


# A short notice with no date of its own, as a provincial portal prints one: the site's header
# shows the day and hour, a sidebar lists the latest news (short titles) with their times.
NOTICE = """<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<title>Thông báo lịch tiếp công dân tháng 12/2026 | Cổng TTĐT tỉnh Hòa An (minh họa)</title>
</head>
<body>
<header class="site-header">
<nav class="topbar"><span class="today">{today}</span>
<a href="../gioi-thieu.html">Liên hệ</a></nav>
<div class="brand"><a href="../index.html">
<img src="../anh/logo.svg" alt="Cổng TTĐT tỉnh Hòa An"></a></div>
</header>
<div class="page">
<main class="content">
<article class="article">
<h1 class="article-title">Thông báo lịch tiếp công dân tháng 12/2026</h1>
<p class="article-sapo">Ban Tiếp công dân tỉnh Hòa An thông báo lịch tiếp công dân định kỳ của \
lãnh đạo UBND tỉnh trong tháng tới.</p>
<div class="article-body">
<p>Chủ tịch UBND tỉnh tiếp công dân vào sáng thứ Năm tuần thứ hai của tháng tại Trụ sở Tiếp \
công dân tỉnh. Công dân đăng ký trước tại Ban Tiếp công dân hoặc qua đường dây nóng.</p>
<p>Công dân đến đăng ký mang theo giấy tờ tùy thân và hồ sơ liên quan đến nội dung khiếu nại, \
tố cáo, kiến nghị, phản ánh.</p>
</div>
<p class="article-author">Ban Tiếp công dân tỉnh</p>
</article>
</main>
<aside class="sidebar">
<h2>Tin mới</h2>
<ul>
{latest}
</ul>
</aside>
</div>
<footer class="site-footer"><p>Cổng Thông tin điện tử tỉnh Hòa An (bản minh họa).</p></footer>
</body>
</html>
"""
NOTICE_URL = BASE + "thong-bao-lich-tiep-cong-dan-thang-12-2026-100212.html"
LATEST = """\
<li><a href="hop-bao-quy-iv-100211.html">Họp báo quý IV</a> <span>(28/11/2026 10:00)</span></li>
<li><a href="hoi-nghi-can-bo-100210.html">Hội nghị cán bộ tỉnh</a>
<span>(27/11/2026 14:00)</span></li>"""
UNDATED_LATEST = """\
<li><a href="hop-bao-quy-iv-100211.html">Họp báo quý IV</a></li>
<li><a href="hoi-nghi-can-bo-100210.html">Hội nghị cán bộ tỉnh</a></li>"""
# Where the date the old reader took stands: the sidebar's first item, or the header's clock.
NOTICES = {
    "sidebar": {"today": "Thứ Hai, 30/11/2026", "latest": LATEST},
    "menu": {"today": "Thứ Hai, 30/11/2026 | 08:05", "latest": UNDATED_LATEST},
}


@pytest.fixture(scope="module", params=list(NOTICES))
def notice(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The short notice read without a profile (an unverified portal's page)."""
    page = NOTICE.format(**NOTICES[request.param]).encode("utf-8")
    return page_record(None, NOTICE_URL, page, "text/html; charset=utf-8", FETCHED)


def test_short_notice_takes_no_date_from_a_menu_or_sidebar(notice: dict[str, Any]) -> None:
    assert notice["published_at"] is None


def test_short_notice_has_no_date_source(notice: dict[str, Any]) -> None:
    assert notice["date_source"] is None


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The undated pages and a dated one crawled by Scrapy from a local server: the staged
    records by file name, and the site's crawl summary."""
    tmp = tmp_path_factory.mktemp("undated")
    server = Server()
    for name in PAGES:
        server.add(
            f"/demo/tin-tuc/{name}", Reply(200, {"Content-Type": "text/html"}, undated(name))
        )
    dated = (DEMO_DIR / "www" / "tin-tuc" / DATED).read_bytes()
    server.add(f"/demo/tin-tuc/{DATED}", Reply(200, {"Content-Type": "text/html"}, dated))
    with server.serve() as origin:
        job = {
            "profile": str(PROFILE),
            "run_dir": str(tmp / "run"),
            "raw_dir": str(tmp / "raw"),
            "urls": [BASE + name for name in (*PAGES, DATED)],
            "origin": origin + "/{site}",
        }
        result = run_crawl_job(tmp, origin, job, SETTINGS)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = (tmp / "run" / "demo.jsonl").read_text(encoding="utf-8").splitlines()
    stats = json.loads((tmp / "run" / "demo.stats.json").read_text(encoding="utf-8"))
    return {
        "records": {Path(json.loads(line)["url"]).name: json.loads(line) for line in lines},
        "site": SiteCrawl(**stats),
    }


@pytest.mark.parametrize("name", PAGES)
def test_crawled_undated_page_has_no_date(crawl: dict[str, Any], name: str) -> None:
    assert crawl["records"][name]["published_at"] is None


def test_run_summary_says_how_many_articles_were_stored_undated(crawl: dict[str, Any]) -> None:
    report = RunReport("20261201T010000Z", FETCHED, sites=[crawl["site"]])
    lines = report.summary().splitlines()
    assert "  warning: demo: 2 of 3 articles stored without a date" in lines
