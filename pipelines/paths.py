"""Where congvu keeps its files under the data folder, and the UTC stamp that names them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import overload

from nlp.datafiles import data_dir

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"  # sortable: run ids (staging/<run_id>/) and backup names


def utc_stamp(now: datetime | None = None) -> str:
    """A UTC time (now by default) as STAMP_FORMAT."""
    return (now or datetime.now(timezone.utc)).strftime(STAMP_FORMAT)


class Below:
    """A path below DataPaths.root, read as an attribute."""

    def __init__(self, *parts: str, doc: str) -> None:
        self.parts = parts
        self.__doc__ = doc

    @overload
    def __get__(self, paths: None, owner: type) -> Below: ...
    @overload
    def __get__(self, paths: DataPaths, owner: type) -> Path: ...
    def __get__(self, paths: DataPaths | None, owner: type) -> Below | Path:
        """The path below paths.root; the descriptor itself when looked up on the class."""
        return self if paths is None else paths.root.joinpath(*self.parts)


@dataclass(frozen=True)
class DataPaths:
    """The database, staging files, raw HTML archive, digests and logs under one folder."""

    root: Path

    @classmethod
    def default(cls) -> DataPaths:
        """CONGVU_DATA_DIR, else ./data."""
        return cls(data_dir())

    db = Below(
        "congvu.duckdb",
        doc="The DuckDB file analysts open: a snapshot of the store, replaced after each write.",
    )
    store = Below(
        "store",
        "congvu.duckdb",
        doc="The job's own DuckDB file, which only congvu opens (the commands that write).",
    )
    lock = Below("congvu.lock", doc="Held by the running job so two runs never overlap.")
    backups = Below("backups", doc="Database copies made by `congvu db backup`.")
    exports = Below("exports", doc="Files written by `congvu export`.")
    reports = Below("reports", doc="Reports written by `congvu report`.")
    staging = Below(
        "staging",
        doc="Crawl output, one folder per run: <run_id>/<site>.jsonl and <site>.stats.json.",
    )
    quarantine = Below(
        "quarantine",
        doc="Staging lines the load could not read: <run_id>/<site>.jsonl, with line numbers.",
    )
    reclassify = Below(
        "reclassify",
        doc="`congvu reclassify --ray`'s Parquet files, one folder per model: articles/, labels/.",
    )
    raw = Below("raw", doc="Archived raw HTML, gzip, by site and SHA-256.")
    digests = Below("digest", doc="HTML digests, one per run, and latest.html.")
    logs = Below("logs", doc="One log file per run.")
