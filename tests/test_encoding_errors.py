"""Pages in a charset Python cannot decode (VISCII) are counted as encoding errors, not stored.

A real crawl (run_crawl in a child process) of a local server serving the same article in
UTF-8, in windows-1258 and in VISCII (bytes made by iconv: Python has no VISCII codec), once
declared and once not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from crawlers.encoding import looks_garbled
from tests.test_crawl_robustness import (
    PAST,
    PROFILE,
    SETTINGS,
    SITE,
    Reply,
    Server,
    page,
    run_crawl_job,
    to_cp1258,
)

TITLE = "Cán bộ xã né tránh, đùn đẩy việc giải quyết hồ sơ đất đai"
TEXT = [
    "Ủy ban nhân dân tỉnh yêu cầu chấn chỉnh tình trạng cán bộ né tránh, đùn đẩy công việc, gây "
    "phiền hà cho người dân và doanh nghiệp khi giải quyết thủ tục hành chính.",
    "Người đứng đầu các cơ quan phải rà soát hồ sơ tồn đọng và báo cáo trước ngày 30.",
]


def viscii(text: str) -> bytes:
    """text encoded in VISCII by iconv; skip without it (fail on CI, where it must work)."""
    iconv = shutil.which("iconv")
    if iconv is not None:
        done = subprocess.run(
            [iconv, "-f", "UTF-8", "-t", "VISCII"], input=text.encode(), capture_output=True
        )
        if done.returncode == 0:
            return done.stdout
    message = "iconv with a VISCII table is needed to build the test page"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Crawl the four versions of the article; keep the staged records by path and the stats."""
    tmp = tmp_path_factory.mktemp("encodings")
    (tmp / f"{SITE}.yaml").write_text(PROFILE, encoding="utf-8")
    routes = {
        "/bai/utf8-2001.html": Reply(200, {}, page(TITLE, TEXT, PAST).encode("utf-8")),
        "/bai/cp1258-2002.html": Reply(
            200,
            {"Content-Type": "text/html; charset=windows-1258"},
            to_cp1258(page(TITLE, TEXT, PAST, charset="windows-1258")),
        ),
        "/bai/viscii-khai-bao-2003.html": Reply(
            200,
            {"Content-Type": "text/html; charset=VISCII"},
            viscii(page(TITLE, TEXT, PAST, charset="VISCII")),
        ),
        "/bai/viscii-khong-khai-bao-2004.html": Reply(
            200,
            {"Content-Type": "text/html"},
            viscii(page(TITLE, TEXT, PAST).replace('<meta charset="utf-8">', "")),
        ),
    }
    server = Server()
    for path, reply in routes.items():
        server.add(f"/{SITE}{path}", reply)
    with server.serve() as origin:
        job = {
            "profile": str(tmp / f"{SITE}.yaml"),
            "run_dir": str(tmp / "run"),
            "raw_dir": str(tmp / "raw"),
            "urls": [f"https://thu.test{path}" for path in routes],
            "origin": origin + "/{site}",
        }
        result = run_crawl_job(tmp, origin, job, SETTINGS)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = (tmp / "run" / f"{SITE}.jsonl").read_text(encoding="utf-8").splitlines()
    records = {
        json.loads(line)["url"].removeprefix("https://thu.test"): json.loads(line) for line in lines
    }
    stats = json.loads((tmp / "run" / f"{SITE}.stats.json").read_text(encoding="utf-8"))
    return {"records": records, "stats": stats}


def test_viscii_pages_counted_as_encoding_errors(crawl: dict[str, Any]) -> None:
    assert crawl["stats"]["errors"].get("encoding") == 2


def test_viscii_pages_not_stored(crawl: dict[str, Any]) -> None:
    assert sorted(crawl["records"]) == ["/bai/cp1258-2002.html", "/bai/utf8-2001.html"]


def test_decodable_pages_stored_with_the_same_text(crawl: dict[str, Any]) -> None:
    titles = {record["title"] for record in crawl["records"].values()}
    assert titles == {TITLE}


def test_real_vietnamese_is_not_garbled() -> None:
    assert not looks_garbled(f"{TITLE}\n" + "\n".join(TEXT))
