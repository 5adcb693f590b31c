"""nlp.roles: who a praise or criticism sentence of the corpus praises or criticises, and who
hands out the praise or decides the sanction."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from nlp.datafiles import CORPUS_NAME, load_corpus_texts
from nlp.entities import entity_counts
from nlp.roles import AGENT, SUBJECT, roles
from nlp.text import normalize, sentences

# Praise and criticism articles of train.csv outside the frozen test part (models/split.csv).
ORDER_FOR_A_HOSPITAL = "Train_Full/XH_NLD_ (5077).txt"  # "Phó Thủ tướng X trao tặng ... cho BV"
FRENCH_ORDER = "Test_Full/XH_VNE_T_ (3516).txt"  # "Đại sứ ... trao tặng Huân chương ... cho X"
REPRIMAND = "Test_Full/XH_VNE_T_ (5289).txt"  # "Thủ tướng X vừa ký quyết định kỷ luật ... Y"
ASSAULT = "Train_Full/PL_TN_ (3628).txt"  # dân phòng "hành hung ông X": the victim
ORDERED_FRAUD = "Test_Full/PL_VNE_T_ (2351).txt"  # "ông Tuấn đã chỉ đạo cấp dưới ... lập khống"
WHISTLEBLOWER = "Test_Full/PL_NLD_T_ (3908).txt"  # "bị kỷ luật ... vì đã viết đơn ... phản ánh"
WRONGFUL_ARREST = "Test_Full/PL_VNE_T_ (2846).txt"  # "Việc ... bắt giam bà Thu ... là không đúng"
DISMISSAL_ANNULLED = "Test_Full/PL_VNE_T_ (1228).txt"  # "tuyên hủy quyết định buộc thôi việc ..."
DISPUTED_ARREST = "Test_Full/PL_VNE_T_ (209).txt"  # "việc bắt ông Khiết là đúng và không oan sai"
# Corpus articles in no label file whose digest cards an audit read (a seeded 300, seed 11).
PUPIL = "Test_Full/PL_VNE_T_ (1173).txt"  # "Hoàng Văn Đạt đã vi phạm ...": a 10th-grade pupil
QUOTA = "Train_Full/PL_ VNE_ (1691).txt"  # "hành vi của Trần Kim Dung": a private quota broker
LAWYERS_QA = "Train_Full/PL_ VNE_ (1471).txt"  # "Lương Quốc Dũng thừa nhận ...", no post shown
AUDITED = (PUPIL, QUOTA, LAWYERS_QA)
# Corpus articles in no label file, of a fresh seeded sample (seed 29) whose cards were measured.
VICE_MINISTER = "Test_Full/PL_VNE_T_ (329).txt"  # "nguyên thứ trưởng Mai Văn Dâu" in the lead
COURT_CLERK = "Test_Full/PL_VNE_T_ (214).txt"  # "không đủ cơ sở để khởi tố ... ông Trần Văn Hữu"
PLAGIARISM = "Test_Full/XH_NLD_T_ (9017).txt"  # "ông Long phải thừa nhận rằng tình trạng ..."
FRESH = (VICE_MINISTER, COURT_CLERK, PLAGIARISM)
# Officials at fault the rules missed: a train.csv article, two the audit read (seed 11), one of a
# fresh seeded sample (seed 41).
CHAIRMAN_HELD = "Train_Full/PL_ VNE_ (1374).txt"  # "ông Lê Cuổi (...) và Lê Văn Nhựt (...) về tội"
POSTMASTER = "Test_Full/PL_VNE_T_ (2278).txt"  # "khởi tố bị can với Phó giám đốc ... Vinh"
INVESTIGATORS = "Test_Full/PL_VNE_T_ (338).txt"  # "tố cáo đại úy ... và thiếu úy ... vòi vĩnh"
OIL_FRAUD = "Test_Full/PL_VNE_T_ (2508).txt"  # "Nguyễn Quang Thường (a bracket of 25 words)"
MISSED = (CHAIRMAN_HELD, POSTMASTER, INVESTIGATORS, OIL_FRAUD)
ARTICLES = (ORDER_FOR_A_HOSPITAL, FRENCH_ORDER, REPRIMAND, ASSAULT, ORDERED_FRAUD, WHISTLEBLOWER)
WRONGED = (WRONGFUL_ARREST, DISMISSAL_ANNULLED, DISPUTED_ARREST, WHISTLEBLOWER)


@pytest.fixture(scope="module")
def evidence(shared_dir: Path) -> dict[str, tuple[list[str], str, str]]:
    """Each article's persons (nlp.entities, as stored), its annotators' evidence sentence and
    label."""
    with (shared_dir / "labels" / "train.csv").open(encoding="utf-8", newline="") as f:
        rows = {r["id"]: r for r in csv.DictReader(f) if r["id"] in ARTICLES}
    texts = load_corpus_texts(shared_dir / "corpus" / CORPUS_NAME, ARTICLES)
    found = {}
    for article in ARTICLES:
        text = normalize(texts[article])
        phrase = " ".join(normalize(rows[article]["evidence"]).split())[:60]
        (sentence,) = [s for s in sentences(text) if phrase in " ".join(s.split())]
        people = [e.text for e in entity_counts(text) if e.kind == "person"]
        found[article] = (people, sentence, rows[article]["label"])
    return found


@pytest.fixture(scope="module")
def wronged(shared_dir: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Each article (criticism, in train.csv) that reports a wrongful or disputed sanction: its
    persons (nlp.entities) and sentences."""
    texts = load_corpus_texts(shared_dir / "corpus" / CORPUS_NAME, WRONGED)
    found = {}
    for article in WRONGED:
        text = normalize(texts[article])
        people = [e.text for e in entity_counts(text) if e.kind == "person"]
        found[article] = (people, sentences(text))
    return found


@pytest.fixture(scope="module")
def audited(shared_dir: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Each audited article's persons (nlp.entities) and sentences, its headline first."""
    texts = load_corpus_texts(shared_dir / "corpus" / CORPUS_NAME, AUDITED)
    found = {}
    for article in AUDITED:
        text = normalize(texts[article])
        people = [e.text for e in entity_counts(text) if e.kind == "person"]
        found[article] = (people, sentences(text))
    return found


@pytest.fixture(scope="module")
def fresh(shared_dir: Path) -> dict[str, tuple[list[str], list[str], str]]:
    """Each fresh article's persons (nlp.entities), sentences (its headline first) and text."""
    texts = load_corpus_texts(shared_dir / "corpus" / CORPUS_NAME, FRESH)
    found = {}
    for article in FRESH:
        text = normalize(texts[article])
        people = [e.text for e in entity_counts(text) if e.kind == "person"]
        found[article] = (people, sentences(text), text)
    return found


@pytest.fixture(scope="module")
def missed(shared_dir: Path) -> dict[str, tuple[list[str], list[str], str]]:
    """Each article naming an official at fault once missed: persons, sentences and text."""
    texts = load_corpus_texts(shared_dir / "corpus" / CORPUS_NAME, MISSED)
    found = {}
    for article in MISSED:
        text = normalize(texts[article])
        people = [e.text for e in entity_counts(text) if e.kind == "person"]
        found[article] = (people, sentences(text), text)
    return found


def article_card(fresh: dict, article: str, *phrases: str) -> dict[str, str]:
    """The roles nlp.roles gives on a criticism card that reads the article's headline and the
    sentences holding the phrases (one each), its whole text read for posts and wrongs."""
    people, said, text = fresh[article]
    found = [said[0], *[next(s for s in said if phrase in s) for phrase in phrases]]
    return roles(people, found, "criticism", text)


def card_reads(audited: dict, article: str, *phrases: str) -> dict[str, str]:
    """The roles nlp.roles gives on a criticism card that reads the article's headline and the
    sentences holding the phrases (one each)."""
    people, said = audited[article]
    found = [said[0]]
    for phrase in phrases:
        (sentence,) = [s for s in said if phrase in s]
        found.append(sentence)
    return roles(people, found, "criticism")


def placed_in(wronged: dict, article: str, *phrases: str) -> dict[str, str]:
    """The roles nlp.roles gives in the criticism article's sentences holding the phrases (one
    sentence each), read together as a card reads its headline and evidence."""
    people, said = wronged[article]
    found = []
    for phrase in phrases:
        (sentence,) = [s for s in said if phrase in s]
        found.append(sentence)
    return roles(people, found, "criticism")


def placed(evidence: dict, article: str, label: str | None = None) -> dict[str, str]:
    """The roles nlp.roles gives in an article's evidence sentence (for its label or this one)."""
    people, sentence, gold = evidence[article]
    return roles(people, [sentence], label or gold)


def test_official_presenting_an_order_hands_out_the_praise(evidence: dict) -> None:
    assert placed(evidence, ORDER_FOR_A_HOSPITAL)["Phạm Gia Khiêm"] == AGENT


def test_minister_an_order_is_presented_to_is_the_one_praised(evidence: dict) -> None:
    assert placed(evidence, FRENCH_ORDER)["Nguyễn Minh Hiển"] == SUBJECT


def test_prime_minister_signing_a_reprimand_decides_it(evidence: dict) -> None:
    assert placed(evidence, REPRIMAND)["Phan Văn Khải"] == AGENT


def test_director_reprimanded_is_the_one_criticised(evidence: dict) -> None:
    assert placed(evidence, REPRIMAND)["Hà Đức Bàng"] == SUBJECT


def test_victim_of_the_misconduct_has_no_role(evidence: dict) -> None:
    assert "Hồ Trọng Long" not in placed(evidence, ASSAULT)


def test_official_who_ordered_the_misconduct_is_not_the_one_who_decided(evidence: dict) -> None:
    assert "Chu Minh Tuấn" not in placed(evidence, ORDERED_FRAUD)


def test_reprimand_read_as_praise_gives_no_role(evidence: dict) -> None:
    """An analyst relabelled the story praise: a discipline sentence says no one was praised."""
    assert placed(evidence, REPRIMAND, "praise") == {}


def test_whistleblower_disciplined_for_reporting_is_not_the_one_criticised(
    evidence: dict,
) -> None:
    assert "Hồ Minh Ngà" not in placed(evidence, WHISTLEBLOWER)


def test_woman_whose_arrest_was_ruled_wrong_is_not_the_one_criticised(wronged: dict) -> None:
    assert "Phạm Thị Trung Thu" not in placed_in(wronged, WRONGFUL_ARREST, "là không đúng")


def test_inspector_whose_dismissal_the_court_annulled_is_not_the_one_criticised(
    wronged: dict,
) -> None:
    assert "Nguyễn Anh Tuấn" not in placed_in(wronged, DISMISSAL_ANNULLED, "hủy quyết định")


def test_man_whose_arrest_is_disputed_is_not_the_one_criticised(wronged: dict) -> None:
    assert "Dương Liêm Khiết" not in placed_in(wronged, DISPUTED_ARREST, "không oan sai")


def test_cashier_arrested_is_not_criticised_where_another_sentence_says_the_arrest_was_oan(
    wronged: dict,
) -> None:
    """ "Công an Cát Tiên bắt Trần Minh Huế" beside "thủ quỹ và kế toán trưởng đã bị bắt oan"."""
    placed = placed_in(wronged, WRONGFUL_ARREST, "bắt Trần Minh Huế", "bị bắt oan")
    assert "Trần Minh Huế" not in placed


def test_inspector_dismissed_is_not_criticised_where_another_sentence_annuls_it(
    wronged: dict,
) -> None:
    phrases = ("buộc thôi việc đối với ông Tuấn.", "tuyên hủy quyết định")
    assert "Nguyễn Anh Tuấn" not in placed_in(wronged, DISMISSAL_ANNULLED, *phrases)


def test_guard_dismissed_is_not_criticised_where_another_sentence_calls_it_unlawful(
    wronged: dict,
) -> None:
    phrases = ("ông Ngà bị buộc thôi việc", "hết sức mơ hồ, trái pháp luật")
    assert "Hồ Minh Ngà" not in placed_in(wronged, WHISTLEBLOWER, *phrases)


def test_man_held_is_not_criticised_where_another_sentence_demands_a_public_apology(
    wronged: dict,
) -> None:
    phrases = ("ông Khiết bị tạm giam.", "xin lỗi công khai")
    assert "Dương Liêm Khiết" not in placed_in(wronged, DISPUTED_ARREST, *phrases)


def test_person_given_two_roles_in_two_sentences_gets_none() -> None:
    said = ["Ông Nguyễn Văn An bị kỷ luật.", "Ông Nguyễn Văn An ký quyết định kỷ luật ông Bình."]
    assert roles(["Nguyễn Văn An"], said, "criticism") == {}


def test_pupil_who_vi_pham_is_not_the_one_criticised(audited: dict) -> None:
    """ "Hoàng Văn Đạt đã vi phạm nghiêm trọng luân thường đạo lý của người học sinh": no post."""
    assert "Hoàng Văn Đạt" not in card_reads(audited, PUPIL, "vi phạm nghiêm trọng")


def test_quota_broker_beside_an_official_is_not_the_one_criticised(audited: dict) -> None:
    """ "hành vi của Trần Kim Dung và Nguyễn Việt Phú": the card shows only Phú as "chuyên
    viên"."""
    phrases = ("chuyên viên Nguyễn Việt Phú", "hành vi của Trần Kim Dung")
    assert "Trần Kim Dung" not in card_reads(audited, QUOTA, *phrases)


def test_man_the_card_shows_in_no_post_is_not_the_one_criticised(audited: dict) -> None:
    """ "Lương Quốc Dũng thừa nhận dùng tiền chạy án": a lawyer's Q&A on a private crime."""
    assert "Lương Quốc Dũng" not in card_reads(audited, LAWYERS_QA, "thừa nhận dùng tiền")


def test_former_vice_minister_whose_post_only_the_lead_gives_is_the_one_criticised(
    fresh: dict,
) -> None:
    """The card reads "ông Dâu còn ký ... trái với quy định" and "sai phạm của ông Mai Văn Dâu";
    only the lead says "nguyên thứ trưởng Mai Văn Dâu"."""
    phrases = ("ông Dâu còn ký", "sai phạm của ông Mai Văn Dâu")
    assert article_card(fresh, VICE_MINISTER, *phrases)["Mai Văn Dâu"] == SUBJECT


def test_court_clerk_is_not_criticised_where_the_article_calls_the_charge_slander(
    fresh: dict,
) -> None:
    """The card reads "không đủ cơ sở để khởi tố và truy tố ông Trần Văn Hữu"; another sentence
    of the article: "khởi tố Lê Thị Hà về hành vi vu khống ông Trần Văn Hữu"."""
    phrases = ("không đủ cơ sở để khởi tố và truy tố",)
    assert "Trần Văn Hữu" not in article_card(fresh, COURT_CLERK, *phrases)


def test_vice_minister_acknowledging_a_state_of_things_is_not_the_one_criticised(
    fresh: dict,
) -> None:
    """ "GS-TS Bành Tiến Long, Thứ trưởng Bộ GD-ĐT, nhấn mạnh ..." and "cũng chính ông Long phải
    thừa nhận rằng tình trạng sao chép luận án ... đã đến lúc phải báo động"."""
    people, said, _ = fresh[PLAGIARISM]
    found = [next(s for s in said if p in s) for p in ("Thứ trưởng Bộ GD-ĐT", "thừa nhận rằng")]
    assert "GS-TS Bành Tiến Long" not in roles(people, found, "criticism")


def test_commune_official_listed_after_a_bracket_and_charged_with_abuse_is_criticised(
    missed: dict,
) -> None:
    card = article_card(missed, CHAIRMAN_HELD, "tạm giam ông Lê Cuổi")
    assert card["Lê Văn Nhựt"] == SUBJECT


def test_deputy_director_a_charge_is_brought_with_is_criticised(missed: dict) -> None:
    card = article_card(missed, POSTMASTER, "khởi tố bị can với")
    assert card["Nguyễn Văn Vinh"] == SUBJECT


def test_captain_accused_of_demanding_money_is_criticised(missed: dict) -> None:
    card = article_card(missed, INVESTIGATORS, "liên tục vòi vĩnh")
    assert card["Đặng Văn Sáu"] == SUBJECT


def test_second_lieutenant_accused_of_demanding_money_is_criticised(missed: dict) -> None:
    card = article_card(missed, INVESTIGATORS, "liên tục vòi vĩnh")
    assert card["Lê Anh Linh"] == SUBJECT


def test_state_firm_director_whose_long_bracket_gives_the_post_is_criticised(
    missed: dict,
) -> None:
    card = article_card(missed, OIL_FRAUD, "tuyên phạt bị cáo Nguyễn Quang Thường")
    assert card["Nguyễn Quang Thường"] == SUBJECT
