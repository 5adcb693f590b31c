"""The generic extractor (no profile): quality floors on real pages, and each reader's rule."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from crawlers.article import extract_article
from crawlers.evaluation import (
    FIELDS,
    Evaluation,
    bare,
    demo_articles,
    evaluate,
    generic_reading,
    profile_reading,
    saved_articles,
)

FLOOR = 0.9
SETS = ("saved", "stripped", "demo")
URL = "https://baohoaan.vn/thoi-su/chu-tich-tinh-yeu-cau-cham-dut-ne-viec-100301.html"
NOW = datetime.fromisoformat("2026-11-29T12:00:00+07:00")
PARAGRAPHS = (
    "Chủ tịch UBND tỉnh Hòa An vừa ký văn bản yêu cầu các sở, ngành và địa phương chấn chỉnh "
    "ngay tình trạng cán bộ, công chức né tránh, đùn đẩy trách nhiệm khi giải quyết hồ sơ.",
    "Theo văn bản, thời gian qua một số cơ quan còn để hồ sơ của người dân và doanh nghiệp quá "
    "hạn mà không có lý do chính đáng, gây bức xúc và làm giảm lòng tin vào chính quyền.",
    "Người đứng đầu các cơ quan phải chịu trách nhiệm nếu để xảy ra tình trạng nhũng nhiễu, "
    "gây phiền hà; kết quả xử lý được báo cáo về Văn phòng UBND tỉnh trước ngày 15 hằng tháng.",
    "Sở Nội vụ được giao theo dõi, đôn đốc và tổng hợp kết quả thực hiện, đề xuất khen thưởng "
    "kịp thời những tập thể, cá nhân dám nghĩ, dám làm, dám chịu trách nhiệm vì lợi ích chung.",
)
LEAD = (
    "Lãnh đạo tỉnh yêu cầu chấn chỉnh ngay tình trạng cán bộ né tránh, đùn đẩy, sợ trách nhiệm "
    "trong thực thi công vụ."
)
HEADLINE = "Chủ tịch tỉnh yêu cầu chấm dứt tình trạng cán bộ né việc, đùn đẩy trách nhiệm"


def page(
    head: str = "", top: str = "", below: str = "", bottom: str = "", h1: str = HEADLINE
) -> str:
    """A news page of a site never seen: head tags, and what stands above the headline, below
    it and at the end of the article's text."""
    text = "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS)
    return f"""<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">
<title>{HEADLINE} - Báo Hòa An</title>
<meta property="og:site_name" content="Báo Hòa An">{head}</head><body>
<nav class="menu"><a href="/">Trang chủ</a> <a href="/thoi-su/">Thời sự</a>
<a href="/kinh-te/">Kinh tế</a> <a href="/xa-hoi/">Xã hội</a> <a href="/van-hoa/">Văn hóa</a></nav>
<div class="main"><div class="detail">{top}<h1 class="detail-title">{h1}</h1>{below}
<div class="content">{text}{bottom}</div></div></div>
<div class="footer-info">Báo Hòa An - Cơ quan của Đảng bộ tỉnh Hòa An</div></body></html>"""


def read(html: str) -> dict[str, Any]:
    """The article a page gives without a profile."""
    return extract_article(None, URL, html, NOW)


@pytest.fixture(scope="module")
def evaluations(shared_dir: Path) -> dict[str, Evaluation]:
    """The evaluation of the saved pages, the same pages stripped, and the demo site."""
    saved = saved_articles(shared_dir / "pages")
    return {
        "saved": evaluate("saved pages", saved),
        "stripped": evaluate("saved pages without JSON-LD and meta tags", bare(saved)),
        "demo": evaluate("demo site", demo_articles()),
    }


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("pages", SETS)
def test_field_accuracy_floor(evaluations: dict[str, Evaluation], pages: str, name: str) -> None:
    assert evaluations[pages].generic.mean(name) >= FLOOR


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("pages", SETS)
def test_not_below_trafilatura(evaluations: dict[str, Evaluation], pages: str, name: str) -> None:
    scores = evaluations[pages]
    assert scores.generic.mean(name) >= scores.trafilatura.mean(name)


def test_saved_pages_all_evaluated(evaluations: dict[str, Evaluation]) -> None:
    assert len(evaluations["saved"].references) == 7


def test_date_line_named_as_the_source(shared_dir: Path) -> None:
    (baodautu,) = [a for a in saved_articles(shared_dir / "pages") if "baodautu" in a.name]
    assert generic_reading(baodautu)["date_source"] == "visible:span.post-time"


def test_list_before_the_headline_not_in_body(shared_dir: Path) -> None:
    (baodautu,) = [a for a in saved_articles(shared_dir / "pages") if "baodautu" in a.name]
    assert "Giao dịch Hợp đồng tương lai VN30" not in generic_reading(baodautu)["body"]


def test_app_banner_of_the_footer_not_in_body(shared_dir: Path) -> None:
    (baochinhphu,) = [a for a in saved_articles(shared_dir / "pages") if "baochinhphu" in a.name]
    assert "Tải ứng dụng" not in generic_reading(baochinhphu)["body"]


def test_text_follows_the_lead_in_body(shared_dir: Path) -> None:
    (baochinhphu,) = [a for a in saved_articles(shared_dir / "pages") if "baochinhphu" in a.name]
    paragraphs = generic_reading(baochinhphu)["body"].split("\n\n")
    assert paragraphs[2].startswith("Chính phủ ban hành Nghị định số 357/2025/NĐ-CP")


def test_subheading_opens_its_paragraphs(shared_dir: Path) -> None:
    (baochinhphu,) = [a for a in saved_articles(shared_dir / "pages") if "baochinhphu" in a.name]
    paragraphs = generic_reading(baochinhphu)["body"].split("\n\n")
    assert paragraphs[1] == (
        "3 hình thức khai thác, sử dụng thông tin về nhà ở và thị trường bất động sản"
    )


def test_body_with_subheadings_as_the_profile_reads_it(shared_dir: Path) -> None:
    (baochinhphu,) = [a for a in saved_articles(shared_dir / "pages") if "baochinhphu" in a.name]
    assert generic_reading(baochinhphu)["body"] == profile_reading(baochinhphu)["body"]


def test_h1_over_a_reworded_og_title() -> None:
    html = page(head='<meta property="og:title" content="Hòa An siết kỷ luật công vụ">')
    assert read(html)["title"] == HEADLINE


def test_section_h1_gives_way_to_the_heading_showing_the_title() -> None:
    html = page(h1="Tin tức", top=f'<h2 class="news-title">{HEADLINE}</h2>')
    assert read(html)["title"] == HEADLINE


def test_byline_over_site_wide_meta_author() -> None:
    html = page(
        head='<meta name="author" content="Báo Hòa An">',
        below='<div class="author-box"><span class="author-name">Trần Minh Khôi</span></div>',
    )
    assert read(html)["author"] == "Trần Minh Khôi"


def test_site_wide_meta_author_is_no_author() -> None:
    assert read(page(head='<meta name="author" content="baohoaan.vn">'))["author"] == ""


def test_jsonld_person_not_joined_with_the_publisher() -> None:
    jsonld = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "author": [{"@type": '
        '"Person", "name": "Lê Thu Hà"}, {"@type": "Organization", "name": "Báo Hòa An"}], '
        '"publisher": {"@type": "Organization", "name": "Báo Hòa An"}}</script>'
    )
    assert read(page(head=jsonld + '<meta name="author" content="Báo Hòa An">'))["author"] == (
        "Lê Thu Hà"
    )


SIGNED = '<p style="text-align:right;"><strong>Hà Thu</strong> (tổng hợp)</p>'


def test_signature_under_the_text_is_the_author() -> None:
    assert read(page(bottom=SIGNED))["author"] == "Hà Thu"


def test_signature_leaves_the_body() -> None:
    assert not read(page(bottom=SIGNED))["body"].endswith("(tổng hợp)")


def test_breadcrumb_gives_the_category() -> None:
    crumbs = (
        '<ol class="breadcrumb"><li><a href="/">Trang chủ</a></li>'
        '<li><a href="/thoi-su/">Thời sự</a></li><li><a href="/thoi-su/chinh-quyen/">'
        "Chính quyền</a></li></ol>"
    )
    assert read(page(top=crumbs))["category"] == "Chính quyền"


def test_section_link_above_the_headline_gives_the_category() -> None:
    kicker = '<div class="cate"><a href="https://baohoaan.vn/thoi-su/">Thời sự</a></div>'
    assert read(page(top=kicker))["category"] == "Thời sự"


def test_headline_not_repeated_in_the_body(shared_dir: Path) -> None:
    (dantri,) = [a for a in saved_articles(shared_dir / "pages") if "dantri" in a.name]
    assert not generic_reading(dantri)["body"].startswith("Giá vàng giảm, vẫn cao hơn")


LEAD_SHOWN = f'<h2 class="sapo">{LEAD}</h2>'


def test_lead_opens_the_body() -> None:
    assert read(page(below=LEAD_SHOWN))["body"].startswith(LEAD)


def test_lead_not_repeated_in_the_body() -> None:
    html = page(head=f'<meta property="og:description" content="{LEAD}">', below=LEAD_SHOWN)
    assert read(html)["body"].count(LEAD) == 1


DATE_LINE = '<span class="date">Thứ Năm, 26/11/2026 - 14:30</span>'


def test_date_line_by_the_headline_to_the_minute() -> None:
    assert read(page(below=DATE_LINE))["published_at"] == datetime.fromisoformat(
        "2026-11-26T14:30:00+07:00"
    )


def test_date_line_source_recorded() -> None:
    assert read(page(below=DATE_LINE))["date_source"] == "visible:span.date"


def test_byline_label_dropped() -> None:
    html = page(below='<p class="byline">Bài và ảnh: Ngọc Hà</p>')
    assert read(html)["author"] == "Ngọc Hà"


def test_organisation_in_jsonld_is_no_author() -> None:
    jsonld = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "author": {"@type": '
        '"NewsMediaOrganization", "name": "Ban Biên Tập"}}</script>'
    )
    assert read(page(head=jsonld))["author"] == ""
