"""Analysts' exports (Parquet, CSV, Excel) and database backups."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from crawlers.dates import VN_TZ
from pipelines.paths import DataPaths, utc_stamp
from pipelines.sql import literal
from pipelines.store import open_db

FORMATS = ("parquet", "csv", "xlsx")


def labelled_articles(
    paths: DataPaths, model_id: str, start: date | None, end: date | None
) -> pd.DataFrame:
    """Articles published in [start, end] (Vietnam dates; fetch date when undated) with labels."""
    with open_db(paths.db, read_only=True) as con:
        return con.execute(
            """
            SELECT a.article_id, a.site, a.published_at, a.title, a.url, a.category, a.author,
                   c.model_id, c.label, c.score_praise, c.score_criticism, c.score_neutral,
                   c.evidence, s.story_id
            FROM articles a
            LEFT JOIN classifications c ON c.article_id = a.article_id AND c.model_id = ?
            LEFT JOIN article_stories s ON s.article_id = a.article_id
            WHERE CAST(coalesce(a.published_at, a.fetched_at) AS DATE)
                  BETWEEN coalesce(?::DATE, DATE '-infinity') AND coalesce(?::DATE, DATE 'infinity')
            ORDER BY a.published_at DESC NULLS LAST, a.article_id
            """,
            [model_id, start, end],
        ).df()


def export_articles(frame: pd.DataFrame, target: Path, fmt: str) -> Path:
    """Write the frame as parquet, csv or xlsx (evidence joined into one cell for csv/xlsx)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        frame.to_parquet(target, index=False)
        return target
    flat = frame.assign(
        evidence=frame["evidence"].map(lambda e: " | ".join(e) if e is not None else ""),
        # Excel has no time zones: write Vietnam local time without an offset.
        published_at=frame["published_at"].dt.tz_convert(VN_TZ).dt.tz_localize(None),
    )
    if fmt == "csv":
        flat.to_csv(target, index=False, encoding="utf-8-sig")  # BOM: Excel opens it as UTF-8
    else:
        flat.to_excel(target, index=False, sheet_name="articles")
    return target


def backup_database(paths: DataPaths, wait_s: float = 60.0) -> Path:
    """Copy the database into data/backups/ through a read-only connection (readers unaffected)."""
    target = paths.backups / f"congvu-{utc_stamp()}.duckdb"
    with open_db(paths.db, read_only=True, wait_s=wait_s) as con:
        target.parent.mkdir(parents=True, exist_ok=True)  # only once there is a database to copy
        source = con.execute("SELECT current_database()").fetchone()[0]
        con.execute(f"ATTACH {literal(str(target))} AS backup (READ_WRITE)")
        con.execute(f'COPY FROM DATABASE "{source}" TO backup')
        con.execute("DETACH backup")
    return target
