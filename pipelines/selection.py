"""Which articles a digest, report or export covers, read with everything analysts are shown."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from nlp.provinces import main_province, province_names
from nlp.text import normalize, readable_evidence
from pipelines.charts import UNLABELLED
from pipelines.enrich import ARTICLE_TEXT, analysed
from pipelines.vietnamese import LABEL_NAMES

# An article's day: its publication date in Vietnam, or the day it was fetched when undated
# (the session's time zone is Vietnam's: pipelines/store.py).
ARTICLE_DAY = "CAST(coalesce(a.published_at, a.fetched_at) AS DATE)"
# An article's current label: its story's analyst label (view story_labels `al`: the newest one
# given to any copy) when reviewed, else the model's (classifications `c`). It decides where a
# story is listed and counted; every copy of a reviewed story has the same one.
CURRENT_LABEL = "coalesce(al.label, c.label)"
# The text the model read, for a row with evidence (classifications `c`): readable() needs it.
EVIDENCE_TEXT = f"CASE WHEN len(c.evidence) > 0 THEN {ARTICLE_TEXT} END AS evidence_text"


def readable(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows with EVIDENCE_TEXT, their `evidence` as analysts read it (nlp.text.readable_evidence:
    a continuation joined to its sentence, link lines left out), `evidence_text` replaced by
    `text`, the part the model read (None without evidence): a card's roles check in it who holds
    a post and whether a sanction was wrongful (nlp.roles.roles)."""
    text = [analysed(t) if isinstance(t, str) else None for t in rows["evidence_text"]]
    evidence = [
        readable_evidence(list(e), t) if t is not None else e
        for e, t in zip(rows["evidence"], text, strict=True)
    ]
    return rows.drop(columns="evidence_text").assign(
        evidence=pd.Series(evidence, rows.index, dtype=object),
        text=pd.Series(text, rows.index, dtype=object),
    )


def relabelled(label: object, analyst_label: object) -> bool:
    """Whether an analyst gave the article a label other than the machine's (its evidence then
    argues the machine's label, not the current one)."""
    return isinstance(analyst_label, str) and analyst_label != label


TOTAL = "total"  # story_counts' column of every story, each once


@dataclass(frozen=True)
class Selection:
    """Articles published in [start, end] and/or loaded in (loaded_since, loaded_until].

    province (a name on the 34-province map) and site (a profile name) narrow it; the labels
    shown are model_id's.
    """

    model_id: str
    start: date | None = None
    end: date | None = None
    loaded_since: datetime | None = None
    loaded_until: datetime | None = None
    province: str | None = None
    site: str | None = None

    def where(self) -> tuple[str, list[object]]:
        """The SQL condition on articles `a` joined to article_places `p`, and its parameters."""
        conditions: list[str] = []
        params: list[object] = []
        for condition, value in (
            (f"{ARTICLE_DAY} >= ?", self.start),
            (f"{ARTICLE_DAY} <= ?", self.end),
            ("a.loaded_at > ?", self.loaded_since),
            ("a.loaded_at <= ?", self.loaded_until),
            ("p.province = ?", self.province),
            ("a.site = ?", self.site),
        ):
            if value is not None:
                conditions.append(condition)
                params.append(value)
        return " AND ".join(conditions) or "TRUE", params


def article_rows(con: duckdb.DuckDBPyConnection, selection: Selection) -> pd.DataFrame:
    """The selected articles, newest first, each with its source's title, the model's label,
    score and evidence, its story and number of copies (those loaded by loaded_until), province,
    the people and bodies it names (most mentioned first), its story's current analyst label
    (view story_labels) and its `current_label` (CURRENT_LABEL). The evidence is as analysts read
    it (readable)."""
    where, params = selection.where()
    rows = con.execute(
        f"""
        WITH chosen AS (
            SELECT a.article_id, p.province
            FROM articles a LEFT JOIN article_places p ON p.article_id = a.article_id
            WHERE {where}
        ), named AS (
            SELECT article_id,
                   list(name ORDER BY mentions DESC, name) FILTER (kind = 'person') AS people,
                   list(name ORDER BY mentions DESC, name) FILTER (kind = 'organization')
                       AS bodies
            FROM article_entities SEMI JOIN chosen USING (article_id)
            GROUP BY article_id
        ), copies AS (  -- a digest's: those loaded by the end of its window, as its night saw
            SELECT st.story_id, count(*) AS copies
            FROM article_stories st JOIN articles a USING (article_id)
            WHERE a.loaded_at <= coalesce(CAST(? AS TIMESTAMPTZ), 'infinity'::TIMESTAMPTZ)
            GROUP BY st.story_id
        )
        SELECT a.article_id, a.site, coalesce(s.title, a.site) AS source, a.url, a.title,
               a.author, a.category, a.published_at, a.fetched_at, {ARTICLE_DAY} AS day,
               c.label, c.score_praise, c.score_criticism, c.score_neutral, c.evidence,
               CASE c.label WHEN 'praise' THEN c.score_praise
                            WHEN 'criticism' THEN c.score_criticism
                            WHEN 'neutral' THEN c.score_neutral END AS score,
               coalesce(st.story_id, a.article_id) AS story_id, coalesce(cp.copies, 1) AS copies,
               chosen.province, n.people, n.bodies,
               al.label AS analyst_label, al.reviewer, al.labelled_at, al.note AS analyst_note,
               {CURRENT_LABEL} AS current_label, {EVIDENCE_TEXT}
        FROM chosen JOIN articles a USING (article_id)
        LEFT JOIN sites s ON s.site = a.site
        LEFT JOIN classifications c ON c.article_id = a.article_id AND c.model_id = ?
        LEFT JOIN article_stories st ON st.article_id = a.article_id
        LEFT JOIN copies cp ON cp.story_id = st.story_id
        LEFT JOIN named n ON n.article_id = a.article_id
        LEFT JOIN story_labels al ON al.article_id = a.article_id
        ORDER BY a.published_at DESC NULLS LAST, a.article_id
        """,
        [*params, selection.loaded_until, selection.model_id],
    ).df()
    return readable(rows)


def daily_labels(con: duckdb.DuckDBPyConnection, selection: Selection) -> pd.DataFrame:
    """Articles per day and current label (CURRENT_LABEL; NULL when unlabelled): day, label,
    articles."""
    where, params = selection.where()
    return con.execute(
        f"""
        SELECT {ARTICLE_DAY} AS day, {CURRENT_LABEL} AS label, count(*) AS articles
        FROM articles a LEFT JOIN article_places p ON p.article_id = a.article_id
        LEFT JOIN classifications c ON c.article_id = a.article_id AND c.model_id = ?
        LEFT JOIN story_labels al ON al.article_id = a.article_id
        WHERE {where}
        GROUP BY ALL ORDER BY ALL
        """,
        [selection.model_id, *params],
    ).df()


def story_counts(rows: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Stories per value of the `by` columns (one row when none) and current label, as the
    digest, the workbook and notebook 1.0 count them (vietnamese.STORY_COUNTING).

    rows: articles with story_id and current_label (a code, NULL when unlabelled). A story counts
    once under each label its copies carry (UNLABELLED for a copy without one), once in TOTAL,
    and in each row its copies fall in. Columns: LABEL_NAMES' codes in the digest's order,
    UNLABELLED, TOTAL.
    """
    keys = by or ["all"]
    frame = rows.assign(current_label=rows["current_label"].fillna(UNLABELLED), all=0)
    per_label = frame.groupby([*keys, "current_label"])["story_id"].nunique()
    table = per_label.unstack("current_label", fill_value=0)
    table = table.reindex(columns=[*LABEL_NAMES, UNLABELLED], fill_value=0)
    table[TOTAL] = frame.groupby(keys)["story_id"].nunique()
    if not by:  # one row, also of zeros when there is no article
        table = table.reindex([0], fill_value=0).rename_axis(index=None)
    return table.rename_axis(columns=None)


def province_of(name: str) -> str:
    """A province as article_places stores it (a pre-merger name gives its successor).

    Raises ValueError naming the 34 provinces when name is none of them.
    """
    names = province_names()
    wanted = normalize(name).strip().casefold()
    exact = [n for n in names if n.casefold() == wanted]
    found = exact[0] if exact else getattr(main_province(normalize(name)), "name", None)
    if found is None:
        raise ValueError(f"unknown province {name!r}; the 34 provinces: {', '.join(names)}")
    return found


def site_of(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """A site known to the database (its profile name, or its title); ValueError otherwise."""
    name = unicodedata.normalize("NFC", name)  # a title pasted in NFD is the same title
    rows = con.execute(
        "SELECT site FROM sites WHERE site = ? OR lower(nfc_normalize(title)) = lower(?)",
        [name, name],
    ).fetchall()
    if not rows:
        known = ", ".join(r[0] for r in con.execute("SELECT site FROM sites ORDER BY 1").fetchall())
        raise ValueError(f"unknown site {name!r}; the database has: {known or 'none yet'}")
    return rows[0][0]
