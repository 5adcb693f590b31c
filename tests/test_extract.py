"""Extraction on real saved pages: one assert per field, quality floors, and robustness."""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
import unicodedata
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from w3lib.encoding import html_to_unicode

from crawlers.article import extract_article, page_record
from crawlers.encoding import decode_html
from crawlers.page import Page
from crawlers.profiles import Rule, SiteProfile, load_profiles
from crawlers.text import content_hash, token_f1
from crawlers.urls import article_links, is_article_url, strip_tracking

SITES = ("vnexpress", "tuoitre", "dantri", "baochinhphu", "vietnamnet", "baodautu")
VNE_2025_URL = (
    "https://vnexpress.net/dau-bung-keo-dai-phat-hien-ung-thu-lymphoma-ruot-non-4954454.html"
)
F1_FLOOR = 0.95
KEYS = {
    "url",
    "canonical_url",
    "site",
    "title",
    "sapo",
    "body",
    "author",
    "category",
    "published_at",
    "date_source",
    "date_rejected",
    "extraction",
    "rules",
}
PROFILES = load_profiles()


def decode(raw: bytes) -> str:
    """Page bytes decoded the way Scrapy decodes a text/html response."""
    return html_to_unicode("text/html", raw)[1]


@pytest.fixture(scope="module")
def pages(shared_dir: Path) -> Path:
    """The saved pages folder."""
    return shared_dir / "pages"


@pytest.fixture(scope="module")
def expected(pages: Path) -> dict[str, Any]:
    """Hand-read facts about the saved pages."""
    return json.loads((pages / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def article(pages: Path, expected: dict[str, Any]) -> Any:
    """site -> (extracted record, expected facts) for the saved article, extracted once."""

    @cache
    def get(site: str) -> tuple[dict[str, Any], dict[str, Any]]:
        facts = expected[f"{site}/article.html"]
        html = decode((pages / site / "article.html").read_bytes())
        return extract_article(PROFILES[site], facts["url"], html), facts

    return get


@pytest.fixture(scope="module")
def vne_2025(pages: Path) -> tuple[str, dict[str, Any]]:
    """The 2025 VnExpress article and its hand-checked ground truth."""
    raw = gzip.decompress((pages / "vnexpress-2025" / "article.html.gz").read_bytes())
    truth = json.loads((pages / "vnexpress-2025" / "ground-truth.json").read_text("utf-8"))
    return decode(raw), truth["V1"]


@pytest.mark.parametrize("site", SITES)
def test_title(site: str, article: Any) -> None:
    record, facts = article(site)
    assert record["title"] == facts["title"]


@pytest.mark.parametrize("site", SITES)
def test_published_at(site: str, article: Any) -> None:
    record, facts = article(site)
    found = record["published_at"]
    assert found.replace(second=0, microsecond=0) == datetime.fromisoformat(facts["published_at"])


@pytest.mark.parametrize("site", SITES)
def test_published_at_is_vietnam_time(site: str, article: Any) -> None:
    record, _ = article(site)
    assert record["published_at"].tzinfo.key == "Asia/Ho_Chi_Minh"


@pytest.mark.parametrize("site", SITES)
def test_category(site: str, article: Any) -> None:
    record, facts = article(site)
    assert record["category"] == facts["category"]


@pytest.mark.parametrize("site", SITES)
def test_body_contains(site: str, article: Any) -> None:
    record, facts = article(site)
    missing = [text for text in facts["body_contains"] if text not in record["body"]]
    assert not missing


@pytest.mark.parametrize("site", SITES)
def test_extraction_is_profile(site: str, article: Any) -> None:
    record, _ = article(site)
    assert record["extraction"] == "profile"


@pytest.mark.parametrize("site", SITES)
def test_canonical_url(site: str, article: Any) -> None:
    record, facts = article(site)
    assert record["canonical_url"] == facts["url"]


@pytest.mark.parametrize("site", SITES)
def test_body_has_no_caption_or_related_box(site: str, article: Any) -> None:
    record, _ = article(site)
    assert not re.search(r"Ảnh: |TIN LIÊN QUAN|Tham khảo thêm|Xem thêm", record["body"])


@pytest.mark.parametrize("site", SITES)
def test_listing_links(site: str, pages: Path, expected: dict[str, Any]) -> None:
    facts = expected[f"{site}/listing.html"]
    html = decode((pages / site / "listing.html").read_bytes())
    links = article_links(PROFILES[site], facts["url"], html)
    assert len(links) >= facts["min_article_links"]


@pytest.fixture(scope="module")
def vnexpress_listing(pages: Path, expected: dict[str, Any]) -> tuple[str, str]:
    """The saved VnExpress listing page and its URL."""
    return expected["vnexpress/listing.html"]["url"], decode(
        (pages / "vnexpress" / "listing.html").read_bytes()
    )


def test_links_within_scopes_listing_links(vnexpress_listing: tuple[str, str]) -> None:
    profile = dataclasses.replace(PROFILES["vnexpress"], links_within="section.section_topstory")
    assert len(article_links(profile, *vnexpress_listing)) == 4


def test_links_within_matching_nothing_gives_no_links(vnexpress_listing: tuple[str, str]) -> None:
    profile = dataclasses.replace(PROFILES["vnexpress"], links_within="div.gone")
    assert article_links(profile, *vnexpress_listing) == []


def test_listing_links_are_unique_and_fragment_free(pages: Path, expected: dict[str, Any]) -> None:
    html = decode((pages / "dantri" / "listing.html").read_bytes())
    links = article_links(PROFILES["dantri"], expected["dantri/listing.html"]["url"], html)
    assert len(set(links)) == len(links) and not any("#" in link for link in links)


def test_vnexpress_2025_title(vne_2025: tuple[str, dict[str, Any]]) -> None:
    html, truth = vne_2025
    assert extract_article(PROFILES["vnexpress"], VNE_2025_URL, html)["title"] == truth["title"]


def test_vnexpress_2025_body_f1(vne_2025: tuple[str, dict[str, Any]]) -> None:
    html, truth = vne_2025
    body = truth["body"]
    paragraphs = body["summary"] + [p for s in body["sections"] for p in s["paragraphs"]]
    found = extract_article(PROFILES["vnexpress"], VNE_2025_URL, html)["body"]
    assert token_f1(found, "\n".join(paragraphs)) >= F1_FLOOR


@pytest.mark.parametrize("field", ["title", "body"])
def test_fallback_without_profile_finds(field: str, article: Any, pages: Path) -> None:
    _, facts = article("vietnamnet")
    html = decode((pages / "vietnamnet" / "article.html").read_bytes())
    assert extract_article(None, facts["url"], html)[field]


def test_fallback_without_profile_is_marked(article: Any, pages: Path) -> None:
    _, facts = article("vietnamnet")
    html = decode((pages / "vietnamnet" / "article.html").read_bytes())
    assert extract_article(None, facts["url"], html)["extraction"] == "fallback"


def test_fallback_keeps_the_date(article: Any, pages: Path) -> None:
    _, facts = article("tuoitre")
    html = decode((pages / "tuoitre" / "article.html").read_bytes())
    found = extract_article(None, facts["url"], html)["published_at"]
    assert found.replace(second=0) == datetime.fromisoformat(facts["published_at"])


@pytest.fixture(scope="module")
def stale_profile() -> SiteProfile:
    """The dantri profile with selectors that no longer match anything."""
    rules = dict(PROFILES["dantri"].fields)
    rules["title"] = (Rule("css", "h1.gone"),)
    rules["body"] = (Rule("css", "div.gone > p"),)
    return dataclasses.replace(PROFILES["dantri"], fields=rules)


def test_stale_profile_falls_back(stale_profile: SiteProfile, article: Any, pages: Path) -> None:
    _, facts = article("dantri")
    html = decode((pages / "dantri" / "article.html").read_bytes())
    assert extract_article(stale_profile, facts["url"], html)["extraction"] == "fallback"


def test_stale_profile_still_finds_body(
    stale_profile: SiteProfile, article: Any, pages: Path
) -> None:
    _, facts = article("dantri")
    html = decode((pages / "dantri" / "article.html").read_bytes())
    assert "Giá vàng" in extract_article(stale_profile, facts["url"], html)["body"]


def test_stale_profile_still_finds_title(
    stale_profile: SiteProfile, article: Any, pages: Path
) -> None:
    _, facts = article("dantri")
    html = decode((pages / "dantri" / "article.html").read_bytes())
    assert extract_article(stale_profile, facts["url"], html)["title"] == facts["title"]


MALFORMED = {
    "empty": "",
    "unclosed": "<html><body><h1>Tiêu đề<p>Đoạn một<p>Đoạn hai",
    "garbage-bytes": bytes(range(256)).decode("latin-1") * 20,
    "nul-chars": "<html>\x00<body>\x00<p>a\x00b</p>",
    "deep-nesting": "<div>" * 5000 + "chữ" + "</div>" * 10,
    "lone-surrogate": "<p>\ud800 text</p>",
    "broken-jsonld": '<script type="application/ld+json">{"@type": "NewsArticle",</script>',
}


@pytest.mark.parametrize("html", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("profile", [None, "vnexpress"])
def test_malformed_html_does_not_raise(html: str, profile: str | None) -> None:
    site = PROFILES[profile] if profile else None
    assert set(extract_article(site, "https://vnexpress.net/a-1234567.html", html)) == KEYS


@pytest.mark.parametrize("html", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_listing_does_not_raise(html: str) -> None:
    assert isinstance(article_links(PROFILES["vnexpress"], "https://vnexpress.net/", html), list)


@pytest.mark.parametrize("site", SITES)
def test_truncated_page_does_not_raise(site: str, pages: Path, expected: dict[str, Any]) -> None:
    raw = (pages / site / "article.html").read_bytes()
    html = decode(raw[: len(raw) // 3])
    record = extract_article(PROFILES[site], expected[f"{site}/article.html"]["url"], html)
    assert set(record) == KEYS


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://vnexpress.net/cach-cac-nuoc-5047363.html?utm_source=x#box", True),
        ("https://vnexpress.net/kinh-doanh", False),
        ("https://vnexpress.net/kinh-doanh-p2", False),
        ("not a url", False),
    ],
)
def test_is_article_url(url: str, expected: bool) -> None:
    assert is_article_url(PROFILES["vnexpress"], url) is expected


def test_canonical_drops_tracking_params() -> None:
    html = '<link rel="canonical" href="/a-1234567.html?utm_source=fb&id=3#x">'
    record = extract_article(None, "https://vnexpress.net/x", html)
    assert record["canonical_url"] == "https://vnexpress.net/a-1234567.html?id=3"


def test_tracking_params_dropped_the_others_kept_as_written() -> None:
    url = "https://x.vn/a-1.html?url=/b/c&UTM_Source=fb&q=a%20b&fbclid#top"
    assert strip_tracking(url) == "https://x.vn/a-1.html?url=/b/c&q=a%20b"


DATED = """<html><head><meta property="article:published_time" content="{meta}"></head>
<body><h1>Tiêu đề</h1><span class="date">{text}</span><article><p>Nội dung bài.</p></article>
</body></html>"""
NOW = datetime.fromisoformat("2026-03-07T09:00:00+07:00")


def test_future_date_rejected() -> None:
    html = DATED.format(meta="2026-04-01T08:00:00+07:00", text="")
    assert extract_article(None, "https://x.vn/a.html", html, NOW)["published_at"] is None


def test_future_date_noted() -> None:
    html = DATED.format(meta="2026-04-01T08:00:00+07:00", text="")
    record = extract_article(None, "https://x.vn/a.html", html, NOW)
    assert record["date_rejected"] == "2026-04-01T08:00:00+07:00"


def test_date_a_few_minutes_ahead_accepted() -> None:
    html = DATED.format(meta="2026-03-07T09:05:00+07:00", text="")
    record = extract_article(None, "https://x.vn/a.html", html, NOW)
    assert record["published_at"] == datetime.fromisoformat("2026-03-07T09:05:00+07:00")


def test_future_date_falls_through_to_the_next_rule() -> None:
    profile = dataclasses.replace(
        PROFILES["vnexpress"],
        fields={
            **PROFILES["vnexpress"].fields,
            "published_at": (Rule("meta", "article:published_time"), Rule("css", "span.date")),
        },
    )
    html = DATED.format(meta="2026-04-01T08:00:00+07:00", text="07/03/2026 08:01")
    record = extract_article(profile, "https://x.vn/a.html", html, NOW)
    assert record["published_at"] == datetime.fromisoformat("2026-03-07T08:01:00+07:00")


def test_page_without_date_has_none() -> None:
    html = DATED.format(meta="", text="")
    assert extract_article(None, "https://x.vn/a.html", html, NOW)["published_at"] is None


def test_fallback_rules_name_their_source(article: Any, pages: Path) -> None:
    _, facts = article("vietnamnet")
    html = decode((pages / "vietnamnet" / "article.html").read_bytes())
    assert extract_article(None, facts["url"], html)["rules"]["body"] == "fallback:trafilatura"


def test_content_hash_ignores_whitespace() -> None:
    assert content_hash("Tiêu đề", "Đoạn một.\n\nĐoạn hai.") == content_hash(
        " Tiêu  đề ", "Đoạn một. Đoạn hai."
    )


def test_content_hash_sees_an_edit() -> None:
    assert content_hash("Tiêu đề", "Đoạn một.") != content_hash("Tiêu đề", "Đoạn 1.")


@pytest.mark.parametrize("site", SITES)
def test_reextract_matches_extract(site: str, article: Any, pages: Path) -> None:
    record, facts = article(site)
    raw = (pages / site / "article.html").read_bytes()
    again = page_record(PROFILES[site], facts["url"], raw, "text/html")
    assert again["body"] == record["body"]


VIETNAMESE = "<html><head>{meta}</head><body><h1>Ủy ban nhân dân tỉnh Đắk Lắk</h1></body></html>"
TONES = "\u0300\u0301\u0303\u0309\u0323"


def cp1258(text: str) -> bytes:
    """Text in windows-1258 as Vietnamese pages write it: tone marks as combining characters."""
    out = []
    for char in unicodedata.normalize("NFD", text):
        if char in TONES:
            out.append(char)
        elif out and out[-1] not in TONES and unicodedata.combining(char):
            out[-1] = unicodedata.normalize("NFC", out[-1] + char)
        else:
            out.append(char)
    return "".join(out).encode("cp1258")


def test_decode_valid_utf8() -> None:
    raw = VIETNAMESE.format(meta="").encode("utf-8")
    assert decode_html(raw, "text/html; charset=utf-8") == (raw.decode("utf-8"), "utf-8")


def test_decode_header_wrongly_latin1() -> None:
    raw = VIETNAMESE.format(meta="").encode("utf-8")
    assert decode_html(raw, "text/html; charset=iso-8859-1")[1] == "utf-8"


def test_decode_meta_wrongly_utf8_on_windows_1258_bytes() -> None:
    raw = cp1258(VIETNAMESE.format(meta='<meta charset="utf-8">'))
    assert decode_html(raw, "text/html")[1] == "cp1258"


def test_decode_bom_wins() -> None:
    raw = b"\xef\xbb\xbf" + VIETNAMESE.format(meta="").encode("utf-8")
    assert decode_html(raw, "text/html; charset=windows-1258")[1] == "utf-8"


def test_windows_1258_text_becomes_nfc() -> None:
    raw = cp1258(VIETNAMESE.format(meta=""))
    record = extract_article(None, "https://x.vn/a.html", raw)
    assert record["title"] == "Ủy ban nhân dân tỉnh Đắk Lắk"


INERT = """<html><head><style>p {{ color: red }}</style>
<script>var s = "<p class='x'>not text</p>";</script>
<script type="application/ld+json">{{"@type": "NewsArticle", "headline": "Từ JSON-LD"}}</script>
</head><body><h1>T</h1><svg><text>icon</text></svg><p class="x">Chữ sau hình</p></body></html>"""


def test_script_style_and_svg_do_not_hide_text() -> None:
    assert Page(INERT.format()).values(Rule("css", "p.x")) == ["Chữ sau hình"]


def test_json_ld_survives_the_script_stripping() -> None:
    assert Page(INERT.format()).values(Rule("jsonld", "headline")) == ["Từ JSON-LD"]


def test_query_pattern_matches_portal_article() -> None:
    profile = dataclasses.replace(
        PROFILES["vnexpress"], article_url=r"^https://x\.gov\.vn/chi-tiet\?id=\d+"
    )
    assert is_article_url(profile, "https://x.gov.vn/chi-tiet?id=123&_c=3")
