"""The package layers: crawlers/ sits below pipelines/ and never reaches up into it."""

from __future__ import annotations

import ast
from pathlib import Path

CRAWLERS = Path(__file__).resolve().parents[1] / "crawlers"


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


def test_crawlers_name_nothing_in_pipelines() -> None:
    files = sorted(CRAWLERS.rglob("*.py"))
    assert files
    assert [name for path in files for name in upward_names(path)] == []
