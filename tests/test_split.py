"""The frozen test split: reproducible, drawn from train.csv only, whole near-duplicate groups."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from nlp.datafiles import read_corpus
from nlp.split import (
    Split,
    assign_folds,
    draw_test,
    duplicate_pairs,
    label_rows,
    make_split,
    read_split,
    split_csv,
    split_path,
    union_groups,
)


@pytest.fixture(scope="module")
def split() -> Split:
    """The committed split."""
    return read_split()


@pytest.fixture(scope="module")
def labels(shared_dir: Path) -> dict[str, dict[str, str]]:
    """Every hand label with its pool and file."""
    return label_rows(shared_dir / "labels")


def test_committed_split_is_what_the_script_writes(shared_dir: Path) -> None:
    rows = make_split(shared_dir / "labels", shared_dir / "corpus" / "vntc-politics-law.jsonl.gz")
    assert split_csv(rows) == split_path().read_text(encoding="utf-8")


def test_every_hand_label_is_listed_once(split: Split, labels: dict) -> None:
    assert sorted(split.labels) == sorted(labels)


def test_test_part_is_a_quarter_of_all_labels(split: Split, labels: dict) -> None:
    assert abs(len(split.ids("test")) - 0.25 * len(labels)) <= 5


def test_no_dev_label_is_in_test(split: Split) -> None:
    assert {split.labels[i] for i in split.ids("test")} == {"train.csv"}


def test_test_is_stratified_by_label_and_pool(split: Split, labels: dict) -> None:
    train = [i for i in labels if labels[i]["source"] == "train.csv"]
    share = len(split.ids("test")) / len(train)
    strata = Counter(f"{labels[i]['label']}|{labels[i]['pool']}" for i in train)
    drawn = Counter(f"{labels[i]['label']}|{labels[i]['pool']}" for i in split.ids("test"))
    off = {
        s: (drawn[s], round(n * share)) for s, n in strata.items() if abs(drawn[s] - n * share) > 1
    }
    assert off == {}


def test_groups_never_straddle_the_split_or_a_fold(split: Split) -> None:
    where: dict[str, set] = {}
    for i, group in split.group.items():
        where.setdefault(group, set()).add((split.part[i], split.fold.get(i)))
    assert [g for g, places in where.items() if len(places) > 1] == []


def test_every_rest_label_has_a_fold(split: Split) -> None:
    rest = split.ids("rest")
    assert all(i in split.fold for i in rest) and set(split.fold.values()) == set(range(5))


def test_folds_spread_praise_evenly(split: Split, labels: dict) -> None:
    praise = Counter(split.fold[i] for i in split.ids("rest") if labels[i]["label"] == "praise")
    assert max(praise.values()) - min(praise.values()) <= 2


def test_a_lightly_edited_repost_joins_its_original(shared_dir: Path, split: Split) -> None:
    original = split.ids("test")[0]
    corpus = shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"
    text = next(r["text"] for r in read_corpus(corpus) if r["id"] == original)
    title, _, body = text.partition("\n")
    repost = "Tin mới: " + title + "\n" + body.replace(",", " ,", 3) + "\nTheo báo điện tử."
    other = "Thời tiết Hà Nội hôm nay nắng nhẹ\nNhiệt độ cao nhất 28 độ C, gió nhẹ."
    texts = {"a-original": text, "b-repost": repost, "c-other": other}
    groups = union_groups(texts, duplicate_pairs(texts))
    assert groups["b-repost"] == groups["a-original"] != groups["c-other"]


def test_union_closes_pairs_transitively() -> None:
    groups = union_groups(["a", "b", "c", "d"], [("c", "b"), ("b", "a")])
    assert groups == {"a": "a", "b": "a", "c": "a", "d": "d"}


def test_draw_takes_whole_groups_within_quotas() -> None:
    members = {"g1": ["a", "b"], "g2": ["c"], "g3": ["d"], "g4": ["e"]}
    strata = dict.fromkeys("abcde", "x")
    drawn = draw_test(members, strata, 0.4, seed=3)
    assert len(drawn) == 2 and ({"a", "b"} <= drawn or not {"a", "b"} & drawn)


def test_folds_keep_groups_whole() -> None:
    members = {f"g{k}": [f"g{k}-{j}" for j in range(k % 3 + 1)] for k in range(12)}
    strata = {i: i[-1] for m in members.values() for i in m}
    folds = assign_folds(members, strata, 3, seed=0)
    assert all(len({folds[i] for i in m}) == 1 for m in members.values())
