"""On CI (CI=true) a test module whose optional imports are missing fails instead of skipping."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

NEEDS_MISSING = """
from tests.conftest import import_or_skip

import_or_skip("congvu_no_such_module")


def test_never_runs() -> None:
    pass
"""


def run_pytest(folder: Path, ci: str) -> subprocess.CompletedProcess:
    """Run pytest on a module needing a missing import, with CI set as given."""
    test_file = folder / "test_needs_missing.py"
    test_file.write_text(NEEDS_MISSING, encoding="utf-8")
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)]
    return subprocess.run(
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_missing_import_skips_off_ci(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "")
    assert "1 skipped" in result.stdout and "failed" not in result.stdout, result.stdout


def test_missing_import_fails_on_ci(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "true")
    assert result.returncode != 0 and "CI=true" in result.stdout, result.stdout
