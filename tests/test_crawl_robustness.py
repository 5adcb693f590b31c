"""Bad input never stops a crawl and is never dropped silently: a real crawl of a hostile server.

One Scrapy crawl (run_crawl in a child process) fetches, from a local server, every kind of bad
page next to good ones; each test then checks one outcome in the staged records or the counters.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse

from crawlers.article import page_record
from crawlers.middlewares import retry_after
from crawlers.profiles import load_profile
from crawlers.text import BIDI
from pipelines.crawl import in_processes
from pipelines.demo import serve_on_loopback
from pipelines.staging import read_raw
from tests.conftest import ROOT

SITE = "thu"
CONTACT = "so-tttt@hoa-an.test"
PROFILE = f"""\
name: {SITE}
base_url: https://thu.test
domains: [thu.test]
article_url: '^https://thu\\.test/bai/[a-z0-9-]+-\\d+\\.html$'
fields:
  title: [{{css: h1.tieu-de}}]
  sapo: [{{css: h2.sapo}}]
  author: [{{css: span.tac-gia}}]
  body: [{{css: "div.noi-dung > p"}}]
  category: [{{css: span.chuyen-muc}}, {{meta: "article:section"}}]
  published_at: [{{meta: "article:published_time"}}, {{css: span.ngay}}]
"""
# Short limits so the slow and huge pages fail fast; one retry so Retry-After can be seen; a small
# delay, as a real crawl has, which is what keeps Scrapy to one request at a time per site.
SETTINGS = {
    "DOWNLOAD_DELAY": 0.05,
    "DOWNLOAD_TIMEOUT": 1,
    "DOWNLOAD_MAXSIZE": 1024 * 1024,
    "DOWNLOAD_WARNSIZE": 512 * 1024,
    "RETRY_TIMES": 1,
    "RETRY_BACKOFF_BASE": 0.3,
    "RETRY_AFTER_MAX": 10,
}
DRIVER = """
import json, sys
from datetime import datetime
from pathlib import Path
from crawlers.profiles import load_profile
from crawlers.state import KnownPage
from pipelines.crawl import run_crawl

job = json.loads(Path(sys.argv[1]).read_text())
when = lambda text: datetime.fromisoformat(text) if text else None
known = {
    page["url"]: KnownPage(
        page["url"], page.get("content_hash"), page.get("etag"), page.get("last_modified"),
        when(page.get("lastmod")), when(page.get("fetched_at")),
    )
    for page in job.get("known", [])
}
run_crawl(
    [load_profile(job["profile"])], Path(job["run_dir"]), Path(job["raw_dir"]),
    urls=job.get("urls"), origin=job["origin"], known=known, since=when(job.get("since")),
)
"""


@dataclass
class Reply:
    """What the server answers: status, headers, body; length=False streams without a length."""

    status: int = 200
    headers: dict[str, str] | None = None
    body: bytes = b""
    length: bool = True


@dataclass
class Hit:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    at: float


class Server:
    """A local HTTP server whose routes are replies or functions of the request number."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | Callable[[int], Reply]] = {}
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def add(self, path: str, reply: Reply | Callable[[int], Reply]) -> None:
        """Answer requests for path (query included) with reply."""
        self.routes[path] = reply

    def hits_of(self, path: str) -> list[Hit]:
        """The requests received for path, in order."""
        return [hit for hit in self.hits if hit.path == path]

    def answer(self, path: str, headers: dict[str, str]) -> Reply:
        """Record the request and find its reply (404 for unknown paths)."""
        with self.lock:
            self.hits.append(Hit(path, headers, time.monotonic()))
            number = len(self.hits_of(path))
        route = self.routes.get(path)
        if route is None:
            return Reply(404, {"Content-Type": "text/plain"}, b"not found")
        return route(number) if callable(route) else route

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Run on a free 127.0.0.1 port; yield the origin."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                # The slow page is left out: the crawler hangs up on it at its timeout and
                # moves on while the server is still asleep on it.
                counted = server.routes.get(self.path) is not slow
                with server.lock:
                    server.in_flight += counted
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                try:
                    self.reply()
                finally:
                    with server.lock:
                        server.in_flight -= counted

            def reply(self) -> None:
                """Send the route's reply."""
                reply = server.answer(self.path, dict(self.headers.items()))
                self.send_response(reply.status)
                headers = {"Content-Type": "text/html; charset=utf-8", **(reply.headers or {})}
                for key, value in headers.items():
                    self.send_header(key, value)
                if reply.length:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                try:
                    for start in range(0, len(reply.body), 65536):
                        self.wfile.write(reply.body[start : start + 65536])
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler hung up on a body it did not want: expected here

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.request_queue_size = 64
        with serve_on_loopback(Handler) as origin:
            yield origin


def page(title: str, paragraphs: list[str], published: str | None, charset: str = "utf-8") -> str:
    """An article page as the test profile reads it."""
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    return (
        f'<!DOCTYPE html><html><head><meta charset="{charset}">{meta}<title>{title}</title>'
        f'</head><body><h1 class="tieu-de">{title}</h1><div class="noi-dung">{body}</div>'
        "</body></html>"
    )


def to_cp1258(text: str) -> bytes:
    """Vietnamese text in windows-1258: base letters precomposed, tone marks combining."""
    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = []
    for char in text:
        try:
            out.append(char.encode("cp1258"))
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
            out.append((base + "".join(c for c in parts if c in tones)).encode("cp1258"))
    return b"".join(out)


TODAY = datetime.now(timezone(timedelta(hours=7))).replace(microsecond=0)
FUTURE = (TODAY + timedelta(days=30)).isoformat()
PAST = (TODAY - timedelta(days=1)).isoformat()
TEXT = "Ủy ban nhân dân tỉnh chỉ đạo giải quyết dứt điểm hồ sơ đất đai tồn đọng của người dân."
CP_TITLE = "Tiếng Việt: Ủy ban xử lý đơn thư đúng hạn"
HTML = {"Content-Type": "text/html; charset=utf-8"}
OPEN_TITLE = "Thẻ tiêu đề không đóng: Sở Xây dựng chấn chỉnh cấp phép chậm"
# U+202E (right-to-left override) shows the title's "500 triệu" and all after it reversed; the
# other bidirectional embeddings, isolates and marks each once.
BIDI_PAGE_TEXT = {
    "title": "Ông \u202eA nhận 500 triệu\u202c đồng",
    "sapo": "Sở \u202bXây dựng\u202c trả lời \u2067người dân\u2069 đúng hạn.",
    "author": "\u202dNguyễn Văn B\u202c",
    "category": "\u2066Thời sự\u2069",
    "body": f"\u202a{TEXT}\u202c \u200fHai\u200e \u2068ba\u2069 \u061cbốn.",
}
SECTION = "Thời sự"
ELDER = TODAY - timedelta(days=10)
ARTICLE = [
    TEXT,
    "Sở Xây dựng đã rà soát 412 hồ sơ cấp phép xây dựng quá hạn trong quý vừa qua.",
    f"Ngày {ELDER.day} tháng {ELDER.month} năm {ELDER.year}, đoàn kiểm tra làm việc tại huyện.",
    "Giám đốc Sở yêu cầu trả lời người dân bằng văn bản trong thời hạn năm ngày làm việc.",
    "Cán bộ để hồ sơ chậm mà không báo cáo sẽ bị kiểm điểm trước tập thể cơ quan.",
    *(f"Đoạn {n}: Sở tiếp tục theo dõi việc giải quyết hồ sơ của người dân." for n in range(6, 16)),
]  # over 1,000 characters, as an article is: longer than any title, lead or byline


def good(title: str, published: str | None = PAST) -> Reply:
    """A readable article."""
    return Reply(200, HTML, page(title, [TEXT, "Đoạn thứ hai của bài."], published).encode())


def left_open(head: str, before: str) -> Reply:
    """An article whose markup leaves an element open (in before) over all of its text."""
    body = "".join(f"<p>{text}</p>" for text in ARTICLE)
    return Reply(
        200,
        HTML,
        f'<html><head><meta charset="utf-8">{head}</head><body>{before}'
        f'<div class="noi-dung">{body}</div></body></html>'.encode(),
    )


def bomb(size: int) -> bytes:
    """size bytes of zeros, gzip-compressed (a few kB on the wire)."""
    return gzip.compress(b"\0" * size, compresslevel=9)


def slow(number: int) -> Reply:
    """Answers after the crawler's timeout."""
    time.sleep(2.5)
    return good("Quá chậm")


ROUTES: dict[str, Reply | Callable[[int], Reply]] = {
    "/robots.txt": Reply(
        200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /thu/bai/cam-"
    ),
    "/thu/bai/binh-thuong-1000.html": good("Bài bình thường"),
    "/thu/bai/khong-co-1001.html": Reply(404, HTML, b"<h1>Not found</h1>"),
    "/thu/bai/loi-may-chu-1002.html": Reply(500, HTML, b"<h1>Server error</h1>"),
    "/thu/bai/cham-1003.html": slow,
    "/thu/bai/vong-1004.html": Reply(302, {"Location": "/thu/bai/vong-1005.html"}),
    "/thu/bai/vong-1005.html": Reply(302, {"Location": "/thu/bai/vong-1004.html"}),
    "/thu/bai/rong-1006.html": Reply(200, HTML, b""),
    "/thu/bai/qua-lon-1007.html": Reply(200, HTML, b"<p>" + b"x" * (2 * 1024 * 1024)),
    "/thu/bai/qua-lon-khong-do-dai-1008.html": Reply(
        200, HTML, b"<p>" + b"x" * (2 * 1024 * 1024), length=False
    ),
    "/thu/bai/tep-pdf-1009.html": Reply(200, {"Content-Type": "application/pdf"}, b"%PDF-1.4 ..."),
    "/thu/bai/vo-the-1010.html": Reply(
        200,
        HTML,
        f'<html><body><h1 class="tieu-de">Thẻ không đóng<div class="noi-dung"><p>{TEXT}<p>Hai'
        "<table><tr><td>ô".encode(),
    ),
    "/thu/bai/rac-1011.html": Reply(200, HTML, bytes(range(256)) * 64),
    "/thu/bai/ma-1258-1012.html": Reply(
        200,
        {"Content-Type": "text/html; charset=windows-1258"},
        to_cp1258(page(CP_TITLE, [TEXT], PAST, charset="windows-1258")),
    ),
    "/thu/bai/khai-sai-ma-1013.html": Reply(
        200,
        {"Content-Type": "text/html; charset=iso-8859-1"},
        page("Khai sai bảng mã: Đắk Lắk", [TEXT], PAST, charset="iso-8859-1").encode("utf-8"),
    ),
    "/thu/bai/bom-gzip-1014.html": Reply(
        200, {**HTML, "Content-Encoding": "gzip"}, bomb(32 * 1024 * 1024)
    ),
    "/thu/bai/tuong-lai-1015.html": good("Ngày trong tương lai", FUTURE),
    "/thu/bai/khong-ngay-1016.html": good("Không có ngày", None),
    "/thu/bai/cho-doi-1017.html": lambda n: (
        Reply(503, {"Retry-After": "1"}, b"busy") if n == 1 else good("Đợi rồi mới đọc")
    ),
    "/thu/bai/cho-qua-lau-1018.html": Reply(429, {"Retry-After": "3600"}, b"slow down"),
    "/thu/bai/loi-roi-duoc-1019.html": lambda n: (
        Reply(500, HTML, b"oops") if n == 1 else good("Lỗi rồi được")
    ),
    "/thu/bai/cam-1020.html": good("Bị robots.txt cấm"),
    "/thu/bai/chuyen-huong-1021.html": Reply(
        200,
        HTML,
        b'<html><head><meta http-equiv="Refresh" content="0; url=/thu/bai/dich-1022.html">',
    ),
    "/thu/bai/dich-1022.html": good("Đích của meta refresh"),
    # A CMS that cut a name inside a character escapes half of it in its JSON-LD: a lone
    # surrogate, which UTF-8 (and so the staging file) cannot hold. The profile does not match
    # the page, so the generic reader takes the author from the JSON-LD.
    "/thu/bai/json-ld-cut-1023.html": Reply(
        200,
        HTML,
        (
            f'<html><head><meta property="article:published_time" content="{PAST}">'
            '<script type="application/ld+json">{"@type": "NewsArticle", '
            '"headline": "Tên bị cắt", "author": {"@type": "Person", '
            '"name": "Nguy\\udc00ễn Văn A"}}</script></head><body><h1>Tên bị cắt</h1>'
            f"<article><p>{TEXT}</p><p>{TEXT}</p></article></body></html>"
        ).encode(),
    ),
    # An <h1> never closed holds the whole article: it is no title; the declared one is.
    "/thu/bai/h1-mo-1024.html": left_open(
        f'<meta property="article:published_time" content="{PAST}">'
        f'<meta property="og:title" content="{OPEN_TITLE}"><title>{OPEN_TITLE}</title>',
        f'<h1 class="tieu-de">{OPEN_TITLE}',
    ),
    # The same with no title declared anywhere: the headline is the line the <h1> begins with.
    "/thu/bai/h1-mo-khong-khai-1025.html": left_open(
        f'<meta property="article:published_time" content="{PAST}">',
        f'<h1 class="tieu-de">{OPEN_TITLE}',
    ),
    "/thu/bai/tac-gia-mo-1026.html": left_open(
        f'<meta property="article:published_time" content="{PAST}">',
        f'<h1 class="tieu-de">{OPEN_TITLE}</h1><span class="tac-gia">Nguyễn Văn A',
    ),
    # A lead left open would put the article twice in the body, once as the lead.
    "/thu/bai/sapo-mo-1028.html": left_open(
        f'<meta property="article:published_time" content="{PAST}">',
        f'<h1 class="tieu-de">{OPEN_TITLE}</h1><h2 class="sapo">{ARTICLE[1]}',
    ),
    # Bidirectional controls in every text field, which would reverse what an analyst reads.
    "/thu/bai/chieu-nguoc-1029.html": Reply(
        200,
        HTML,
        (
            f'<html><head><meta charset="utf-8"><meta property="article:published_time" '
            f'content="{PAST}"></head><body><h1 class="tieu-de">{BIDI_PAGE_TEXT["title"]}</h1>'
            f'<span class="chuyen-muc">{BIDI_PAGE_TEXT["category"]}</span>'
            f'<span class="tac-gia">{BIDI_PAGE_TEXT["author"]}</span>'
            f'<h2 class="sapo">{BIDI_PAGE_TEXT["sapo"]}</h2>'
            f'<div class="noi-dung"><p>{BIDI_PAGE_TEXT["body"]}</p></div></body></html>'
        ).encode(),
    ),
    # A section element left open would make the whole article the category.
    "/thu/bai/chuyen-muc-mo-1030.html": left_open(
        f'<meta property="article:published_time" content="{PAST}">'
        f'<meta property="article:section" content="{SECTION}">',
        f'<h1 class="tieu-de">{OPEN_TITLE}</h1><span class="chuyen-muc">{SECTION}',
    ),
    # The same in a breadcrumb's last link, on a page the profile does not match (generic reader,
    # which reads JSON-LD; the profile does not).
    "/thu/bai/duong-dan-mo-1031.html": left_open(
        f'<meta property="article:published_time" content="{PAST}">'
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        f'"articleSection": "{SECTION}"}}</script>',
        f'<div class="breadcrumb"><a href="/">Trang chủ</a> <a href="/thu/thoi-su">{SECTION}'
        f"<h1>{OPEN_TITLE}</h1>",
    ),
    # A date element left open would date the article by a day its text mentions (ELDER).
    "/thu/bai/ngay-mo-1027.html": left_open(
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        f'"datePublished": "{PAST}"}}</script>',
        f'<h1 class="tieu-de">{OPEN_TITLE}</h1>'
        f'<span class="ngay">{TODAY - timedelta(days=1):%d/%m/%Y %H:%M}',
    ),
}


def run_crawl_job(
    tmp: Path, origin: str, job: dict[str, Any], settings: dict[str, Any]
) -> subprocess.CompletedProcess:
    """Run pipelines.crawl.run_crawl in a child process (the reactor runs once per process)."""
    (tmp / "job.json").write_text(json.dumps(job), encoding="utf-8")
    env = {
        **os.environ,
        "CONGVU_SCRAPY_SETTINGS": json.dumps(settings),
        "CONGVU_CONTACT": CONTACT,
    }
    return subprocess.run(
        [sys.executable, "-c", DRIVER, str(tmp / "job.json")],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Crawl every route once; keep records by URL path, the site's stats and the server."""
    tmp = tmp_path_factory.mktemp("robust")
    (tmp / f"{SITE}.yaml").write_text(PROFILE, encoding="utf-8")
    server = Server()
    for path, reply in ROUTES.items():
        server.add(path, reply)
    urls = [
        f"https://thu.test{path.removeprefix('/thu')}"
        for path in ROUTES
        if path not in ("/robots.txt", "/thu/bai/vong-1005.html", "/thu/bai/dich-1022.html")
    ]
    with server.serve() as origin:
        job = {
            "profile": str(tmp / f"{SITE}.yaml"),
            "run_dir": str(tmp / "run"),
            "raw_dir": str(tmp / "raw"),
            "urls": urls,
            "origin": origin + "/{site}",
        }
        result = run_crawl_job(tmp, origin, job, SETTINGS)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = (tmp / "run" / f"{SITE}.jsonl").read_text(encoding="utf-8").splitlines()
    records = {
        json.loads(line)["url"].removeprefix("https://thu.test"): json.loads(line) for line in lines
    }
    stats = json.loads((tmp / "run" / f"{SITE}.stats.json").read_text(encoding="utf-8"))
    return {"records": records, "stats": stats, "server": server, "raw": tmp / "raw"}


def errors(crawl: dict[str, Any]) -> dict[str, int]:
    """The site's error counters."""
    return crawl["stats"]["errors"]


def test_good_article_stored_despite_bad_neighbours(crawl: dict[str, Any]) -> None:
    assert crawl["records"]["/bai/binh-thuong-1000.html"]["title"] == "Bài bình thường"


def test_http_404_counted(crawl: dict[str, Any]) -> None:
    assert errors(crawl)["http_404"] == 1


def test_http_500_counted_once_after_its_retry(crawl: dict[str, Any]) -> None:
    assert errors(crawl)["http_500"] == 1


def test_http_500_retried(crawl: dict[str, Any]) -> None:
    assert len(crawl["server"].hits_of("/thu/bai/loi-may-chu-1002.html")) == 2


def test_timeout_counted(crawl: dict[str, Any]) -> None:
    assert errors(crawl)["timeout"] == 1  # once, after its retry timed out too


def test_redirect_loop_counted(crawl: dict[str, Any]) -> None:
    assert errors(crawl)["redirect_loop"] == 1


def test_empty_body_counted(crawl: dict[str, Any]) -> None:
    assert errors(crawl)["empty_body"] == 1


def test_bodies_over_the_size_cap_counted(crawl: dict[str, Any]) -> None:
    assert errors(crawl)["too_large"] == 2  # one with Content-Length, one streamed without


def test_non_html_counted(crawl: dict[str, Any]) -> None:
    assert errors(crawl)["not_html"] == 1


def test_binary_garbage_counted_as_empty_article(crawl: dict[str, Any]) -> None:
    assert errors(crawl)["empty_article"] == 1


def test_lone_surrogate_in_json_ld_dropped_not_the_article(crawl: dict[str, Any]) -> None:
    assert crawl["records"]["/bai/json-ld-cut-1023.html"]["author"] == "Nguyễn Văn A"


def test_malformed_html_still_stored(crawl: dict[str, Any]) -> None:
    assert TEXT in crawl["records"]["/bai/vo-the-1010.html"]["body"]


def test_unclosed_h1_gives_way_to_the_declared_title(crawl: dict[str, Any]) -> None:
    assert crawl["records"]["/bai/h1-mo-1024.html"]["title"] == OPEN_TITLE


def test_unclosed_h1_leaves_the_article_in_the_body(crawl: dict[str, Any]) -> None:
    body = crawl["records"]["/bai/h1-mo-1024.html"]["body"]
    assert [text for text in ARTICLE if text not in body] == []


def test_unclosed_h1_without_a_declared_title_gives_its_first_line(
    crawl: dict[str, Any],
) -> None:
    assert crawl["records"]["/bai/h1-mo-khong-khai-1025.html"]["title"] == OPEN_TITLE


def test_unclosed_h1_without_a_declared_title_leaves_the_article_in_the_body(
    crawl: dict[str, Any],
) -> None:
    body = crawl["records"]["/bai/h1-mo-khong-khai-1025.html"]["body"]
    assert [text for text in ARTICLE if text not in body] == []


def test_unclosed_author_element_is_no_author(crawl: dict[str, Any]) -> None:
    assert crawl["records"]["/bai/tac-gia-mo-1026.html"]["author"] == ""


def test_unclosed_author_element_leaves_the_article_in_the_body(crawl: dict[str, Any]) -> None:
    body = crawl["records"]["/bai/tac-gia-mo-1026.html"]["body"]
    assert [text for text in ARTICLE if text not in body] == []


def test_unclosed_lead_does_not_repeat_the_article(crawl: dict[str, Any]) -> None:
    assert crawl["records"]["/bai/sapo-mo-1028.html"]["body"].count(ARTICLE[2]) == 1


def test_unclosed_date_element_gives_way_to_the_declared_date(crawl: dict[str, Any]) -> None:
    published = crawl["records"]["/bai/ngay-mo-1027.html"]["published_at"]
    assert datetime.fromisoformat(published) == datetime.fromisoformat(PAST)


@pytest.mark.parametrize("field", list(BIDI_PAGE_TEXT))
def test_bidirectional_controls_dropped_from_crawled_text(
    crawl: dict[str, Any], field: str
) -> None:
    value = crawl["records"]["/bai/chieu-nguoc-1029.html"][field]
    assert BIDI.search(value) is None  # the body has the lead in front of its own text
    assert " ".join(BIDI.sub("", BIDI_PAGE_TEXT[field]).split()) in value


def test_unclosed_category_element_gives_way_to_the_declared_section(
    crawl: dict[str, Any],
) -> None:
    assert crawl["records"]["/bai/chuyen-muc-mo-1030.html"]["category"] == SECTION


def test_unclosed_category_element_leaves_the_article_in_the_body(crawl: dict[str, Any]) -> None:
    body = crawl["records"]["/bai/chuyen-muc-mo-1030.html"]["body"]
    assert [text for text in ARTICLE if text not in body] == []


def test_unclosed_breadcrumb_link_is_no_category(crawl: dict[str, Any]) -> None:
    record = crawl["records"]["/bai/duong-dan-mo-1031.html"]
    assert (record["category"], record["rules"]["category"]) == (
        SECTION,
        "generic:jsonld:articleSection",
    )


def test_windows_1258_page_decoded(crawl: dict[str, Any]) -> None:
    assert crawl["records"]["/bai/ma-1258-1012.html"]["title"] == CP_TITLE


def test_windows_1258_text_is_nfc(crawl: dict[str, Any]) -> None:
    body = crawl["records"]["/bai/ma-1258-1012.html"]["body"]
    assert body == unicodedata.normalize("NFC", body) and TEXT in body


def test_wrong_declared_charset_decoded(crawl: dict[str, Any]) -> None:
    title = crawl["records"]["/bai/khai-sai-ma-1013.html"]["title"]
    assert title == "Khai sai bảng mã: Đắk Lắk"


def test_gzip_bomb_refused_and_counted(crawl: dict[str, Any]) -> None:
    assert errors(crawl)["gzip_bomb"] == 1


def test_future_date_not_stored(crawl: dict[str, Any]) -> None:
    assert crawl["records"]["/bai/tuong-lai-1015.html"]["published_at"] is None


def test_future_date_counted(crawl: dict[str, Any]) -> None:
    assert crawl["stats"]["counts"]["date/future"] == 1


def test_missing_date_stored_as_none(crawl: dict[str, Any]) -> None:
    assert crawl["records"]["/bai/khong-ngay-1016.html"]["published_at"] is None


def test_missing_date_counted(crawl: dict[str, Any]) -> None:
    assert crawl["stats"]["counts"]["date/missing"] == 2  # khong-ngay, and vo-the has no date


def test_date_source_recorded(crawl: dict[str, Any]) -> None:
    record = crawl["records"]["/bai/binh-thuong-1000.html"]
    assert record["date_source"] == "meta:article:published_time"


def test_retry_after_obeyed(crawl: dict[str, Any]) -> None:
    first, second = crawl["server"].hits_of("/thu/bai/cho-doi-1017.html")
    assert second.at - first.at >= 1.0


def test_retry_after_page_stored(crawl: dict[str, Any]) -> None:
    assert crawl["records"]["/bai/cho-doi-1017.html"]["title"] == "Đợi rồi mới đọc"


def test_retry_after_too_long_not_waited_for(crawl: dict[str, Any]) -> None:
    assert len(crawl["server"].hits_of("/thu/bai/cho-qua-lau-1018.html")) == 1


def test_retry_after_too_long_counted(crawl: dict[str, Any]) -> None:
    assert errors(crawl)["http_429"] == 1


def test_retry_waits_a_backoff(crawl: dict[str, Any]) -> None:
    first, second = crawl["server"].hits_of("/thu/bai/loi-roi-duoc-1019.html")
    assert second.at - first.at >= SETTINGS["RETRY_BACKOFF_BASE"]


def test_retried_page_stored(crawl: dict[str, Any]) -> None:
    assert crawl["records"]["/bai/loi-roi-duoc-1019.html"]["title"] == "Lỗi rồi được"


def test_robots_disallowed_page_not_fetched(crawl: dict[str, Any]) -> None:
    assert crawl["server"].hits_of("/thu/bai/cam-1020.html") == []


def test_robots_disallowed_counted(crawl: dict[str, Any]) -> None:
    assert errors(crawl)["robots_disallowed"] == 1


def test_meta_refresh_followed(crawl: dict[str, Any]) -> None:
    assert crawl["records"]["/bai/dich-1022.html"]["title"] == "Đích của meta refresh"


def test_one_request_at_a_time(crawl: dict[str, Any]) -> None:
    assert crawl["server"].most_in_flight == 1


def test_user_agent_names_the_contact(crawl: dict[str, Any]) -> None:
    (hit,) = crawl["server"].hits_of("/thu/bai/binh-thuong-1000.html")
    assert f"mailto:{CONTACT}" in hit.headers["User-Agent"]


def test_site_still_ok(crawl: dict[str, Any]) -> None:
    assert crawl["stats"]["status"] == "ok"


def test_raw_bytes_archived_as_served(crawl: dict[str, Any]) -> None:
    record = crawl["records"]["/bai/ma-1258-1012.html"]
    assert read_raw(crawl["raw"], record["raw_path"]) == ROUTES["/thu/bai/ma-1258-1012.html"].body


@pytest.mark.parametrize("path", ["/bai/ma-1258-1012.html", "/bai/khai-sai-ma-1013.html"])
def test_reextract_from_archive_gives_the_same_text(
    crawl: dict[str, Any], tmp_path: Path, path: str
) -> None:
    record = crawl["records"][path]
    (tmp_path / f"{SITE}.yaml").write_text(PROFILE, encoding="utf-8")
    raw = read_raw(crawl["raw"], record["raw_path"])
    again = page_record(
        load_profile(tmp_path / f"{SITE}.yaml"), record["url"], raw, record["content_type"]
    )
    assert again["content_hash"] == record["content_hash"]


def test_retry_after_as_an_http_date() -> None:
    response = HtmlResponse(
        "https://thu.test/", status=503, headers={"Retry-After": "Sat, 07 Mar 2026 01:00:30 GMT"}
    )
    now = datetime(2026, 3, 7, 1, 0, 0, tzinfo=timezone.utc)
    assert retry_after(response, now) == 30.0


def test_each_crawl_worker_call_runs_in_a_process_of_its_own() -> None:
    # A Scrapy reactor runs once per process: a worker reused for a second site group failed it.
    pids = in_processes(os.getpid, [(), (), ()])
    assert len(set(pids) | {os.getpid()}) == 4


LOG_TO_A_FULL_DISK = """
import logging
from pathlib import Path
from pipelines.crawl import log_to_file
log_to_file(Path("/dev/full"))
for n in range(3):
    logging.getLogger("congvu").warning("line %d", n)
"""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_log_file_that_cannot_be_written_is_said_once_in_one_line() -> None:
    # Every write to /dev/full fails with ENOSPC, as on a full disk: no traceback per record.
    result = subprocess.run(
        [sys.executable, "-c", LOG_TO_A_FULL_DISK],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    said = (
        "congvu: cannot write the log file /dev/full: No space left on device; "
        "logging to it stops\n"
    )
    assert (result.returncode, result.stderr) == (0, said)
