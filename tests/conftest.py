"""Shared fixtures: the ../shared reference material and a local HTTP server for crawls."""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from nlp.classify import mix_precision_ranges
from pipelines.demo import serve_on_loopback

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared").resolve()


# The slowest test files, slowest first (CI's --durations; the linear model's cross-validation
# alone takes minutes). `make test` hands whole files to two workers in collection order
# (--dist loadfile --no-loadscope-reorder): started last, one of these would keep one worker
# busy long after the other has run out of files. The other files follow, most tests first.
SLOW_FILES = (
    "test_train_linear.py",
    "test_operations.py",
    "test_lake.py",
    "test_frontier.py",
    "test_cluster_reclassify.py",
    "test_install.py",
    "test_snapshot.py",
    "test_split.py",
    "test_review.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the slow files first, then the others by their number of tests (each file whole)."""
    sizes: dict[str, int] = {}
    for item in items:
        sizes[item.path.name] = sizes.get(item.path.name, 0) + 1

    def order(item: pytest.Item) -> tuple[int, int]:
        name = item.path.name
        slow = SLOW_FILES.index(name) if name in SLOW_FILES else len(SLOW_FILES)
        return slow, -sizes[name]

    items.sort(key=order)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder; skip without it, fail on CI where it must exist."""
    if not (SHARED / "README.md").is_file():
        message = f"../shared reference material not found at {SHARED}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: it must be present)")
        pytest.skip(message)
    return SHARED


def import_or_skip(name: str, reason: str | None = None, extra: str = "transformer") -> object:
    """Import a module; skip the tests needing it when absent, fail on CI where it must exist.

    extra: the optional dependencies that install it, named in the CI failure.
    """
    if os.environ.get("CI", "").lower() == "true":
        try:
            return importlib.import_module(name)
        except ImportError as exc:
            pytest.fail(
                f"{name} cannot be imported ({exc}); CI=true: install the {extra} extra "
                f"(pip install -e '.[{extra}]') instead of skipping these tests",
                pytrace=False,
            )
    return pytest.importorskip(name, reason=reason)


class Site:
    """Paths served by the local server: path -> (status, headers, body)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.delays: dict[str, float] = {}
        self.hits: list[str] = []

    def add(
        self,
        path: str,
        body: bytes,
        content_type: str = "text/html",
        status: int = 200,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Serve body at path (path includes any query string), after delay seconds."""
        self.routes[path] = (status, {"Content-Type": content_type, **(headers or {})}, body)
        self.delays[path] = delay


@contextmanager
def serve(site: Site) -> Iterator[str]:
    """Serve site's routes from a real HTTP server on 127.0.0.1; yield its origin."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            site.hits.append(self.path)
            time.sleep(site.delays.get(self.path, 0.0))
            status, headers, body = site.routes.get(
                self.path, (404, {"Content-Type": "text/plain"}, b"not found")
            )
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with serve_on_loopback(Handler) as origin:
        yield origin


@pytest.fixture
def local_site() -> Iterator[tuple[str, Site]]:
    """A local server and the Site whose routes it serves (add routes before requesting)."""
    site = Site()
    with serve(site) as origin:
        yield origin, site


def run_congvu(
    *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run the installed congvu command as a user would; capture its output."""
    command = [str(Path(sys.executable).with_name("congvu")), *args]
    return subprocess.run(
        command, cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def dated_to_the_last_run(data_dir: Path) -> int:
    """Move a data folder's articles by whole days, in the job's store and the analysts' copy,
    so the newest is of its last run's day; the days moved.

    The shipped demo pages are dated November 2026, and a digest's chart counts the 30 days to
    its run: a test of what that chart shows runs on real dates, whatever day it runs.
    """
    import duckdb

    moved = set()
    for db in (data_dir / "store" / "congvu.duckdb", data_dir / "congvu.duckdb"):
        with duckdb.connect(str(db)) as con:
            con.execute("SET TimeZone = 'Asia/Ho_Chi_Minh'")
            (days,) = con.execute(
                "SELECT max(CAST(r.started_at AS DATE)) - max(CAST(a.published_at AS DATE)) "
                "FROM crawl_runs r, articles a"
            ).fetchone()
            con.execute("UPDATE articles SET published_at = published_at + to_days(?)", [days])
            moved.add(days)
    (days,) = moved  # the copy is the store's, so both move alike
    return days


def ended_pid() -> str:
    """The id of a process that has ended, as a killed command's has."""
    return subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server programs of the Debian package, if installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    return found[-1].parent if found else None


@contextmanager
def postgres_server() -> Iterator[Callable[[], str]]:
    """A throwaway PostgreSQL on 127.0.0.1 (free port, temporary folder); yield a function that
    creates an empty database in it and gives that database's DuckLake target.

    initdb refuses to run as root: as root, the server runs as Debian's `postgres` user, in a
    folder of its own (pytest's tmp_path is private to root).
    """
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL is not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="congvu-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:  # a free port; PostgreSQL binds it a moment later
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data, log = folder / "data", folder / "server.log"

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "congvu", "--no-sync")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
        created = itertools.count(1)

        def new_database() -> str:
            name = f"congvu{next(created)}"
            createdb = str(bin_dir / "createdb")
            run(createdb, "-h", "127.0.0.1", "-p", str(port), "-U", "congvu", name)
            return f"ducklake:postgres:dbname={name} host=127.0.0.1 port={port} user=congvu"

        try:
            yield new_database
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Callable[[], str]]:
    """One throwaway PostgreSQL for the session (each test worker): postgres_server's function."""
    with postgres_server() as new_database:
        yield new_database


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """A fresh shared store (DuckLake in a new database of the session's PostgreSQL), selected
    for this test.

    Skips without PostgreSQL or the cluster extra; fails instead on CI, where both must be.
    """
    missing = []
    if postgres_bin() is None:
        missing.append("PostgreSQL (apt-get install postgresql)")
    if importlib.util.find_spec("duckdb_ext") is None:
        missing.append("the cluster extra (pip install -e '.[cluster]')")
    if missing:
        message = "the shared store's tests need " + " and ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: they must be installed)", pytrace=False)
        pytest.skip(message)
    target = request.getfixturevalue("postgres")()
    monkeypatch.setenv("CONGVU_STORE", target)
    monkeypatch.setenv("CONGVU_STORE_DATA", str(tmp_path / "lake") + "/")
    return target


def scoreboard() -> dict:
    """The committed models/scoreboard.json, read as a file."""
    return json.loads((ROOT / "models" / "scoreboard.json").read_text(encoding="utf-8"))


def scoreboard_entry(model_id: str) -> dict:
    """One model's figures in the committed scoreboard."""
    (entry,) = [e for e in scoreboard()["models"] if e["model_id"] == model_id]
    return entry


def measured_in_hundred(model_id: str) -> dict[str, int]:
    """Of 100 praise / criticism labels at the nightly mix, how many are right (scoreboard)."""
    mix = scoreboard_entry(model_id)["precision_at_nightly_mix"]
    return {k: round(v * 100) for k, v in mix.items()}


def criticism_range_in_hundred(model_id: str) -> tuple[int, int]:
    """The likely range of right criticism labels in 100 at the nightly mix (scoreboard)."""
    counts = scoreboard()["nightly_mix"]["counts"]
    ranges = mix_precision_ranges(scoreboard_entry(model_id)["confusion_matrix"], counts)
    low, high = ranges["criticism"]
    return round(low * 100), round(high * 100)
