"""nlp.provinces: the province an article is about, on the 34-province map of 1 July 2025."""

from __future__ import annotations

import json
from pathlib import Path

from nlp.datafiles import read_corpus
from nlp.provinces import MAPPING_PATH, main_province, provinces


def seed_article(shared_dir: Path) -> str:
    """The first article of the seed page."""
    text = (shared_dir / "seed" / "quangnam-ne-viec.txt").read_text(encoding="utf-8")
    return text.split("\nHoạt động chính quyền\n")[0]


def test_shipped_table_maps_63_old_provinces_to_34() -> None:
    table = json.loads(MAPPING_PATH.read_text(encoding="utf-8"))["province_mapping"]
    assert (len(table), len(set(table.values()))) == (63, 34)


def test_merged_province_maps_to_its_successor() -> None:
    found = main_province("UBND tỉnh Quảng Nam vừa ban hành kế hoạch cải cách hành chính.")
    assert (found.name, found.original) == ("Đà Nẵng", "Quảng Nam")


def test_unchanged_province_keeps_its_name() -> None:
    found = main_province("Công an tỉnh Thanh Hóa bắt giữ hai đối tượng.")
    assert (found.name, found.original) == ("Thanh Hóa", "Thanh Hóa")


def test_three_way_merger() -> None:
    found = main_province("Người dân Nam Định phản ánh việc chậm cấp sổ đỏ.")
    assert (found.name, found.original) == ("Ninh Bình", "Nam Định")


def test_city_abbreviation_is_read() -> None:
    assert main_province("Sở Xây dựng TP.HCM kiểm tra công trình.").name == "Hồ Chí Minh"


def test_unique_district_points_to_its_province() -> None:
    found = main_province("Tại huyện Thăng Bình, nhiều hộ dân chưa được bồi thường.")
    assert (found.name, found.original) == ("Đà Nẵng", "Quảng Nam")


def test_pre_2008_province_maps_to_hanoi() -> None:
    found = main_province("Thanh tra tỉnh Hà Tây kết luận nhiều sai phạm.")
    assert (found.name, found.original) == ("Hà Nội", "Hà Tây")


def test_person_named_like_a_province_is_not_a_place() -> None:
    assert provinces("Ông Nguyễn Thái Bình được bổ nhiệm làm giám đốc.") == []


def test_ocean_is_not_a_province() -> None:
    assert provinces("Bão hình thành trên Thái Bình Dương.") == []


def test_title_outweighs_body_mentions() -> None:
    text = "Đắk Lắk: kỷ luật cán bộ xã\nĐoàn công tác của Hà Nội và Hà Nội đã đến thăm."
    assert main_province(text).name == "Đắk Lắk"


def test_mentions_of_one_successor_add_up() -> None:
    text = "Đà Nẵng và Quảng Nam hợp tác.\nHà Nội cử đoàn. Hà Nội hỗ trợ. Hà Nội ủng hộ."
    assert (main_province(text).name, main_province(text).mentions) == ("Đà Nẵng", 2)


def test_text_without_province_has_none() -> None:
    assert main_province("Thời tiết hôm nay nắng nhẹ.") is None


def test_seed_article_is_about_quang_nam_now_da_nang(shared_dir: Path) -> None:
    found = main_province(seed_article(shared_dir))
    assert (found.name, found.original, found.in_title) == ("Đà Nẵng", "Quảng Nam", True)


def test_real_corpus_article_about_binh_dinh(shared_dir: Path) -> None:
    corpus = shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"
    article = next(r["text"] for r in read_corpus(corpus) if r["text"].startswith("Bình Định"))
    found = main_province(article)
    assert (found.name, found.original) == ("Gia Lai", "Bình Định")


def corpus_article(shared_dir: Path, article_id: str) -> str:
    """The text of one article of the shared corpus."""
    corpus = shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"
    return next(r["text"] for r in read_corpus(corpus) if r["id"] == article_id)


# Real sentences of the corpus (Train_Full/PL_NLD_ (4048).txt, Test_Full/PL_TN_T_ (3525).txt,
# Train_Full/PL_TN_ (3523).txt, Train_Full/PL_ VNE_ (1409).txt, Test_Full/XH_TN_T_ (8497).txt).
NICKNAME = (
    "Tính tới thời điểm này, đã có thể xác định chính xác riêng ông Oánh trực tiếp gọi 89 cuộc "
    "điện thoại sang Thái Lan cho Dũng “Huế”."
)
NICKNAME_IN_HANOI = (
    "Từ đầu năm 2005 tới nay, trên địa bàn Hà Nội liên tục xảy ra hàng chục vụ cướp giật do một "
    "băng cướp chuyên đi xe máy biển số giả (hoặc không có biển kiểm soát) gây ra. Thông tin "
    'trinh sát cho biết, băng cướp nguy hiểm này do một đối tượng tên là Tiến "Sài Gòn" cầm đầu.'
)
TEAM = (
    "Phi Hùng chỉ thừa nhận có cầm tiền của SLNA đi biếu một số nhân vật của đội bóng CA TP.HCM "
    "nhưng không nói rõ là 65 triệu đồng."
)
TEAM_AND_ITS_PROVINCES_POLICE = (
    "Nguồn tin Công an tỉnh Thừa Thiên - Huế cho biết, Cơ quan Cảnh sát điều tra quyết định khởi "
    "tố bị can, bắt giữ Trần Bảo Thắng (21 tuổi, cầu thủ đội tuyển bóng đá Thừa Thiên - Huế) và "
    "Lý Quang Hải (21 tuổi, Công ty Cấp thoát nước thành phố)."
)
CLUB_AND_CITY = (
    "Ngay sau khi nhận được quyết định (số 4945 ký ngày 7/10/2004) của UBND TP Hồ Chí Minh về "
    "việc buộc tháo dỡ CLB Cầu lông Phú Thọ, chủ đầu tư hợp tác xây dựng CLB này đã gửi ngay bản "
    "khiếu nại lên UBND TP kiến nghị xem xét lại quyết định này."
)


def test_quoted_nickname_after_a_given_name_is_no_place() -> None:
    assert provinces(NICKNAME) == []


def test_nickname_leaves_the_place_of_the_story() -> None:
    assert [p.name for p in provinces(NICKNAME_IN_HANOI)] == ["Hà Nội"]


def test_article_about_dung_hue_in_the_pmu18_case_is_placed_in_hanoi(shared_dir: Path) -> None:
    article = corpus_article(shared_dir, "Train_Full/PL_NLD_ (4048).txt")
    assert main_province(article).name == "Hà Nội"


def test_team_named_after_a_city_is_no_place() -> None:
    assert provinces(TEAM) == []


def test_team_is_no_place_but_the_provinces_police_is() -> None:
    found = provinces(TEAM_AND_ITS_PROVINCES_POLICE)
    assert [(p.name, p.mentions) for p in found] == [("Huế", 1)]


def test_club_is_no_place_but_the_city_body_is() -> None:
    assert [p.name for p in provinces(CLUB_AND_CITY)] == ["Hồ Chí Minh"]


def test_article_about_slna_paying_a_city_team_names_no_province(shared_dir: Path) -> None:
    assert main_province(corpus_article(shared_dir, "Train_Full/PL_TN_ (3523).txt")) is None
