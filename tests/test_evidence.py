"""The evidence model's parts: its direct arithmetic equals sklearn's, its sentence targets."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import lxml.html
import numpy as np
import pytest
from openpyxl import load_workbook
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlp.classify import LABELS, Classifier, load_classifier
from nlp.datafiles import CORPUS_NAME, load_corpus_texts, read_corpus
from nlp.evidence import (
    HARD_WIDTH,
    Article,
    EvidenceOptions,
    Parts,
    aggregates,
    article_doc,
    class_log_proba,
    hard_cases,
    ngrams,
    read_article,
    syllables,
    tfidf,
)
from nlp.evidence_training import sentence_examples, stacked
from nlp.lexicon import CueLexiconClassifier
from nlp.linear import identity
from nlp.text import sentences
from pipelines.classifications import classify_unlabelled
from pipelines.digest import render_report
from pipelines.exports import EVIDENCE, analyst_table, write_xlsx
from pipelines.load import load_staged
from pipelines.notebooks import evidence_sentences, labelled_articles
from pipelines.paths import DataPaths
from pipelines.review import review_candidates
from pipelines.selection import Selection, article_rows
from pipelines.store import open_db
from pipelines.vietnamese import LABEL_NAMES


@pytest.fixture(scope="module")
def sentence_tokens(shared_dir: Path) -> list[list[str]]:
    """Syllable n-grams of the sentences of 60 real corpus articles."""
    cues = load_classifier("cue-lexicon-1")
    assert isinstance(cues, CueLexiconClassifier)
    corpus = shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"
    articles = [read_article(r["text"], cues) for r in islice(read_corpus(corpus), 60)]
    return [tokens for a in articles for tokens in a.sentence_tokens]


def test_direct_tfidf_equals_sklearn_transform(sentence_tokens: list[list[str]]) -> None:
    vectorizer = TfidfVectorizer(analyzer=identity, min_df=2, sublinear_tf=True)
    vectorizer.fit(sentence_tokens[::2])
    unseen = [*sentence_tokens[1::2], ["không_có_trong_từ_điển"]]
    assert np.allclose(tfidf(vectorizer, unseen).toarray(), vectorizer.transform(unseen).toarray())


def test_direct_log_proba_equals_sklearn(sentence_tokens: list[list[str]]) -> None:
    vectorizer = TfidfVectorizer(analyzer=identity, min_df=2, sublinear_tf=True)
    words = vectorizer.fit_transform(sentence_tokens)
    extra = np.arange(words.shape[0] * 2, dtype=float).reshape(-1, 2) % 3
    labels = [LABELS[k % 3] for k in range(words.shape[0])]
    model = LogisticRegression(max_iter=500).fit(stacked([words, extra]), labels)
    order = [list(model.classes_).index(label) for label in LABELS]
    expected = model.predict_log_proba(sparse.hstack([words, extra]).tocsr())[:, order]
    assert np.allclose(class_log_proba(model, [words, extra]), expected)


def test_syllable_pairs_stand_for_two_syllable_words() -> None:
    assert ngrams(syllables("Cán bộ né việc")) == [
        "cán", "bộ", "né", "việc", "cán bộ", "bộ né", "né việc",
    ]  # fmt: skip


def honoured_pupils() -> Article:
    """A sentence with a praise cue ("khen thưởng") and one without cues, read."""
    cues = load_classifier("cue-lexicon-1")
    assert isinstance(cues, CueLexiconClassifier)
    return read_article("Học sinh giỏi được khen thưởng. Trời mưa to.", cues)


def test_cue_context_marks_the_words_of_sentences_with_cues() -> None:
    article = honoured_pupils()
    marked = set(article_doc(article, EvidenceOptions(cue_context=True))) - set(article.doc)
    assert {"P:học sinh", "P:khen thưởng"} <= marked and not any("mưa" in t for t in marked)


def test_without_cue_context_the_article_reads_its_plain_n_grams() -> None:
    article = honoured_pupils()
    assert article_doc(article, EvidenceOptions()) == article.doc


def test_hard_cases_see_praise_cues_given_to_people_outside_public_service() -> None:
    assert hard_cases(honoured_pupils())[0] == 1.0


def test_hard_cases_see_a_commemoration_in_the_title() -> None:
    cues = load_classifier("cue-lexicon-1")
    assert isinstance(cues, CueLexiconClassifier)
    article = read_article("Kỷ niệm 135 năm ngày sinh Chủ tịch Hồ Chí Minh\nLễ diễn ra.", cues)
    assert hard_cases(article)[2] == 1.0


def test_hard_cases_see_nothing_in_an_official_praised_for_service() -> None:
    cues = load_classifier("cue-lexicon-1")
    assert isinstance(cues, CueLexiconClassifier)
    text = "Chủ tịch xã dám nghĩ dám làm\nÔng được tặng bằng khen vì giải quyết nhanh thủ tục."
    assert hard_cases(read_article(text, cues)) == [0.0] * HARD_WIDTH


def test_hard_case_features_join_the_article_features_only_when_asked() -> None:
    article = honoured_pupils()
    widths = {}
    for hard in (False, True):
        options = EvidenceOptions(sentences=False, hard_cases=hard)
        parts = Parts(None, None, LogisticRegression(), options)  # type: ignore[arg-type]
        widths[hard] = sum(block.shape[1] for block in parts.features([article], [[]]))
    assert widths[True] - widths[False] == HARD_WIDTH


def test_evidence_sentence_is_the_class_and_the_others_weigh_little() -> None:
    cues = load_classifier("cue-lexicon-1")
    text = "Kỷ luật cán bộ\nHôm nay trời mưa.\nÔng A đã nhận hối lộ của doanh nghiệp.\nHết."
    articles = {"a": read_article(text, cues), "b": read_article("Tin thời tiết\nTrời nắng.", cues)}
    labels = {"a": "criticism", "b": "neutral"}
    evidence = {"a": "ông A đã nhận  hối lộ"}
    _, _, y, w = sentence_examples(articles, labels, evidence, EvidenceOptions().other_weight)
    assert list(zip(y, w, strict=True)) == [
        ("neutral", 0.3), ("neutral", 0.3), ("criticism", 1.0), ("neutral", 0.3),
        ("neutral", 1.0), ("neutral", 1.0),
    ]  # fmt: skip


def test_polar_article_without_its_phrase_gives_no_sentence() -> None:
    cues = load_classifier("cue-lexicon-1")
    articles = {"a": read_article("Kỷ luật cán bộ\nÔng A nhận hối lộ.", cues)}
    found = sentence_examples(articles, {"a": "criticism"}, {}, 0.3)
    assert found == ([], [], [], [])


def test_lead_adds_the_mean_of_the_first_sentences_per_polar_class() -> None:
    # LABELS order: praise, criticism, neutral; title first.
    probs = np.array([[0.9, 0.05, 0.05], [0.5, 0.1, 0.4], [0.1, 0.7, 0.2], [0.0, 0.0, 1.0]])
    plain = aggregates(probs)
    led = aggregates(probs, lead=2)
    assert len(plain) == 8 and len(led) == 10
    assert led[:4] == plain[:4] and led[5:9] == plain[4:]
    assert led[4] == pytest.approx(0.7) and led[9] == pytest.approx(0.075)
    assert aggregates(probs[:1], lead=4)[4] == pytest.approx(0.9)  # a title alone


# The released model (the nightly default): the behaviour cases the lexicon is held to.


@pytest.fixture(scope="module")
def released() -> Classifier:
    """models/evidence-lr-1, loaded once."""
    return load_classifier("evidence-lr-1")


def seed_article(shared_dir: Path) -> str:
    """The first article of the seed page."""
    text = (shared_dir / "seed" / "quangnam-ne-viec.txt").read_text(encoding="utf-8")
    return text.split("\nHoạt động chính quyền\n")[0]


def test_seed_article_is_criticism_with_the_buck_passing_sentence(
    released: Classifier, shared_dir: Path
) -> None:
    prediction = released.classify(seed_article(shared_dir))
    assert prediction.label == "criticism" and 1 <= len(prediction.evidence) <= 3
    assert any("né tránh, đùn đẩy công việc" in sentence for sentence in prediction.evidence)


def test_evidence_sentences_are_the_article_s_own(released: Classifier, shared_dir: Path) -> None:
    text = seed_article(shared_dir)
    assert set(released.classify(text).evidence) <= set(sentences(text))


def test_negated_trouble_is_not_criticism(released: Classifier) -> None:
    text = "Cán bộ một cửa của phường không hề gây phiền hà cho người dân."
    assert released.classify(text).label != "criticism"


def test_negated_praise_is_criticism(released: Classifier) -> None:
    text = "Nhiều cán bộ, công chức chưa dám nghĩ dám làm, ngại va chạm."
    assert released.classify(text).label == "criticism"


def test_praise_sentence_is_praise(released: Classifier) -> None:
    text = (
        "Chủ tịch UBND tỉnh biểu dương cán bộ xã Tam Hiệp, người dám nghĩ, dám làm, "
        "giải quyết nhanh thủ tục cho doanh nghiệp."
    )
    assert released.classify(text).label == "praise"


def test_headline_alone_is_criticism_and_its_own_evidence(released: Classifier) -> None:
    prediction = released.classify("Cách chức Chủ tịch huyện vì sai phạm quản lý đất đai")
    assert (prediction.label, prediction.evidence) == (
        "criticism",
        ["Cách chức Chủ tịch huyện vì sai phạm quản lý đất đai"],
    )


def test_routine_news_is_neutral_without_evidence(released: Classifier) -> None:
    prediction = released.classify("Thời tiết Hà Nội hôm nay nắng nhẹ, nhiệt độ cao nhất 28 độ C.")
    assert (prediction.label, prediction.evidence) == ("neutral", [])


@pytest.mark.parametrize("text", ["", " \n\t "])
def test_empty_text_is_neutral_with_reason(released: Classifier, text: str) -> None:
    prediction = released.classify(text)
    assert (prediction.label, prediction.reason) == ("neutral", "empty text")


def test_english_text_is_neutral_with_reason(released: Classifier) -> None:
    prediction = released.classify("Officials were disciplined for corruption and bribery.")
    assert prediction.label == "neutral" and "Vietnamese" in prediction.reason


def test_scores_are_probabilities_and_the_label_is_the_highest(
    released: Classifier, shared_dir: Path
) -> None:
    prediction = released.classify(seed_article(shared_dir))
    assert sum(prediction.scores.values()) == pytest.approx(1.0)
    assert max(prediction.scores, key=prediction.scores.__getitem__) == prediction.label


def test_a_long_text_is_classified(released: Classifier, shared_dir: Path) -> None:
    article = seed_article(shared_dir)
    text = (article * (50_000 // len(article) + 1))[:50_000]
    assert released.classify(text).label in LABELS


ENSEMBLE_TEXTS = {
    "p1": "Tuyên dương cán bộ xã tận tụy\nÔng A tận tụy giải quyết nhanh thủ tục cho dân.",
    "p2": "Biểu dương công an xã\nCông an xã hết lòng vì dân, làm căn cước ngày nghỉ.",
    "p3": "Khen thưởng cán bộ phường\nCán bộ phường dám nghĩ dám làm, có sáng kiến hay.",
    "p4": "Bằng khen cho y bác sĩ\nCác y bác sĩ tận tụy cứu người trong đêm mưa lũ.",
    "c1": "Kỷ luật cán bộ địa chính\nÔng B bị cảnh cáo vì nhũng nhiễu người dân làm sổ đỏ.",
    "c2": "Cách chức chủ tịch xã\nÔng C nhận hối lộ khi cấp phép xây dựng nhà ở.",
    "c3": "Chấn chỉnh cán bộ né việc\nNhiều cán bộ đùn đẩy, né tránh trách nhiệm với dân.",
    "c4": "Khởi tố cán bộ thuế\nCán bộ thuế lợi dụng chức vụ, gây phiền hà doanh nghiệp.",
    "n1": "Thời tiết hôm nay\nTrời nắng nhẹ, nhiệt độ cao nhất 30 độ ở Hà Nội.",
    "n2": "Giá lúa tăng\nGiá lúa tại đồng bằng tăng 200 đồng mỗi ký trong tuần.",
    "n3": "Khai mạc giải bóng đá\nGiải bóng đá thiếu niên khai mạc tại sân vận động tỉnh.",
    "n4": "Mưa lớn ở miền Trung\nMưa lớn kéo dài gây ngập nhiều tuyến đường ven biển.",
}


@pytest.fixture(scope="module")
def ensemble_fit() -> tuple:
    """An ensemble of two evidence models fitted on twelve short articles, and its options."""
    from nlp.evidence_training import fit_model, read_articles
    from nlp.trainset import TrainSet

    labels = {i: {"p": "praise", "c": "criticism", "n": "neutral"}[i[0]] for i in ENSEMBLE_TEXTS}
    trainset = TrainSet(
        hand=labels,
        weak={},
        texts=ENSEMBLE_TEXTS,
        groups={i: i for i in ENSEMBLE_TEXTS},
        evidence={i: t.splitlines()[1] for i, t in ENSEMBLE_TEXTS.items() if i[0] != "n"},
    )
    cues = load_classifier("cue-lexicon-1")
    articles = read_articles(ENSEMBLE_TEXTS, cues)
    options = EvidenceOptions(
        min_df=1, max_df=1.0, inner_folds=2, members=({}, {"c": 0.5, "text": False})
    )
    ensemble, biases = fit_model(trainset, articles, sorted(labels), [], options)
    return ensemble, biases, articles, cues


def test_an_ensemble_averages_its_members_log_probabilities(ensemble_fit: tuple) -> None:
    from nlp.evidence import normalised

    ensemble, _, articles, _ = ensemble_fit
    read = [articles[i] for i in sorted(articles)]
    members = np.mean([m.log_proba(read) for m in ensemble.members], axis=0)
    assert np.allclose(ensemble.log_proba(read), normalised(members))


def test_an_ensemble_member_has_its_changes(ensemble_fit: tuple) -> None:
    ensemble = ensemble_fit[0]
    assert [(m.options.c, m.options.text) for m in ensemble.members] == [(4.0, True), (0.5, False)]


def test_an_ensemble_predicts_the_same_after_save_and_load(
    ensemble_fit: tuple, tmp_path: Path
) -> None:
    import joblib

    from nlp.evidence import EvidenceClassifier

    ensemble, biases, _, cues = ensemble_fit
    saved = EvidenceClassifier(ensemble, cues, biases).save(tmp_path)
    loaded = EvidenceClassifier(joblib.load(saved), cues, biases)
    text = "Khen thưởng cán bộ xã\nCán bộ xã hết lòng vì dân, giải quyết nhanh thủ tục."
    assert np.allclose(
        loaded.predict(text)[0], EvidenceClassifier(ensemble, cues, biases).predict(text)[0]
    )


def test_an_ensemble_member_reading_other_embeddings_is_refused() -> None:
    with pytest.raises(ValueError, match="ensemble member"):
        EvidenceOptions(members=({}, {"embed_chars": 600}))


def test_an_ensemble_member_with_an_unknown_option_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        EvidenceOptions(members=({"colour": "red"},))


# What analysts are shown of the released model's evidence, from a real store of two real corpus
# articles: "Mãi lộ nơi cửa biển", whose evidence holds ", đó là lời khẳng định của ông Nguyễn
# Văn Sơn…" (underthesea split "Không có cơ sở!, đó là…" after "!": the official's denial read
# as a confirmation), and an article whose evidence is other articles' dated link lines.
SHOWN_ARTICLES = {
    "Test_Full/XH_VNE_T_ (411).txt": "https://bao.example.vn/mai-lo.html",
    "Train_Full/PL_ VNE_ (836).txt": "https://bao.example.vn/chay-an.html",
}
DENIAL_URL, LINKS_URL = SHOWN_ARTICLES.values()
DENIAL = "Không có cơ sở!, đó là lời khẳng định của ông Nguyễn Văn Sơn"
MODEL = "evidence-lr-1"


@pytest.fixture(scope="module")
def shown_store(
    shared_dir: Path, released: Classifier, tmp_path_factory: pytest.TempPathFactory
) -> DataPaths:
    """A store of the two articles, loaded and classified by the released model."""
    paths = DataPaths(tmp_path_factory.mktemp("shown"))
    texts = load_corpus_texts(shared_dir / "corpus" / CORPUS_NAME, SHOWN_ARTICLES)
    staged = paths.staging / "r1" / "example.jsonl"
    staged.parent.mkdir(parents=True)
    records = [
        {
            "url": url,
            "canonical_url": url,
            "site": "example",
            "title": texts[corpus_id].strip().split("\n", 1)[0],
            "body": texts[corpus_id].strip().split("\n", 1)[1],
            "published_at": "2026-03-07T08:01:00+07:00",
            "fetched_at": "2026-03-07T09:00:00+00:00",
        }
        for corpus_id, url in SHOWN_ARTICLES.items()
    ]
    staged.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    with open_db(paths.store) as con:
        load_staged(con, paths.staging)
    classify_unlabelled(paths, released, wait_s=5)
    return paths


def workbook_cells(paths: DataPaths, tmp_path: Path) -> dict[str, str]:
    """The criticism sheet's evidence cell of each article, by link (as `congvu export`)."""
    with open_db(paths.store, read_only=True) as con:
        rows = article_rows(con, Selection(MODEL))
    target = write_xlsx(analyst_table(rows), tmp_path / "export.xlsx", [])
    sheet = load_workbook(target)[LABEL_NAMES["criticism"]]
    header = [c.value for c in sheet[1]]
    return {
        r[header.index("Liên kết")]: r[header.index(EVIDENCE)] or ""
        for r in sheet.iter_rows(min_row=2, values_only=True)
    }


def test_the_card_shows_the_denial_whole(shown_store: DataPaths) -> None:
    with open_db(shown_store.store, read_only=True) as con:
        page = lxml.html.fromstring(render_report(con, Selection(MODEL)))
    quotes = [q.text_content() for q in page.xpath("//article//blockquote")]
    assert any(q.startswith(DENIAL) for q in quotes)


def test_the_workbook_cell_shows_the_denial_whole(shown_store: DataPaths, tmp_path: Path) -> None:
    assert DENIAL in workbook_cells(shown_store, tmp_path)[DENIAL_URL]


def test_the_workbook_cell_shows_no_link_line(shown_store: DataPaths, tmp_path: Path) -> None:
    assert "(28/08/2003)" not in workbook_cells(shown_store, tmp_path)[LINKS_URL]


def test_the_notebook_shows_the_denial_whole(shown_store: DataPaths) -> None:
    with open_db(shown_store.store, read_only=True) as con:
        rows = labelled_articles(con, MODEL).set_index("url")
    shown = evidence_sentences(rows.at[DENIAL_URL, "evidence"], rows.at[DENIAL_URL, "title"])
    assert any(s.startswith(DENIAL) for s in shown)


def test_the_review_sheet_shows_the_denial_whole(shown_store: DataPaths) -> None:
    rows = review_candidates(shown_store.store, MODEL, None, None, 10).set_index("url")
    assert any(s.startswith(DENIAL) for s in rows.at[DENIAL_URL, "evidence"])
