"""The review loop: export, an analyst fills the xlsx, import, evaluate and train on it."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import unicodedata
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import lxml.html
import pandas as pd
import pytest
from openpyxl import load_workbook

from crawlers.dates import VN_TZ
from nlp.classify import DEFAULT_MODEL, LABELS, load_classifier
from pipelines.analyst_labels import AnalystLabels
from pipelines.exports import COLUMNS
from pipelines.nightly import nightly
from pipelines.notebooks import labelled_articles, review_state, stories
from pipelines.paths import DataPaths
from pipelines.review import HEADER, SHEET, write_review_sheet
from pipelines.selection import Selection, article_rows, story_counts
from pipelines.snapshot import publish
from pipelines.store import open_db
from pipelines.vietnamese import LABEL_NAMES
from tests.conftest import dated_to_the_last_run, run_congvu


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the demo run's database."""
    data_dir = tmp_path_factory.mktemp("review-demo")
    done = run_congvu("demo", "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    return data_dir


@pytest.fixture(scope="module")
def exported(demo: Path) -> Path:
    """The review file of the demo database, before any label is imported."""
    target = demo / "review.xlsx"
    done = run_congvu("review", "export", "--data-dir", str(demo), "--output", str(target))
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def sheet_rows(path: Path) -> list[dict]:
    """The review sheet's rows as {header: value}."""
    book = load_workbook(path)
    rows = list(book[SHEET].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def query(demo: Path, sql: str) -> list[tuple]:
    """Rows of a read-only query on the published database, as an analyst would run it."""
    con = duckdb.connect(str(demo / "congvu.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def fill(source: Path, target: Path, choices: dict[int, tuple[str | None, str | None]]) -> Path:
    """Fill rows as an analyst: a label picked from the sheet's drop-down, and a note."""
    book = load_workbook(source)
    sheet = book[SHEET]
    header = [cell.value for cell in sheet[1]]
    label_col = header.index(HEADER["label"]) + 1
    note_col = header.index(HEADER["note"]) + 1
    (validation,) = sheet.data_validations.dataValidation
    offered = validation.formula1.strip('"').split(",")
    letter = sheet.cell(1, label_col).column_letter
    assert f"{letter}2" in str(validation.sqref)
    for row, (pick, note) in choices.items():
        sheet.cell(row, label_col, offered[pick] if isinstance(pick, int) else pick)
        sheet.cell(row, note_col, note)
    book.save(target)
    return target


def test_export_lists_each_story_least_sure_first(demo: Path, exported: Path) -> None:
    rows = sheet_rows(exported)
    stories = query(demo, "SELECT count(DISTINCT story_id) FROM article_stories")[0][0]
    assert len(rows) == stories > 1
    certainty = [r[HEADER["certainty"]] for r in rows]
    assert certainty == sorted(certainty) and certainty[0] < certainty[-1]
    assert {r[HEADER["model_label"]] for r in rows} <= set(LABEL_NAMES.values())
    assert {r[HEADER["model_id"]] for r in rows} == {DEFAULT_MODEL}
    assert any(r[HEADER["evidence"]] for r in rows)
    repeated = query(
        demo,
        "SELECT count(*) FROM articles a JOIN classifications c USING (article_id) "
        "WHERE list_contains(c.evidence, a.title)",
    )
    assert repeated[0][0] > 0  # the model quotes some headlines: the sheet must not repeat them
    for row in rows:
        assert row[HEADER["title"]] not in (row[HEADER["evidence"]] or "").split("\n")
    assert all(r[HEADER["published"]].year >= 2026 for r in rows)  # real dates, dd/mm/yyyy shown
    titles = dict(query(demo, "SELECT title, site FROM sites"))  # site titles, not codes
    assert {r[HEADER["source"]] for r in rows} <= set(titles)


def test_export_offers_the_three_labels_in_vietnamese(exported: Path) -> None:
    sheet = load_workbook(exported)[SHEET]
    assert [c.value for c in sheet[1]][:2] == ["Mã bài", "Tiêu đề"]
    (validation,) = sheet.data_validations.dataValidation
    assert validation.formula1 == '"Khen ngợi,Phê phán,Trung lập"'
    assert sheet.freeze_panes == "B2" and sheet.auto_filter.ref
    assert sheet.cell(2, 5).number_format == "DD/MM/YYYY"
    link = sheet.cell(2, [c.value for c in sheet[1]].index(HEADER["url"]) + 1)
    assert link.hyperlink.target == link.value


def test_score_is_the_machine_s_own_0_to_1_as_in_the_workbook(exported: Path) -> None:
    sheet = load_workbook(exported)[SHEET]
    header = [c.value for c in sheet[1]]
    assert "Điểm của máy cho nhãn của máy (0–1, không phải xác suất nhãn đúng)" in header


def test_headers_are_the_workbook_s_in_the_digest_s_words(exported: Path) -> None:
    """One wording for one thing: the analyst's label, the machine's, its evidence and score."""
    header = [c.value for c in load_workbook(exported)[SHEET][1]]
    workbook = [header for header, _ in COLUMNS.values()]
    assert {
        "Nhãn của máy",
        "Điểm của máy cho nhãn của máy (0–1, không phải xác suất nhãn đúng)",
        "Câu căn cứ của máy",
        "Nhãn của phân tích viên",
    } <= set(header) & set(workbook)
    said = " ".join(header).lower()
    assert ("câu trích" in said, "làm căn cứ" in said, "của mô hình" in said) == (False,) * 3
    guide = " ".join(r[0] for r in load_workbook(exported)["Hướng dẫn"].iter_rows(values_only=True))
    said = ("Nhãn đúng" in guide, "làm căn cứ" in guide, "«Nhãn của phân tích viên»" in guide)
    assert said == (False, False, True)


def test_guide_says_an_undated_article_s_day_is_its_fetch_day(exported: Path) -> None:
    """The sheet's «Ngày đăng» of an article that gives no date is the day it was fetched, as in
    the workbook: an old story republished undated would read as today's news."""
    lines = [row[0] for row in load_workbook(exported)["Hướng dẫn"].iter_rows(values_only=True)]
    assert (
        "Cột «Ngày đăng»: bài không ghi ngày đăng mang ngày máy lấy bài về, không phải ngày đăng."
        in lines
    )


def test_score_is_shown_0_to_1_not_as_a_percentage(exported: Path) -> None:
    sheet = load_workbook(exported)[SHEET]
    assert (
        sheet.cell(2, [c.value for c in sheet[1]].index(HEADER["certainty"]) + 1).number_format
        == "0.00"
    )


def test_guide_says_in_plain_vietnamese_which_stories_come_first(exported: Path) -> None:
    first = load_workbook(exported)["Hướng dẫn"]["A1"].value
    assert first.startswith(
        "Mỗi dòng là một tin mà máy ít chắc chắn nhất về nhãn đã gán; tin máy ít chắc chắn nhất "
        "xếp trước."
    )


def test_a_story_without_a_province_says_so(exported: Path) -> None:
    """No demo article names a real province: the cell says so, as the digest, not blank."""
    assert {r[HEADER["province"]] for r in sheet_rows(exported)} == {"Không xác định được tỉnh"}


def test_a_second_review_export_keeps_the_sheet_being_filled(demo: Path) -> None:
    data = ("--data-dir", str(demo))
    days = {datetime.now(VN_TZ).date()}
    assert run_congvu("review", "export", *data).returncode == 0
    (first,) = (demo / "exports").glob("review-*.xlsx")
    fill(first, first, {2: (0, "đang duyệt")})  # the analyst saves halfway through
    filled = first.read_bytes()
    assert run_congvu("review", "export", *data).returncode == 0
    days.add(datetime.now(VN_TZ).date())
    assert first.name in {f"review-{DEFAULT_MODEL}-start_{day}.xlsx" for day in days}
    assert first.read_bytes() == filled
    assert len(list((demo / "exports").glob("review-*.xlsx"))) == 2


def test_hostile_text_is_written_inert(tmp_path: Path) -> None:
    hostile = '=HYPERLINK("http://evil.example/x","Bấm vào đây")'
    frame = pd.DataFrame(
        [
            {
                "article_id": "a1",
                "title": hostile,
                "source": "@SUM(1)",
                "province": "Hà Nội",
                "published": date(2026, 11, 1),
                "model_label": "criticism",
                "certainty": 0.5,
                "evidence": ["+1 câu", "bình thường"],
                "url": "https://example.vn/a1.html",
                "model_id": "m",
            }
        ]
    )
    target = write_review_sheet(frame, tmp_path / "hostile.xlsx")
    sheet = load_workbook(target)[SHEET]
    cells = [sheet.cell(2, i) for i in (2, 3, 8)]
    assert [c.data_type for c in cells] == ["s", "s", "s"]
    assert [c.value for c in cells] == ["'" + hostile, "'@SUM(1)", "'+1 câu\nbình thường"]
    assert sheet.cell(2, 4).value == "Hà Nội"


def test_stored_bidi_controls_are_left_out(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        [
            {
                "article_id": "a1",
                "title": "Kỷ luật ông \u202eNguyễn Văn A",  # stored before the crawl dropped it
                "source": "Báo \u2067X\u2069",
                "province": "Hà Nội",
                "published": date(2026, 11, 1),
                "model_label": "criticism",
                "certainty": 0.5,
                "evidence": ["Ông \u202eNguyễn Văn A bị kỷ luật."],
                "url": "https://example.vn/a1.html",
                "model_id": "m",
            }
        ]
    )
    sheet = load_workbook(write_review_sheet(frame, tmp_path / "bidi.xlsx"))[SHEET]
    values = [sheet.cell(2, i).value for i in (2, 3, 8)]
    assert values == ["Kỷ luật ông Nguyễn Văn A", "Báo X", "Ông Nguyễn Văn A bị kỷ luật."]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            "label",
            "row 3: Nhãn của phân tích viên 'Khen' is not one of Khen ngợi, Phê phán, Trung lập",
        ),
        ("unknown", "row 3: no article 0000"),
        ("duplicate", "rows 2 and 4: article"),
        ("note", "row 3: a note but no label"),
        ("columns", "missing columns Nhãn của phân tích viên"),
        ("formula", "row 3: Nhãn của phân tích viên holds a formula with no saved value"),
    ],
)
def test_a_bad_file_is_refused_whole_naming_the_row(
    demo: Path, exported: Path, tmp_path: Path, change: str, named: str
) -> None:
    before = query(demo, "SELECT count(*) FROM labels")[0][0]
    filled = fill(exported, tmp_path / "bad.xlsx", {2: (0, "đúng"), 3: (1, None), 4: (2, None)})
    book = load_workbook(filled)
    sheet = book[SHEET]
    header = [c.value for c in sheet[1]]
    col = {field: header.index(name) + 1 for field, name in HEADER.items()}
    if change == "label":
        sheet.cell(3, col["label"], "Khen")
    elif change == "unknown":
        sheet.cell(3, col["article_id"], "0000")
    elif change == "duplicate":
        sheet.cell(4, col["article_id"], sheet.cell(2, col["article_id"]).value)
    elif change == "note":
        sheet.cell(3, col["label"]).value = None
        sheet.cell(3, col["note"], "chưa rõ")
    elif change == "formula":  # openpyxl, like any program that computes none, saves no value
        sheet.cell(3, col["label"], '="Phê phán"')
    else:
        sheet.cell(1, col["label"], "Nhãn")
    book.save(filled)
    done = run_congvu("review", "import", str(filled), "--reviewer", "Lan", "--data-dir", str(demo))
    assert done.returncode == 2 and named in done.stderr, done.stderr
    assert query(demo, "SELECT count(*) FROM labels")[0][0] == before


def test_the_whole_loop(demo: Path, exported: Path, tmp_path: Path, shared_dir: Path) -> None:
    data = ["--data-dir", str(demo)]
    empty = run_congvu("evaluate", "--labels", "db", *data)
    assert empty.returncode == 2 and "no analyst labels" in empty.stderr
    rows = sheet_rows(exported)
    # The analyst confirms the first story's label, changes the next two, leaves the rest.
    first = LABELS.index(next(k for k, v in LABEL_NAMES.items() if v == rows[0]["Nhãn của máy"]))
    others = [(first + 1) % 3, (first + 2) % 3]
    filled = fill(
        exported,
        tmp_path / "đã-xem.xlsx",
        {2: (first, None), 3: (others[0], "tin cũ"), 4: (others[1], "-đã kiểm tra")},
    )
    done = run_congvu("review", "import", str(filled), "--reviewer", "Nguyễn Lan", *data)
    assert done.returncode == 0, done.stderr
    assert "3 labels imported" in done.stdout
    stored = query(
        demo,
        "SELECT article_id, label, reviewer, model_id, model_label, note, source_file "
        "FROM analyst_labels ORDER BY article_id",
    )
    by_id = {r[0]: r for r in stored}
    assert len(stored) == 3
    for pick, row in zip([first, *others], rows[:3], strict=True):
        model_label = next(k for k, v in LABEL_NAMES.items() if v == row["Nhãn của máy"])
        expected = (LABELS[pick], "Nguyễn Lan", DEFAULT_MODEL, model_label)
        assert by_id[row["Mã bài"]][1:5] == expected
    assert sorted(r[5] or "" for r in stored) == ["", "-đã kiểm tra", "tin cũ"]
    assert {r[6] for r in stored} == {"đã-xem.xlsx"}
    confirmed = query(
        demo,
        "SELECT count(*) FILTER (l.label = c.label), count(*) FILTER (l.label <> c.label) "
        "FROM analyst_labels l JOIN classifications c USING (article_id) "
        f"WHERE c.model_id = '{DEFAULT_MODEL}'",
    )
    assert confirmed == [(1, 2)]

    again = run_congvu("review", "import", str(filled), "--reviewer", "Nguyễn Lan", *data)
    assert again.returncode == 0 and "0 labels imported" in again.stdout
    assert query(demo, "SELECT count(*) FROM labels")[0][0] == 3
    reviewed = {r["Mã bài"] for r in rows[:3]}
    after = run_congvu("review", "export", "--output", str(tmp_path / "next.xlsx"), *data)
    assert after.returncode == 0
    assert not reviewed & {r["Mã bài"] for r in sheet_rows(tmp_path / "next.xlsx")}

    evaluated = run_congvu("evaluate", "--labels", "db", *data)
    assert evaluated.returncode == 0, evaluated.stderr
    assert f"model {DEFAULT_MODEL}  articles 3  macro-F1" in evaluated.stdout
    report = json.loads((demo / "evaluations" / f"{DEFAULT_MODEL}-analyst-labels.json").read_text())
    assert report["n"] == 3 and sum(report["per_class"][k]["support"] for k in LABELS) == 3
    assert report["data"]["reviewers"] == ["Nguyễn Lan"]

    out = tmp_path / "models" / "evidence-lr-2"
    trained = run_congvu(
        "train", "--backend", "evidence", "--out", str(out),
        "--labels", str(hand_sample(shared_dir, tmp_path)),
        "--corpus", str(shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"),
        "--option", "cv_folds=2", "--option", "inner_folds=2",
        "--with-db-labels", str(demo / "congvu.duckdb"),
        timeout=900,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert json.loads((out / "model.json").read_text())["model_id"] == "evidence-lr-2"
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["data"]["added_labels"]["used"] == 3
    assert "--with-db-labels" in recipe["command"]
    with (out / "analyst_labels.csv").open(encoding="utf-8") as f:
        assert {r["article_id"] for r in csv.DictReader(f)} == set(by_id)
    refused = run_congvu("evaluate", "--labels", "db", "--model", str(out), *data)
    assert refused.returncode == 2 and "trained on 3 of these 3" in refused.stderr
    overwrite = run_congvu(
        "train", "--backend", "evidence", "--out", str(out),
        "--labels", str(hand_sample(shared_dir, tmp_path)),
        "--corpus", str(shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"),
        "--with-db-labels", str(demo / "congvu.duckdb"),
    )  # fmt: skip
    assert overwrite.returncode == 2 and "already holds a model" in overwrite.stderr


def hand_sample(shared_dir: Path, folder: Path, per_label: int = 12) -> Path:
    """A small labels CSV of train.csv rows outside the frozen test part (a quick training)."""
    from nlp.split import read_split

    split = read_split()
    with (shared_dir / "labels" / "train.csv").open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if split.part.get(r["id"]) == "rest"]
    chosen = [r for label in LABELS for r in [r for r in rows if r["label"] == label][:per_label]]
    path = folder / "labels.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))  # evidence phrases included
        writer.writeheader()
        writer.writerows(chosen)
    return path


def test_training_never_takes_a_near_duplicate_of_a_test_article(
    demo: Path, tmp_path: Path, shared_dir: Path
) -> None:
    from nlp.split import read_split
    from nlp.trainset import build_trainset, read_corpus

    corpus = shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"
    split = read_split()
    labels = hand_sample(shared_dir, tmp_path, 5)
    trainset = build_trainset(labels, corpus, max_weak=0, split=split)
    hand_id = sorted(trainset.hand)[0]
    test_id = split.ids("test")[0]
    texts = {r["id"]: r["text"] for r in read_corpus(corpus) if r["id"] in (hand_id, test_id)}
    # A copy of the demo data with two reposts an analyst labelled: of a test article (its
    # title changed) and of a training article.
    data = DataPaths(tmp_path / "data")
    shutil.copytree(demo, data.root)
    with open_db(data.store) as con:
        con.execute("DELETE FROM labels")  # this copy's only analyst labels are the two below
        for new_id, source in (("repost-of-test", test_id), ("repost-of-train", hand_id)):
            title, _, body = texts[source].partition("\n")
            con.execute(
                "INSERT INTO articles (article_id, canonical_url, url, site, title, body) "
                "SELECT ?, ?, ?, 'demo', ?, ?",
                [new_id, f"https://x.vn/{new_id}", f"https://x.vn/{new_id}", "Tin: " + title, body],
            )
            con.execute(
                "INSERT INTO labels (article_id, label, reviewer, labelled_at) "
                "VALUES (?, 'criticism', 'Lan', now())",
                [new_id],
            )
    publish(data, 60)
    record = AnalystLabels(data.db)(trainset, split, corpus, tmp_path / "model")
    assert record["left_out_near_duplicates_of_test"] == 1 and record["used"] == 1
    assert "repost-of-test" not in trainset.hand and "repost-of-train" in trainset.hand
    assert trainset.groups["repost-of-train"] == trainset.groups[hand_id]
    assert trainset.folds["repost-of-train"] == trainset.folds[hand_id]


def unlabelled_copy(demo: Path, tmp_path: Path) -> DataPaths:
    """A copy of the demo data folder whose store holds no analyst label yet."""
    data = DataPaths(tmp_path / "data")
    shutil.copytree(demo, data.root)
    with open_db(data.store) as con:
        con.execute("DELETE FROM labels")
    return data


def test_an_import_killed_before_its_commit_leaves_no_label(
    demo: Path, exported: Path, tmp_path: Path
) -> None:
    data = unlabelled_copy(demo, tmp_path)
    filled = fill(exported, tmp_path / "f.xlsx", {2: (0, None), 3: (1, "x"), 4: (2, None)})
    command = [str(Path(sys.executable).with_name("congvu")), "review", "import", str(filled)]
    command += ["--reviewer", "Lan", "--data-dir", str(data.root)]
    process = subprocess.Popen(
        command, env={**os.environ, "CONGVU_PAUSE_AT": "review import"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout.readline().strip() == "paused at review import"
    process.send_signal(signal.SIGKILL)  # as a power cut: no cleanup runs
    process.wait()
    process.stdout.close()
    with open_db(data.store) as con:
        assert con.execute("SELECT count(*) FROM labels").fetchone()[0] == 0
    again = run_congvu(*command[1:])
    assert again.returncode == 0 and "3 labels imported" in again.stdout, again.stderr


def test_a_reviewer_typed_in_decomposed_form_is_the_same_reviewer(
    demo: Path, exported: Path, tmp_path: Path
) -> None:
    """A name in NFD (as a Mac may send it) is the NFC name: importing again adds nothing."""
    data = unlabelled_copy(demo, tmp_path)
    filled = fill(exported, tmp_path / "f.xlsx", {2: (0, None), 3: (1, "tin cũ")})
    imported = []
    for form in ("NFC", "NFD"):
        name = unicodedata.normalize(form, "Nguyễn Thị Hương")
        done = run_congvu(
            "review", "import", str(filled), "--reviewer", name, "--data-dir", str(data.root)
        )
        assert done.returncode == 0, done.stderr
        imported.append(done.stdout.split(": ", 1)[1].split(" labels imported")[0])
    assert imported == ["2", "0"]
    with open_db(data.db, read_only=True) as con:
        assert con.execute("SELECT DISTINCT reviewer FROM labels").fetchall() == [
            ("Nguyễn Thị Hương",)
        ]


def test_guide_says_whom_to_send_the_file_to_and_names_no_command(exported: Path) -> None:
    """Analysts do not run commands: the last line says who imports the labels."""
    lines = [row[0] for row in load_workbook(exported)["Hướng dẫn"].iter_rows(values_only=True)]
    assert (lines[-1], [line for line in lines if "congvu" in line]) == (
        "Xong, lưu tệp rồi gửi cho bộ phận kỹ thuật để nhập nhãn vào cơ sở dữ liệu, kèm tên người "
        "đã duyệt.",
        [],
    )


def listed_under(page: Path, heading: str) -> list[str]:
    """The card headlines of a digest listed under the heading that begins so ("Tin phê phán")."""
    tree = lxml.html.fromstring(page.read_bytes())
    titles: list[str] = []
    under = False
    for element in tree.iter("h2", "h3"):
        text = element.text_content().strip()
        if element.tag == "h2":
            under = text.startswith(heading)
        elif under:
            titles.append(text)
    return titles


def test_an_import_moves_the_story_in_the_digest_the_analysts_open(
    demo: Path, exported: Path, tmp_path: Path
) -> None:
    """A neutral story relabelled criticism is under "Tin phê phán" of latest.html at once."""
    data_dir = tmp_path / "data"
    shutil.copytree(demo, data_dir)
    rows = sheet_rows(exported)
    number, row = next(  # rows 2-4 are those test_the_whole_loop imports into demo
        (n, r)
        for n, r in enumerate(rows, start=2)
        if n > 4 and r["Nhãn của máy"] == LABEL_NAMES["neutral"]
    )
    filled = fill(exported, tmp_path / "lan.xlsx", {number: (LABEL_NAMES["criticism"], None)})
    before = listed_under(data_dir / "digest" / "latest.html", "Tin phê phán")
    data = ["--data-dir", str(data_dir)]
    done = run_congvu("review", "import", str(filled), "--reviewer", "Lan", *data)
    assert done.returncode == 0, done.stderr
    after = listed_under(data_dir / "digest" / "latest.html", "Tin phê phán")
    assert (row["Tiêu đề"] in before, row["Tiêu đề"] in after) == (False, True)


# The review sheet's headers before the second audit: a file exported then, maybe half filled
# in, is imported as it is.
EARLIER_HEADERS = [
    "Mã bài", "Tiêu đề", "Nguồn", "Tỉnh, thành phố", "Ngày đăng", "Nhãn của máy",
    "Điểm của mô hình (0–1, không phải xác suất nhãn đúng)", "Câu làm căn cứ", "Liên kết",
    "Mô hình", "Nhãn đúng", "Ghi chú",
]  # fmt: skip


def test_a_sheet_exported_before_the_second_audit_still_imports(
    demo: Path, exported: Path, tmp_path: Path
) -> None:
    """Its label and model columns were headed "Nhãn đúng" and "Mô hình"."""
    data = unlabelled_copy(demo, tmp_path)
    filled = fill(exported, tmp_path / "f.xlsx", {2: (0, None), 3: (1, "tin cũ")})
    book = load_workbook(filled)
    sheet = book[SHEET]
    rows = [
        dict(zip([c.value for c in sheet[1]], r, strict=True))
        for r in sheet.iter_rows(2, 3, values_only=True)
    ]
    assert [c.value for c in sheet[1]] != EARLIER_HEADERS  # a sheet of now is another kind
    for cell, header in zip(sheet[1], EARLIER_HEADERS, strict=True):
        cell.value = header
    book.save(filled)
    done = run_congvu(
        "review", "import", str(filled), "--reviewer", "Lan", "--data-dir", str(data.root)
    )
    assert done.returncode == 0 and "2 labels imported" in done.stdout, done.stdout + done.stderr
    with open_db(data.db, read_only=True) as con:
        stored = con.execute(
            "SELECT article_id, label, model_id, model_label, note FROM analyst_labels ORDER BY ALL"
        ).fetchall()
    expected = [
        (
            r["Mã bài"],
            LABELS[pick],
            DEFAULT_MODEL,
            next(k for k, v in LABEL_NAMES.items() if v == r["Nhãn của máy"]),
            note,
        )
        for r, (pick, note) in zip(rows, [(0, None), (1, "tin cũ")], strict=True)
    ]
    assert stored == sorted(expected)


def test_a_digest_rewritten_after_an_import_says_so(
    demo: Path, exported: Path, tmp_path: Path
) -> None:
    """A morning copy printed before the import differs: the page says when it was rewritten.
    (The nightly's own digest says nothing of the kind: tests/test_digest.py checks it.)"""
    data_dir = tmp_path / "data"
    shutil.copytree(demo, data_dir)
    filled = fill(exported, tmp_path / "lan.xlsx", {5: (LABEL_NAMES["criticism"], None)})
    data = ["--data-dir", str(data_dir)]
    done = run_congvu("review", "import", str(filled), "--reviewer", "Lan", *data)
    assert done.returncode == 0, done.stderr
    morning = (data_dir / "digest" / "latest.html").read_text(encoding="utf-8")
    assert "Bản tin này được viết lại lúc" in morning


def day_tips(digest: Path) -> list[str]:
    """The tooltips of the daily chart's columns ("20/11/2026: 1 bài phê phán"), in order."""
    tree = lxml.html.fromstring(digest.read_bytes())
    return [t.text_content() for t in tree.xpath("(//figure)[1]//*[local-name()='rect']/*")]


def test_a_quiet_nights_digest_counting_a_relabelled_article_is_rewritten(
    demo: Path, exported: Path, tmp_path: Path
) -> None:
    """The quiet night lists nothing, but its 30-day chart counts every article by its label."""
    data_dir = tmp_path / "data"
    shutil.copytree(demo, data_dir)
    days = dated_to_the_last_run(data_dir)  # in the quiet night's chart, whatever day it runs
    quiet_night = run_congvu("demo", "--data-dir", str(data_dir))
    assert quiet_night.returncode == 0, quiet_night.stdout + quiet_night.stderr
    quiet = sorted((data_dir / "digest").glob("digest-*.html"))[-1]
    title = (
        "Khiển trách công chức địa chính xã Tân Phú vì gây phiền hà người dân làm thủ tục đất đai"
    )
    row = next(
        i for i, r in enumerate(sheet_rows(exported), start=2) if r[HEADER["title"]] == title
    )
    filled = fill(exported, tmp_path / "lan.xlsx", {row: (LABEL_NAMES["praise"], None)})
    before = day_tips(quiet)
    day = f"{date(2026, 11, 20) + timedelta(days=days):%d/%m/%Y}"
    assert f"{day}: 1 bài phê phán" in before
    done = run_congvu(
        "review", "import", str(filled), "--reviewer", "Lan", "--data-dir", str(data_dir)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"rewritten with the new labels: {quiet}" in done.stdout.splitlines()
    assert day_tips(quiet) == [
        f"{day}: 1 bài khen ngợi" if tip == f"{day}: 1 bài phê phán" else tip for tip in before
    ]
    assert "Bản tin này được viết lại lúc" in quiet.read_text(encoding="utf-8")


def stage_copies(paths: DataPaths, run_id: str, original: str, keys: list[str]) -> None:
    """Copies of a stored article on another site, staged as a crawl writes them, and loaded by
    a real nightly run (no site crawled): they join the article's story."""
    with open_db(paths.db, read_only=True) as con:
        title, sapo, body, published = con.execute(
            "SELECT title, sapo, body, published_at FROM articles WHERE article_id = ?", [original]
        ).fetchone()
    target = paths.staging / run_id
    target.mkdir(parents=True)
    with (target / "dong-bao.jsonl").open("w", encoding="utf-8") as out:
        for key in keys:
            url = f"https://dong-bao.example.vn/{key}.html"
            line = {
                "url": url, "canonical_url": url, "site": "dong-bao", "title": title,
                "sapo": sapo, "body": body, "author": None, "category": "Thời sự",
                "published_at": published.isoformat(), "date_source": "meta",
                "extraction": "profile", "fetched_at": datetime.now(VN_TZ).isoformat(),
                "raw_sha256": "0" * 64, "raw_path": f"dong-bao/{key}.html.gz",
            }  # fmt: skip
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    report = nightly(paths, [], load_classifier(), wait_s=30)
    assert report.status == "ok", report.summary()


@pytest.fixture(scope="module")
def syndicated(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The demo store, no analyst label, where a criticism story has three copies: the demo's
    and two on another site, loaded by a second night."""
    data = unlabelled_copy(demo, tmp_path_factory.mktemp("syndicated"))
    with open_db(data.db, read_only=True) as con:
        original, title = con.execute(
            "SELECT article_id, title FROM articles JOIN classifications USING (article_id) "
            "WHERE label = 'criticism' AND model_id = ? ORDER BY article_id LIMIT 1",
            [DEFAULT_MODEL],
        ).fetchone()
    stage_copies(data, "20990101T000000Z", original, ["a", "b"])
    copies = query(
        data.root,
        "SELECT article_id FROM article_stories WHERE story_id = (SELECT story_id FROM "
        f"article_stories WHERE article_id = '{original}') ORDER BY article_id",
    )
    assert len(copies) == 3
    return {"data": data, "original": original, "title": title}


def story_row(exported: Path, title: str) -> int:
    """The row number of the one review row of the story with that title."""
    numbers = [n for n, r in enumerate(sheet_rows(exported), start=2) if r["Tiêu đề"] == title]
    assert len(numbers) == 1  # one row per story
    return numbers[0]


def copies_of(data: DataPaths, original: str) -> dict[str, str]:
    """The current label (as the digest reads it) of each copy of the story of original."""
    with open_db(data.db, read_only=True) as con:
        rows = article_rows(con, Selection(DEFAULT_MODEL))
    story = rows.loc[rows["article_id"] == original, "story_id"].item()
    mine = rows[rows["story_id"] == story]
    return dict(zip(mine["article_id"], mine["current_label"], strict=True))


def test_a_label_given_through_a_story_s_row_holds_for_every_copy(
    syndicated: dict[str, object], tmp_path: Path
) -> None:
    """Labelled Trung lập through its one row, the three-copy criticism story is neutral in the
    digest, its counts, the notebooks, the workbook, search and the next review sheet; a copy
    loaded later is too. labels keeps the one row the analyst gave."""
    data, original, title = syndicated["data"], syndicated["original"], syndicated["title"]
    root = ["--data-dir", str(data.root)]
    sheet = tmp_path / "review.xlsx"
    assert run_congvu("review", "export", *root, "--output", str(sheet)).returncode == 0
    filled = fill(sheet, tmp_path / "lan.xlsx", {story_row(sheet, title): ("Trung lập", None)})
    latest = data.root / "digest" / "latest.html"
    assert title in listed_under(latest, "Tin phê phán")  # the night that loaded the copies
    done = run_congvu("review", "import", str(filled), "--reviewer", "Lan", *root)
    assert done.returncode == 0, done.stderr
    assert "1 labels imported by Lan, reaching 1 stories (3 copies" in done.stdout
    assert set(copies_of(data, original).values()) == {"neutral"}
    assert query(data.root, "SELECT count(*) FROM labels")[0][0] == 1
    # The digest the analysts open no longer lists the story as criticism.
    assert title not in listed_under(latest, "Tin phê phán")
    with open_db(data.db, read_only=True) as con:
        rows = article_rows(con, Selection(DEFAULT_MODEL))
        articles = labelled_articles(con, DEFAULT_MODEL)
    story = rows.loc[rows["article_id"] == original, "story_id"].item()
    counted = story_counts(rows[rows["story_id"] == story])
    assert counted.loc[0, ["criticism", "neutral"]].tolist() == [0, 1]
    # Notebook 2.0's list of criticism stories leaves it out; its row says an analyst decided.
    assert story not in set(stories(articles[articles["current_label"] == "criticism"]).story_id)
    (first,) = stories(articles[articles["story_id"] == story]).itertuples()
    assert review_state(first.label, first.analyst_label) != "Chưa được phân tích viên duyệt"
    # The workbook has no copy on its Phê phán sheet.
    book = tmp_path / "export.xlsx"
    exported = run_congvu("export", *root, "--format", "xlsx", "--output", str(book))
    assert exported.returncode == 0, exported.stderr
    workbook = load_workbook(book)
    on_sheet = {
        name: sum(title in (cell or "") for row in workbook[name].iter_rows(values_only=True)
                  for cell in row if isinstance(cell, str))
        for name in (LABEL_NAMES["criticism"], LABEL_NAMES["neutral"])
    }  # fmt: skip
    assert on_sheet == {LABEL_NAMES["criticism"]: 0, LABEL_NAMES["neutral"]: 3}
    # search --label finds its copies under the analyst's label only.
    words = " ".join(title.split()[:4])
    for label, found in (("criticism", False), ("neutral", True)):
        run = run_congvu("search", words, "--label", label, "--limit", "50", *root)
        assert run.returncode == 0, run.stderr
        assert (title in run.stdout) is found, run.stdout
    # A copy loaded a night later belongs to the story: it has the analyst's label at once.
    stage_copies(data, "20990102T000000Z", original, ["c"])
    assert list(copies_of(data, original).values()) == ["neutral"] * 4
    again = tmp_path / "again.xlsx"
    assert run_congvu("review", "export", *root, "--output", str(again)).returncode == 0
    assert title not in [r["Tiêu đề"] for r in sheet_rows(again)]


def test_two_copies_labelled_differently_take_the_story_s_newest_label(
    syndicated: dict[str, object], tmp_path: Path
) -> None:
    """Labels given through two copies: every copy has the newer one; each labelled article
    keeps its own in analyst_labels, what evaluation reads."""
    data = unlabelled_copy(syndicated["data"].root, tmp_path)
    publish(data, 60)  # the snapshot the sheet is exported from: no label either
    original, title = syndicated["original"], syndicated["title"]
    copies = len(copies_of(data, original))
    root = ["--data-dir", str(data.root)]
    sheet = tmp_path / "review.xlsx"
    assert run_congvu("review", "export", *root, "--output", str(sheet)).returncode == 0
    row = story_row(sheet, title)
    other = next(a for a in copies_of(data, original) if a != original)
    for n, (article_id, label) in enumerate(((original, "Khen ngợi"), (other, "Trung lập"))):
        filled = fill(sheet, tmp_path / f"f{n}.xlsx", {row: (label, None)})
        book = load_workbook(filled)
        book[SHEET].cell(row, 1, article_id)
        book.save(filled)
        done = run_congvu("review", "import", str(filled), "--reviewer", "Lan", *root)
        reached = f"reaching 1 stories ({copies} copies"
        assert done.returncode == 0 and reached in done.stdout, done.stdout + done.stderr
    assert set(copies_of(data, original).values()) == {"neutral"}
    assert sorted(query(data.root, "SELECT article_id, label FROM analyst_labels")) == sorted(
        [(original, "praise"), (other, "neutral")]
    )
