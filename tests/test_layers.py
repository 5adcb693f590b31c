"""The package layers: crawlers/ and nlp/ sit below pipelines/, no module imports itself back,
and only failures.py reaches into Scrapy."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from importlib.util import resolve_name
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRAWLERS = ROOT / "crawlers"
NLP = ROOT / "nlp"
PACKAGES = ("crawlers", "nlp", "pipelines")
LIBRARIES = ("scrapy", "twisted")
# What only training and measuring need; `congvu nightly` loading a model must import none of it.
TRAINING = (
    "nlp.calibration", "nlp.choose", "nlp.evaluate", "nlp.evidence_training", "nlp.linear_training",
    "nlp.metrics", "nlp.scoreboard", "nlp.split", "nlp.train", "nlp.trainset",
    "nlp.transformer_training",
)  # fmt: skip


def upward_names(path: Path, above: tuple[str, ...] = ("pipelines",)) -> list[str]:
    """Modules of the packages above a file imports or names in a string (Scrapy loads names)."""
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
        found += [f"{path.name}: {name}" for name in names if name.split(".")[0] in above]
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


def test_nlp_names_nothing_above_it() -> None:
    files = sorted(NLP.rglob("*.py"))
    assert files
    assert [name for path in files for name in upward_names(path, ("pipelines", "crawlers"))] == []


def module_name(path: Path) -> str:
    """The dotted module name of a file of the repository."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The project modules a file imports anywhere in it, at the top or inside functions."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            relative = "." * node.level + (node.module or "")
            base = resolve_name(relative, package) if node.level else relative
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m in known and m != name}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that reach one another through imports (Tarjan's SCC)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def project_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, for crawlers/, nlp/ and pipelines/."""
    files = {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}
    return {name: imported_modules(path, set(files)) for name, path in files.items()}


def test_import_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = project_graph()
    assert "nlp.train" in graph and graph["nlp.train"]
    assert import_cycles(graph) == []


LOAD_EVERY_MODEL = """
import json, sys
import pipelines.nightly
from nlp.classify import KINDS, ModelNotFoundError, available_models, load_classifier
loaded = {}
for model in available_models():
    try:
        classifier = load_classifier(model)
    except ModelNotFoundError:
        continue  # weights built, not committed (a transformer)
    loaded[model] = classifier.classify("Tham nhũng bị kỷ luật\\nCán bộ vi phạm.").label
for spec in KINDS.values():
    __import__(spec.partition(":")[0])
print(json.dumps({"loaded": loaded, "modules": sorted(sys.modules)}))
"""


def test_loading_every_model_imports_no_training_code() -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOAD_EVERY_MODEL],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    found = json.loads(result.stdout.splitlines()[-1])
    # every committed pickle still unpickles (its class paths exist) and classifies
    assert {"cue-lexicon-1", "tfidf-lr-1", "tfidf-lr-2", "evidence-lr-1"} <= set(found["loaded"])
    assert [m for m in found["modules"] if m in TRAINING] == []
