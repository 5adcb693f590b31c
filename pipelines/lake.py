"""The shared store: a DuckLake (catalog in PostgreSQL, Parquet files) that many nodes write."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import random
import re
import socket
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import duckdb

from pipelines.sql import literal

log = logging.getLogger(__name__)

# CONGVU_STORE selects the store: unset, the DuckDB file under the data folder; a DuckLake
# target (ducklake:postgres:dbname=congvu host=... port=...), the shared store. The first writer
# creates the lake with its Parquet files under CONGVU_STORE_DATA (a folder every node mounts,
# or s3://...); later attaches read that path from the catalog.
STORE_ENV = "CONGVU_STORE"
STORE_DATA_ENV = "CONGVU_STORE_DATA"
NODE_ENV = "CONGVU_NODE"  # the node's name in its run ids (default: the host name)

# DuckLake's own retries, when two commits race for the next snapshot without touching the same
# data (its default: 10 tries from 100 ms): nodes then commit one after the other.
DUCKLAKE_RETRY = {"ducklake_max_retry_count": 100, "ducklake_retry_wait_ms": 50}
# A write that does conflict (see begin) is rolled back and run again whole, at most this often.
CONFLICT_RETRIES = 30

P = ParamSpec("P")
T = TypeVar("T")


def lake_target() -> str | None:
    """The DuckLake CONGVU_STORE names, or None for the embedded DuckDB file."""
    target = os.environ.get(STORE_ENV, "").strip()
    if not target:
        return None
    if not target.startswith("ducklake:"):
        raise ValueError(
            f"{STORE_ENV}={target!r}: expected a DuckLake target such as "
            "'ducklake:postgres:dbname=congvu host=127.0.0.1 port=5432', or unset for the file"
        )
    return target


def node_name() -> str:
    """This node's name for run ids: CONGVU_NODE, else the host name (letters, digits, -)."""
    name = os.environ.get(NODE_ENV) or socket.gethostname()
    return re.sub(r"[^A-Za-z0-9-]+", "-", name).strip("-") or "node"


def extension_directory() -> str:
    """Where the duckdb-ext-ducklake and duckdb-ext-postgres wheels put their extensions."""
    spec = importlib.util.find_spec("duckdb_ext")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"{STORE_ENV} names a DuckLake but the cluster extra is not installed: "
            "pip install -e '.[cluster]' (duckdb-ext-ducklake, duckdb-ext-postgres)"
        )
    return os.path.join(next(iter(spec.submodule_search_locations)), "extensions")


def attach_lake(con: duckdb.DuckDBPyConnection, target: str, read_only: bool) -> None:
    """Attach the lake as `congvu` (created by the first writer); a clear error if it cannot be."""
    con.execute(f"SET extension_directory = {literal(extension_directory())}")
    con.execute("LOAD ducklake")
    con.execute("LOAD postgres")
    for name, value in DUCKLAKE_RETRY.items():
        con.execute(f"SET {name} = {value}")
    options = ["READ_ONLY"] if read_only else []
    if not read_only and (data := os.environ.get(STORE_DATA_ENV)):
        options.append(f"DATA_PATH {literal(data)}")
    suffix = f" ({', '.join(options)})" if options else ""
    for attempt in range(3):
        try:
            con.execute(f"ATTACH {literal(target)} AS congvu{suffix}")
            return
        except duckdb.Error as exc:
            text = str(exc)
            # Two nodes creating the lake at once: PostgreSQL lets one create the catalog's
            # tables and refuses the other's, which then finds the lake made.
            racing = "duplicate key" in text or "already exists" in text
            if not racing or attempt == 2:
                break
            time.sleep(0.5)
    if "does not exist" in text and read_only:
        hint = "no shared store there yet: a writer creates it (`congvu db migrate`)"
    elif "data_path is not set" in text:
        hint = f"creating the shared store needs {STORE_DATA_ENV}, the Parquet files' folder"
    else:
        hint = "cannot attach the shared store"
    raise RuntimeError(f"{STORE_ENV}={target}: {hint} ({text.splitlines()[0]})") from None


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether con's database is the shared store."""
    row = con.execute(
        "SELECT type FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return row is not None and row[0] == "ducklake"


def begin(con: duckdb.DuckDBPyConnection) -> None:
    """BEGIN a write; in the lake, first bump lake_writes so that concurrent writes conflict.

    DuckLake has no unique keys and lets concurrent inserts into one table both commit, so two
    nodes' anti-join inserts of the same key would both land. Every write transaction updates
    the one row of lake_writes: of two that overlap, the second to commit fails, is rolled back
    whole and run again (retried) on the new snapshot, where it sees the first one's rows.
    """
    con.execute("BEGIN")
    if is_lake(con):
        con.execute("UPDATE lake_writes SET writes = writes + 1")


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """ROLLBACK, unless the failed COMMIT already ended the transaction (a lake conflict)."""
    with contextlib.suppress(duckdb.TransactionException):
        con.execute("ROLLBACK")


def conflict(exc: BaseException) -> bool:
    """Whether exc is a lake commit that lost to a concurrent writer (or a catalog race)."""
    return isinstance(exc, duckdb.TransactionException | duckdb.CatalogException) and (
        "conflict" in str(exc).lower()
    )


def retried(step: Callable[P, T]) -> Callable[P, T]:
    """Run a write step again, whole, when its commit conflicted with another node's."""

    @functools.wraps(step)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, CONFLICT_RETRIES + 1):
            try:
                return step(*args, **kwargs)
            except duckdb.Error as exc:
                if not conflict(exc) or attempt == CONFLICT_RETRIES:
                    raise
                log.info("%s: another node committed first; again (%d)", step.__name__, attempt)
                time.sleep(random.uniform(0.05, 0.2) * min(attempt, 10))  # jitter: no lockstep
        raise AssertionError("unreachable")

    return run
