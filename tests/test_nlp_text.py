"""nlp.text: normalisation, sentence splitting and word segmentation with real underthesea."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from nlp.datafiles import CORPUS_NAME, load_corpus_texts
from nlp.text import head_lines, normalize, readable_evidence, segment_lines, sentences


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


# "Mãi lộ nơi cửa biển": underthesea splits "Không có cơ sở!, đó là lời khẳng định của ông
# Nguyễn Văn Sơn…" after "!", so the deputy chairman's denial lost its first words.
DENIAL_ARTICLE = "Test_Full/XH_VNE_T_ (411).txt"
DENIAL = "Không có cơ sở!, đó là lời khẳng định của ông Nguyễn Văn Sơn - Phó chủ tịch UBND xã"
# "Đề nghị truy tố cán bộ VKS 'chạy án' cho 2 bị can" ends with other articles' link lines.
LINKS_ARTICLE = "Train_Full/PL_ VNE_ (836).txt"


def corpus_text(shared_dir: Path, corpus_id: str) -> str:
    """One article of the shared corpus, title line first."""
    return load_corpus_texts(shared_dir / "corpus" / CORPUS_NAME, [corpus_id])[corpus_id]


def test_a_continuation_is_shown_with_the_sentence_it_continues(shared_dir: Path) -> None:
    text = corpus_text(shared_dir, DENIAL_ARTICLE)
    fragment = next(s for s in sentences(text) if s.startswith(", đó là lời khẳng định"))
    assert readable_evidence([fragment], text)[0].startswith(DENIAL)


def test_a_sentence_and_its_continuation_are_shown_once(shared_dir: Path) -> None:
    text = corpus_text(shared_dir, DENIAL_ARTICLE)
    pair = [s for s in sentences(text) if s == "Không có cơ sở!" or s.startswith(", đó là")]
    assert len(readable_evidence(pair, text)) == 1


def test_a_link_line_to_another_article_is_not_shown(shared_dir: Path) -> None:
    text = corpus_text(shared_dir, LINKS_ARTICLE)
    links = [s for s in sentences(text) if s.endswith("(28/08/2003)")]
    assert readable_evidence(links, text) == []


def test_a_sentence_of_the_body_is_shown_as_it_is(shared_dir: Path) -> None:
    text = corpus_text(shared_dir, LINKS_ARTICLE)
    body = "Gia đình ông Mành giao đủ tiền."
    assert readable_evidence([body], text) == [body]
