"""`congvu classify`: the stable JSON-lines interface analysts and quality checks use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_congvu


def seed_article(shared_dir: Path) -> str:
    """The first article of the seed page: from its title to the first related-news heading."""
    text = (shared_dir / "seed" / "quangnam-ne-viec.txt").read_text(encoding="utf-8")
    return text.split("\nHoạt động chính quyền\n")[0].strip()


@pytest.fixture
def predictions(shared_dir: Path, tmp_path: Path) -> dict[str, dict]:
    """Classify the seed article and a routine news text through the command."""
    texts = [
        {"id": "seed", "text": seed_article(shared_dir)},
        {"id": 7, "text": "Thời tiết Hà Nội hôm nay nắng nhẹ, nhiệt độ cao nhất 28 độ C."},
    ]
    source = tmp_path / "texts.jsonl"
    source.write_text("\n".join(json.dumps(t, ensure_ascii=False) for t in texts), "utf-8")
    result = run_congvu(
        "classify", "--input", str(source), "--output", str(tmp_path / "preds.jsonl")
    )
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "preds.jsonl").read_text(encoding="utf-8").splitlines()
    return {str(p["id"]): p for p in map(json.loads, lines)}


def test_output_keys(predictions: dict[str, dict]) -> None:
    assert sorted(predictions["seed"]) == ["evidence", "id", "label", "scores"]


def test_score_keys(predictions: dict[str, dict]) -> None:
    assert sorted(predictions["seed"]["scores"]) == ["criticism", "neutral", "praise"]


def test_id_kept_as_given(predictions: dict[str, dict]) -> None:
    assert predictions["7"]["id"] == 7


def test_seed_article_is_criticism(predictions: dict[str, dict]) -> None:
    assert predictions["seed"]["label"] == "criticism"


def test_seed_evidence_has_the_buck_passing_sentence(predictions: dict[str, dict]) -> None:
    assert any("né tránh, đùn đẩy công việc" in s for s in predictions["seed"]["evidence"])


def test_routine_news_is_neutral(predictions: dict[str, dict]) -> None:
    assert predictions["7"]["label"] == "neutral"


def test_bad_line_is_named(tmp_path: Path) -> None:
    source = tmp_path / "texts.jsonl"
    source.write_text('{"id": 1, "text": "Bình thường."}\n{"id": 2}\n', encoding="utf-8")
    result = run_congvu("classify", "--input", str(source), "--output", str(tmp_path / "o.jsonl"))
    assert (result.returncode, "line 2" in result.stderr) == (2, True)
