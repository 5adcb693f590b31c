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
