"""The HTML digest analysts read each morning (in Vietnamese), built from the database."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb
from jinja2 import Environment, PackageLoader, select_autoescape

from pipelines.paths import DataPaths
from pipelines.store import open_db

SECTIONS = (("criticism", "Bài phê phán"), ("praise", "Bài khen ngợi"))


def render_digest(
    db: Path, run_id: str, model_id: str, since: datetime | None, until: datetime
) -> str:
    """A run's digest: its per-site results, and the articles loaded in (since, until]."""
    with open_db(db, read_only=True) as con:
        run = con.execute(
            "SELECT run_id, started_at FROM crawl_runs WHERE run_id = ?", [run_id]
        ).fetchone()
        if run is None:
            raise LookupError(f"no crawl run {run_id} in {db}")
        sites = con.execute(
            "SELECT site, status, articles, discovered, errors, warning FROM crawl_run_sites "
            "WHERE run_id = ? ORDER BY site",
            [run_id],
        ).df()
        # Articles no digest has shown yet (a killed run's included), with this model's label.
        new = con.execute(
            """
            SELECT a.site, a.url, a.title,
                   strftime(a.published_at, '%d/%m/%Y %H:%M') AS published_at, c.label, c.evidence,
                   coalesce(st.story_id, a.article_id) AS story_id,
                   CASE c.label WHEN 'praise' THEN c.score_praise
                                WHEN 'criticism' THEN c.score_criticism
                                ELSE c.score_neutral END AS score
            FROM articles a JOIN classifications c
              ON c.article_id = a.article_id AND c.model_id = ?
            LEFT JOIN article_stories st ON st.article_id = a.article_id
            WHERE a.loaded_at > coalesce(?::TIMESTAMPTZ, '-infinity') AND a.loaded_at <= ?
            ORDER BY score DESC, a.published_at DESC
            """,
            [model_id, since, until],
        ).df()
    counts = (
        new.pivot_table(index="site", columns="label", values="url", aggfunc="count", fill_value=0)
        .reindex(columns=["criticism", "praise", "neutral"], fill_value=0)
        .assign(total=lambda t: t.sum(axis=1))
        .reset_index()
    )
    stories = new.groupby("label")["story_id"].nunique()
    story_counts = {
        label: int(stories.get(label, 0)) for label in ("criticism", "praise", "neutral")
    }
    story_counts["total"] = int(new["story_id"].nunique())
    site_rows = [
        {**row, "errors": json.loads(row["errors"] or "{}")} for row in sites.to_dict("records")
    ]
    env = Environment(
        loader=PackageLoader("pipelines", "templates"), autoescape=select_autoescape(["j2"])
    )
    return env.get_template("digest.html.j2").render(
        run={"run_id": run[0], "started_at": run[1].strftime("%d/%m/%Y %H:%M")},
        run_date=run[1].strftime("%d/%m/%Y"),
        model_id=model_id,
        new_total=len(new),
        sites=site_rows,
        failed_sites=[s["site"] for s in site_rows if s["status"] != "ok"],
        counts=counts.to_dict("records"),
        stories=story_counts,
        sections=[
            {
                "label": label,
                "heading": heading,
                "articles": new[new["label"] == label].to_dict("records"),
            }
            for label, heading in SECTIONS
        ],
    )


def latest_run(con: duckdb.DuckDBPyConnection) -> str | None:
    """The id of the latest run recorded, or None before the first."""
    return con.execute("SELECT max(run_id) FROM crawl_runs").fetchone()[0]


def undigested_since(con: duckdb.DuckDBPyConnection) -> object:
    """The end of the last digest's window: later loads have not been in any digest yet."""
    return con.execute("SELECT max(digest_until) FROM crawl_runs").fetchone()[0]


def write_digest(
    paths: DataPaths, run_id: str, model_id: str, db: Path
) -> tuple[Path, datetime | None, datetime]:
    """Write digest-<run_id>.html from db (articles not in any digest yet), refresh latest.html.

    Returns the file and the load window it covers, which the nightly job records with the run.
    Rewriting the digest of a run that has one keeps that digest's window.
    """
    with open_db(db, read_only=True) as con:
        window = con.execute(
            "SELECT digest_from, digest_until FROM crawl_runs WHERE run_id = ?", [run_id]
        ).fetchone()
        since = undigested_since(con)
        newest = con.execute(
            "SELECT max(run_id) FROM crawl_runs WHERE digest IS NOT NULL"
        ).fetchone()
    if window and window[1] is not None:
        since, until = window
    else:
        until = datetime.now(timezone.utc)
    paths.digests.mkdir(parents=True, exist_ok=True)
    target = paths.digests / f"digest-{run_id}.html"
    partial = target.with_suffix(".part")
    partial.write_text(render_digest(db, run_id, model_id, since, until), encoding="utf-8")
    partial.replace(target)
    if newest[0] is None or run_id >= newest[0]:
        shutil.copyfile(target, paths.digests / "latest.html")
    return target, since, until
