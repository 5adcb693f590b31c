"""Syndicated copies: the same story on several sites is one story, every copy still stored."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.stories import assign_stories

DEMO_WWW = Path(__file__).resolve().parents[1] / "crawlers" / "demo" / "www" / "tin-tuc"


def body(article_number: int) -> str:
    """The visible text of a demo article page, as a crude stand-in for an extracted body."""
    from parsel import Selector

    (page,) = DEMO_WWW.glob(f"*-{article_number}.html")
    selector = Selector(page.read_text(encoding="utf-8"))
    return "\n\n".join(selector.css("div.article-body p::text").getall())


def frame(*texts: str) -> pd.DataFrame:
    """New articles a1, a2, ... in order."""
    return pd.DataFrame(
        {
            "article_id": [f"a{i}" for i in range(1, len(texts) + 1)],
            "text": list(texts),
            "dated": pd.Timestamp("2026-11-20", tz="UTC"),
        }
    )


NO_KNOWN = pd.DataFrame(columns=["article_id", "story_id", "signature"])


@pytest.fixture
def original() -> str:
    return body(100201)


def test_repost_with_new_headline_joins_the_story(original: str) -> None:
    repost = "Xã Tân Phú kỷ luật công chức địa chính\n" + original
    links = assign_stories(frame(original, repost), NO_KNOWN)
    assert links[1].story_id == "a1"


def test_repost_trimmed_by_a_paragraph_joins_the_story(original: str) -> None:
    trimmed = "\n\n".join(original.split("\n\n")[:-1])
    links = assign_stories(frame(original, trimmed), NO_KNOWN)
    assert links[1].story_id == "a1"


def test_different_story_on_the_same_subject_stays_apart(original: str) -> None:
    links = assign_stories(frame(original, body(100206)), NO_KNOWN)
    assert links[1].story_id == "a2"


def test_copy_of_an_article_stored_last_night_joins_its_story(original: str) -> None:
    (first,) = assign_stories(frame(original), NO_KNOWN)
    known = pd.DataFrame(
        {"article_id": ["old"], "story_id": ["old"], "signature": [first.signature]}
    )
    (link,) = assign_stories(frame(original), known)
    assert link.story_id == "old"


def test_first_copy_is_its_own_story(original: str) -> None:
    (link,) = assign_stories(frame(original), NO_KNOWN)
    assert (link.story_id, link.similarity) == ("a1", 1.0)


def test_article_another_node_grouped_meanwhile_keeps_its_story(original: str) -> None:
    (first,) = assign_stories(frame(original), NO_KNOWN)
    known = pd.DataFrame({"article_id": ["a1"], "story_id": ["s"], "signature": [first.signature]})
    assert assign_stories(frame(original), known) == []
