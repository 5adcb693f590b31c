"""Discovery and incremental crawling: feeds, sitemaps with lastmod, listings, known pages, since.

Two real crawls (run_crawl in a child process) of a local server: a nightly one that is given
what the database already holds, and a backfill one with `since`.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from crawlers.state import KnownPage
from pipelines.crawl import summarise
from tests.test_crawl_robustness import Reply, Server, page, run_crawl_job

VN = timezone(timedelta(hours=7))
NOW = datetime.now(VN).replace(microsecond=0)
TEXT = "Chủ tịch UBND xã trực tiếp đối thoại với người dân về tiến độ giải phóng mặt bằng."
RSS = "application/rss+xml"
XML = "application/xml"
PROFILE = """\
name: {name}
base_url: https://{name}.test
domains: [{name}.test]
discovery:
{discovery}
article_url: '^https://{name}\\.test/bai/[a-z0-9-]+-\\d+\\.html$'
fields:
  title: [{{css: h1.tieu-de}}]
  body: [{{css: "div.noi-dung > p"}}]
  published_at: [{{meta: "article:published_time"}}]
"""
NIGHTLY = """\
  rss:
    - https://moi.test/rss/tin-moi.rss
    - https://moi.test/rss/bom.rss
    - https://moi.test/rss/xxe.rss
    - https://moi.test/rss/hong.rss
  sitemaps: [https://moi.test/sitemap.xml]
  listings:
    - url: https://moi.test/tin-tuc/
      next_page: https://moi.test/tin-tuc/trang-{page}/"""
BACKFILL = """\
  sitemaps: [https://cu.test/robots.txt]
  listings:
    - url: https://cu.test/tin-tuc/
      next_page: https://cu.test/tin-tuc/trang-{page}/"""
SETTINGS = {"DOWNLOAD_DELAY": 0.01, "DOWNLOAD_MAXSIZE": 1024 * 1024}
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><item><title>&lol3;</title>
<link>https://moi.test/bai/bom-3001.html</link></item></channel></rss>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><title>&xxe;</title>
<link>https://moi.test/bai/xxe-3002.html</link></item></channel></rss>"""


def stamp(when: datetime) -> str:
    """ISO 8601 with the Vietnam offset."""
    return when.isoformat()


def rss(items: list[tuple[str, datetime]]) -> bytes:
    """An RSS 2.0 feed whose <link>s are wrapped in whitespace, as some sites write them."""
    body = "".join(
        f"<item><title>t</title><link>\n      {url}\n    </link>"
        f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0700')}</pubDate></item>"
        for url, when in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{body}</channel></rss>'.encode()


def urlset(entries: list[tuple[str, datetime]]) -> bytes:
    """A sitemap of article URLs with lastmod."""
    body = "".join(f"<url><loc>{u}</loc><lastmod>{stamp(w)}</lastmod></url>" for u, w in entries)
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    return f'<?xml version="1.0"?><urlset xmlns="{ns}">{body}</urlset>'.encode()


def sitemapindex(entries: list[tuple[str, datetime]]) -> bytes:
    """A sitemap index with lastmod."""
    body = "".join(
        f"<sitemap><loc>{u}</loc><lastmod>{stamp(w)}</lastmod></sitemap>" for u, w in entries
    )
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    return f'<?xml version="1.0"?><sitemapindex xmlns="{ns}">{body}</sitemapindex>'.encode()


def article(title: str, etag: str | None = None) -> Reply:
    """A readable article (with an ETag when given)."""
    headers = {"ETag": etag} if etag else {}
    published = stamp(NOW - timedelta(days=1))
    return Reply(200, headers, page(title, [TEXT], published).encode())


def listing(links: list[str], dates: list[datetime] | None = None) -> Reply:
    """A listing page linking the paths, each with a <time> when dates are given."""
    items = "".join(
        f'<li><a href="{link}">bài</a>'
        + (f'<time datetime="{stamp(dates[i])}">{dates[i]:%d/%m/%Y}</time>' if dates else "")
        + "</li>"
        for i, link in enumerate(links)
    )
    return Reply(200, {}, f"<html><body><ul>{items}</ul></body></html>".encode())


class ConditionalServer(Server):
    """The Server, plus a route answering 304 when If-None-Match names its current ETag."""

    def answer(self, path: str, headers: dict[str, str]) -> Reply:
        """304 for /moi/bai/da-luu-doi-2004.html when the crawler sends the stored ETag."""
        reply = super().answer(path, headers)
        if path == "/moi/bai/da-luu-doi-2004.html" and headers.get("If-None-Match") == '"v1"':
            return Reply(304, {"ETag": '"v1"'}, b"")
        return reply


def nightly_routes() -> dict[str, Reply]:
    """The site of the nightly crawl."""
    hour = timedelta(hours=1)
    return {
        "/moi/rss/tin-moi.rss": Reply(
            200, {"Content-Type": RSS}, rss([("https://moi.test/bai/tu-rss-2001.html", NOW - hour)])
        ),
        "/moi/rss/bom.rss": Reply(200, {"Content-Type": RSS}, BILLION_LAUGHS),
        "/moi/rss/xxe.rss": Reply(200, {"Content-Type": RSS}, EXTERNAL_ENTITY),
        "/moi/rss/hong.rss": Reply(
            200, {"Content-Type": RSS}, "<html><body>Lỗi</body></html>".encode()
        ),
        "/moi/sitemap.xml": Reply(
            200,
            {"Content-Type": XML},
            sitemapindex(
                [
                    ("https://moi.test/sitemap-moi.xml", NOW - hour),
                    ("https://moi.test/sitemap-cu.xml", datetime(2020, 1, 1, tzinfo=VN)),
                    ("https://moi.test/sitemap-bom.xml.gz", NOW - hour),
                ]
            ),
        ),
        "/moi/sitemap-moi.xml": Reply(
            200,
            {"Content-Type": XML},
            urlset(
                [
                    ("https://moi.test/bai/tu-sitemap-2002.html", NOW - hour),
                    ("https://moi.test/bai/sitemap-cu-2003.html", NOW - timedelta(days=30)),
                    ("https://moi.test/bai/da-luu-doi-2004.html", NOW - hour),
                    ("https://moi.test/bai/da-luu-sua-2005.html", NOW - hour),
                    ("https://moi.test/bai/da-luu-yen-2006.html", NOW - 2 * hour),
                ]
            ),
        ),
        "/moi/sitemap-cu.xml": Reply(
            200, {"Content-Type": XML}, urlset([("https://moi.test/bai/rat-cu-2007.html", NOW)])
        ),
        "/moi/sitemap-bom.xml.gz": Reply(
            200, {"Content-Type": "application/gzip"}, gzip.compress(b"\0" * 32 * 1024 * 1024)
        ),
        "/moi/tin-tuc/": listing(
            ["/bai/tu-danh-sach-2008.html", "/bai/da-luu-2009.html", "/bai/tu-rss-2001.html"]
        ),
        "/moi/tin-tuc/trang-2/": listing(["/bai/trang-hai-2010.html"]),
        "/moi/bai/tu-rss-2001.html": article("Từ RSS"),
        "/moi/bai/tu-sitemap-2002.html": article("Từ sitemap"),
        "/moi/bai/sitemap-cu-2003.html": article("Mục sitemap cũ"),
        "/moi/bai/da-luu-doi-2004.html": article("Đã lưu, không đổi", '"v1"'),
        "/moi/bai/da-luu-sua-2005.html": article("Đã lưu, đã sửa", '"v2"'),
        "/moi/bai/da-luu-yen-2006.html": article("Đã lưu, yên"),
        "/moi/bai/rat-cu-2007.html": article("Rất cũ"),
        "/moi/bai/tu-danh-sach-2008.html": article("Từ danh sách"),
        "/moi/bai/da-luu-2009.html": article("Đã lưu từ danh sách"),
        "/moi/bai/trang-hai-2010.html": article("Trang hai"),
    }


def known_pages() -> list[dict[str, Any]]:
    """What the database holds before the nightly crawl."""
    two_days_ago = stamp(NOW - timedelta(days=2))
    return [
        {
            "url": "https://moi.test/bai/da-luu-doi-2004.html",
            "etag": '"v1"',
            "fetched_at": two_days_ago,
        },
        {
            "url": "https://moi.test/bai/da-luu-sua-2005.html",
            "etag": '"v1"',
            "content_hash": "old",
            "fetched_at": two_days_ago,
        },
        {
            "url": "https://moi.test/bai/da-luu-yen-2006.html",
            "fetched_at": stamp(NOW - timedelta(hours=1)),
        },
        {"url": "https://moi.test/bai/da-luu-2009.html", "fetched_at": two_days_ago},
    ]


def backfill_routes() -> dict[str, Reply]:
    """A site whose listing pages go back 1, 10, 20, 40 and 60 days."""
    routes: dict[str, Reply] = {}
    for number, days in enumerate([1, 10, 20, 40, 60], start=1):
        links = [f"/bai/trang-{number}-bai-{i}-{4000 + 10 * number + i}.html" for i in range(3)]
        dates = [NOW - timedelta(days=days, hours=i) for i in range(3)]
        path = "/cu/tin-tuc/" if number == 1 else f"/cu/tin-tuc/trang-{number}/"
        routes[path] = listing(links, dates)
        for link in links:
            routes[f"/cu{link}"] = article(link)
    # The same sitemap twice (once relative, with a lower-case key) and one of
    # another site, whose own spider reads it.
    robots = "User-agent: *\nSitemap: https://cu.test/sitemap.xml\nsitemap:/sitemap.xml\n"
    robots += "Sitemap: https://khac.test/sitemap.xml\n"
    routes["/cu/robots.txt"] = Reply(200, {"Content-Type": "text/plain"}, robots.encode())
    routes["/cu/sitemap.xml"] = Reply(
        200,
        {"Content-Type": XML},
        urlset(
            [
                ("https://cu.test/bai/muoi-ngay-5001.html", NOW - timedelta(days=10)),
                ("https://cu.test/bai/bon-lam-ngay-5002.html", NOW - timedelta(days=45)),
            ]
        ),
    )
    routes["/cu/bai/muoi-ngay-5001.html"] = article("Mười ngày trước")
    routes["/cu/bai/bon-lam-ngay-5002.html"] = article("Bốn lăm ngày trước")
    return routes


def crawl_site(
    tmp: Path, name: str, discovery: str, server: Server, extra: dict[str, Any]
) -> dict[str, Any]:
    """Crawl one profile from server; its records by path, its stats and the server's hits."""
    profile = tmp / f"{name}.yaml"
    profile.write_text(PROFILE.format(name=name, discovery=discovery), encoding="utf-8")
    with server.serve() as origin:
        job = {
            "profile": str(profile),
            "run_dir": str(tmp / "run"),
            "raw_dir": str(tmp / "raw"),
            "origin": origin + "/{site}",
            **extra,
        }
        result = run_crawl_job(tmp, origin, job, SETTINGS)
    assert result.returncode == 0, result.stderr[-3000:]
    staged = tmp / "run" / f"{name}.jsonl"
    lines = staged.read_text(encoding="utf-8").splitlines() if staged.exists() else []
    records = {}
    for line in lines:
        record = json.loads(line)
        records[record["url"].removeprefix(f"https://{name}.test")] = record
    stats = json.loads((tmp / "run" / f"{name}.stats.json").read_text(encoding="utf-8"))
    return {"records": records, "stats": stats, "server": server}


@pytest.fixture(scope="module")
def nightly(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A nightly crawl that knows four stored pages."""
    server = ConditionalServer()
    for path, reply in nightly_routes().items():
        server.add(path, reply)
    tmp = tmp_path_factory.mktemp("nightly")
    return crawl_site(tmp, "moi", NIGHTLY, server, {"known": known_pages()})


@pytest.fixture(scope="module")
def backfill(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A backfill crawl from 30 days ago."""
    server = Server()
    for path, reply in backfill_routes().items():
        server.add(path, reply)
    tmp = tmp_path_factory.mktemp("backfill")
    since = stamp(NOW - timedelta(days=30))
    return crawl_site(tmp, "cu", BACKFILL, server, {"since": since})


def hits(crawl: dict[str, Any], path: str) -> list[Any]:
    """The server's hits for a path."""
    return crawl["server"].hits_of(path)


def test_feed_article_stored(nightly: dict[str, Any]) -> None:
    assert nightly["records"]["/bai/tu-rss-2001.html"]["discovered_via"] == "rss"


def test_feed_date_kept_as_lastmod(nightly: dict[str, Any]) -> None:
    lastmod = nightly["records"]["/bai/tu-rss-2001.html"]["lastmod"]
    assert datetime.fromisoformat(lastmod) == NOW - timedelta(hours=1)


def test_entity_declaring_feeds_refused(nightly: dict[str, Any]) -> None:
    assert nightly["stats"]["errors"]["xml_bomb"] == 2  # billion laughs and external entity


def test_refused_feed_links_not_followed(nightly: dict[str, Any]) -> None:
    assert hits(nightly, "/moi/bai/bom-3001.html") + hits(nightly, "/moi/bai/xxe-3002.html") == []


def test_broken_feed_counted(nightly: dict[str, Any]) -> None:
    assert nightly["stats"]["errors"]["bad_feed"] == 1


def test_sitemap_article_stored_with_lastmod(nightly: dict[str, Any]) -> None:
    lastmod = nightly["records"]["/bai/tu-sitemap-2002.html"]["lastmod"]
    assert datetime.fromisoformat(lastmod) == NOW - timedelta(hours=1)


def test_sitemap_older_than_window_not_fetched(nightly: dict[str, Any]) -> None:
    assert hits(nightly, "/moi/sitemap-cu.xml") == []


def test_sitemap_entry_older_than_window_not_fetched(nightly: dict[str, Any]) -> None:
    assert hits(nightly, "/moi/bai/sitemap-cu-2003.html") == []


def test_compressed_sitemap_bomb_refused(nightly: dict[str, Any]) -> None:
    assert nightly["stats"]["errors"]["gzip_bomb"] == 1


def test_listing_article_stored(nightly: dict[str, Any]) -> None:
    assert nightly["records"]["/bai/tu-danh-sach-2008.html"]["discovered_via"] == "listing"


def test_article_found_twice_fetched_once(nightly: dict[str, Any]) -> None:
    assert len(hits(nightly, "/moi/bai/tu-rss-2001.html")) == 1


def test_pagination_stops_at_the_profile_pages(nightly: dict[str, Any]) -> None:
    assert hits(nightly, "/moi/tin-tuc/trang-2/") == []


def test_known_article_not_fetched_again(nightly: dict[str, Any]) -> None:
    assert hits(nightly, "/moi/bai/da-luu-2009.html") == []


def test_known_article_with_older_lastmod_not_fetched(nightly: dict[str, Any]) -> None:
    assert hits(nightly, "/moi/bai/da-luu-yen-2006.html") == []


def test_known_articles_counted(nightly: dict[str, Any]) -> None:
    assert nightly["stats"]["counts"]["known"] == 2


def test_changed_known_page_asked_with_its_etag(nightly: dict[str, Any]) -> None:
    (hit,) = hits(nightly, "/moi/bai/da-luu-doi-2004.html")
    assert hit.headers.get("If-None-Match") == '"v1"'


def test_not_modified_counted(nightly: dict[str, Any]) -> None:
    assert nightly["stats"]["counts"]["not_modified"] == 1


def test_not_modified_page_staged_as_a_check_not_an_article(nightly: dict[str, Any]) -> None:
    record = nightly["records"]["/bai/da-luu-doi-2004.html"]
    assert (record["http_status"], "title" in record) == (304, False)


def test_changed_page_staged_with_new_hash(nightly: dict[str, Any]) -> None:
    assert nightly["records"]["/bai/da-luu-sua-2005.html"]["content_hash"] != "old"


def test_changed_page_staged_with_new_etag(nightly: dict[str, Any]) -> None:
    assert nightly["records"]["/bai/da-luu-sua-2005.html"]["etag"] == '"v2"'


def test_discovery_follows_the_profile_order(nightly: dict[str, Any]) -> None:
    paths = [hit.path for hit in nightly["server"].hits if hit.path != "/robots.txt"]
    first = [
        min(i for i, p in enumerate(paths) if p.startswith(prefix))
        for prefix in ("/moi/rss/", "/moi/sitemap", "/moi/tin-tuc/", "/moi/bai/")
    ]
    assert first == sorted(first)


def test_nightly_site_ok(nightly: dict[str, Any]) -> None:
    assert nightly["stats"]["status"] == "ok"


def test_backfill_pages_back_past_the_profile_pages(backfill: dict[str, Any]) -> None:
    assert len(hits(backfill, "/cu/tin-tuc/trang-3/")) == 1


def test_backfill_stops_at_the_first_page_older_than_since(backfill: dict[str, Any]) -> None:
    assert hits(backfill, "/cu/tin-tuc/trang-5/") == []


def test_backfill_takes_sitemap_entries_since(backfill: dict[str, Any]) -> None:
    assert "/bai/muoi-ngay-5001.html" in backfill["records"]


def test_backfill_skips_sitemap_entries_before_since(backfill: dict[str, Any]) -> None:
    assert hits(backfill, "/cu/bai/bon-lam-ngay-5002.html") == []


def test_robots_txt_sitemap_read_once(backfill: dict[str, Any]) -> None:
    robots, sitemap = hits(backfill, "/cu/robots.txt"), hits(backfill, "/cu/sitemap.xml")
    assert (len(robots), len(sitemap)) == (1, 1)


def test_robots_txt_sitemap_of_another_site_not_fetched(backfill: dict[str, Any]) -> None:
    assert backfill["stats"]["errors"] == {}


STORED = KnownPage(
    "https://moi.test/bai/a-1.html",
    etag='"v1"',
    last_modified="Sat, 07 Mar 2026 01:00:00 GMT",
    fetched_at=datetime(2026, 3, 7, 9, 0, tzinfo=VN),
)


def test_lastmod_after_the_stored_copy_is_a_change() -> None:
    assert STORED.changed_by(datetime(2026, 3, 7, 10, 0, tzinfo=VN))


def test_lastmod_before_the_stored_copy_is_no_change() -> None:
    assert not STORED.changed_by(datetime(2026, 3, 7, 8, 0, tzinfo=VN))


def test_no_lastmod_is_no_change() -> None:
    assert not STORED.changed_by(None)


def test_conditional_headers_carry_the_validators() -> None:
    assert STORED.conditional_headers() == {
        "If-None-Match": '"v1"',
        "If-Modified-Since": "Sat, 07 Mar 2026 01:00:00 GMT",
    }


def test_night_with_nothing_new_is_ok() -> None:
    stats = {"congvu/pages/listing": 1, "congvu/discovered": 5, "congvu/known": 5}
    assert summarise("moi", stats).status == "ok"


def test_articles_refetched_unchanged_are_said_so_in_the_sites_line() -> None:
    stats = {"congvu/pages/listing": 1, "congvu/discovered": 5, "congvu/known": 3}
    crawl = summarise("moi", {**stats, "congvu/articles": 2, "congvu/unchanged": 1})
    assert crawl.line().endswith(
        "3 already stored, not fetched again. 1 of the articles refetched, unchanged."
    )


def test_links_that_all_fail_still_fail() -> None:
    stats = {"congvu/pages/listing": 1, "congvu/discovered": 5, "congvu/error/http_500": 5}
    assert summarise("moi", stats).status == "failed"


def test_links_that_all_answer_404_still_fail() -> None:
    stats = {"congvu/pages/listing": 1, "congvu/discovered": 5, "congvu/error/http_404": 5}
    assert summarise("moi", {**stats, "congvu/gone": 5}).status == "failed"


def test_a_missing_listing_does_not_excuse_a_failing_article() -> None:
    stats = {"congvu/pages/listing": 1, "congvu/discovered": 5, "congvu/known": 4}
    errors = {"congvu/error/http_404": 1, "congvu/error/http_500": 1}  # the 404 is a listing's
    assert summarise("moi", {**stats, **errors}).status == "failed"


def test_new_links_failing_on_the_server_beside_stored_ones_fail() -> None:
    stats = {"congvu/pages/listing": 1, "congvu/discovered": 5, "congvu/known": 4}
    assert summarise("moi", {**stats, "congvu/error/http_500": 1}).status == "failed"


HUGE = [f"/bai/tin-{6000 + i}.html" for i in range(5000)]
CAPPED = """\
  listings:
    - url: https://rong.test/tin-tuc/
      pages: 2
      next_page: https://rong.test/tin-tuc/trang-{page}/
max_listing_links: 20"""


@pytest.fixture(scope="module")
def huge_listing(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A crawl of a listing linking 5,000 articles, with the profile's cap at 20 links."""
    server = Server()
    server.add("/rong/tin-tuc/", listing(HUGE))
    server.add("/rong/tin-tuc/trang-2/", listing(["/bai/trang-hai-9999.html"]))
    for link in HUGE[:20]:
        server.add(f"/rong{link}", article(link))
    tmp = tmp_path_factory.mktemp("huge")
    return crawl_site(tmp, "rong", CAPPED, server, {})


def test_listing_links_capped_per_run(huge_listing: dict[str, Any]) -> None:
    fetched = {hit.path for hit in huge_listing["server"].hits if "/bai/" in hit.path}
    assert fetched == {f"/rong{link}" for link in HUGE[:20]}


def test_links_cut_counted(huge_listing: dict[str, Any]) -> None:
    assert huge_listing["stats"]["counts"]["listing_links_cut"] == 4980


def test_capped_listing_not_paged_further(huge_listing: dict[str, Any]) -> None:
    assert hits(huge_listing, "/rong/tin-tuc/trang-2/") == []


def test_capped_site_still_ok(huge_listing: dict[str, Any]) -> None:
    assert (huge_listing["stats"]["status"], huge_listing["stats"]["articles"]) == ("ok", 20)
