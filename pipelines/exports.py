"""Analysts' exports (Parquet, CSV, Excel) and database backups."""

from __future__ import annotations

import os
import unicodedata
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from crawlers.dates import VN_TZ
from nlp.classify import precision_at_nightly_mix
from nlp.roles import AGENT, SUBJECT
from pipelines.charts import UNLABELLED
from pipelines.digest import (
    ROLE_LINES,
    as_list,
    distinct_bodies,
    people_lines,
    safe_url,
    shown,
    subject_cell,
    without_headline,
)
from pipelines.lake import lake_target
from pipelines.paths import DataPaths, utc_stamp
from pipelines.selection import CURRENT_LABEL, TOTAL, Selection, relabelled, story_counts
from pipelines.sql import literal
from pipelines.store import open_db
from pipelines.vietnamese import (
    LABEL_NAMES,
    STORY_COUNTING,
    day_text,
    evidence_of_text,
    label_name,
    province_name,
    trust_text,
    vn_time,
)

FORMATS = ("parquet", "csv", "xlsx")
# A spreadsheet reads a cell starting with one of these as a formula (or as the start of one:
# tab and carriage return are how Excel's CSV import hides a leading "=").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
UNLABELLED_SHEET = "Chưa có nhãn"
# What the machine gave, said to be the machine's wherever analysts read it (workbook, CSV, review
# sheet): a row an analyst relabelled keeps the machine's label, score and sentences, and these
# argue the machine's label, not the analyst's. The score is that of the machine's own label; it is
# not the chance that the label is right (few of its praise labels are).
MODEL_LABEL = "Nhãn của máy"
ANALYST_LABEL = "Nhãn của phân tích viên"
EVIDENCE = "Câu căn cứ của máy"
SCORE = "Điểm của máy cho nhãn của máy (0–1, không phải xác suất nhãn đúng)"
MODEL_USED = "Mô hình máy dùng"


def role_header(role: str) -> str:
    """The header of the people of one role (nlp.roles), in the digest cards' words."""
    lines = [ROLE_LINES[label][role].lower() for label in LABEL_NAMES if label in ROLE_LINES]
    return "Trong đó, " + " / ".join(lines)


# The summary's table by source counts articles (copies), not stories as notebook 1.0 does.
SOURCE_COUNTS = "Nguồn (số bài, không phải số tin)"
UNDATED_NOTE = (
    "Cột «Ngày đăng»: bài không ghi ngày đăng mang ngày máy lấy bài về, không phải ngày đăng."
)

# The analysts' columns: Vietnamese header, width in characters.
COLUMNS = {
    "day": ("Ngày đăng", 12),
    "source": ("Nguồn", 24),
    "title": ("Tiêu đề", 60),
    # The current label (pipelines.selection.CURRENT_LABEL): the one the digest lists it under.
    "current_label": ("Nhãn", 11),
    "label": (MODEL_LABEL, 12),
    "analyst_label": (ANALYST_LABEL, 14),
    "analyst_note": ("Ghi chú của phân tích viên", 24),
    "province": ("Tỉnh, thành phố", 16),
    "people": ("Người được nêu tên", 30),
    # Those the headline or the evidence name, split by role as the digest's cards
    # (pipelines.digest.people_lines): the one praised or criticised apart from the official who
    # handed out the award or decided the sanction. A row an analyst relabelled reads them from
    # its headline alone, and says in the first column when it gives no one (subject_cell).
    "people_subject": (role_header(SUBJECT), 24),
    "people_agent": (role_header(AGENT), 24),
    "people_quoted": (f"Trong đó, người khác được nêu trong tiêu đề hoặc {EVIDENCE.lower()}", 24),
    "bodies": ("Cơ quan, tổ chức", 30),
    "evidence": (EVIDENCE, 80),
    "score": (SCORE, 16),
    "author": ("Tác giả", 18),
    "category": ("Chuyên mục", 16),
    "copies": ("Số bản đăng", 9),
    "url": ("Liên kết", 40),
    "story_id": ("Mã tin", 12),
    "article_id": ("Mã bài", 12),
}


def export_stem(prefix: str, start: date | None, end: date | None) -> str:
    """A default export's name before its suffix: its date range, an open end as today (Vietnam)."""
    return f"{prefix}{start or 'start'}_{end or datetime.now(VN_TZ).date()}"


def unnamed_export(paths: DataPaths, stem: str, suffix: str) -> Path:
    """Where a default export is written before claim_name names it (never an earlier file).

    The unfinished files of exports that were killed are deleted, as backup_database does.
    """
    remove_killed_partials(paths.exports)  # the writers make the folder, once there is data
    return paths.exports / f"{stem}.{os.getpid()}.partial{suffix}"


def neutralise(value: object) -> object:
    """A text a spreadsheet would read as a formula, prefixed with "'" so it stays text."""
    if isinstance(value, str) and formula_like(value):
        return "'" + value
    return value


def formula_like(text: str) -> bool:
    """Whether text starts with a formula sign, also a full-width one or one behind blanks."""
    # Apple Numbers folds full-width and small signs (＝, ＋, ﹦) to ASCII, as NFKC does; a
    # spreadsheet may skip blanks and invisible characters (U+202E in text stored before the
    # crawl dropped it, U+2061 and the like).
    if text.startswith(FORMULA_STARTS):
        return True
    shown = next((c for c in text if not (c.isspace() or unicodedata.category(c) == "Cf")), "")
    return unicodedata.normalize("NFKC", shown).startswith(FORMULA_STARTS)


def labelled_articles(
    paths: DataPaths, model_id: str, start: date | None, end: date | None
) -> pd.DataFrame:
    """Articles published in [start, end] (Vietnam dates; fetch date when undated) with the
    model's label, its story's analyst's (view story_labels) and the current one (CURRENT_LABEL)."""
    with open_db(paths.db, read_only=True) as con:
        return con.execute(
            f"""
            SELECT a.article_id, a.site, a.published_at, a.title, a.url, a.category, a.author,
                   c.model_id, c.label, c.score_praise, c.score_criticism, c.score_neutral,
                   c.evidence, s.story_id, al.label AS analyst_label,
                   {CURRENT_LABEL} AS current_label
            FROM articles a
            LEFT JOIN classifications c ON c.article_id = a.article_id AND c.model_id = ?
            LEFT JOIN article_stories s ON s.article_id = a.article_id
            LEFT JOIN story_labels al ON al.article_id = a.article_id
            WHERE CAST(coalesce(a.published_at, a.fetched_at) AS DATE)
                  BETWEEN coalesce(?::DATE, DATE '-infinity') AND coalesce(?::DATE, DATE 'infinity')
            ORDER BY a.published_at DESC NULLS LAST, a.article_id
            """,
            [model_id, start, end],
        ).df()


def analyst_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Selection rows (pipelines.selection.article_rows) as the analysts' columns, in Vietnamese.

    Texts are neutralised, bidirectional controls dropped (as the digest shows them); an article
    the model has not labelled has an empty label of the model. The people are split by role as
    on the row's digest card; a row an analyst relabelled says first whose label its evidence
    argues, as the card does.
    """
    records = rows.to_dict("records")
    changed = [relabelled(r["label"], r["analyst_label"]) for r in records]
    people = [
        people_lines(r, r["current_label"] if isinstance(r["current_label"], str) else "", c)
        for r, c in zip(records, changed, strict=True)
    ]
    table = pd.DataFrame(
        {
            "day": [
                None if pd.isna(t) else vn_time(t).date()
                for t in rows["published_at"].fillna(rows["fetched_at"])
            ],
            "source": rows["source"],
            "title": rows["title"],
            "current_label": rows["current_label"].map(label_name),
            "label": rows["label"].map(label_name),
            "analyst_label": rows["analyst_label"].map(label_name),
            "analyst_note": rows["analyst_note"],
            "province": rows["province"].map(province_name),
            "people": rows["people"].map(lambda v: ", ".join(as_list(v))),
            "people_subject": [subject_cell(p) for p in people],
            "people_agent": [", ".join(p["people_agent"]) for p in people],
            "people_quoted": [", ".join(p["people_quoted"]) for p in people],
            "bodies": rows["bodies"].map(bodies_cell),
            "evidence": [
                evidence_cell(r["evidence"], r["title"], r["label"], r["analyst_label"], c)
                for r, c in zip(records, changed, strict=True)
            ],
            "score": rows["score"].round(2),
            "author": rows["author"],
            "category": rows["category"],
            "copies": rows["copies"],
            "url": rows["url"],
            "story_id": rows["story_id"],
            "article_id": rows["article_id"],
        }
    )
    # Every column: DuckDB's text columns need not arrive with pandas' object dtype.
    return table.apply(lambda column: column.map(lambda value: neutralise(shown(value))))


def bodies_cell(names: object) -> str:
    """Every body a row names, each once in its fullest name, as its digest card shows them
    (pipelines.digest.distinct_bodies), in the order of their most mentioned name."""
    return ", ".join(group[0] for group in distinct_bodies(as_list(names)))


def evidence_cell(
    evidence: object, title: object, label: object, analyst_label: object, changed: bool
) -> str:
    """The machine's evidence sentences, the headline left out; for a relabelled row, led by the
    line saying they argue the machine's label (pipelines.vietnamese.evidence_of_text)."""
    sentences = without_headline(evidence, title)
    if changed:
        sentences = [evidence_of_text(label, analyst_label, bool(sentences)), *sentences]
    return "\n".join(sentences)


def write_csv(table: pd.DataFrame, target: Path) -> Path:
    """The analysts' table as CSV with Vietnamese headers, dates dd/mm/yyyy, UTF-8 with BOM."""
    flat = table.assign(day=table["day"].map(day_text)).rename(
        columns={key: header for key, (header, _) in COLUMNS.items()}
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    flat.to_csv(target, index=False, encoding="utf-8-sig")  # BOM: Excel opens it as UTF-8
    return target


def cell_text(value: object) -> object:
    """A value openpyxl can store: control characters a workbook cannot hold become U+FFFD."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def article_sheet(sheet: Worksheet, table: pd.DataFrame) -> None:
    """One sheet of articles: bold frozen header, filter, widths, dates, clickable links."""
    keys = list(COLUMNS)
    sheet.append([COLUMNS[k][0] for k in keys])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for record in table.to_dict("records"):
        sheet.append([cell_text(record[k]) for k in keys])
        row = sheet.max_row
        url = safe_url(record["url"])
        for key in ("title", "url"):
            cell = sheet.cell(row, keys.index(key) + 1)
            if url:  # a link target, not a formula: nothing in the cell is evaluated
                cell.hyperlink = url
                cell.style = "Hyperlink"
        sheet.cell(row, keys.index("day") + 1).number_format = "dd/mm/yyyy"
        sheet.cell(row, keys.index("score") + 1).number_format = "0.00"  # as the review sheet
        sheet.cell(row, keys.index("evidence") + 1).alignment = Alignment(
            wrap_text=True, vertical="top"
        )
    for i, key in enumerate(keys, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = COLUMNS[key][1]
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(keys))}{max(sheet.max_row, 1)}"


def summary_sheet(sheet: Worksheet, table: pd.DataFrame, about: list[tuple[str, str]]) -> None:
    """Counts by label (articles and stories) and by source, under what the file covers."""
    bold = Font(bold=True)
    sheet.append(["Báo cáo giám sát báo chí"])
    sheet["A1"].font = Font(bold=True, size=14)
    for name, value in about:
        sheet.append([name, cell_text(neutralise(value))])
    sheet.append([])
    sheet.append(["Nhãn", "Số bài", "Số tin"])
    header = sheet.max_row
    labels = table["current_label"].replace("", UNLABELLED_SHEET)
    codes = table["current_label"].map({name: code for code, name in LABEL_NAMES.items()})
    stories = story_counts(table.assign(current_label=codes)).iloc[0]
    for code, name in [*LABEL_NAMES.items(), (UNLABELLED, UNLABELLED_SHEET)]:
        sheet.append([name, int((labels == name).sum()), int(stories[code])])
    sheet.append(["Tổng", len(table), int(stories[TOTAL])])
    sheet.append([f"Số tin: {STORY_COUNTING}."])
    sheet.append([])
    sheet.append([SOURCE_COUNTS, *LABEL_NAMES.values(), UNLABELLED_SHEET, "Tổng"])
    sources = sheet.max_row
    by_source = pd.crosstab(table["source"], labels)
    for source in by_source.sum(axis=1).sort_values(ascending=False, kind="stable").index:
        counts = by_source.loc[source]
        row = [int(counts.get(name, 0)) for name in [*LABEL_NAMES.values(), UNLABELLED_SHEET]]
        sheet.append([cell_text(neutralise(source)), *row, sum(row)])
    sheet.append([])
    sheet.append(
        [
            "Nhãn do máy gán tự động kèm các câu căn cứ: cần đọc bài gốc trước khi sử dụng. "
            "Mỗi nhãn có một trang tính riêng; một tin nằm ở trang của nhãn phân tích viên đã "
            f"duyệt (cột «{ANALYST_LABEL}»), nếu chưa duyệt thì của nhãn máy gán (cột "
            f"«{MODEL_LABEL}»), như trong bản tin: đó là cột «Nhãn». Cột «{EVIDENCE}» và cột "
            "điểm là của máy, cho nhãn của máy: ở tin phân tích viên đã đổi nhãn, dòng đầu của "
            "ô câu căn cứ nói rõ điều này."
        ]
    )
    sheet.append([UNDATED_NOTE])
    for row in (header, sources):
        for cell in sheet[row]:
            cell.font = bold
    sheet.column_dimensions["A"].width = 34
    for letter in "BCDEFG":
        sheet.column_dimensions[letter].width = 14


def write_xlsx(table: pd.DataFrame, target: Path, about: list[tuple[str, str]]) -> Path:
    """The analysts' workbook: a summary sheet, then one sheet per label (and the unlabelled)."""
    book = Workbook()
    summary_sheet(book.active, table, about)
    book.active.title = "Tổng hợp"
    current = table["current_label"]
    for name in LABEL_NAMES.values():
        article_sheet(book.create_sheet(name), table[current == name])
    unlabelled = table[current == ""]
    if len(unlabelled):
        article_sheet(book.create_sheet(UNLABELLED_SHEET), unlabelled)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    book.save(partial)
    partial.replace(target)
    return target


def about_lines(selection: Selection, source_title: str | None = None) -> list[tuple[str, str]]:
    """What a file covers, as summary lines: dates, filters, the model."""
    lines = [
        ("Từ ngày", day_text(selection.start) or "(đầu)"),
        ("Đến ngày", day_text(selection.end) or "(nay)"),
    ]
    if selection.province:
        lines.append(("Tỉnh, thành phố", selection.province))
    if selection.site:
        lines.append(("Nguồn", source_title or selection.site))
    lines.append((MODEL_USED, selection.model_id))
    precision = precision_at_nightly_mix(selection.model_id)
    lines.append(("Độ tin cậy của nhãn", trust_text(selection.model_id, precision)))
    return lines


def write_parquet(frame: pd.DataFrame, target: Path) -> Path:
    """The labelled_articles frame as Parquet, for notebooks (the database's column names)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(target, index=False)
    return target


def backup_database(paths: DataPaths, wait_s: float = 60.0) -> Path:
    """Copy the database into data/backups/ through a read-only connection (readers unaffected).

    The copy is written as a .partial file and named only when complete, so a killed backup
    never looks like a good one; two backups in the same second get two names. The unfinished
    copies of earlier backups that were killed are deleted.
    """
    if lake_target() is not None:
        raise ValueError(
            "the shared store is backed up where it lives: its catalog with pg_dump, its "
            "Parquet files with the folder or bucket (README, One shared store)"
        )
    stem = f"congvu-{utc_stamp()}"
    partial = paths.backups / f"{stem}.{os.getpid()}.partial"
    with open_db(paths.db, read_only=True, wait_s=wait_s) as con:
        partial.parent.mkdir(parents=True, exist_ok=True)  # only once there is a database to copy
        partial.unlink(missing_ok=True)
        remove_killed_partials(paths.backups)
        source = con.execute("SELECT current_database()").fetchone()[0]
        con.execute(f"ATTACH {literal(str(partial))} AS backup (READ_WRITE)")
        con.execute(f'COPY FROM DATABASE "{source}" TO backup')
        con.execute("DETACH backup")
    return claim_name(partial, paths.backups, stem, ".duckdb")


def remove_killed_partials(folder: Path) -> None:
    """Delete the .partial copies (and their WAL) whose backup process no longer runs."""
    for path in folder.glob("*.partial*"):
        pid = path.name.split(".partial", 1)[0].rsplit(".", 1)[-1]
        if pid.isdigit() and not process_runs(int(pid)):
            path.unlink(missing_ok=True)


def process_runs(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, only checked
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it runs, as another user
    return True


def claim_name(done: Path, folder: Path, stem: str, suffix: str) -> Path:
    """Give a finished file the first free name stem, stem-2, ... (never replacing a file)."""
    n = 1
    while True:
        target = folder / f"{stem}{'' if n == 1 else f'-{n}'}{suffix}"
        try:
            os.link(done, target)  # fails when the name is taken, even by a racing process
        except FileExistsError:
            n += 1
            continue
        done.unlink()
        return target
