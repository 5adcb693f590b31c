"""nlp.text: normalisation, sentence splitting and word segmentation with real underthesea."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from nlp.text import head_lines, normalize, segment_lines, sentences


def seed_text(shared_dir: Path) -> str:
    """The whole seed page, as saved."""
    return (shared_dir / "seed" / "quangnam-ne-viec.txt").read_text(encoding="utf-8")


def test_decomposed_input_becomes_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Thủ tướng phê bình")
    assert normalize(decomposed) == unicodedata.normalize("NFC", "Thủ tướng phê bình")


def test_old_style_tone_marks_move() -> None:
    assert normalize("hoà bình, thuỷ lợi, Uỷ ban, khoẻ") == "hòa bình, thủy lợi, Ủy ban, khỏe"


def test_tone_marks_in_closed_syllables_and_qu_are_kept() -> None:
    assert normalize("hoàn thành, quý, khuỷu, xoáy") == "hoàn thành, quý, khuỷu, xoáy"


def test_punctuation_is_not_spaced_out() -> None:
    assert normalize("Chỉ thị 26/CT-TTg: “né” việc!") == "Chỉ thị 26/CT-TTg: “né” việc!"


def test_whitespace_collapses_but_paragraph_breaks_stay() -> None:
    assert (
        normalize("  Tiêu  đề\t\r\n\r\n\n  Đoạn   một \nĐoạn hai ")
        == "Tiêu đề\n\nĐoạn một\nĐoạn hai"
    )


def test_title_line_is_its_own_sentence(shared_dir: Path) -> None:
    assert sentences(seed_text(shared_dir))[0] == (
        "Quảng Nam: Yêu cầu chấn chỉnh tình trạng cán bộ “né” việc"
    )


def test_paragraphs_are_split_into_sentences(shared_dir: Path) -> None:
    found = sentences(seed_text(shared_dir))
    assert (
        "Hàng năm, khi xây dựng kế hoạch thanh tra phải có nội dung thanh tra hoạt động công vụ."
        in found
    )


def test_segment_joins_multi_syllable_words() -> None:
    assert "cán bộ" in segment_lines(["Nhiều cán bộ né tránh công việc"])[0]


def test_head_starts_with_the_title(shared_dir: Path) -> None:
    assert head_lines(seed_text(shared_dir), 500)[0] == (
        "Quảng Nam: Yêu cầu chấn chỉnh tình trạng cán bộ “né” việc"
    )


def test_head_stops_near_the_budget(shared_dir: Path) -> None:
    assert len("\n".join(head_lines(seed_text(shared_dir), 500))) <= 500


def test_segment_lines_keeps_one_list_per_line() -> None:
    assert len(segment_lines(["Cán bộ né việc", "Người dân bức xúc"])) == 2
