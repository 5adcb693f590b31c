"""nlp.entities: persons, organisations and locations with underthesea's shipped CRF models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from underthesea import ner

from nlp.entities import Entity, entities, entity_counts, tag_sentence
from nlp.text import sentences
from tests.conftest import ROOT

PROSECUTION = (
    "Bộ Công an đã khởi tố ông Nguyễn Văn An, nguyên Giám đốc Sở Tài nguyên và Môi trường "
    "tỉnh Bình Dương."
)


def seed_article(shared_dir: Path) -> str:
    """The first article of the seed page."""
    text = (shared_dir / "seed" / "quangnam-ne-viec.txt").read_text(encoding="utf-8")
    return text.split("\nHoạt động chính quyền\n")[0]


def test_tags_are_exactly_underthesea_ner(shared_dir: Path) -> None:
    found = sentences(seed_article(shared_dir))[:12]
    assert [tag_sentence(s) for s in found] == [[tuple(t) for t in ner(s)] for s in found]


def test_person_is_found() -> None:
    assert Entity("person", "Nguyễn Văn An") in entities(PROSECUTION)


def test_public_body_is_an_organisation() -> None:
    assert Entity("organization", "Sở Tài nguyên và Môi trường tỉnh Bình Dương") in entities(
        PROSECUTION
    )


def test_place_is_a_location() -> None:
    found = entities("Thủ tướng Nguyễn Tấn Dũng đã làm việc với UBND TP Hà Nội về dự án.")
    assert Entity("location", "Hà Nội") in found


def test_job_title_is_not_part_of_a_name() -> None:
    found = entities("Ông Trần Văn Minh, Chủ tịch UBND huyện Thăng Bình, cho biết.")
    assert Entity("organization", "UBND huyện Thăng Bình") in found


def test_seed_article_names_its_province(shared_dir: Path) -> None:
    assert Entity("location", "Quảng Nam") in entities(seed_article(shared_dir))


def test_each_entity_is_listed_once(shared_dir: Path) -> None:
    found = entities(seed_article(shared_dir))
    assert len(found) == len(set(found))


def test_empty_text_has_no_entities() -> None:
    assert entities("") == []


def test_long_article_reads_only_its_head(shared_dir: Path) -> None:
    article = seed_article(shared_dir)
    head = (article * (50_000 // len(article) + 1))[:50_000]
    tail = "\nÔng Trần Văn Khải, Chủ tịch UBND tỉnh Lai Châu, phát biểu tại hội nghị."
    assert (Entity("person", "Trần Văn Khải") in entities(tail), entities(head + tail)) == (
        True,
        entities(head),
    )


def test_mentions_are_counted(shared_dir: Path) -> None:
    assert entity_counts(seed_article(shared_dir))[Entity("location", "Quảng Nam")] >= 2


def test_nlp_loads_underthesea_without_its_unused_pipelines() -> None:
    code = (
        "import sys, json; import nlp.entities, nlp.provinces, nlp.text; "
        "from nlp.underthesea_internals import UNUSED_PIPELINES as skipped; "
        "print(json.dumps([[m for m in ('torch', 'transformers') if m in sys.modules], "
        "[sys.modules[m] is None for m in skipped], nlp.text.segment_lines(['cán bộ'])]))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(found.stdout) == [[], [True, True, True], [["cán bộ"]]]
