"""The package layers: crawlers/ sits below pipelines/, and only failures.py reaches into Scrapy."""

from __future__ import annotations

import ast
from pathlib import Path

CRAWLERS = Path(__file__).resolve().parents[1] / "crawlers"
LIBRARIES = ("scrapy", "twisted")


def upward_names(path: Path) -> list[str]:
    """Modules of pipelines/ a file imports or names in a string (Scrapy loads those by name)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value]
        else:
            continue
        found += [f"{path.name}: {name}" for name in names if name.split(".")[0] == "pipelines"]
    return found


def private_imports(path: Path) -> list[str]:
    """Private modules or names (a leading underscore) a file imports from Scrapy or Twisted."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(LIBRARIES):
            names = [node.module or "", *(alias.name for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.startswith(LIBRARIES)]
        else:
            continue
        if any(part.startswith("_") for name in names for part in name.split(".")):
            found.append(path.name)
    return found


def test_crawlers_name_nothing_in_pipelines() -> None:
    files = sorted(CRAWLERS.rglob("*.py"))
    assert files
    assert [name for path in files for name in upward_names(path)] == []


def test_only_failures_reaches_into_scrapy_internals() -> None:
    files = sorted(CRAWLERS.rglob("*.py"))
    assert [name for path in files for name in private_imports(path)] == ["failures.py"]
