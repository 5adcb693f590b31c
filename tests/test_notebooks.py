"""The analysts' notebooks, executed on the demo database after a second model and a review."""

from __future__ import annotations

import io
import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import lxml.html
import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from nlp.classify import DEFAULT_MODEL, precision_at_nightly_mix, read_scoreboard
from pipelines.digest import render
from pipelines.notebooks import (
    agreement,
    evidence_sentences,
    labelled_articles,
    model_figures,
    report_html,
    stories,
)
from pipelines.paths import DataPaths
from pipelines.selection import Selection, article_rows
from pipelines.snapshot import writing
from pipelines.store import open_db
from pipelines.vietnamese import LABEL_NAMES, NO_PROVINCE, trust_text
from tests.conftest import ROOT, run_congvu
from tests.test_digest import (
    DECIDER,
    FROM_NEUTRAL,
    FROM_PRAISE,
    UNREAD_CELL,
    import_review,
    retitle_to_decider,
)

NOTEBOOKS = ["1.0-weekly-overview.ipynb", "2.0-criticism-review.ipynb", "3.0-model-quality.ipynb"]
DEMO = json.loads((ROOT / "crawlers" / "demo" / "expected.json").read_text(encoding="utf-8"))
TITLES = {label: [a["title"] for a in DEMO["articles"] if a["label"] == label] for label in
          ("praise", "criticism", "neutral")}  # fmt: skip


def review(paths: DataPaths, changed: int, kept: int) -> None:
    """Analysts' labels as the review import writes them: some changed, some kept."""
    with writing(paths, "test review", 30), open_db(paths.store) as con:
        rows = con.execute(
            "SELECT article_id, label FROM classifications WHERE model_id = ? ORDER BY article_id",
            [DEFAULT_MODEL],
        ).fetchall()
        for n, (article_id, label) in enumerate(rows[: changed + kept]):
            decided = label if n >= changed else ("neutral" if label != "neutral" else "praise")
            con.execute(
                "INSERT INTO labels VALUES (?, ?, 'lan', now(), ?, ?, NULL, 'review.xlsx')",
                [article_id, decided, DEFAULT_MODEL, label],
            )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run, relabelled by a second model, with 4 analyst labels (1 changed)."""
    data_dir = tmp_path_factory.mktemp("notebooks")
    for args in (["demo"], ["reclassify", "--model", "cue-lexicon-1"]):
        run = run_congvu(*args, "--data-dir", str(data_dir))
        assert run.returncode == 0, run.stdout + run.stderr
    review(DataPaths(data_dir), changed=1, kept=3)
    return data_dir


def execute(
    name: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch, **params: str
) -> nbformat.NotebookNode:
    """Run a notebook as JupyterLab would, on the data folder's snapshot, with params set."""
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    for cell in notebook.cells:  # the parameters: `NAME = None  # ...`, `QUERY = "..."` lines
        for key, value in params.items():
            cell.source = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value!r}", cell.source)
    monkeypatch.setenv("CONGVU_DB", str(data_dir / "congvu.duckdb"))
    resources = {"metadata": {"path": str(ROOT / "notebooks")}}
    NotebookClient(notebook, timeout=180, resources=resources).execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode, kind: str = "text") -> str:
    """Everything the notebook printed or displayed as text (kind "text"), or its images' types."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and kind == "text":
                found.append(output.text)
            data = output.get("data", {})
            if kind == "text":
                found += [data.get("text/plain", ""), data.get("text/html", "")]
            else:
                found += [key for key in data if key.startswith("image/")]
    return "\n".join(found)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_holds_no_test_code(
    name: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = execute(name, data_dir, monkeypatch)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    assert [c.source for c in notebook.cells if "assert" in c.source] == []


def test_weekly_overview_counts_one_model_and_draws_charts(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = execute(NOTEBOOKS[0], data_dir, monkeypatch)
    total = len(DEMO["articles"])  # not twice: the second model's labels are in the database
    said = (
        f"{total} bài, {total} tin có nhãn (của mô hình {DEFAULT_MODEL}, hoặc của phân tích viên)."
    )
    assert said in outputs(notebook)
    assert outputs(notebook, "images").split() == ["image/png"] * 3


def test_model_is_chosen_by_congvu_model(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONGVU_MODEL", "cue-lexicon-1")
    notebook = execute(NOTEBOOKS[0], data_dir, monkeypatch)
    assert "tin có nhãn (của mô hình cue-lexicon-1, hoặc của phân tích viên)." in outputs(notebook)


def test_criticism_review_lists_criticism_only(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = outputs(execute(NOTEBOOKS[1], data_dir, monkeypatch))
    assert [t for t in TITLES["criticism"] if f"<h4>{t}</h4>" not in text] == []
    assert [t for t in TITLES["praise"] + TITLES["neutral"] if t in text] == []


def test_criticism_review_filters_by_agency_and_date(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_db(data_dir / "congvu.duckdb", read_only=True) as con:
        title, agency, day = con.execute(
            """
            SELECT a.title, e.name, strftime(a.published_at, '%Y-%m-%d')
            FROM article_entities e JOIN articles a USING (article_id)
            JOIN classifications c ON c.article_id = a.article_id AND c.model_id = ?
            WHERE e.kind = 'organization' AND c.label = 'criticism'
            ORDER BY a.article_id, e.name LIMIT 1
            """,
            [DEFAULT_MODEL],
        ).fetchone()
    notebook = execute(NOTEBOOKS[1], data_dir, monkeypatch, AGENCY=agency, FROM=day, TO=day)
    text = outputs(notebook)
    assert [t for t in TITLES["criticism"] if f"<h4>{t}</h4>" in text] == [title]
    notebook = execute(NOTEBOOKS[1], data_dir, monkeypatch, AGENCY="cơ quan không có")
    assert "0 tin phê phán" in outputs(notebook)


def test_model_quality_compares_models_and_analysts(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = execute(NOTEBOOKS[2], data_dir, monkeypatch)
    text = outputs(notebook)
    assert f"1 bài phân tích viên đã đổi nhãn của máy ({DEFAULT_MODEL})." in text
    assert "cue-lexicon-1" in text and "tfidf-lr-2" in text  # the scoreboard's models
    assert "khen ngợi: độ chính xác ở tỉ lệ hằng đêm" in text  # what a praise label is worth
    assert "khen ngợi: khoảng 90%" in text  # and how far that figure may be off
    assert outputs(notebook, "images").split() == ["image/png"] * 2


def test_weekly_overview_names_an_unknown_province_as_the_digest(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No demo article names a real province: its row says so in the digest's words."""
    assert "Không xác định được tỉnh" in outputs(execute(NOTEBOOKS[0], data_dir, monkeypatch))


@pytest.fixture(scope="module")
def quality(data_dir: Path) -> nbformat.NotebookNode:
    """Notebook 3.0 executed once on the demo with a second model and analysts' labels."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        return execute(NOTEBOOKS[2], data_dir, monkeypatch)


def test_model_quality_says_models_were_scored_on_different_articles(
    quality: nbformat.NotebookNode,
) -> None:
    scored = [m["n"] for m in read_scoreboard()["models"] if m.get("status") == "scored"]
    said = f"Các mô hình được chấm trên số bài khác nhau: từ {min(scored)} đến {max(scored)} bài."
    assert said in outputs(quality)


def test_model_quality_prints_figures_to_three_decimals(quality: nbformat.NotebookNode) -> None:
    plain = [
        o.get("data", {}).get("text/plain", "") for c in quality.cells for o in c.get("outputs", [])
    ]
    assert re.findall(r"\d\.\d{4,}", "\n".join(plain)) == []


def test_model_quality_names_the_models_column_in_vietnamese(
    quality: nbformat.NotebookNode,
) -> None:
    assert "model_id" not in outputs(quality)


def test_model_quality_defines_macro_f1_by_f1_not_precision() -> None:
    prose = nbformat.read(ROOT / "notebooks" / NOTEBOOKS[2], as_version=4).cells[2].source
    assert "Macro-F1* là trung bình cộng F1 của ba nhãn" in prose


def test_agreement_counts_the_articles_both_models_labelled() -> None:
    labels = pd.DataFrame(
        {"a": ["praise", "neutral", "neutral", None], "b": ["praise", "criticism", "neutral", "x"]}
    )
    assert agreement(labels).to_dict("records") == [
        {"model_a": "a", "model_b": "b", "articles": 3, "agree": 2 / 3}
    ]


def test_report_keeps_crawled_text_inert() -> None:
    rows = pd.DataFrame(
        {
            "title": ["<script>alert(1)</script>"],
            "source": ["<b>x</b>"],
            "day": [pd.Timestamp("2026-11-20")],
            "province": [None],
            "label": ["criticism"],
            "current_label": ["criticism"],
            "analyst_label": [None],
            "reviewer": [None],
            "analyst_note": [None],
            "evidence": [["<img src=x onerror=alert(1)>", "<script>alert(1)</script>"]],
            "url": ["javascript:alert(1)"],
            "undated": [False],
            "copies": [1],
        }
    )
    html = report_html(rows)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "href" not in html  # a javascript: link is shown, never made a link
    assert html.count("<li>") == 1  # the headline is not repeated as evidence


def test_report_leaves_out_stored_bidi_controls() -> None:
    rows = pd.DataFrame(
        {
            "title": ["Kỷ luật ông \u202eNguyễn Văn A"],
            "source": ["Báo \u2067X\u2069"],
            "day": [pd.Timestamp("2026-11-20")],
            "province": ["Hà Nội"],
            "label": ["criticism"],
            "current_label": ["criticism"],
            "analyst_label": [None],
            "reviewer": [None],
            "analyst_note": [None],
            "evidence": [["Ông \u202eNguyễn Văn A bị kỷ luật."]],
            "url": ["https://example.vn/a1.html"],
            "undated": [False],
            "copies": [1],
        }
    )
    assert "Kỷ luật ông Nguyễn Văn A" in report_html(rows) and "\u202e" not in report_html(rows)


def test_report_of_stories_with_and_without_a_province() -> None:
    """A missing province beside known ones (DuckDB hands pandas NaN, not None) is left out."""
    rows = duckdb.sql(
        "SELECT * FROM (VALUES ('Bài một', 'Đà Nẵng'), ('Bài hai', NULL)) t(title, province)"
    ).df()
    rows = rows.assign(
        source="Báo Đà Nẵng",
        day=pd.Timestamp("2026-11-20"),
        label="criticism",
        current_label="criticism",
        analyst_label=None,
        reviewer=None,
        analyst_note=None,
        evidence=[["Câu một."], ["Câu hai."]],
        url="https://baodanang.vn/a-1.html",
        undated=False,
        copies=1,
    )
    html = report_html(rows)
    assert "<p>Báo Đà Nẵng · 20/11/2026 · Đà Nẵng · Phê phán (nhãn máy, chưa duyệt)</p>" in html
    assert "<p>Báo Đà Nẵng · 20/11/2026 · Phê phán (nhãn máy, chưa duyệt)</p>" in html


def pasted(
    label: str,
    analyst_label: str | None,
    evidence: list[str] | None = None,
    note: str | None = None,
) -> str:
    """What report_html writes for a story with these labels, the model's evidence and a note."""
    rows = pd.DataFrame(
        {
            "title": ["Bài một"],
            "source": ["Báo Đà Nẵng"],
            "day": [pd.Timestamp("2026-11-20")],
            "province": ["Đà Nẵng"],
            "label": [label],
            "current_label": [analyst_label or label],
            "analyst_label": [analyst_label],
            "reviewer": ["Lan" if analyst_label else None],
            "analyst_note": [note],
            "evidence": [["Câu một."] if evidence is None else evidence],
            "url": ["https://baodanang.vn/a-1.html"],
            "undated": [False],
            "copies": [1],
        }
    )
    return report_html(rows)


def pasted_line(label: str, analyst_label: str | None) -> str:
    """The line under the headline report_html writes for a story with these labels."""
    return pasted(label, analyst_label).split("<p>")[1].split("</p>")[0]


def test_pasted_line_gives_the_analysts_label_and_the_machines_it_replaced() -> None:
    line = pasted_line("neutral", "criticism")
    assert line == (
        "Báo Đà Nẵng · 20/11/2026 · Đà Nẵng · Phê phán (phân tích viên đổi từ nhãn máy Trung lập)"
    )


def test_pasted_line_of_a_confirmed_label_says_the_analyst_confirmed_it() -> None:
    line = pasted_line("criticism", "criticism")
    assert (
        line
        == "Báo Đà Nẵng · 20/11/2026 · Đà Nẵng · Phê phán (máy gán, phân tích viên đã xác nhận)"
    )


def test_pasted_relabelled_story_says_whose_sentences_follow() -> None:
    """Praise changed to criticism: the praise sentences must not read as grounds to criticise."""
    html = pasted("praise", "criticism", ["Trao Bằng khen cho chị Ánh."])
    assert (
        "<p>Các câu dưới đây là căn cứ máy dùng khi gán nhãn Khen ngợi, không phải căn cứ cho "
        "nhãn Phê phán của phân tích viên:</p><ul><li>Trao Bằng khen cho chị Ánh.</li>"
    ) in html


def test_pasted_relabelled_story_without_machine_evidence_says_so() -> None:
    html = pasted("neutral", "criticism", [])
    assert (
        "<p>Nhãn Phê phán là quyết định của phân tích viên; máy không có câu căn cứ nào cho "
        "nhãn này.</p><ul></ul>"
    ) in html


def test_pasted_line_says_an_unreviewed_label_is_the_machines() -> None:
    line = pasted_line("criticism", None)
    assert line == "Báo Đà Nẵng · 20/11/2026 · Đà Nẵng · Phê phán (nhãn máy, chưa duyệt)"


@pytest.fixture(scope="module")
def relabelled(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The notebooks' data folder after an analyst relabelled a neutral story criticism and a
    criticism story praise: the folder, the two titles and every article's current label, told
    from the labels table itself (its latest row of an article counts)."""
    copy = tmp_path_factory.mktemp("relabelled") / "data"
    shutil.copytree(data_dir, copy)
    paths = DataPaths(copy)
    with writing(paths, "test review", 30), open_db(paths.store) as con:
        titles = {}
        for model_label, analyst_label in (("neutral", "criticism"), ("criticism", "praise")):
            article_id, titles[analyst_label] = con.execute(
                "SELECT a.article_id, a.title FROM articles a JOIN classifications c "
                "ON c.article_id = a.article_id AND c.model_id = ? WHERE c.label = ? "
                "AND a.article_id NOT IN (SELECT article_id FROM labels) "
                "ORDER BY a.article_id LIMIT 1",
                [DEFAULT_MODEL, model_label],
            ).fetchone()
            con.execute(
                "INSERT INTO labels VALUES (?, ?, 'lan', now(), ?, ?, NULL, 'review.xlsx')",
                [article_id, analyst_label, DEFAULT_MODEL, model_label],
            )
        current = dict(
            con.execute(
                "SELECT article_id, label FROM classifications WHERE model_id = ?", [DEFAULT_MODEL]
            ).fetchall()
        )
        for article_id, label in con.execute(
            "SELECT article_id, label FROM labels ORDER BY labelled_at"
        ).fetchall():
            current[article_id] = label
    return {"dir": copy, "to_criticism": titles["criticism"], "to_praise": titles["praise"],
            "current": current}  # fmt: skip


def test_criticism_review_lists_a_story_an_analyst_called_criticism(
    relabelled: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = outputs(execute(NOTEBOOKS[1], relabelled["dir"], monkeypatch))
    assert (f"<h4>{relabelled['to_criticism']}</h4>" in text) is True
    assert (f"<h4>{relabelled['to_praise']}</h4>" in text) is False


def cell_text(notebook: nbformat.NotebookNode, cell_id: str) -> str:
    """What one cell printed or displayed as plain text."""
    (cell,) = [c for c in notebook.cells if c.id == cell_id]
    found = [o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs]
    return "\n".join(found)


def label_rows(text: str) -> list[tuple[str, int]]:
    """The rows of a printed table that start with a label's name, with their first number."""
    names = "|".join(LABEL_NAMES.values())
    return [(n, int(v)) for n, v in re.findall(rf"(?m)^({names})\s+(\d+)", text)]


def test_weekly_overview_counts_stories_by_their_current_label_in_the_digest_s_order(
    relabelled: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each demo article is its own story: the counts are the articles' current labels."""
    notebook = execute(NOTEBOOKS[0], relabelled["dir"], monkeypatch)
    current = list(relabelled["current"].values())
    expected = [(name, current.count(code)) for code, name in LABEL_NAMES.items()]
    assert label_rows(cell_text(notebook, "c03")) == expected
    assert "đếm theo nhãn hiện tại" in cell_text(notebook, "c03")


@pytest.mark.parametrize("story", ["to_criticism", "to_praise"])
def test_criticism_review_searches_stories_by_their_current_label(
    relabelled: dict[str, object], story: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search finds the story an analyst called criticism, not the one called praise."""
    title = relabelled[story]
    notebook = execute(NOTEBOOKS[1], relabelled["dir"], monkeypatch, QUERY=title)
    shown = title[:40]  # pandas cuts a cell of more than 50 characters
    assert (shown in cell_text(notebook, "c10")) is (story == "to_criticism")


def test_model_quality_orders_labels_as_the_digest(quality: nbformat.NotebookNode) -> None:
    rows = [name for name, _ in label_rows(cell_text(quality, "c05"))]
    assert rows == list(LABEL_NAMES.values())


def test_notebooks_use_the_digest_s_words_for_the_test_part() -> None:
    """The test part is said as the digest says it, explained where first used; no jargon."""
    texts = [(ROOT / "notebooks" / name).read_text(encoding="utf-8") for name in NOTEBOOKS]
    assert [t for t in texts if "nhãn tay" in t or "phần kiểm tra" in t] == []
    explained = (
        "bộ bài kiểm tra riêng (các bài đã được người đọc gán nhãn, không dùng khi huấn luyện "
        "hay chọn mô hình"
    )
    quality = nbformat.read(ROOT / "notebooks" / NOTEBOOKS[2], as_version=4)
    assert explained in quality.cells[0].source


def test_evidence_sentences_leave_out_the_headline() -> None:
    assert evidence_sentences(["T", "a", "b", "c", "d"], "T") == ["a", "b", "c"]


@pytest.fixture(scope="module")
def syndicated(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The notebooks' data folder after two changes the digest already counts: a criticism
    article became the second copy of a story whose first copy (by date, then id) the model gave
    another label, in the same week, neither labelled by an analyst; and the model's label of
    another article of that week is gone (a model that did not label everything) while an
    analyst labelled it criticism."""
    copy = tmp_path_factory.mktemp("syndicated") / "data"
    shutil.copytree(data_dir, copy)
    paths = DataPaths(copy)
    current = """
        SELECT a.article_id, CAST(coalesce(a.published_at, a.fetched_at) AS DATE) AS day,
               coalesce(al.label, c.label) AS label, c.label AS model_label
        FROM articles a
        JOIN classifications c ON c.article_id = a.article_id AND c.model_id = ?
        LEFT JOIN analyst_labels al ON al.article_id = a.article_id
    """
    with writing(paths, "test stories", 30), open_db(paths.store) as con:
        first, second, day = con.execute(
            f"WITH cur AS ({current}) SELECT f.article_id, s.article_id, s.day FROM cur f "
            "JOIN cur s ON date_trunc('week', f.day) = date_trunc('week', s.day) "
            "AND (f.day, f.article_id) < (s.day, s.article_id) "
            "WHERE s.model_label = 'criticism' AND f.model_label <> 'criticism' "
            "ORDER BY s.day DESC, f.day, f.article_id LIMIT 1",
            [DEFAULT_MODEL],
        ).fetchone()
        con.execute("UPDATE article_stories SET story_id = ? WHERE article_id = ?", [first, second])
        # the model's labels differ: an analyst's label on either would hold for both copies
        con.execute("DELETE FROM labels WHERE article_id IN (?, ?)", [first, second])
        (alone,) = con.execute(
            f"WITH cur AS ({current}) SELECT article_id FROM cur "
            "WHERE date_trunc('week', day) = date_trunc('week', ?::DATE) AND label <> 'criticism' "
            "AND article_id NOT IN (?, ?) AND article_id NOT IN (SELECT article_id FROM labels) "
            "ORDER BY article_id LIMIT 1",
            [DEFAULT_MODEL, day, first, second],
        ).fetchone()
        con.execute(
            "DELETE FROM classifications WHERE article_id = ? AND model_id = ?",
            [alone, DEFAULT_MODEL],
        )
        con.execute(
            "INSERT INTO labels VALUES (?, 'criticism', 'lan', now(), NULL, NULL, NULL, 'r.xlsx')",
            [alone],
        )
    monday = day - timedelta(days=day.weekday())
    return {"dir": copy, "monday": monday, "analyst_only": alone, "story": first}


def digest_stories(data_dir: Path, start: date | None = None) -> dict[str, int]:
    """Stories per label name in the digest's "Số tin" row, for the week from start (or all)."""
    selection = Selection(DEFAULT_MODEL, start, start and start + timedelta(days=6))
    with open_db(data_dir / "congvu.duckdb", read_only=True) as con:
        page, _ = render(con, selection, "Báo cáo", date(2026, 11, 30))
    (row,) = lxml.html.fromstring(page).xpath("//tr[th[starts-with(., 'Số tin')]]")
    cells = [int(th.text_content()) for th in row.xpath("th")[1:4]]
    return dict(zip(LABEL_NAMES.values(), cells, strict=True))


def test_weekly_overview_counts_stories_as_the_digest(
    syndicated: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A story counts under each label its copies carry, and an article only an analyst
    labelled counts: in all and in its week, notebook 1.0 says what the digest says."""
    notebook = execute(NOTEBOOKS[0], syndicated["dir"], monkeypatch)
    assert dict(label_rows(cell_text(notebook, "c03"))) == digest_stories(syndicated["dir"])
    week = f"{syndicated['monday']:%d/%m/%Y}"
    (row,) = re.findall(rf"(?m)^{week}\s+(\d+)\s+(\d+)\s+(\d+)$", cell_text(notebook, "c05"))
    counted = dict(zip(LABEL_NAMES.values(), map(int, row), strict=True))
    assert counted == digest_stories(syndicated["dir"], syndicated["monday"])


def test_notebooks_read_the_article_only_an_analyst_labelled_as_the_digest(
    syndicated: dict[str, object],
) -> None:
    with open_db(syndicated["dir"] / "congvu.duckdb", read_only=True) as con:
        notebooks = labelled_articles(con, DEFAULT_MODEL)
        digest = article_rows(con, Selection(DEFAULT_MODEL)).dropna(subset="current_label")
    assert sorted(zip(notebooks.article_id, notebooks.current_label, strict=True)) == sorted(
        zip(digest.article_id, digest.current_label, strict=True)
    )
    assert syndicated["analyst_only"] in set(notebooks.article_id)


def test_criticism_review_gives_a_story_all_its_copies_as_the_digest(
    syndicated: dict[str, object],
) -> None:
    """Notebook 2.0 lists the criticism copy of a two-copy story: "số bản" is 2, as on the
    digest's card, though its other copy is not criticism."""
    with open_db(syndicated["dir"] / "congvu.duckdb", read_only=True) as con:
        articles = labelled_articles(con, DEFAULT_MODEL)
    criticism = stories(articles[articles["current_label"] == "criticism"])
    assert list(criticism.loc[criticism["story_id"] == syndicated["story"], "copies"]) == [2]


def test_model_table_says_the_lexicons_release_figure_is_on_its_own_tuning_labels() -> None:
    """cue-lexicon-1's 0.764 is on dev.csv, which set its constants: not cross-validation."""
    figures = model_figures().set_index("model_id")
    assert figures.loc["cue-lexicon-1", "released_on"] == (
        "dev.csv, chính các bài dùng để chỉnh mô hình (con số lạc quan)"
    )


def test_model_table_says_a_cross_validated_release_figure_is_one() -> None:
    figures = model_figures().set_index("model_id")
    assert figures.loc[DEFAULT_MODEL, "released_on"] == "kiểm định chéo"


def test_criticism_review_names_an_unknown_province_as_the_digest_does(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's province is fictional: its criticism stories have none, said in words."""
    notebook = execute(NOTEBOOKS[1], data_dir, monkeypatch)
    assert NO_PROVINCE in cell_text(notebook, "c05")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_prose_names_no_command_or_file_of_the_engineers(name: str) -> None:
    """Analysts run no command: the digest and review sheet name none, nor do the notebooks."""
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    prose = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    found = re.findall(r"congvu \w+|make \w+|CONGVU_\w+|\w+\.json|`labels`|`analyst_labels`", prose)
    assert found == []


def listing(notebook: nbformat.NotebookNode) -> pd.DataFrame:
    """Notebook 2.0's table of criticism stories, as displayed."""
    (cell,) = [c for c in notebook.cells if c.id == "c05"]
    (html,) = [o.data["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]
    return pd.read_html(io.StringIO(html), index_col=0)[0]


def test_criticism_review_lists_the_one_criticised_apart_from_the_others(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the digest's card: "ông K." is reprimanded; the card's roles come from nlp.roles."""
    table = listing(execute(NOTEBOOKS[1], data_dir, monkeypatch))
    row = table[table["tiêu đề"].str.startswith("Khiển trách công chức")].iloc[0]
    assert row["người bị phê phán"] == "Đỗ Văn K."


def test_model_table_says_an_early_cross_validation_chose_its_options_on_the_same_labels() -> None:
    """tfidf-lr-1 was cross-validated on the 400 labels its options were chosen on (issue 10)."""
    figures = model_figures().set_index("model_id")
    assert figures.loc["tfidf-lr-1", "released_on"] == (
        "kiểm định chéo trên 400 bài có nhãn, cũng là các bài đã dùng để chọn tùy chọn của mô hình "
        "(con số lạc quan)"
    )


@pytest.fixture(scope="module")
def relabelled_review(relabelled: dict[str, object]) -> nbformat.NotebookNode:
    """Notebook 2.0 run on the relabelled data folder, searching for words no story holds."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        return execute(NOTEBOOKS[1], relabelled["dir"], monkeypatch, QUERY="xyzzy không có")


def test_criticism_review_says_whose_sentences_follow_a_relabelled_story(
    relabelled_review: nbformat.NotebookNode,
) -> None:
    """Neutral changed to criticism: the machine's evidence, if any, is not the grounds."""
    assert "của phân tích viên" in cell_text(relabelled_review, "c08")


def test_criticism_review_says_when_the_search_found_nothing(
    relabelled_review: nbformat.NotebookNode,
) -> None:
    assert "Không tìm thấy tin nào khớp" in cell_text(relabelled_review, "c10")


def test_pasted_relabelled_story_gives_the_analysts_note_as_text() -> None:
    """Why the analyst moved the story is pasted with it, and pasted as text."""
    html = pasted("neutral", "criticism", [], "<b>họp</b> nhưng chậm triển khai")
    assert (
        "<p>Ghi chú của phân tích viên Lan: &lt;b&gt;họp&lt;/b&gt; nhưng chậm triển khai</p>"
    ) in html


@pytest.fixture(scope="module")
def moved_listing(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """Notebook 2.0's table of criticism stories (empty cells as "") after an analyst's review
    file moved two praise stories (one headlined DECIDER) and a neutral one into criticism
    (`congvu review import`)."""
    data_dir = tmp_path_factory.mktemp("moved")
    run = run_congvu("demo", "--data-dir", str(data_dir))
    assert run.returncode == 0, run.stdout + run.stderr
    retitle_to_decider(data_dir)
    picks = {FROM_PRAISE: "Phê phán", FROM_NEUTRAL: "Phê phán", DECIDER: "Phê phán"}
    assert "3 labels imported" in import_review(data_dir, picks)
    with pytest.MonkeyPatch.context() as monkeypatch:
        return listing(execute(NOTEBOOKS[1], data_dir, monkeypatch)).fillna("")


ROLE_COLUMNS = [
    "người bị phê phán",
    "người ra quyết định xử lý, chỉ đạo",
    "người khác nêu trong tiêu đề, câu căn cứ",
]


def listed(table: pd.DataFrame, headline_start: str) -> pd.Series:
    """The one row of notebook 2.0's table whose headline begins so."""
    (row,) = [row for _, row in table.iterrows() if row["tiêu đề"].startswith(headline_start)]
    return row


def test_criticism_review_names_no_one_as_named_in_the_sentences_of_a_story_moved_from_praise(
    moved_listing: pd.DataFrame,
) -> None:
    """Those sentences argue praise: their people are not the ones criticised."""
    row = listed(moved_listing, FROM_PRAISE)
    assert row[ROLE_COLUMNS].tolist() == [UNREAD_CELL, "", ""]


def test_criticism_review_says_the_machine_did_not_read_who_is_criticised_in_an_analysts_story(
    moved_listing: pd.DataFrame,
) -> None:
    """The machine called the meeting neutral: the chairman it names is not the one criticised."""
    row = listed(moved_listing, FROM_NEUTRAL)
    assert row[ROLE_COLUMNS].tolist() == [UNREAD_CELL, "", ""]


def test_criticism_review_names_no_one_as_the_one_who_decided_a_sanction_in_a_moved_story(
    moved_listing: pd.DataFrame,
) -> None:
    """Its headline, read for criticism, gives the machine's one who handed out the award as
    the decider and no one criticised: the machine read no role for the analyst's label."""
    row = listed(moved_listing, DECIDER[:40])  # the table shows a headline's first 50
    assert row[ROLE_COLUMNS].tolist() == [UNREAD_CELL, "", ""]


def test_weekly_overview_says_how_many_machine_labels_are_right(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said = trust_text(DEFAULT_MODEL, precision_at_nightly_mix(DEFAULT_MODEL))
    assert said in cell_text(execute(NOTEBOOKS[0], data_dir, monkeypatch), "c03")


@pytest.fixture(scope="module")
def criticism_review(data_dir: Path) -> nbformat.NotebookNode:
    """Notebook 2.0 executed once on the demo with a second model and analysts' labels."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        return execute(NOTEBOOKS[1], data_dir, monkeypatch)


def test_criticism_review_says_how_many_machine_labels_are_right(
    criticism_review: nbformat.NotebookNode,
) -> None:
    said = trust_text(DEFAULT_MODEL, precision_at_nightly_mix(DEFAULT_MODEL))
    assert said in cell_text(criticism_review, "c05")


def test_criticism_review_shows_whole_headlines(criticism_review: nbformat.NotebookNode) -> None:
    """The demo's criticism headlines are 85 to 97 characters: none is cut."""
    assert sorted(listing(criticism_review)["tiêu đề"]) == sorted(TITLES["criticism"])


def test_criticism_review_prints_no_empty_table(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = execute(NOTEBOOKS[1], data_dir, monkeypatch, AGENCY="cơ quan không có")
    assert "Empty DataFrame" not in outputs(notebook)


@pytest.fixture(scope="module")
def reshaped(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The demo after three criticism articles changed: the first is dated 27/10/2026 (a week
    of another month); the second became its story's copy (a story republished on 23/11); the
    third lost its date (fetched 28/11/2026) and has a U+202E in its headline."""
    copy = tmp_path_factory.mktemp("reshaped") / "data"
    shutil.copytree(data_dir, copy)
    paths = DataPaths(copy)
    with writing(paths, "test reshaped", 30), open_db(paths.store) as con:
        (old, old_title), (again, again_title), (undated, undated_title) = con.execute(
            "SELECT a.article_id, a.title FROM articles a JOIN classifications c "
            "ON c.article_id = a.article_id AND c.model_id = ? WHERE c.label = 'criticism' "
            "ORDER BY a.published_at LIMIT 3",
            [DEFAULT_MODEL],
        ).fetchall()
        con.execute(
            "UPDATE articles SET published_at = '2026-10-27 09:00:00+07' WHERE article_id = ?",
            [old],
        )
        con.execute("UPDATE article_stories SET story_id = ? WHERE article_id = ?", [old, again])
        con.execute(
            "UPDATE articles SET published_at = NULL, fetched_at = '2026-11-28 10:00:00+07', "
            "title = ? WHERE article_id = ?",
            ["\u202e" + undated_title, undated],
        )
    with pytest.MonkeyPatch.context() as monkeypatch:
        weekly = execute(NOTEBOOKS[0], copy, monkeypatch)
        review = execute(NOTEBOOKS[1], copy, monkeypatch, FROM="2026-11-23")
    return {"weekly": weekly, "review": review, "again": again_title, "undated": undated_title}


def test_weekly_overview_orders_criticism_weeks_by_date(reshaped: dict[str, object]) -> None:
    (header,) = re.findall(r"(?m)^tuần từ\s+(.*)$", cell_text(reshaped["weekly"], "c11"))
    weeks = header.split()
    assert weeks == sorted(weeks, key=lambda w: date(*map(int, reversed(w.split("/")))))


def test_criticism_review_lists_a_story_republished_in_the_chosen_days(
    reshaped: dict[str, object],
) -> None:
    """FROM tests each copy: the story's copy of 23/11 is listed, though its first is older."""
    assert reshaped["again"] in list(listing(reshaped["review"])["tiêu đề"])


def test_criticism_review_says_an_undated_story_s_day_is_its_fetch_day(
    reshaped: dict[str, object],
) -> None:
    row = listed(listing(reshaped["review"]), reshaped["undated"])
    assert row["ngày"] == "28/11/2026 (ngày lấy về, bài không ghi ngày đăng)"


def test_criticism_review_table_leaves_out_bidi_controls(reshaped: dict[str, object]) -> None:
    assert reshaped["undated"] in list(listing(reshaped["review"])["tiêu đề"])


def test_pasted_story_of_several_copies_says_whose_date_it_gives() -> None:
    rows = pd.DataFrame(
        {
            "title": ["Bài một"],
            "source": ["Báo Đà Nẵng"],
            "day": [pd.Timestamp("2026-11-20")],
            "province": ["Đà Nẵng"],
            "label": ["criticism"],
            "current_label": ["criticism"],
            "analyst_label": [None],
            "reviewer": [None],
            "analyst_note": [None],
            "evidence": [["Câu một."]],
            "url": ["https://baodanang.vn/a-1.html"],
            "undated": [False],
            "copies": [3],
        }
    )
    assert "20/11/2026 (bản đăng sớm nhất trong 3 bản đăng của tin)" in report_html(rows)


def quality_table(notebook: nbformat.NotebookNode, cell_id: str) -> pd.DataFrame:
    """A table notebook 3.0 displayed in one cell, as read back from its HTML."""
    (cell,) = [c for c in notebook.cells if c.id == cell_id]
    (html,) = [o.data["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]
    return pd.read_html(io.StringIO(html), index_col=0)[0]


def test_model_table_starts_with_the_test_part_macro_f1(quality: nbformat.NotebookNode) -> None:
    assert quality_table(quality, "c03").columns.get_level_values(0)[0] == "macro-F1"


def test_model_quality_confirms_only_the_reviewed_model_s_labels(
    quality: nbformat.NotebookNode,
) -> None:
    """The analysts saw the default model's labels: cue-lexicon-1's matches are no confirmations."""
    table = quality_table(quality, "c10").set_index("mô hình")
    assert table.loc["cue-lexicon-1", "xác nhận"] == 0


def test_model_quality_says_the_analysts_figures_are_no_accuracy(
    quality: nbformat.NotebookNode,
) -> None:
    assert "không phải độ chính xác của mô hình" in cell_text(quality, "c10")


def test_model_quality_leaves_a_missing_note_empty(quality: nbformat.NotebookNode) -> None:
    """The demo's relabelled article has no note: its cell is empty, not "None" or "NaN"."""
    assert re.findall(r"\b(?:None|NaN)\b", cell_text(quality, "c12")) == []
