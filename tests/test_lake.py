"""The shared store: a DuckLake in PostgreSQL that several nodes write while analysts read."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.migrations import lake_ddl
from pipelines.store import open_db


def schema(path: Path) -> tuple[list[tuple], list[tuple]]:
    """Tables and views with their comments; their columns with types and comments, in order.

    Views' columns are left without comments: DuckLake cannot store them (migrations.py).
    lake_writes, the lake's writers' turn, is the lake's own.
    """
    con = open_db(path)
    try:
        tables = con.execute(
            "SELECT table_name, comment FROM duckdb_tables() WHERE database_name = "
            "current_database() AND table_name <> 'lake_writes' UNION ALL SELECT view_name, "
            "comment FROM duckdb_views() WHERE database_name = current_database() ORDER BY 1"
        ).fetchall()
        columns = con.execute(
            "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable, "
            "CASE WHEN v.view_name IS NULL THEN c.comment END FROM duckdb_columns() c "
            "LEFT JOIN duckdb_views() v ON v.view_name = c.table_name "
            "AND v.database_name = c.database_name WHERE c.database_name = current_database() "
            "AND c.table_name <> 'lake_writes' ORDER BY c.table_name, c.column_index"
        ).fetchall()
    finally:
        con.close()
    return tables, columns


def test_the_migrated_lake_has_the_files_tables_and_columns(
    lake: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_lake = schema(tmp_path / "unused.duckdb")  # CONGVU_STORE: the lake, migrated on opening
    monkeypatch.delenv("CONGVU_STORE")
    in_file = schema(tmp_path / "file.duckdb")
    assert in_lake == in_file
    assert len(in_lake[0]) == 14 and len(in_lake[1]) > 100
    assert not (tmp_path / "unused.duckdb").exists()  # nothing went to the file


def test_the_lake_takes_the_migrations_without_their_keys() -> None:
    sql = """
        CREATE TABLE t (  -- a table
            a VARCHAR PRIMARY KEY,      -- key
            b VARCHAR                   -- b
        );
        CREATE TABLE u (  -- a table keyed by two columns
            a VARCHAR,                  -- a
            b VARCHAR,                  -- b, with a comma
            PRIMARY KEY (a, b)
        );
    """
    expected = """
        CREATE TABLE t (  -- a table
            a VARCHAR NOT NULL,      -- key
            b VARCHAR                   -- b
        );
        CREATE TABLE u (  -- a table keyed by two columns
            a VARCHAR NOT NULL,                  -- a
            b VARCHAR NOT NULL                  -- b, with a comma
        );
    """
    assert lake_ddl(sql) == expected
