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
    assert sorted(predictions["seed"]) == ["evidence", "id", "label", "reason", "scores"]


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


def test_output_onto_the_input_refused(tmp_path: Path) -> None:
    source = tmp_path / "texts.jsonl"
    source.write_text('{"id": 1, "text": "Bình thường."}\n', encoding="utf-8")
    (tmp_path / "same.jsonl").symlink_to(source)  # the same file under another name
    result = run_congvu(
        "classify", "--input", str(source), "--output", str(tmp_path / "same.jsonl")
    )
    assert (result.returncode, "input file" in result.stderr) == (2, True)
    assert source.read_text(encoding="utf-8") == '{"id": 1, "text": "Bình thường."}\n'


def classify_lines(tmp_path: Path, data: bytes) -> tuple[object, list[dict]]:
    """Run classify on raw input bytes; the result and the output lines written."""
    source = tmp_path / "texts.jsonl"
    source.write_bytes(data)
    output = tmp_path / "preds.jsonl"
    result = run_congvu("classify", "--input", str(source), "--output", str(output))
    lines = output.read_text(encoding="utf-8").splitlines() if output.exists() else []
    return result, [json.loads(line) for line in lines]


GOOD_LINES = "".join(
    json.dumps({"id": n, "text": f"Bài số {n}: thời tiết nắng nhẹ."}, ensure_ascii=False) + "\n"
    for n in (1, 2)
).encode()


def test_non_utf8_byte_named_by_file_and_line(tmp_path: Path) -> None:
    result, _ = classify_lines(tmp_path, GOOD_LINES + b'{"id": 3, "text": "ph\xe1t"}\n')
    assert (
        result.returncode,
        f"{tmp_path / 'texts.jsonl'} line 3: not UTF-8" in result.stderr,
    ) == (
        2,
        True,
    )


def test_non_utf8_byte_keeps_the_lines_before(tmp_path: Path) -> None:
    _, written = classify_lines(tmp_path, GOOD_LINES + b'{"id": 3, "text": "ph\xe1t"}\n')
    assert [p["id"] for p in written] == [1, 2]


def test_lone_surrogate_named_by_file_and_line(tmp_path: Path) -> None:
    result, written = classify_lines(tmp_path, GOOD_LINES + b'{"id": 3, "text": "a\\ud800b"}\n')
    assert (result.returncode, "line 3: lone surrogate" in result.stderr, len(written)) == (
        2,
        True,
        2,
    )


def test_empty_text_says_why_it_is_neutral(tmp_path: Path) -> None:
    _, written = classify_lines(tmp_path, b'{"id": 1, "text": "  "}\n')
    assert [(p["label"], p["reason"].startswith("empty text")) for p in written] == [
        ("neutral", True)
    ]
