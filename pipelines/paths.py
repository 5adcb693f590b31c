"""Where congvu keeps its files under the data folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataPaths:
    """The database, staging files, raw HTML archive, digests and logs under one folder."""

    root: Path

    @classmethod
    def default(cls) -> DataPaths:
        """CONGVU_DATA_DIR, else ./data."""
        return cls(Path(os.environ.get("CONGVU_DATA_DIR", "data")))

    @property
    def db(self) -> Path:
        """The DuckDB file analysts open: a snapshot of the store, replaced after each write."""
        return self.root / "congvu.duckdb"

    @property
    def store(self) -> Path:
        """The job's own DuckDB file, which only congvu opens (the commands that write)."""
        return self.root / "store" / "congvu.duckdb"

    @property
    def lock(self) -> Path:
        """Held by the running job so two runs never overlap."""
        return self.root / "congvu.lock"

    @property
    def backups(self) -> Path:
        """Database copies made by `congvu db backup`."""
        return self.root / "backups"

    @property
    def exports(self) -> Path:
        """Files written by `congvu export`."""
        return self.root / "exports"

    @property
    def staging(self) -> Path:
        """Crawl output, one folder per run: <run_id>/<site>.jsonl and <site>.stats.json."""
        return self.root / "staging"

    @property
    def quarantine(self) -> Path:
        """Staging lines the load could not read: <run_id>/<site>.jsonl, with line numbers."""
        return self.root / "quarantine"

    @property
    def raw(self) -> Path:
        """Archived raw HTML, gzip, by site and SHA-256."""
        return self.root / "raw"

    @property
    def digests(self) -> Path:
        """HTML digests, one per run, and latest.html."""
        return self.root / "digest"

    @property
    def logs(self) -> Path:
        """One log file per run."""
        return self.root / "logs"
