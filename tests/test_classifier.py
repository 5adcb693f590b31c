"""nlp.classify with the cue-lexicon-1 model: labels, evidence, edge cases and a quality floor."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from nlp.classify import (
    DEFAULT_MODEL,
    LABELS,
    RELEASED_CUES,
    Classifier,
    ModelChangedError,
    ModelNotFoundError,
    available_models,
    check_cues,
    load_classifier,
    models_dir,
    read_model_config,
)
from nlp.evaluate import evaluate
from nlp.lexicon import CueLexiconClassifier
from nlp.text import sentences

# Macro-F1 of cue-lexicon-1 on labels/dev.csv as measured for models/cue-lexicon-1/metrics.json,
# minus 0.01. Raise it when the lexicon gets better; never lower it to make a change pass.
MACRO_F1_FLOOR = 0.7644 - 0.01
DEFAULT_LEXICON = "cue-lexicon-1"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    """The cue lexicon, loaded once."""
    return load_classifier(DEFAULT_LEXICON)


def seed_article(shared_dir: Path) -> str:
    """The first article of the seed page: from its title to the line before the next section."""
    text = (shared_dir / "seed" / "quangnam-ne-viec.txt").read_text(encoding="utf-8")
    return text.split("\nHoạt động chính quyền\n")[0]


def test_default_model_is_the_evidence_model_and_the_lexicon_stays_selectable(
    classifier: Classifier,
) -> None:
    assert (load_classifier().model_id, classifier.model_id) == ("evidence-lr-1", DEFAULT_LEXICON)


def test_seed_article_is_criticism(classifier: Classifier, shared_dir: Path) -> None:
    assert classifier.classify(seed_article(shared_dir)).label == "criticism"


def test_seed_evidence_has_buck_passing_sentence(classifier: Classifier, shared_dir: Path) -> None:
    evidence = classifier.classify(seed_article(shared_dir)).evidence
    assert any("né tránh, đùn đẩy công việc" in sentence for sentence in evidence)


def test_seed_evidence_is_one_to_three_sentences(classifier: Classifier, shared_dir: Path) -> None:
    assert 1 <= len(classifier.classify(seed_article(shared_dir)).evidence) <= 3


def test_evidence_keeps_original_case(classifier: Classifier, shared_dir: Path) -> None:
    evidence = classifier.classify(seed_article(shared_dir)).evidence
    assert "Quảng Nam: Yêu cầu chấn chỉnh tình trạng cán bộ “né” việc" in evidence


def test_negated_trouble_is_not_criticism(classifier: Classifier) -> None:
    text = "Cán bộ một cửa của phường không hề gây phiền hà cho người dân."
    assert classifier.classify(text).label != "criticism"


def test_not_letting_harassment_happen_is_not_criticism(classifier: Classifier) -> None:
    text = "Lãnh đạo xã cam kết không để xảy ra tình trạng nhũng nhiễu người dân."
    assert classifier.classify(text).label != "criticism"


def test_negated_praise_is_criticism(classifier: Classifier) -> None:
    text = "Nhiều cán bộ, công chức chưa dám nghĩ dám làm, ngại va chạm."
    assert classifier.classify(text).label == "criticism"


def test_praise_sentence_is_praise(classifier: Classifier) -> None:
    text = (
        "Chủ tịch UBND tỉnh biểu dương cán bộ xã Tam Hiệp, người dám nghĩ, dám làm, "
        "giải quyết nhanh thủ tục cho doanh nghiệp."
    )
    assert classifier.classify(text).label == "praise"


def test_headline_alone_is_classified(classifier: Classifier) -> None:
    prediction = classifier.classify("Cách chức Chủ tịch huyện vì sai phạm quản lý đất đai")
    assert prediction.label == "criticism"


def test_headline_alone_is_its_own_evidence(classifier: Classifier) -> None:
    prediction = classifier.classify("Cách chức Chủ tịch huyện vì sai phạm quản lý đất đai")
    assert prediction.evidence == ["Cách chức Chủ tịch huyện vì sai phạm quản lý đất đai"]


def test_routine_news_is_neutral_without_evidence(classifier: Classifier) -> None:
    prediction = classifier.classify(
        "Thời tiết Hà Nội hôm nay nắng nhẹ, nhiệt độ cao nhất 28 độ C."
    )
    assert (prediction.label, prediction.evidence) == ("neutral", [])


def test_empty_text_is_neutral_with_reason(classifier: Classifier) -> None:
    prediction = classifier.classify("")
    assert (prediction.label, prediction.reason) == ("neutral", "empty text")


def test_whitespace_only_text_is_neutral_with_reason(classifier: Classifier) -> None:
    prediction = classifier.classify(" \n\t \n ")
    assert (prediction.label, prediction.reason) == ("neutral", "empty text")


def test_english_text_is_neutral_with_reason(classifier: Classifier) -> None:
    prediction = classifier.classify("Officials were disciplined for corruption and bribery.")
    assert prediction.label == "neutral" and "Vietnamese" in prediction.reason


def test_cue_inside_another_syllable_does_not_match(classifier: Classifier) -> None:
    # "thành dân cư" contains the characters of the cue "hành dân", but not its syllables.
    sentence = "Nông dân ven đô chuyển thành dân cư đô thị."
    hits = classifier.lexicon.hits(sentence)  # type: ignore[attr-defined]
    assert [h.phrase for h in hits] == []


def test_proper_name_is_not_a_cue(classifier: Classifier) -> None:
    # "Thanh Liêm" is a place and a personal name as well as "honest".
    sentence = "Ông Lê Thanh Liêm, trưởng an ninh tàu, đã bị tạm giữ."
    hits = classifier.lexicon.hits(sentence)  # type: ignore[attr-defined]
    assert "thanh liêm" not in [h.phrase for h in hits]


def test_long_text_is_fast(classifier: Classifier, shared_dir: Path) -> None:
    article = seed_article(shared_dir)
    text = (article * (50_000 // len(article) + 1))[:50_000]
    started = time.perf_counter()
    prediction = classifier.classify(text)
    assert prediction.label in LABELS and time.perf_counter() - started < 1.0


def test_scores_sum_to_one(classifier: Classifier, shared_dir: Path) -> None:
    scores = classifier.classify(seed_article(shared_dir)).scores
    assert sorted(scores) == sorted(LABELS) and sum(scores.values()) == pytest.approx(1.0)


def test_scores_are_probabilities(classifier: Classifier, shared_dir: Path) -> None:
    scores = classifier.classify(seed_article(shared_dir)).scores
    assert all(0.0 <= value <= 1.0 for value in scores.values())


def test_label_has_the_highest_score(classifier: Classifier, shared_dir: Path) -> None:
    prediction = classifier.classify(seed_article(shared_dir))
    assert max(prediction.scores, key=prediction.scores.__getitem__) == prediction.label


def test_unknown_model_error_names_available_models() -> None:
    with pytest.raises(ModelNotFoundError, match=DEFAULT_MODEL):
        load_classifier("no-such-model")


def test_model_loads_from_a_folder_path() -> None:
    classifier = load_classifier(models_dir() / DEFAULT_LEXICON)
    assert isinstance(classifier, CueLexiconClassifier)


def released_copy(tmp_path: Path) -> Path:
    """A copy of models/cue-lexicon-1 with the registry of released cues hashes beside it."""
    root = tmp_path / "models"
    shutil.copytree(models_dir() / DEFAULT_LEXICON, root / DEFAULT_LEXICON)
    shutil.copyfile(models_dir() / RELEASED_CUES, root / RELEASED_CUES)
    return root / DEFAULT_LEXICON


def test_released_lexicon_loads_with_its_recorded_cues(tmp_path: Path) -> None:
    assert load_classifier(released_copy(tmp_path)).classify("Cán bộ né tránh").label in LABELS


def test_edited_cues_of_a_released_model_are_refused(tmp_path: Path) -> None:
    folder = released_copy(tmp_path)
    with (folder / "cues.yaml").open("a", encoding="utf-8") as f:
        f.write("\n# tuned again\n")
    with pytest.raises(ModelChangedError, match="new model id"):
        load_classifier(folder)


def test_cues_differing_from_model_json_are_refused(tmp_path: Path) -> None:
    folder = released_copy(tmp_path)
    config = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    (folder / "model.json").write_text(json.dumps({**config, "cues_sha256": "0" * 64}), "utf-8")
    with pytest.raises(ModelChangedError, match="changed"):
        load_classifier(folder)


def test_a_model_recording_no_cues_hash_is_refused(tmp_path: Path) -> None:
    folder = released_copy(tmp_path)
    (folder.parent / RELEASED_CUES).unlink()
    with pytest.raises(ModelChangedError, match="cues_sha256"):
        load_classifier(folder)


def test_every_committed_model_matches_its_recorded_cues() -> None:
    folders = [models_dir() / model for model in available_models()]
    for folder in folders:
        check_cues(folder, read_model_config(folder))  # raises on a missing or wrong hash
    assert len(folders) >= 4


def test_models_dir_follows_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONGVU_MODELS_DIR", str(tmp_path))
    assert models_dir() == tmp_path


def test_macro_f1_on_dev_labels_stays_above_floor(classifier: Classifier, shared_dir: Path) -> None:
    result = evaluate(
        classifier,
        shared_dir / "labels" / "dev.csv",
        shared_dir / "corpus" / "vntc-politics-law.jsonl.gz",
    )
    assert result["macro_f1"] >= MACRO_F1_FLOOR


# The trained linear model (models/tfidf-lr-2): the behaviour cases. Its quality floor is
# in tests/test_train_linear.py (cross-validated, recomputed).


@pytest.fixture(scope="module")
def trained() -> Classifier:
    """The trained linear model, loaded once."""
    return load_classifier("tfidf-lr-2")


def test_trained_model_reports_its_id(trained: Classifier) -> None:
    assert trained.model_id == "tfidf-lr-2"


def test_trained_seed_article_is_criticism(trained: Classifier, shared_dir: Path) -> None:
    assert trained.classify(seed_article(shared_dir)).label == "criticism"


def test_trained_seed_evidence_has_buck_passing_sentence(
    trained: Classifier, shared_dir: Path
) -> None:
    evidence = trained.classify(seed_article(shared_dir)).evidence
    assert any("né tránh, đùn đẩy công việc" in sentence for sentence in evidence)


def test_trained_negated_trouble_is_not_criticism(trained: Classifier) -> None:
    text = "Cán bộ một cửa của phường không hề gây phiền hà cho người dân."
    assert trained.classify(text).label != "criticism"


def test_trained_negated_praise_is_criticism(trained: Classifier) -> None:
    text = "Nhiều cán bộ, công chức chưa dám nghĩ dám làm, ngại va chạm."
    assert trained.classify(text).label == "criticism"


def test_trained_praise_sentence_is_praise(trained: Classifier) -> None:
    text = (
        "Chủ tịch UBND tỉnh biểu dương cán bộ xã Tam Hiệp, người dám nghĩ, dám làm, "
        "giải quyết nhanh thủ tục cho doanh nghiệp."
    )
    assert trained.classify(text).label == "praise"


def test_trained_headline_alone_is_criticism(trained: Classifier) -> None:
    prediction = trained.classify("Cách chức Chủ tịch huyện vì sai phạm quản lý đất đai")
    assert prediction.label == "criticism"


def test_trained_headline_alone_is_its_own_evidence(trained: Classifier) -> None:
    prediction = trained.classify("Cách chức Chủ tịch huyện vì sai phạm quản lý đất đai")
    assert prediction.evidence == ["Cách chức Chủ tịch huyện vì sai phạm quản lý đất đai"]


def test_trained_routine_news_is_neutral(trained: Classifier) -> None:
    text = "Thời tiết Hà Nội hôm nay nắng nhẹ, nhiệt độ cao nhất 28 độ C."
    assert trained.classify(text).label == "neutral"


def test_trained_empty_text_is_neutral_with_reason(trained: Classifier) -> None:
    prediction = trained.classify(" \n\t ")
    assert (prediction.label, prediction.reason) == ("neutral", "empty text")


def test_trained_english_text_is_neutral_with_reason(trained: Classifier) -> None:
    prediction = trained.classify("Officials were disciplined for corruption and bribery.")
    assert prediction.label == "neutral" and "Vietnamese" in prediction.reason


def test_trained_long_text_is_fast(trained: Classifier, shared_dir: Path) -> None:
    article = seed_article(shared_dir)
    text = (article * (50_000 // len(article) + 1))[:50_000]
    started = time.perf_counter()
    prediction = trained.classify(text)
    assert prediction.label in LABELS and time.perf_counter() - started < 1.0


def test_trained_scores_sum_to_one(trained: Classifier, shared_dir: Path) -> None:
    scores = trained.classify(seed_article(shared_dir)).scores
    assert sorted(scores) == sorted(LABELS) and sum(scores.values()) == pytest.approx(1.0)


def test_trained_label_has_the_highest_score(trained: Classifier) -> None:
    prediction = trained.classify("Nhiều cán bộ, công chức chưa dám nghĩ dám làm, ngại va chạm.")
    assert max(prediction.scores, key=prediction.scores.__getitem__) == prediction.label


def test_trained_model_names_sentences_it_weighs(trained: Classifier, shared_dir: Path) -> None:
    # The evidence used when no cue phrase supports the label: sentences of the text itself.
    text = seed_article(shared_dir)
    found = trained.weighted_sentences(text, "criticism")  # type: ignore[attr-defined]
    assert found and all(sentence in sentences(text) for sentence in found)


def test_evaluate_writes_its_report_outside_models(
    shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import run_congvu

    rows = (shared_dir / "labels" / "dev.csv").read_text(encoding="utf-8").splitlines()[:4]
    labels = tmp_path / "few.csv"
    labels.write_text("\n".join(rows) + "\n", encoding="utf-8")
    monkeypatch.setenv("CONGVU_DATA_DIR", str(tmp_path / "data"))
    folder = models_dir() / DEFAULT_LEXICON
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    corpus = shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"
    result = run_congvu(
        "evaluate", "--model", DEFAULT_LEXICON, "--labels", str(labels), "--corpus", str(corpus)
    )
    written = tmp_path / "data" / "evaluations" / f"{DEFAULT_LEXICON}-few.json"
    assert (result.returncode, json.loads(written.read_text(encoding="utf-8"))["n"]) == (0, 3)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
