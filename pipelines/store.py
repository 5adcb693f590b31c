"""Opening the DuckDB files: the store the job writes and the snapshot analysts read."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from crawlers.dates import VN_TZ
from pipelines.lake import attach_lake, lake_target
from pipelines.migrations import migrate
from pipelines.sql import literal

# Rows per row group when this process writes. A bulk load (a backfill, a re-extraction) fills
# whole row groups, which DuckDB writes straight into the file during the insert instead of
# through the write-ahead log at COMMIT, so the data is written once: measured with
# bench/store.py, loading 100,000 articles takes about a third less time than with DuckDB's
# default of 122,880. Readers are unaffected; the size is not stored in the file.
ROW_GROUP_SIZE = 16_384


class DatabaseLocked(RuntimeError):
    """Another process holds the database's lock (someone opened the job's own file)."""


class DatabaseTooNew(RuntimeError):
    """The file was written by a newer DuckDB than the one congvu pins (pyproject.toml)."""


def written_by(path: Path) -> str:
    """The DuckDB version named in a database file's header, e.g. 'v2.0.1' ('' if unreadable)."""
    # The main header: checksum (8 bytes), b"DUCK", storage version (8), flags (4 x 8), then the
    # writer's version string (32 bytes, NUL-padded).
    try:
        with open(path, "rb") as file:
            header = file.read(84)
    except OSError:
        return ""
    version = header[52:84].split(b"\0")[0].decode("ascii", "replace")
    return version if header[8:12] == b"DUCK" and version.startswith("v") else ""


def too_new(path: Path, exc: duckdb.Error) -> DatabaseTooNew:
    """The error for a file this DuckDB cannot read because a newer one wrote it."""
    writer = written_by(path) or "a newer version"
    return DatabaseTooNew(
        f"{path} was written by DuckDB {writer}; congvu runs DuckDB {duckdb.__version__}, "
        "which cannot read it. Carry it over with EXPORT DATABASE (in a throwaway venv with "
        f'duckdb=={writer.removeprefix("v")}) and IMPORT DATABASE: README, "Upgrading from a '
        f'newer DuckDB". ({str(exc).splitlines()[0]})'
    )


def existing_db(path: Path) -> Path:
    """The database file to read; a clear error, and nothing created, when there is none yet."""
    if lake_target() is None and not path.is_file():  # the shared store says so when it opens
        raise FileNotFoundError(
            f"no database at {path} yet: a run creates it (`congvu nightly`, or `congvu demo` "
            "for data/demo); check --data-dir or CONGVU_DATA_DIR"
        )
    return path


def open_db(path: Path, read_only: bool = False, wait_s: float = 60.0) -> duckdb.DuckDBPyConnection:
    """Connect, retrying with backoff while another process holds the lock; migrate if writable.

    With CONGVU_STORE naming a DuckLake, every command's database is that shared store instead
    of the file at path (pipelines/lake.py).
    """
    if (target := lake_target()) is not None:
        con = duckdb.connect()
        try:
            attach_lake(con, target, read_only)
        except BaseException:
            con.close()
            raise
    else:
        con = attach_file(path, read_only, wait_s)
    try:
        con.execute("USE congvu")
        con.execute(f"SET TimeZone = '{VN_TZ.key}'")
        if not read_only:
            migrate(con)
    except BaseException:
        con.close()  # a lake's connection left open past its server's end aborts the process
        raise
    return con


def attach_file(path: Path, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    """A connection with the database file attached as `congvu`, waiting out another's lock."""
    if read_only:
        existing_db(path)  # DuckDB cannot create a file read-only: say so instead of a traceback
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    delay = 0.2
    options = "READ_ONLY" if read_only else f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}"
    while True:
        con = duckdb.connect()
        try:
            con.execute(f"ATTACH {literal(str(path))} AS congvu ({options})")
            return con
        except duckdb.IOException as exc:
            con.close()
            if "created with an newer version" in str(exc):  # DuckDB's own spelling
                raise too_new(path, exc) from None
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                if "lock" in str(exc).lower():
                    raise DatabaseLocked(
                        f"{path} is locked by another process (only congvu should open the "
                        f"job's own file; notebooks open data/congvu.duckdb with "
                        f"read_only=True): {exc}"
                    ) from exc
                raise
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 10.0)
