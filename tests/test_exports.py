"""Excel and CSV for analysts: neutralised cells, Vietnamese columns, unlabelled articles."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from crawlers.text import BIDI
from nlp.classify import DEFAULT_MODEL
from pipelines.exports import FORMULA_STARTS, analyst_table, cell_text, neutralise
from pipelines.selection import Selection, article_rows
from tests.conftest import ROOT, ended_pid, measured_in_hundred, run_congvu
from tests.test_digest import (
    CHARGED,
    DECIDER,
    UNREAD_CELL,
    VKS_BINH_DUONG,
    crawl_page,
    digests,
    import_review,
    parse,
    retitle_to_decider,
    store_bidi,
    store_corpus,
    texts,
)

DEMO = json.loads((ROOT / "crawlers" / "demo" / "expected.json").read_text(encoding="utf-8"))
EVIL_TITLE = '=HYPERLINK("http://evil.example/x","Bấm vào đây")'
EVIL_AUTHOR = "@SUM(1+1)*cmd|' /C calc'!A0"
EVIL_SITE = "+Báo giả mạo"
# Every sentence starts with a formula character, so the evidence cell does too.
EVIL_PAGE = f"""<!doctype html><html><head><meta charset="utf-8">
<meta property="article:published_time" content="2026-11-20T08:00:00+07:00"></head><body>
<h1 class="title">{EVIL_TITLE.replace('"', "&quot;")}</h1>
<p class="author">{EVIL_AUTHOR}</p>
<div class="body">
<p>-Chủ tịch UBND xã Hưng Nguyên, tỉnh Nghệ An bị kỷ luật khiển trách vì né tránh, đùn đẩy
trách nhiệm, gây phiền hà, nhũng nhiễu người dân khi giải quyết hồ sơ đất đai.</p>
<p>+Cán bộ địa chính vi phạm quy chế văn hóa công vụ, gây phiền hà cho doanh nghiệp, bị kiểm
điểm nghiêm khắc.</p>
</div></body></html>
"""
SCORE = "Điểm của máy cho nhãn của máy (0–1, không phải xác suất nhãn đúng)"
SUBJECT = "Trong đó, người bị phê phán / người được khen"
AGENT = "Trong đó, người ra quyết định xử lý, chỉ đạo / người trao khen thưởng, biểu dương"
OTHERS = "Trong đó, người khác được nêu trong tiêu đề hoặc câu căn cứ của máy"
HEADERS = [
    "Ngày đăng", "Nguồn", "Tiêu đề", "Nhãn", "Nhãn của máy", "Nhãn của phân tích viên",
    "Ghi chú của phân tích viên", "Tỉnh, thành phố", "Người được nêu tên", SUBJECT, AGENT, OTHERS,
    "Cơ quan, tổ chức", "Câu căn cứ của máy", SCORE, "Tác giả", "Chuyên mục", "Số bản đăng",
    "Liên kết", "Mã tin", "Mã bài",
]  # fmt: skip
SHEETS = ["Tổng hợp", "Phê phán", "Khen ngợi", "Trung lập"]


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_formula_starts_are_neutralised(start: str) -> None:
    assert neutralise(f"{start}1+1") == f"'{start}1+1"


def test_other_values_are_left_alone() -> None:
    assert [neutralise(v) for v in ("Hà Nội", "a=b", "", -3, 0.5, None)] == [
        "Hà Nội", "a=b", "", -3, 0.5, None,
    ]  # fmt: skip


# Full-width and small signs (Apple Numbers folds them to ASCII, NFKC, and evaluates "＝2+2"),
# and signs behind blanks or invisible characters, which crawled text can hold.
@pytest.mark.parametrize(
    "text",
    ["＝1+1", "＋1+1", "－1+1", "＠SUM(1+1)", "﹦1+1", "﹢1+1", "﹣1+1", "﹫SUM(1+1)",
     "＝cmd|' /C calc'!A0", " =1+1", "\u00a0=1+1", "\u3000+1+1", "\n=1+1", "\u202e=1+1",
     "\u200b\ufeff@SUM(1+1)", " \u202e＝1+1"],
)  # fmt: skip
def test_formula_signs_in_disguise_are_neutralised(text: str) -> None:
    assert neutralise(text) == "'" + text


def test_text_merely_starting_with_blanks_or_wide_letters_is_left_alone() -> None:
    assert [neutralise(v) for v in (" Hà Nội", "\u202eHà Nội", "Ｈà Nội 1=1", "１+1")] == [
        " Hà Nội", "\u202eHà Nội", "Ｈà Nội 1=1", "１+1",
    ]  # fmt: skip


def test_characters_a_workbook_cannot_hold_are_replaced_not_dropped() -> None:
    assert cell_text("a\x00b\x1fc\td") == "a\ufffdb\ufffdc\td"


@pytest.fixture(scope="module")
def evil(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder after a real crawl of a page whose title, author and text are formulas."""
    data_dir = tmp_path_factory.mktemp("evil")
    crawl_page(data_dir, EVIL_PAGE, EVIL_SITE)
    return data_dir


def exported(data_dir: Path, fmt: str, *extra: str) -> Path:
    """Run `congvu export` into data_dir/out.<fmt>; return the file."""
    target = data_dir / f"out.{fmt}"
    result = run_congvu(
        "export", "--data-dir", str(data_dir), "--format", fmt, "--output", str(target), *extra
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def cells(target: Path) -> list[openpyxl.cell.Cell]:
    """Every non-empty cell of every sheet."""
    book = openpyxl.load_workbook(target)
    return [c for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]


def test_xlsx_holds_no_formula(evil: Path) -> None:
    found = cells(exported(evil, "xlsx"))
    assert [c.coordinate for c in found if c.data_type == "f"] == []
    live = [
        c.value for c in found if isinstance(c.value, str) and c.value.startswith(FORMULA_STARTS)
    ]
    assert live == []


def test_xlsx_keeps_hostile_text_readable(evil: Path) -> None:
    sheet = openpyxl.load_workbook(exported(evil, "xlsx"))["Phê phán"]
    row = dict(zip(HEADERS, [c.value for c in sheet[2]], strict=True))
    assert (row["Tiêu đề"], row["Tác giả"], row["Nguồn"]) == (
        "'" + EVIL_TITLE, "'" + EVIL_AUTHOR, "'" + EVIL_SITE,
    )  # fmt: skip
    assert row["Câu căn cứ của máy"][:2] in ("'-", "'+")
    assert row["Tỉnh, thành phố"] == "Nghệ An"


def test_csv_holds_no_formula(evil: Path) -> None:
    with exported(evil, "csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    fields = [v for row in rows for v in row.values()]
    assert [v for v in fields if v.startswith(FORMULA_STARTS)] == []
    assert (rows[0]["Tiêu đề"], rows[0]["Tác giả"]) == ("'" + EVIL_TITLE, "'" + EVIL_AUTHOR)
    assert rows[0]["Câu căn cứ của máy"][:2] in ("'-", "'+")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder after one demo run."""
    data_dir = tmp_path_factory.mktemp("demo")
    result = run_congvu("demo", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    return data_dir


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_articles_a_model_has_not_labelled_are_exported_with_no_label(demo: Path, fmt: str) -> None:
    """tfidf-lr-2 labelled none of the demo's articles: the issue's `TypeError` is gone."""
    target = demo / f"unlabelled.{fmt}"
    result = run_congvu(
        "export", "--data-dir", str(demo), "--model", "tfidf-lr-2", "--format", fmt,
        "--output", str(target),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    total = len(DEMO["articles"])
    assert f"{total} articles (tfidf-lr-2 labels; {total} without one)" in result.stdout
    if fmt == "csv":
        with target.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
        assert [(r["Nhãn"], r["Nhãn của máy"]) for r in rows] == [("", "")] * total
    else:
        book = openpyxl.load_workbook(target)
        assert book.sheetnames == [*SHEETS, "Chưa có nhãn"]
        assert book["Chưa có nhãn"].max_row == total + 1
        summary = {r[0]: r[1] for r in book["Tổng hợp"].iter_rows(values_only=True) if r[0]}
        assert summary["Chưa có nhãn"] == total


@pytest.fixture(scope="module")
def report(demo: Path) -> Path:
    """`congvu report --format xlsx` over the demo's month, with its default file name."""
    result = run_congvu(
        "report", "--data-dir", str(demo), "--format", "xlsx",
        "--from", "2026-11-01", "--to", "2026-11-30",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return demo / "reports" / "bao-cao_2026-11-01_2026-11-30.xlsx"


def test_report_file_name_says_the_date_range(report: Path) -> None:
    assert report.is_file()


def test_workbook_has_a_summary_and_a_sheet_per_label(report: Path) -> None:
    book = openpyxl.load_workbook(report)
    assert book.sheetnames == SHEETS
    rows = {r[0]: r[1:3] for r in book["Tổng hợp"].iter_rows(values_only=True) if r[0]}
    for name, label in zip(SHEETS[1:], ("criticism", "praise", "neutral"), strict=True):
        n = sum(a["label"] == label for a in DEMO["articles"])
        assert rows[name] == (n, n)
        assert book[name].max_row == n + 1
    assert rows["Từ ngày"][0] == "01/11/2026" and rows["Đến ngày"][0] == "30/11/2026"


def test_evidence_cells_leave_out_the_headline(report: Path) -> None:
    sheet = openpyxl.load_workbook(report)["Phê phán"]
    rows = [dict(zip(HEADERS, [c.value for c in r], strict=True)) for r in sheet.iter_rows(2)]
    headlines = [r["Tiêu đề"] for r in rows if r["Tiêu đề"] in r["Câu căn cứ của máy"].split("\n")]
    assert headlines == []


def test_workbook_says_how_many_of_its_labels_are_right(report: Path) -> None:
    right = measured_in_hundred(DEFAULT_MODEL)
    summary = openpyxl.load_workbook(report)["Tổng hợp"]
    rows = {r[0]: r[1] for r in summary.iter_rows(values_only=True)}
    said = rows["Độ tin cậy của nhãn"]
    assert (
        f"gán nhãn phê phán thì khoảng {right['criticism']} bài đúng" in said,
        f"gán nhãn khen ngợi thì khoảng {right['praise']} bài đúng" in said,
    ) == (True, True), said


def test_article_sheets_are_ready_to_filter_and_click(report: Path) -> None:
    sheet = openpyxl.load_workbook(report)["Phê phán"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("A2", f"A1:U{sheet.max_row}")
    assert sheet.column_dimensions["C"].width == 60
    by_header = dict(zip(HEADERS, sheet[2], strict=True))
    assert by_header["Nhãn"].value == by_header["Nhãn của máy"].value == "Phê phán"
    assert by_header["Ngày đăng"].number_format == "dd/mm/yyyy"
    url = by_header["Liên kết"].value
    assert url.startswith("http://demo.congvu.invalid/tin-tuc/")
    assert by_header["Tiêu đề"].hyperlink.target == by_header["Liên kết"].hyperlink.target == url


def test_score_column_says_it_is_the_machine_s_score_of_its_label_not_a_probability(
    report: Path,
) -> None:
    header = [c.value for c in openpyxl.load_workbook(report)["Phê phán"][1]]
    assert SCORE in header


def test_score_cells_show_two_decimals_as_the_review_sheet(report: Path) -> None:
    sheet = openpyxl.load_workbook(report)["Phê phán"]
    score = sheet.cell(2, HEADERS.index(SCORE) + 1)
    assert score.number_format == "0.00"


def test_analyst_label_column_names_the_analyst_not_an_official(report: Path) -> None:
    header = [c.value for c in openpyxl.load_workbook(report)["Phê phán"][1]]
    assert "Nhãn của phân tích viên" in header


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_article_without_a_province_says_so(demo: Path, fmt: str) -> None:
    """No demo article names a real province: the cell says so, as the digest, not blank."""
    target = exported(demo, fmt)
    if fmt == "csv":
        with target.open(encoding="utf-8-sig", newline="") as f:
            provinces = {r["Tỉnh, thành phố"] for r in csv.DictReader(f)}
    else:
        sheet = openpyxl.load_workbook(target)["Phê phán"]
        provinces = {
            r[HEADERS.index("Tỉnh, thành phố")] for r in sheet.iter_rows(2, None, values_only=True)
        }
    assert provinces == {"Không xác định được tỉnh"}


def test_entity_columns_filled_from_the_database(report: Path) -> None:
    sheet = openpyxl.load_workbook(report)["Khen ngợi"]
    rows = list(sheet.iter_rows(2, None, values_only=True))
    for header in ("Người được nêu tên", "Cơ quan, tổ chức"):
        assert any(row[HEADERS.index(header)] for row in rows), header


def test_people_the_evidence_names_have_their_column(report: Path) -> None:
    sheet = openpyxl.load_workbook(report)["Phê phán"]
    rows = list(sheet.iter_rows(2, None, values_only=True))
    quoted = {row[HEADERS.index("Tiêu đề")]: row[HEADERS.index(SUBJECT)] for row in rows}
    reprimand = next(title for title in quoted if title.startswith("Khiển trách công chức"))
    assert quoted[reprimand] == "Đỗ Văn K."


def test_an_export_without_a_file_name_never_overwrites_an_earlier_one(demo: Path) -> None:
    for _ in range(2):
        result = run_congvu("export", "--data-dir", str(demo), "--format", "csv")
        assert result.returncode == 0, result.stdout + result.stderr
    names = sorted(path.name for path in (demo / "exports").glob("articles_*.csv"))
    assert len(names) == 2, names
    assert names[0].startswith("articles_start_20"), names


def test_a_killed_export_s_unfinished_file_is_removed_by_the_next(
    demo: Path, tmp_path: Path
) -> None:
    data_dir = shutil.copytree(demo, tmp_path / "data")  # the other tests count demo's exports
    left = data_dir / "exports" / f"articles_start_2026-01-01.{ended_pid()}.partial.csv"
    left.parent.mkdir(parents=True, exist_ok=True)
    left.write_text("half an export")
    result = run_congvu("export", "--data-dir", str(data_dir), "--format", "csv")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not left.exists()


def test_stored_bidi_controls_left_out_of_the_cells(demo: Path, tmp_path: Path) -> None:
    """Rows stored before the crawl dropped U+202E: a cell would show its text reversed."""
    db = tmp_path / "congvu.duckdb"
    shutil.copyfile(demo / "congvu.duckdb", db)
    con = duckdb.connect(str(db))
    try:
        title, source = store_bidi(con)
        table = analyst_table(article_rows(con, Selection(DEFAULT_MODEL)))
    finally:
        con.close()
    assert [v for v in table.to_numpy().ravel() if isinstance(v, str) and BIDI.search(v)] == []
    assert [title, source] in table[["title", "source"]].to_numpy().tolist()


@pytest.fixture(scope="module")
def relabelled(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo data folder after an analyst relabelled one neutral story criticism: the folder
    and the story's title."""
    data_dir = tmp_path_factory.mktemp("relabelled")
    shutil.copytree(demo, data_dir, dirs_exist_ok=True)
    with duckdb.connect(str(data_dir / "congvu.duckdb")) as con:
        article_id, title = con.execute(
            "SELECT a.article_id, a.title FROM articles a JOIN classifications c USING "
            "(article_id) WHERE c.label = 'neutral' AND c.model_id = ? ORDER BY 1 LIMIT 1",
            [DEFAULT_MODEL],
        ).fetchone()
        con.execute(
            "INSERT INTO labels (article_id, label, reviewer, labelled_at) "
            "VALUES (?, 'criticism', 'Lan', now())",
            [article_id],
        )
    return data_dir, title


def test_csv_gives_the_current_label_and_keeps_the_model_s(relabelled: tuple[Path, str]) -> None:
    """Its columns are the workbook's: Nhãn is the label the digest and sheets go by."""
    data_dir, title = relabelled
    with exported(data_dir, "csv").open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == HEADERS
    (row,) = [r for r in rows if r["Tiêu đề"] == title]
    labels = ("Nhãn", "Nhãn của máy", "Nhãn của phân tích viên")
    assert [row[k] for k in labels] == ["Phê phán", "Trung lập", "Phê phán"]
    criticism = sum(a["label"] == "criticism" for a in DEMO["articles"])
    assert sum(r["Nhãn"] == "Phê phán" for r in rows) == criticism + 1


def test_parquet_gives_the_current_label_and_keeps_the_model_s(
    relabelled: tuple[Path, str],
) -> None:
    data_dir, title = relabelled
    frame = pd.read_parquet(exported(data_dir, "parquet")).set_index("title")
    labels = ["current_label", "label", "analyst_label"]
    assert frame.loc[title, labels].tolist() == ["criticism", "neutral", "criticism"]


# The second audit's rows: a reprimand the machine labelled criticism (score 1.00) that an analyst
# moved to neutral, a neutral meeting (score 0.78 for neutral) moved into criticism, and a praise
# story the analyst confirmed.
OUT_OF_CRITICISM = "Khiển trách công chức địa chính xã Tân Phú"
INTO_CRITICISM = "UBND tỉnh Hòa An họp phiên thường kỳ"
NOTE = "-họp nhưng chậm triển khai"  # an analyst's note, read as a formula unless neutralised
CONFIRMED = "Tuyên dương nữ công chức bộ phận một cửa"
AWARD = "Tặng Bằng khen cho Chủ tịch UBND xã Mỹ Lộc"


@pytest.fixture(scope="module")
def imported(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data folder after an analyst's review file was imported (`congvu review
    import`): two stories relabelled, one confirmed."""
    data_dir = tmp_path_factory.mktemp("imported")
    shutil.copytree(demo, data_dir, dirs_exist_ok=True)
    picks = {OUT_OF_CRITICISM: "Trung lập", INTO_CRITICISM: "Phê phán", CONFIRMED: "Khen ngợi"}
    assert "3 labels imported" in import_review(data_dir, picks, {INTO_CRITICISM: NOTE})
    return data_dir


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_relabelled_row_gives_the_analysts_note(imported: Path, fmt: str) -> None:
    """Why the analyst moved the story travels with it; a note opening with "-" stays text."""
    row = row_of(exported_rows(exported(imported, fmt)), INTO_CRITICISM)
    assert row["Ghi chú của phân tích viên"] == "'" + NOTE


def exported_rows(target: Path) -> list[dict]:
    """The rows of an exported CSV, or of every article sheet of a workbook (with its sheet's
    name), as {header: text}, an empty cell as ""."""
    if target.suffix == ".csv":
        with target.open(encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))
    rows = []
    for sheet in openpyxl.load_workbook(target).worksheets[1:]:
        header = [c.value for c in sheet[1]]
        for values in sheet.iter_rows(min_row=2, values_only=True):
            row = {h: "" if v is None else str(v) for h, v in zip(header, values, strict=True)}
            rows.append({**row, "sheet": sheet.title})
    return rows


def row_of(rows: list[dict], title: str) -> dict:
    """The one row whose title starts so."""
    (row,) = [r for r in rows if r["Tiêu đề"].startswith(title)]
    return row


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_relabelled_row_says_its_evidence_and_score_are_the_machine_s(
    imported: Path, fmt: str
) -> None:
    """As the digest card: the sentences argue the machine's label, the score is for it."""
    rows = exported_rows(exported(imported, fmt))
    out, into, confirmed = (row_of(rows, t) for t in (OUT_OF_CRITICISM, INTO_CRITICISM, CONFIRMED))
    labels = ("Nhãn", "Nhãn của máy", "Nhãn của phân tích viên")
    assert [out[k] for k in labels] == ["Trung lập", "Phê phán", "Trung lập"]
    assert out.get("sheet", "Trung lập") == "Trung lập"
    lead, *sentences = out["Câu căn cứ của máy"].split("\n")
    assert lead == (
        "Các câu dưới đây là căn cứ máy dùng khi gán nhãn Phê phán, không phải căn cứ cho nhãn "
        "Trung lập của phân tích viên:"
    )
    assert any("bị kỷ luật khiển trách" in sentence for sentence in sentences)
    assert float(out[SCORE]) == 1.0
    assert [into[k] for k in labels] == ["Phê phán", "Trung lập", "Phê phán"]
    assert into["Câu căn cứ của máy"] == (
        "Nhãn Phê phán là quyết định của phân tích viên; máy không có câu căn cứ nào cho nhãn này."
    )
    assert float(into[SCORE]) == 0.78
    assert confirmed["Câu căn cứ của máy"].startswith("Trao Bằng khen cho chị Ánh")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_people_are_split_by_role_as_on_the_digest_card(imported: Path, fmt: str) -> None:
    """The one praised apart from the official who handed out the award; a relabelled row reads
    roles from its headline only (none here), as its card does, and names no one as named in
    the machine's sentences: those argue the machine's label."""
    rows = exported_rows(exported(imported, fmt))
    award, confirmed, out = (row_of(rows, t) for t in (AWARD, CONFIRMED, OUT_OF_CRITICISM))
    roles = (SUBJECT, AGENT, OTHERS)
    assert [award[k] for k in roles] == ["Nguyễn Hữu Thành", "Vũ Minh Đức", ""]
    assert award["Người được nêu tên"] == "Nguyễn Hữu Thành, Lý Thu Trang, Vũ Minh Đức"
    assert [confirmed[k] for k in roles] == ["Trương Thị Ngọc Ánh", "Lâm Quang Vinh", ""]
    assert [out[k] for k in roles] == ["", "", ""]
    cards = parse(digests(imported)[0]).xpath("//article")
    (card,) = [c for c in cards if texts(c, "h3")[0].startswith(AWARD)]
    lines = texts(card, "p[@class='meta']")
    for line in (
        "Người được khen: Nguyễn Hữu Thành",
        "Người trao khen thưởng, biểu dương: Vũ Minh Đức",
    ):
        assert line in lines


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_row_only_an_analyst_called_criticism_says_the_machine_did_not_read_who_is_criticised(
    imported: Path, fmt: str
) -> None:
    """The chairman the meeting story names is not the one criticised."""
    into = row_of(exported_rows(exported(imported, fmt)), INTO_CRITICISM)
    assert [into[k] for k in (SUBJECT, AGENT, OTHERS)] == [UNREAD_CELL, "", ""]


@pytest.fixture(scope="module")
def from_praise(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data folder after an analyst moved a praise story into criticism (`congvu review
    import`)."""
    data_dir = tmp_path_factory.mktemp("from_praise")
    shutil.copytree(demo, data_dir, dirs_exist_ok=True)
    assert "1 labels imported" in import_review(data_dir, {CONFIRMED: "Phê phán"})
    return data_dir


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_row_moved_from_praise_names_no_one_as_named_in_the_machines_sentences(
    from_praise: Path, fmt: str
) -> None:
    """Its sentences argue praise: under criticism, their people read as the criticised."""
    moved = row_of(exported_rows(exported(from_praise, fmt)), CONFIRMED)
    assert [moved[k] for k in (SUBJECT, AGENT, OTHERS)] == [UNREAD_CELL, "", ""]


@pytest.fixture(scope="module")
def decider(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data folder after an analyst moved the praise story headlined DECIDER into
    criticism (`congvu review import`)."""
    data_dir = tmp_path_factory.mktemp("decider")
    shutil.copytree(demo, data_dir, dirs_exist_ok=True)
    retitle_to_decider(data_dir)
    assert "1 labels imported" in import_review(data_dir, {DECIDER: "Phê phán"})
    return data_dir


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_row_moved_from_praise_names_no_one_as_the_one_who_decided_a_sanction(
    decider: Path, fmt: str
) -> None:
    """Its headline, read for criticism, gives the machine's one who handed out the award as
    the decider and no one criticised: the row says the machine did not read who is, and names
    no decider."""
    moved = row_of(exported_rows(exported(decider, fmt)), DECIDER)
    assert [moved[k] for k in (SUBJECT, AGENT, OTHERS)] == [UNREAD_CELL, "", ""]


def test_headers_say_whose_label_evidence_and_score_in_the_digest_s_words(report: Path) -> None:
    """Not "câu trích" (a quotation), "câu làm căn cứ" or "mô hình" beside "máy"."""
    book = openpyxl.load_workbook(report)
    header = [c.value for c in book["Phê phán"][1]]
    said = " ".join(header).lower()
    assert ("câu trích" in said, "làm căn cứ" in said, "mô hình" in said) == (False, False, False)
    summary = [r[0] for r in book["Tổng hợp"].iter_rows(values_only=True) if r[0]]
    assert "Mô hình máy dùng" in summary
    assert not [line for line in summary if "câu làm căn cứ" in line or "câu trích" in line]


def test_summary_says_its_source_table_counts_articles(report: Path) -> None:
    summary = [r[0] for r in openpyxl.load_workbook(report)["Tổng hợp"].iter_rows(values_only=True)]
    assert "Nguồn (số bài, không phải số tin)" in summary


def test_summary_says_an_undated_article_carries_its_fetch_day(report: Path) -> None:
    summary = [r[0] for r in openpyxl.load_workbook(report)["Tổng hợp"].iter_rows(values_only=True)]
    assert [line for line in summary if line and "bài không ghi ngày đăng mang ngày máy" in line]


@pytest.fixture(scope="module")
def corpus_rows(
    demo: Path, shared_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, dict]]:
    """The exported rows (CSV and workbook) of the digest tests' corpus articles (store_corpus),
    by format and article."""
    data_dir = tmp_path_factory.mktemp("corpus")
    shutil.copyfile(demo / "congvu.duckdb", data_dir / "congvu.duckdb")
    con = duckdb.connect(str(data_dir / "congvu.duckdb"))
    try:
        titles = store_corpus(con, shared_dir)
    finally:
        con.close()
    found = {}
    for fmt in ("csv", "xlsx"):
        rows = exported_rows(exported(data_dir, fmt))
        found[fmt] = {corpus_id: row_of(rows, title) for corpus_id, title in titles.items()}
    return found


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_bodys_variants_are_one_name_in_its_cell_as_on_its_card(
    corpus_rows: dict, fmt: str
) -> None:
    """Its variants ("VKS Bình Dương", "VKSND tỉnh Bình Dương") are one body, its fullest name."""
    assert corpus_rows[fmt][VKS_BINH_DUONG]["Cơ quan, tổ chức"] == "VKSND tỉnh Bình Dương"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_role_cell_lists_every_name_its_card_cuts(corpus_rows: dict, fmt: str) -> None:
    """Its card shows five of the 13 people charged its evidence names and says the file has all."""
    assert corpus_rows[fmt][CHARGED][OTHERS].split(", ") == [
        "Huỳnh Văn Vỹ", "Lê Văn Tèo", "Nguyễn Tấn Tài", "Nguyễn Văn Chiến", "Nguyễn Văn Khởi",
        "Nguyễn Văn Mến", "Ngô Văn Toàn", "Phan Văn Tạo", "Phạm Văn Lập", "Trần Thanh Dân",
        "Đỗ Duy Dương", "Đỗ Hồng Duy Trí", "Đỗ Út Mười",
    ]  # fmt: skip
