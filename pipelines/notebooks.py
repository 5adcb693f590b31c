"""What the analysts' notebooks read: the snapshot, one model's labelled articles, model figures."""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from nlp.classify import (
    DEFAULT_MODEL,
    mix_precision,
    models_dir,
    precision_at_nightly_mix,
    read_scoreboard,
)
from nlp.evaluate import metrics
from nlp.roles import AGENT, SUBJECT
from pipelines import selection
from pipelines.digest import (
    ROLE_LINES,
    as_list,
    people_lines,
    safe_url,
    shown,
    subject_cell,
    without_headline,
)
from pipelines.search import fold
from pipelines.selection import ARTICLE_DAY, CURRENT_LABEL, EVIDENCE_TEXT, readable, relabelled
from pipelines.store import open_db
from pipelines.vietnamese import (
    LABEL_NAMES,
    evidence_of_text,
    label_name,
    review_text,
    trust_text,
)

NOTEBOOK_DB = Path("../data/congvu.duckdb")  # the published snapshot, seen from notebooks/
# Chart colours by label code, the same in every chart: criticism red, praise green.
LABEL_COLORS = {"praise": "#2e7d32", "criticism": "#c62828", "neutral": "#9e9e9e"}
# How an undated article's day is shown: it is the day it was fetched (ARTICLE_DAY).
FETCH_DAY = "ngày lấy về, bài không ghi ngày đăng"


def show_everything() -> None:
    """Tables show every row and whole texts (pandas cuts at 10 rows and 50 characters)."""
    pd.set_option("display.max_rows", None, "display.max_colwidth", None)
    pd.set_option("display.max_columns", None, "display.width", None)


def trust(model_id: str) -> str:
    """How many of a model's praise and criticism labels are right, as the digest says it."""
    return trust_text(model_id, precision_at_nightly_mix(model_id))


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A table to display: crawled text without bidirectional controls, empty cells empty."""
    return frame.map(shown).fillna("")


def day_cell(day: pd.Timestamp, undated: bool) -> str:
    """An article's day as dd/mm/yyyy, marked as the fetch day when the article has no date."""
    return f"{day:%d/%m/%Y} ({FETCH_DAY})" if undated else f"{day:%d/%m/%Y}"


def snapshot_path() -> Path:
    """The database the notebooks open: CONGVU_DB (set by `make notebook`), else the snapshot."""
    return Path(os.environ.get("CONGVU_DB") or NOTEBOOK_DB)


def notebook_model() -> str:
    """The one model whose labels the notebooks read: CONGVU_MODEL, else the default model."""
    return os.environ.get("CONGVU_MODEL") or DEFAULT_MODEL


def open_snapshot(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """The snapshot, read-only (the nightly job is never blocked), in Vietnam time."""
    return open_db(path or snapshot_path(), read_only=True)


def labelled_articles(con: duckdb.DuckDBPyConnection, model_id: str) -> pd.DataFrame:
    """One row per article with a current label: story, source, dates, province, labels, evidence.

    The articles are the digest's (pipelines/selection.py article_rows) less those without any
    label: one only an analyst labelled is here, with no model label or scores. `day` is the
    publication date in Vietnam (the fetch date when undated), `week` its Monday; `label` is the
    model's, `analyst_label` its story's current analyst label (view story_labels),
    `current_label` the one that decides where a story is listed and counted (CURRENT_LABEL);
    `copies` is the number of copies of its story, labelled or not (as on the digest's cards);
    `undated` is whether the article has no publication date (its day is then the fetch day).
    The evidence is as analysts read it (pipelines/selection.py readable).
    """
    rows = con.execute(
        f"""
        WITH copies AS (
            SELECT story_id, count(*) AS copies FROM article_stories GROUP BY story_id
        )
        SELECT a.article_id, coalesce(st.story_id, a.article_id) AS story_id,
               coalesce(cp.copies, 1) AS copies, a.site,
               coalesce(s.title, a.site) AS source, {ARTICLE_DAY} AS day,
               a.published_at IS NULL AS undated,
               CAST(date_trunc('week', {ARTICLE_DAY}) AS DATE) AS week,
               p.province, c.label, c.score_praise, c.score_criticism, c.score_neutral,
               c.evidence, a.title, a.url, al.label AS analyst_label, al.reviewer,
               al.note AS analyst_note, {CURRENT_LABEL} AS current_label, {EVIDENCE_TEXT}
        FROM articles a
        LEFT JOIN classifications c ON c.article_id = a.article_id AND c.model_id = ?
        LEFT JOIN sites s ON s.site = a.site
        LEFT JOIN article_stories st ON st.article_id = a.article_id
        LEFT JOIN copies cp ON cp.story_id = st.story_id
        LEFT JOIN article_places p ON p.article_id = a.article_id
        LEFT JOIN story_labels al ON al.article_id = a.article_id
        WHERE {CURRENT_LABEL} IS NOT NULL
        ORDER BY day DESC, a.article_id
        """,
        [model_id],
    ).df()
    return readable(rows)


def unlabelled_articles(con: duckdb.DuckDBPyConnection, model_id: str) -> int:
    """How many articles have no current label: the model has not labelled them, nor an analyst."""
    return con.execute(
        """
        SELECT count(*) FROM articles a
        WHERE NOT EXISTS (SELECT 1 FROM classifications c
                          WHERE c.article_id = a.article_id AND c.model_id = ?)
          AND NOT EXISTS (SELECT 1 FROM story_labels al WHERE al.article_id = a.article_id)
        """,
        [model_id],
    ).fetchone()[0]


def stories(articles: pd.DataFrame) -> pd.DataFrame:
    """One row per story (syndicated copies together): the fields of its first copy among
    these articles, with `shown_copies` (how many of these articles are its copies) and
    `last_day` (the newest of their days); the story with the newest copy first."""
    ordered = articles.sort_values(["day", "article_id"])
    first = ordered.drop_duplicates("story_id").set_index("story_id", drop=False)
    grouped = ordered.groupby("story_id")["day"]
    first = first.assign(shown_copies=grouped.size(), last_day=grouped.max())
    return first.sort_values(["last_day", "day"], ascending=False).reset_index(drop=True)


def story_counts(articles: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Stories per value of the `by` columns (one row, "số tin", when none) and current label,
    counted as the digest and the workbook count them (pipelines.selection.story_counts); the
    labels' names in the digest's order."""
    table = selection.story_counts(articles, by)[list(LABEL_NAMES)].rename(columns=LABEL_NAMES)
    return table if by else table.set_axis(["số tin"])


def named(con: duckdb.DuckDBPyConnection, kind: str) -> pd.Series:
    """The names of a kind (person, organization, location) each article names, most named first."""
    frame = con.execute(
        "SELECT article_id, list(name ORDER BY mentions DESC, name) AS names "
        "FROM article_entities WHERE kind = ? GROUP BY article_id",
        [kind],
    ).df()
    return frame.set_index("article_id")["names"].map(list)


def names_match(names: list[str] | float, wanted: str) -> bool:
    """Whether one of the names contains wanted, compared without marks or case."""
    if not isinstance(names, list):
        return False
    return any(fold(wanted) in fold(name) for name in names)


def release_figure(model_id: str) -> tuple[float | None, str]:
    """The macro-F1 a model was released with (its metrics.json), and what it was measured on:
    cross-validation, or the labels the model was tuned on (the lexicon's dev.csv)."""
    path = models_dir() / model_id / "metrics.json"
    if not path.is_file():
        return None, ""
    doc = json.loads(path.read_text(encoding="utf-8"))
    if "cross_validated" in doc:
        return doc["cross_validated"]["at_operating_point"]["macro_f1"], "kiểm định chéo"
    if str(doc.get("evaluation", "")).startswith("cross-validation"):  # before the frozen split
        said = (
            f"kiểm định chéo trên {doc['n']} bài có nhãn, cũng là các bài đã dùng để chọn tùy "
            "chọn của mô hình (con số lạc quan)"
        )
        return doc.get("macro_f1"), said
    labels = Path(str(doc.get("data", {}).get("labels", "nhãn không rõ"))).name
    return doc.get("macro_f1"), f"{labels}, chính các bài dùng để chỉnh mô hình (con số lạc quan)"


def model_figures() -> pd.DataFrame:
    """Each model's figures on the frozen test part (models/scoreboard.json), one row a model."""
    rows = []
    board = read_scoreboard()
    for entry in board["models"]:
        row = {"model_id": entry["model_id"]}
        if entry.get("status") == "scored":
            criticism, praise = (entry["per_class"][k] for k in ("criticism", "praise"))
            at_mix = mix_precision(entry, board["nightly_mix"]["counts"])
            mix_range = {k: f"{p.low:.3f}–{p.high:.3f}" for k, p in at_mix.items()}
            row |= {
                "macro_f1": entry["macro_f1"],
                "criticism_precision": criticism["precision"],
                "criticism_recall": criticism["recall"],
                "praise_f1": praise["f1"],
                "evidence_hit_criticism": entry["evidence_hits"]["criticism"]["hit_rate"],
                "evidence_hit_praise": entry["evidence_hits"]["praise"]["hit_rate"],
                "precision_at_mix_criticism": entry["precision_at_nightly_mix"]["criticism"],
                "precision_at_mix_criticism_range": mix_range["criticism"],
                "precision_at_mix_praise": entry["precision_at_nightly_mix"]["praise"],
                "precision_at_mix_praise_range": mix_range["praise"],
                "articles_scored": entry["n"],
                "macro_f1_unseen": entry["articles_no_model_trained_on"]["macro_f1"],
            }
        # Last: measured at release on other articles, often higher; not comparable with the rest.
        row["cross_validated_macro_f1"], row["released_on"] = release_figure(entry["model_id"])
        rows.append(row)
    return pd.DataFrame(rows).sort_values("macro_f1", ascending=False, na_position="last")


def confusion_on_test_part(model_id: str) -> pd.DataFrame:
    """A model's confusion matrix on the test part: rows the hand label, columns its label, both
    in the digest's order (LABEL_NAMES)."""
    order = list(LABEL_NAMES)
    for entry in read_scoreboard()["models"]:
        if entry["model_id"] == model_id and entry.get("status") == "scored":
            return pd.DataFrame(entry["confusion_matrix"]).T.reindex(index=order, columns=order)
    raise LookupError(f"{model_id} has no figures in models/scoreboard.json")


def model_labels(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every model's label of every article: one row an article, one column a model."""
    frame = con.execute("SELECT article_id, model_id, label FROM classifications").df()
    return frame.pivot(index="article_id", columns="model_id", values="label")


def agreement(labels: pd.DataFrame) -> pd.DataFrame:
    """For each pair of models, the articles both labelled and the share they label alike."""
    rows = []
    models = list(labels.columns)
    for i, first in enumerate(models):
        for second in models[i + 1 :]:
            both = labels[[first, second]].dropna()
            same = int((both[first] == both[second]).sum())
            share = same / len(both) if len(both) else None
            rows.append(
                {"model_a": first, "model_b": second, "articles": len(both), "agree": share}
            )
    return pd.DataFrame(rows, columns=["model_a", "model_b", "articles", "agree"])


def analyst_check(con: duckdb.DuckDBPyConnection, model_id: str) -> dict | None:
    """The model against the analysts' current labels (nlp.evaluate.metrics), with `reviewed`
    (how many the analyst decided seeing this model's label) and `kept` (of those, how many
    kept it); None without any."""
    rows = con.execute(
        """
        SELECT al.label, c.label, coalesce(al.model_id = ?, false) FROM analyst_labels al
        JOIN classifications c ON c.article_id = al.article_id AND c.model_id = ?
        """,
        [model_id, model_id],
    ).fetchall()
    if not rows:
        return None
    seen = [(gold, predicted) for gold, predicted, shown_this in rows if shown_this]
    found = metrics([gold for gold, _, _ in rows], [predicted for _, predicted, _ in rows])
    return found | {"reviewed": len(seen), "kept": sum(gold == p for gold, p in seen)}


def evidence_sentences(evidence: object, title: str | None, count: int = 3) -> list[str]:
    """The first evidence sentences, without the headline (shown above them already)."""
    return without_headline(evidence, title)[:count]


def review_state(label: str | None, analyst_label: str | None) -> str:
    """The review line of the digest's cards (vietnamese.review_text), or that none was done."""
    return review_text(label, analyst_label) or "Chưa được phân tích viên duyệt"


def checked_text(label: object, analyst_label: object) -> str:
    """Who chose a pasted story's label, in brackets after it: the machine, or an analyst."""
    if not isinstance(analyst_label, str):
        return "nhãn máy, chưa duyệt"
    if analyst_label == label:
        return "máy gán, phân tích viên đã xác nhận"
    if isinstance(label, str):
        return f"phân tích viên đổi từ nhãn máy {label_name(label)}"
    return "phân tích viên gán; máy chưa gán nhãn"


def people_by_role(rows: pd.DataFrame, label: str) -> pd.DataFrame:
    """Each story's people as the digest's cards list them (pipelines.digest.people_lines): the
    one praised or criticised (for a story an analyst relabelled, or that the machine did not
    read who is), the one who handed it out or decided it, the others its headline and evidence
    name, and everyone the article names."""
    lines = [
        people_lines({"people": p, "evidence": e, "title": t, "text": x}, label, relabelled(m, a))
        for p, e, t, x, m, a in zip(
            rows["people"],
            rows["evidence"],
            rows["title"],
            rows["text"],
            rows["label"],
            rows["analyst_label"],
            strict=True,
        )
    ]
    return pd.DataFrame(
        {
            ROLE_LINES[label][SUBJECT].lower(): [subject_cell(line) for line in lines],
            ROLE_LINES[label][AGENT].lower(): [", ".join(line["people_agent"]) for line in lines],
            "người khác nêu trong tiêu đề, câu căn cứ": [
                ", ".join(line["people_quoted"]) for line in lines
            ],
            "mọi người bài báo nêu tên": [", ".join(as_list(p)) for p in rows["people"]],
        },
        index=rows.index,
    )


def note_html(row: Any) -> str:
    """The analyst's note on a pasted story, with who wrote it; empty when there is none."""
    if not isinstance(row.analyst_note, str) or not row.analyst_note.strip():
        return ""
    said = f"Ghi chú của phân tích viên {row.reviewer}: {row.analyst_note.strip()}"
    return f"<p>{escape(said)}</p>"


def report_html(rows: pd.DataFrame) -> str:
    """Stories as HTML to paste into a report: headline, source, date (marked when it is the
    fetch day, and as the first copy's of several), province, current label and whether an
    analyst checked it, evidence, link.

    Every crawled string is HTML-escaped, without bidirectional controls (as the digest shows
    it), and only http(s) links are made links.
    """
    parts = []
    for row in rows.itertuples():
        province = row.province if isinstance(row.province, str) else ""  # NaN when unknown
        label = f"{label_name(row.current_label)} ({checked_text(row.label, row.analyst_label)})"
        day = day_cell(row.day, row.undated)
        if row.copies > 1:  # the date and source are those of the story's first copy shown
            day = f"{day} (bản đăng sớm nhất trong {row.copies} bản đăng của tin)"
        facts = [row.source, day, province, label]
        sentences = evidence_sentences(row.evidence, row.title)
        evidence = "".join(f"<li>{escape(s)}</li>" for s in sentences)
        said = ""
        if relabelled(row.label, row.analyst_label):
            said = (
                f"<p>{escape(evidence_of_text(row.label, row.analyst_label, bool(sentences)))}</p>"
            )
        link = safe_url(row.url) or ""  # a crawled javascript: link must not be clickable
        anchor = f'<a href="{escape(link)}">{escape(link)}</a>' if link else escape(row.url)
        parts.append(
            f"<h4>{escape(row.title or '')}</h4>"
            f"<p>{escape(' · '.join(f for f in facts if f))}</p>{note_html(row)}"
            f"{said}<ul>{evidence}</ul><p>Nguồn: {anchor}</p>"
        )
    return str(shown("\n".join(parts)))
