"""The shared store beside the DuckDB file: load rate, the analysts' queries over 1,000,000 rows.

The same load and queries as bench/store.py, run on the DuckDB file and then on a DuckLake whose
catalog is a throwaway PostgreSQL on 127.0.0.1 (started as the tests start it) and whose Parquet
files are in /tmp. Needs the cluster extra and Debian's postgresql.

Run: .venv/bin/python bench/lake.py  (prints articles/s, query latencies and the lake's size)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# The project root first: the lake's PostgreSQL comes from the tests' fixture.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.store import LOAD_ROWS, QUERY_ROWS, bench_load, bench_queries, fill_for_queries  # noqa: E402
from pipelines.lake import STORE_DATA_ENV, STORE_ENV  # noqa: E402
from tests.conftest import postgres_server  # noqa: E402


def folder_mib(folder: Path) -> float:
    """Size of the files under folder, in MiB."""
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def load(store: str, work: Path) -> None:
    """Print the rate of a bulk load into the store open_db now selects (a new, empty one)."""
    rate = bench_load(work)
    print(f"{store}: bulk load of {LOAD_ROWS:,} articles at {rate:,.0f} articles/s")


def queries(store: str, work: Path) -> None:
    """Fill the store open_db now selects (a new, empty one); print the queries' latencies."""
    fill_for_queries(work / "congvu.duckdb")
    for name, seconds in bench_queries(work / "congvu.duckdb").items():
        print(f"{store}: query over {QUERY_ROWS:,} rows, {name}: {seconds:.3f} s")


def main() -> None:
    """The file first, then the lake: a new catalog and Parquet folder for each measure."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, measure in (("load", load), ("queries", queries)):
            (work / "file" / name).mkdir(parents=True)
            measure("file", work / "file" / name)
        for name, measure in (("load", load), ("queries", queries)):
            (work / "lake" / name).mkdir(parents=True)
            with postgres_server() as target:
                os.environ[STORE_ENV] = target
                os.environ[STORE_DATA_ENV] = str(work / "lake" / name / "parquet") + "/"
                measure("lake", work / "lake" / name)
            size = folder_mib(work / "lake" / name / "parquet")
            print(f"lake: {name}: Parquet files {size:,.0f} MiB")
        del os.environ[STORE_ENV]


if __name__ == "__main__":
    main()
