"""Syndication across sites: another site's copy naming our article as canonical stays its own row.

Two real nightly runs (`congvu nightly`) against two sites served on 127.0.0.1: the first night
site A publishes an article; the second night site B republishes it with a rel=canonical naming
A's URL. A's stored article must keep its text and its label; B's copy is stored under its own
URL and joins A's story.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import Site, run_congvu, serve

PROFILE = """\
name: {name}
base_url: https://{name}.test
domains: [{name}.test]
discovery:
  listings: [https://{name}.test/tin-tuc/]
article_url: '^https://{name}\\.test/bai/[a-z0-9-]+-\\d+\\.html$'
fields:
  title: [{{css: h1}}]
  body: [{{css: "div.noi-dung > p"}}]
  published_at: [{{meta: "article:published_time"}}]
"""
PARAGRAPHS = [
    "Chủ tịch UBND tỉnh vừa ký công văn yêu cầu các sở, ngành và địa phương chấn chỉnh tình "
    "trạng cán bộ, công chức né tránh, đùn đẩy công việc, gây phiền hà cho người dân.",
    "Theo công văn, thời gian qua một số cơ quan chậm giải quyết hồ sơ đất đai, để người dân "
    "phải đi lại nhiều lần; có nơi trả lời đơn thư không đúng thời hạn quy định.",
    "Tỉnh yêu cầu người đứng đầu các cơ quan rà soát toàn bộ hồ sơ tồn đọng, báo cáo kết quả "
    "trước ngày 30 tháng này và chịu trách nhiệm nếu để xảy ra tình trạng chậm trễ kéo dài.",
]
A_URL = "https://a.test/bai/chan-chinh-can-bo-ne-viec-1001.html"
B_URL = "https://b.test/bai/dang-lai-chan-chinh-can-bo-2001.html"


OTHER = ["Thời tiết hôm nay nắng nhẹ, nhiệt độ cao nhất 28 độ C, đêm có mưa rào rải rác."]


def article(title: str, canonical: str, paragraphs: list[str] = PARAGRAPHS) -> bytes:
    """An article page with a rel=canonical."""
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    return (
        f'<html><head><link rel="canonical" href="{canonical}">'
        '<meta property="article:published_time" content="2026-03-06T08:00:00+07:00">'
        f'</head><body><h1>{title}</h1><div class="noi-dung">{body}</div></body></html>'
    ).encode()


def listing(*paths: str) -> bytes:
    """A listing page linking the given paths."""
    return "".join(f'<a href="{path}">bài</a>' for path in paths).encode()


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Night 1: A publishes. Night 2: B republishes it, naming A's URL as canonical."""
    tmp = tmp_path_factory.mktemp("syndication")
    for name in ("a", "b"):
        (tmp / f"{name}.yaml").write_text(PROFILE.format(name=name), encoding="utf-8")
    site = Site()
    site.add("/a/tin-tuc/", listing("/bai/chan-chinh-can-bo-ne-viec-1001.html"))
    site.add("/a/bai/chan-chinh-can-bo-ne-viec-1001.html", article("Bản gốc của A", A_URL))
    site.add("/b/tin-tuc/", listing("/bai/thoi-tiet-2000.html"))
    site.add("/b/bai/thoi-tiet-2000.html", article("Thời tiết", "/bai/thoi-tiet-2000.html", OTHER))
    data = tmp / "data"
    args = ["--data-dir", str(data), "--profile", str(tmp / "a.yaml")]
    args += ["--profile", str(tmp / "b.yaml")]
    with serve(site) as origin:
        first = run_congvu("nightly", *args, "--origin", origin + "/{site}")
        site.add("/b/tin-tuc/", listing("/bai/dang-lai-chan-chinh-can-bo-2001.html"))
        site.add("/b/bai/dang-lai-chan-chinh-can-bo-2001.html", article("B đăng lại", A_URL))
        second = run_congvu("nightly", *args, "--origin", origin + "/{site}")
    return {"db": data / "congvu.duckdb", "runs": (first, second)}


def rows(db: Path, sql: str) -> list[tuple]:
    """Rows of a read-only query."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_both_nights_ran(nights: dict) -> None:
    codes = [run.returncode for run in nights["runs"]]
    assert codes == [0, 0], [run.stdout + run.stderr for run in nights["runs"]]


def test_the_original_keeps_its_title(nights: dict) -> None:
    found = rows(nights["db"], f"SELECT title FROM articles WHERE canonical_url = '{A_URL}'")
    assert found == [("Bản gốc của A",)]


def test_the_copy_is_stored_under_its_own_url(nights: dict) -> None:
    found = rows(
        nights["db"], "SELECT site, canonical_url, title FROM articles WHERE title <> 'Thời tiết'"
    )
    assert sorted(found) == [("a", A_URL, "Bản gốc của A"), ("b", B_URL, "B đăng lại")]


def test_the_original_keeps_its_label(nights: dict) -> None:
    found = rows(
        nights["db"],
        "SELECT count(*) FROM classifications c JOIN articles a USING (article_id) "
        f"WHERE a.canonical_url = '{A_URL}'",
    )
    assert found == [(1,)]


def test_the_copy_joins_the_original_story(nights: dict) -> None:
    found = rows(
        nights["db"],
        "SELECT count(DISTINCT s.story_id), count(*) FROM article_stories s "
        "JOIN articles a USING (article_id) WHERE a.title <> 'Thời tiết'",
    )
    assert found == [(1, 2)]
