"""Installing and running congvu as the README says: a fresh venv, the Makefile, CI, cron."""

from __future__ import annotations

import ensurepip
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import ROOT

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
