"""Installing and running congvu as the README says: a fresh venv, the Makefile, CI, cron."""

from __future__ import annotations

import ensurepip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SLOW_FILES

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_fresh_venv_with_the_pip_python_ships_runs_the_demo(tmp_path: Path) -> None:
    # The pip a new venv ships (not upgraded) skips jusText's lxml[html_clean] extra, which lxml 6
    # spells html-clean, and trafilatura then cannot be imported. Default dependencies only, as
    # `make demo` installs them. About a minute; the venv (~700 MB) is removed at the end.
    with tempfile.TemporaryDirectory(prefix="congvu-venv-") as venv:
        bin_dir = Path(venv) / "bin"
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        pip = subprocess.run(
            [bin_dir / "pip", "--version"], capture_output=True, text=True, check=True
        )
        install = subprocess.run(
            [bin_dir / "pip", "install", "--quiet", "--no-compile", "-e", str(ROOT)],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        cleaning = subprocess.run(
            [bin_dir / "python", "-c", "import justext, trafilatura"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        demo = subprocess.run(
            [bin_dir / "congvu", "demo", "--data-dir", str(tmp_path / "demo")],
            cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    assert pip.stdout.startswith(f"pip {ensurepip.version()} "), pip.stdout
    said = {
        "pip install": install.stderr[-1000:],
        "import": cleaning.stderr[-300:],
        "congvu demo": (demo.stdout + demo.stderr)[-1000:],
    }
    assert (install.returncode, cleaning.returncode, demo.returncode) == (0, 0, 0), said


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A folder with the Makefile and pyproject.toml, as a fresh clone has them (no .venv)."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path)
    hour_ago = time.time() - 3600
    os.utime(tmp_path / "pyproject.toml", (hour_ago, hour_ago))
    return tmp_path


def dry_run(folder: Path, *target: str) -> list[str]:
    """The commands `make TARGET [VAR=VALUE]` would run in folder (make -n: nothing is run).

    --no-print-directory: under `make test` this make is a sub-make, which would otherwise add
    "Leaving directory" lines.
    """
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", *target],
        cwd=folder, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout.splitlines()


def installs(commands: list[str]) -> list[str]:
    """What each pip install command installs (its last argument)."""
    return [c.split()[-1] for c in commands if " -m pip install " in c and "--upgrade pip" not in c]


@pytest.mark.parametrize("target", ["run", "demo", "venv"])
def test_run_and_demo_install_only_the_default_dependencies(checkout: Path, target: str) -> None:
    assert installs(dry_run(checkout, target)) == ["."]


def test_test_after_run_installs_the_extras_run_left_out(checkout: Path) -> None:
    (checkout / ".venv").mkdir()
    (checkout / ".venv" / ".installed").touch()  # what `make run` leaves
    commands = dry_run(checkout, "test")
    assert (installs(commands), any("-m venv" in c for c in commands)) == (
        ["'.[dev]'", "'.[transformer]'", "'.[cluster]'"],
        False,
    )


def test_changed_pyproject_reinstalls_the_extras(checkout: Path) -> None:
    (checkout / ".venv").mkdir()
    for stamp in (".installed", ".installed-dev", ".installed-transformer", ".installed-cluster"):
        (checkout / ".venv" / stamp).touch()
    later = time.time() + 60  # a dependency added after the installs (a whole tick later)
    os.utime(checkout / "pyproject.toml", (later, later))
    assert installs(dry_run(checkout, "test")) == [
        ".",
        "'.[dev]'",
        "'.[transformer]'",
        "'.[cluster]'",
    ]


def test_e5_installs_the_transformer_extra(checkout: Path) -> None:
    assert installs(dry_run(checkout, "e5")) == [".", "'.[transformer]'"]


def test_ci_runs_lint_and_the_tests() -> None:
    result = subprocess.run(
        [ROOT / ".ci" / "run"], env={**os.environ, "MAKEFLAGS": "n"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    ran = [line for line in result.stdout.splitlines() if "ruff" in line or "pytest" in line]
    assert ran == [
        ".venv/bin/ruff check .",
        ".venv/bin/ruff format --check .",
        ".venv/bin/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder",
    ], result.stdout + result.stderr


def test_the_files_ci_starts_first_exist() -> None:
    # A renamed slow file would silently fall back among the others and end the run late.
    assert [name for name in SLOW_FILES if not (ROOT / "tests" / name).is_file()] == []


def test_scheduled_runs_keep_congvus_exit_codes() -> None:
    # make turns any failing command's code into 2, so `make run` cannot tell "some sites
    # failed" (1) from "the run failed" (2): the nightly schedules call the command itself.
    cron = re.findall(r"^\d+ \d+ \* \* \* .*$", README, flags=re.MULTILINE)
    systemd = re.findall(r"^ExecStart=.*$", README, flags=re.MULTILINE)
    nightly = [line for line in cron + systemd if " nightly" in line]
    assert (len(nightly), [line for line in nightly if "make run" in line]) == (2, [])
    assert all(".venv/bin/congvu nightly" in line for line in nightly), nightly


def test_notebook_installs_its_extra_and_opens_jupyterlab_on_the_database(checkout: Path) -> None:
    commands = dry_run(checkout, "notebook")
    database = checkout / "data" / "demo" / "congvu.duckdb"
    chosen = dry_run(checkout, "notebook", "DB=data/demo/congvu.duckdb")
    assert (installs(commands), chosen[-1]) == (
        [".", "'.[notebook]'"],
        f"CONGVU_DB={database} .venv/bin/jupyter lab --notebook-dir=notebooks",
    )


def test_notebook_without_a_database_says_how_to_make_one(checkout: Path) -> None:
    (checkout / ".venv").mkdir()
    for stamp in (".installed", ".installed-notebook"):
        (checkout / ".venv" / stamp).touch()  # installed: only the database is missing
    result = subprocess.run(["make", "notebook"], cwd=checkout, capture_output=True, text=True)
    assert (result.returncode, "no database at data/congvu.duckdb yet" in result.stdout) == (
        2,
        True,
    ), result.stdout + result.stderr
