"""Feeds and sitemaps parsed as untrusted XML: real RSS files, lastmod, and refused XML bombs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from crawlers.feeds import (
    NotAFeed,
    XmlRefused,
    feed_entries,
    sitemap_entries,
)

RSS_FILES = {
    "vnexpress_tin-moi-nhat_2017-02-18.rss.xml": 25,
    "vnexpress_tin-moi-nhat_2017-04-19.rss.xml": 25,
    "vietnamnet_2026.excerpt.xml": 3,
}
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
<rss version="2.0"><channel><item><title>&lol2;</title><link>https://x.vn/a-1.html</link>
</item></channel></rss>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><title>&xxe;</title><link>https://x.vn/a-1.html</link>
</item></channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>T</title>
<link rel="alternate" href="https://x.vn/a-1.html"/><link rel="enclosure" href="https://x.vn/a.jpg"/>
<updated>2026-03-07T08:52:11+07:00</updated></entry></feed>"""
SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc> https://x.vn/a-1.html </loc><lastmod>2026-03-07T08:00:00+07:00</lastmod></url>
<url><loc>https://x.vn/b-2.html</loc><news:news><news:publication_date>2026-03-06T07:00:00Z
</news:publication_date></news:news></url>
</urlset>"""
INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://x.vn/sitemap-2026-03.xml</loc><lastmod>2026-03-07</lastmod></sitemap>
</sitemapindex>"""


@pytest.fixture(scope="module")
def rss_dir(shared_dir: Path) -> Path:
    """The saved RSS files."""
    return shared_dir / "pages" / "rss"


@pytest.mark.parametrize(("name", "count"), RSS_FILES.items())
def test_saved_feed_parses(rss_dir: Path, name: str, count: int) -> None:
    assert len(feed_entries((rss_dir / name).read_bytes())) == count


@pytest.mark.parametrize("name", RSS_FILES)
def test_saved_feed_links_have_no_whitespace(rss_dir: Path, name: str) -> None:
    links = [entry.url for entry in feed_entries((rss_dir / name).read_bytes())]
    assert all(link == link.strip() and link.startswith("http") for link in links)


def test_saved_feed_item_dates_read(rss_dir: Path) -> None:
    entries = feed_entries((rss_dir / "vnexpress_tin-moi-nhat_2017-02-18.rss.xml").read_bytes())
    assert entries[0].lastmod.isoformat() == "2017-02-18T15:16:55+07:00"


def test_atom_alternate_link() -> None:
    assert [entry.url for entry in feed_entries(ATOM)] == ["https://x.vn/a-1.html"]


def test_atom_updated_is_lastmod() -> None:
    assert feed_entries(ATOM)[0].lastmod == datetime.fromisoformat("2026-03-07T08:52:11+07:00")


def test_billion_laughs_refused() -> None:
    with pytest.raises(XmlRefused):
        feed_entries(BILLION_LAUGHS)


def test_external_entity_refused() -> None:
    with pytest.raises(XmlRefused):
        feed_entries(EXTERNAL_ENTITY)


def test_utf16_entity_declaration_refused() -> None:
    declared = BILLION_LAUGHS.decode().replace('"1.0"?>', '"1.0" encoding="utf-16"?>', 1)
    with pytest.raises(XmlRefused):
        feed_entries(b"\xff\xfe" + declared.encode("utf-16-le"))


def test_html_is_not_a_feed() -> None:
    with pytest.raises(NotAFeed):
        feed_entries("<html><body><p>Trang chủ</p></body></html>".encode())


def test_sitemap_locations_stripped() -> None:
    assert [e.url for e in sitemap_entries(SITEMAP).entries][0] == "https://x.vn/a-1.html"


def test_sitemap_lastmod_read() -> None:
    entry = sitemap_entries(SITEMAP).entries[0]
    assert entry.lastmod == datetime.fromisoformat("2026-03-07T08:00:00+07:00")


def test_news_sitemap_publication_date_read() -> None:
    entry = sitemap_entries(SITEMAP).entries[1]
    assert entry.lastmod == datetime.fromisoformat("2026-03-06T14:00:00+07:00")


def test_sitemap_index_recognised() -> None:
    assert sitemap_entries(INDEX).is_index
