"""The review loop: stories for analysts to check (xlsx), and their labels back into `labels`."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.datavalidation import DataValidation

from nlp.classify import LABELS
from pipelines.checkpoints import checkpoint
from pipelines.digest import digests_showing, safe_url, shown, without_headline, write_digest
from pipelines.exports import (
    ANALYST_LABEL,
    EVIDENCE,
    MODEL_LABEL,
    MODEL_USED,
    SCORE,
    UNDATED_NOTE,
    cell_text,
    claim_name,
    export_stem,
    neutralise,
    unnamed_export,
)
from pipelines.lake import begin, retried, rollback
from pipelines.paths import DataPaths
from pipelines.selection import EVIDENCE_TEXT, readable
from pipelines.snapshot import writing
from pipelines.store import existing_db, open_db
from pipelines.vietnamese import LABEL_NAMES, province_name

SHEET = "Cần xem lại"
# (field, header, width): the review sheet's columns in order. The import needs only ID_COLUMNS.
COLUMNS = (
    ("article_id", "Mã bài", 14),
    ("title", "Tiêu đề", 50),
    ("source", "Nguồn", 22),
    ("province", "Tỉnh, thành phố", 16),
    ("published", "Ngày đăng", 12),
    ("model_label", MODEL_LABEL, 14),
    ("certainty", SCORE, 16),
    ("evidence", EVIDENCE, 70),
    ("url", "Liên kết", 30),
    ("model_id", MODEL_USED, 16),
    ("label", ANALYST_LABEL, 14),
    ("note", "Ghi chú", 40),
)
HEADER = {field: header for field, header, _ in COLUMNS}
ID_COLUMNS = ("article_id", "model_id", "model_label", "label", "note")
# The headers sheets exported before the second audit gave the columns the import reads: such a
# sheet, maybe half filled in, still imports.
EARLIER_HEADERS = {"model_id": ("Mô hình",), "label": ("Nhãn đúng",)}
HELP_LINES = (
    "Mỗi dòng là một tin mà máy ít chắc chắn nhất về nhãn đã gán; tin máy ít chắc chắn nhất xếp "
    f"trước. Cột điểm (0–1) là điểm máy tự chấm cho nhãn ở cột «{MODEL_LABEL}», không phải xác "
    "suất nhãn đúng.",
    f"Đọc tiêu đề, các câu căn cứ của máy (những câu máy dùng khi gán nhãn ở cột «{MODEL_LABEL}») "
    f"và bài gốc (cột «Liên kết»), rồi chọn nhãn đúng ở cột «{ANALYST_LABEL}» từ danh sách: "
    "Khen ngợi, Phê phán hoặc Trung lập.",
    UNDATED_NOTE,
    f"Có thể ghi chú lý do ở cột «Ghi chú». Dòng để trống cột «{ANALYST_LABEL}» được bỏ qua.",
    f"Không sửa các cột «Mã bài», «{MODEL_USED}», «{MODEL_LABEL}»; không đổi tên các cột.",
    "Xong, lưu tệp rồi gửi cho bộ phận kỹ thuật để nhập nhãn vào cơ sở dữ liệu, kèm tên người "
    "đã duyệt.",
)


def review_candidates(
    db: Path, model_id: str, start: date | None, end: date | None, limit: int
) -> pd.DataFrame:
    """One copy per story not yet reviewed, in [start, end], least sure of model_id's label first.

    How sure: the model's highest score (the one of the label it gave). A story whose copy an
    analyst already labelled is left out; dates are Vietnam dates (fetch date when undated).
    """
    with open_db(db, read_only=True) as con:
        rows = con.execute(
            f"""
            WITH reviewed AS (
                SELECT DISTINCT story_id AS story FROM story_labels
            ), candidates AS (
                SELECT a.article_id, a.title, coalesce(si.title, a.site) AS source, p.province,
                       CAST(coalesce(a.published_at, a.fetched_at) AS DATE) AS published,
                       coalesce(a.published_at, a.fetched_at) AS dated,
                       c.label AS model_label,
                       greatest(c.score_praise, c.score_criticism, c.score_neutral) AS certainty,
                       c.evidence, {EVIDENCE_TEXT}, a.url, c.model_id,
                       coalesce(s.story_id, a.article_id) AS story
                FROM articles a
                JOIN classifications c ON c.article_id = a.article_id AND c.model_id = ?
                LEFT JOIN sites si ON si.site = a.site
                LEFT JOIN article_places p ON p.article_id = a.article_id
                LEFT JOIN article_stories s ON s.article_id = a.article_id
                WHERE CAST(coalesce(a.published_at, a.fetched_at) AS DATE)
                      BETWEEN coalesce(?::DATE, DATE '-infinity')
                      AND coalesce(?::DATE, DATE 'infinity')
            )
            SELECT * EXCLUDE (story, dated) FROM candidates
            WHERE story NOT IN (SELECT story FROM reviewed)
            QUALIFY row_number() OVER (PARTITION BY story ORDER BY certainty, article_id) = 1
            ORDER BY certainty, dated DESC, article_id
            LIMIT ?
            """,
            [model_id, start, end, limit],
        ).df()
    return readable(rows)


def write_review_sheet(frame: pd.DataFrame, target: Path) -> Path:
    """Write the stories to check as an xlsx: drop-down labels, a note column, a help sheet."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append([header for _, header, _ in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in frame.itertuples(index=False):
        values = {
            "article_id": row.article_id,
            "title": row.title or "",
            "source": row.source or "",
            "province": province_name(row.province),
            "published": row.published,
            "model_label": LABEL_NAMES[row.model_label],
            "certainty": round(float(row.certainty), 2),  # as the workbook shows it
            "evidence": "\n".join(without_headline(row.evidence, row.title)),
            "url": row.url,
            "model_id": row.model_id,
            "label": None,
            "note": None,
        }
        # Bidi controls of rows stored before the crawl dropped them go, as in the other sheets.
        sheet.append([cell_text(neutralise(shown(v))) for v in (values[f] for f, *_ in COLUMNS)])
        sheet.cell(sheet.max_row, _column("published")).number_format = "DD/MM/YYYY"
        sheet.cell(sheet.max_row, _column("certainty")).number_format = "0.00"
        link = sheet.cell(sheet.max_row, _column("url"))
        if safe_url(row.url):
            link.hyperlink = row.url
            link.style = "Hyperlink"
    last = max(sheet.max_row, 2)
    choices = DataValidation(
        type="list",
        formula1='"' + ",".join(LABEL_NAMES[label] for label in LABELS) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Nhãn không hợp lệ",
        error="Chọn một trong: " + ", ".join(LABEL_NAMES[label] for label in LABELS),
    )
    letter = sheet.cell(1, _column("label")).column_letter
    choices.add(f"{letter}2:{letter}{last}")
    sheet.add_data_validation(choices)
    for index, (field, _, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = width
        if field in ("title", "evidence", "note"):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = sheet.dimensions
    help_sheet = book.create_sheet("Hướng dẫn")
    for line in HELP_LINES:
        help_sheet.append([line])
    help_sheet.column_dimensions["A"].width = 110
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    book.save(partial)
    partial.replace(target)
    return target


def _column(field: str) -> int:
    """The 1-based column number of a field in the review sheet."""
    return [f for f, *_ in COLUMNS].index(field) + 1


def export_review(
    paths: DataPaths,
    model_id: str,
    start: date | None,
    end: date | None,
    limit: int,
    target: Path | None = None,
) -> tuple[Path, int]:
    """Write the review sheet of the published database; return the file and its story count."""
    if limit < 1:
        raise ValueError(f"--uncertain must be at least 1, not {limit}")
    frame = review_candidates(paths.db, model_id, start, end, limit)
    if target is not None:
        return write_review_sheet(frame, target), len(frame)
    stem = export_stem(f"review-{model_id}-", start, end)
    written = write_review_sheet(frame, unnamed_export(paths, stem, ".xlsx"))
    return claim_name(written, paths.exports, stem, ".xlsx"), len(frame)


class ReviewFileError(ValueError):
    """A review file that cannot be imported; the message names the rows at fault."""


@dataclass(frozen=True)
class ReviewedRow:
    """One filled-in row of a review sheet."""

    row: int  # the spreadsheet's row number, as the analyst sees it
    article_id: str
    label: str  # praise | criticism | neutral
    note: str | None
    model_id: str | None
    model_label: str | None


@dataclass(frozen=True)
class ImportResult:
    """What `review import` did with a file."""

    imported: int  # rows appended to labels
    stories: int  # stories whose label they set: each of their copies has it (story_labels)
    copies: int  # the copies of those stories
    unchanged: int  # rows equal to the article's current analyst label (skipped)
    blank: int  # rows without a chosen label (not reviewed)
    digests: list[Path]  # digests rewritten because they show an article whose label changed


def _text(value: object) -> str:
    """A cell's value as stripped NFC text (empty for an empty cell)."""
    if value is None:
        return ""
    return unicodedata.normalize("NFC", str(value)).strip()


_BY_NAME = {unicodedata.normalize("NFC", n).casefold(): k for k, n in LABEL_NAMES.items()}


def _label(value: object) -> str | None:
    """The label (praise, ...) of a Vietnamese label name, or None when it is not one."""
    return _BY_NAME.get(_text(value).casefold())


def sheet_rows(path: Path, data_only: bool) -> list[tuple]:
    """The review sheet's rows as values: saved results of formulas, or the formulas' text."""
    try:
        book = load_workbook(path, read_only=True, data_only=data_only)
    except FileNotFoundError:
        raise
    except Exception as exc:  # openpyxl raises several kinds for a file that is not an xlsx
        raise ReviewFileError(f"{path}: not an xlsx workbook ({exc})") from exc
    try:
        sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
        return list(sheet.iter_rows(values_only=True))
    finally:
        book.close()


def column_at(headers: list[str], field: str) -> int | None:
    """Where the review sheet's headers hold a field: its header now, or one it had before."""
    names = (HEADER[field], *EARLIER_HEADERS.get(field, ()))
    return next((i for i, header in enumerate(headers) if header in names), None)


def read_review_file(path: Path) -> tuple[list[ReviewedRow], int]:
    """The rows of a filled-in review sheet, checked; and the count of rows left blank.

    Refuses (ReviewFileError naming every row at fault) missing columns, empty ids, labels
    outside the three names, a note without a label, and one article given two different labels
    or notes. Rows repeated identically count once.
    """
    rows = sheet_rows(path, data_only=True)
    # A formula's value is what the file saved with it; a program that does not compute
    # formulas saves none, and the label would read as blank: such a cell is refused.
    formulas = sheet_rows(path, data_only=False)
    headers = [_text(h) for h in rows[0]] if rows else []
    at = {f: column_at(headers, f) for f in ID_COLUMNS}
    missing = [HEADER[f] for f, i in at.items() if i is None]
    if missing:
        raise ReviewFileError(
            f"{path}: missing columns {', '.join(missing)} (the first row of sheet "
            f"{SHEET!r} must keep the headers `congvu review export` wrote)"
        )
    named = {f: headers[i] for f, i in at.items()}  # as the file heads them, in the messages
    names = ", ".join(LABEL_NAMES[label] for label in LABELS)
    problems: list[str] = []
    found: dict[str, ReviewedRow] = {}
    blank = 0
    for number, (values, written) in enumerate(zip(rows[1:], formulas[1:], strict=True), start=2):
        cells = {f: _text(values[i]) if i < len(values) else "" for f, i in at.items()}
        unsaved = [
            named[f]
            for f, i in at.items()
            if i < len(values) and values[i] is None and str(written[i] or "").startswith("=")
        ]
        if unsaved:
            problems.append(
                f"row {number}: {', '.join(unsaved)} holds a formula with no saved value "
                "(open the file in Excel or LibreOffice and save it, or type the value)"
            )
            continue
        if not any(_text(v) for v in values):
            continue
        if not cells["label"]:
            blank += 1
            if cells["note"]:
                problems.append(f"row {number}: a note but no label in {named['label']}")
            continue
        label = _label(cells["label"])
        if label is None:
            problems.append(
                f"row {number}: {named['label']} {cells['label']!r} is not one of {names}"
            )
            continue
        if not cells["article_id"]:
            problems.append(f"row {number}: no article id in {named['article_id']}")
            continue
        model_label = _label(cells["model_label"]) if cells["model_label"] else None
        if cells["model_label"] and model_label is None:
            problems.append(
                f"row {number}: {named['model_label']} {cells['model_label']!r} is not one "
                f"of {names}"
            )
            continue
        row = ReviewedRow(
            number,
            cells["article_id"],
            label,
            cells["note"] or None,
            cells["model_id"] or None,
            model_label,
        )
        earlier = found.get(row.article_id)
        if earlier is None:
            found[row.article_id] = row
        elif (earlier.label, earlier.note) != (row.label, row.note):
            problems.append(
                f"rows {earlier.row} and {number}: article {row.article_id} is given two "
                "different labels or notes"
            )
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise ReviewFileError(f"{path}: nothing imported: {shown}{more}")
    return list(found.values()), blank


def import_review(
    paths: DataPaths, path: Path, reviewer: str, wait_s: float, model_id: str
) -> ImportResult:
    """Append a review file's labels to `labels` in one transaction, checked first; publish.

    A row equal to its story's current analyst label (same label, note and reviewer; view
    story_labels) is skipped, so importing the same file twice adds nothing; a row that changes
    it is appended and becomes the current label of every copy of the story, those loaded later
    too. Anything wrong refuses the whole file. The digests (of model_id's labels) that show a
    copy of a relabelled story, as a card or in their daily chart (digests_showing), are
    rewritten, latest.html with them: a story moves there the morning it
    is relabelled, and no page counts a label the store no longer holds.
    """
    reviewer = _text(reviewer)  # NFC, as the sheet's cells: one name is one reviewer
    if not reviewer:
        raise ValueError("--reviewer must name who reviewed the file")
    existing_db(paths.db)  # labels are for stored articles: no run yet, nothing to label
    rows, blank = read_review_file(path)
    frame = pd.DataFrame(
        [
            {
                "article_id": r.article_id,
                "label": r.label,
                "reviewer": reviewer,
                "model_id": r.model_id,
                "model_label": r.model_label,
                "note": r.note,
                "source_file": Path(path).name,
                "row": r.row,
            }
            for r in rows
        ],
        columns=["article_id", "label", "reviewer", "model_id", "model_label", "note"]
        + ["source_file", "row"],
    ).astype({"row": "int64"})
    with writing(paths, f"review import {Path(path).name}", wait_s):
        with open_db(paths.store, wait_s=wait_s) as con:
            con.register("reviewed", frame)
            changed, unchanged = append_reviewed(con, path)
            stories, copies = reached(con, changed)
            runs = digests_showing(con, copies) if copies else []
        digests = [write_digest(paths, run, model_id, paths.store)[0] for run in runs]
    return ImportResult(len(changed), stories, len(copies), unchanged, blank, digests)


def reached(con: duckdb.DuckDBPyConnection, labelled: list[str]) -> tuple[int, list[str]]:
    """How many stories the labels of these articles now decide, and the ids of their copies."""
    rows = con.execute(
        "SELECT story_id, article_id FROM story_labels WHERE list_contains(?, labelled_article_id)",
        [labelled],
    ).fetchall()
    return len({story for story, _ in rows}), sorted(article for _, article in rows)


@retried
def append_reviewed(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[list[str], int]:
    """_append_labels in one transaction (run again whole if another node wrote meanwhile)."""
    begin(con)
    try:
        added = _append_labels(con, path)
        checkpoint("review import")  # a test kills it here: the rows must not stay
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    return added


def _append_labels(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[list[str], int]:
    """Insert the registered `reviewed` rows that change their story's label; (their article
    ids, how many rows were skipped)."""
    unknown = con.execute(
        "SELECT row, article_id FROM reviewed ANTI JOIN articles USING (article_id) ORDER BY row"
    ).fetchall()
    if unknown:
        shown = "; ".join(f"row {row}: no article {article_id}" for row, article_id in unknown[:10])
        raise ReviewFileError(f"{path}: nothing imported: unknown article ids: {shown}")
    fresh = """
        FROM reviewed r LEFT JOIN story_labels l USING (article_id)
        WHERE l.article_id IS NULL OR l.label <> r.label
           OR l.note IS DISTINCT FROM r.note OR l.reviewer <> r.reviewer
    """
    added = [article_id for (article_id,) in con.execute(f"SELECT r.article_id {fresh}").fetchall()]
    con.execute(
        f"""
        INSERT INTO labels BY NAME
        SELECT r.article_id, r.label, r.reviewer, now() AS labelled_at, r.model_id,
               r.model_label, r.note, r.source_file
        {fresh}
        """
    )
    total = con.execute("SELECT count(*) FROM reviewed").fetchone()[0]
    return added, total - len(added)
