"""The labeling guide's hard cases for praise, as article features: whom an honour is for, and why.

The guide calls neutral what looks like praise in words: honours for people outside public
service ("workers, farmers, pupils, companies, artists"; "sport, business, art"),
commemorations of historical or revolutionary figures, and routine visits, meetings and Party
congresses where a speech commends someone in passing. The terms below are the guide's own
examples in Vietnamese, written down from its text, not fitted to any label.
"""

from __future__ import annotations

from collections.abc import Sequence

# Honoured or praised people who are not public servants in their duty.
OUTSIDE_SERVICE = (
    "học sinh",
    "sinh viên",
    "công nhân",
    "người lao động",
    "nông dân",
    "doanh nghiệp",
    "công ty",
    "doanh nhân",
    "nghệ sĩ",
    "nghệ nhân",
    "vận động viên",
    "vđv",
    "thể thao",
    "cầu thủ",
)
# Commemorations of historical or revolutionary figures.
COMMEMORATION = ("kỷ niệm", "tưởng niệm", "ngày sinh", "ngày mất", "liệt sĩ", "truy điệu")
# Routine visits, meetings and congresses.
ROUTINE = ("đại hội", "hội nghị", "thăm", "làm việc với", "tiếp xúc cử tri", "tổng kết")
WIDTH = 6


def _holds(padded: str, terms: Sequence[str]) -> bool:
    """Whether a sentence's syllables, space-padded, hold one of the terms as whole syllables."""
    return any(f" {term} " in padded for term in terms)


def hard_case_vector(
    sentences: Sequence[Sequence[str]], praise_cued: Sequence[bool]
) -> list[float]:
    """WIDTH features of an article's sentences as lower-case syllables (title first) and
    whether each has a praise cue.

    Of the sentences with a praise cue, the share naming people outside public service; the
    title naming them; the title and the body's share naming a commemoration; the same for a
    routine visit, meeting or congress.
    """
    padded = [" " + " ".join(words) + " " for words in sentences]
    if not padded:
        return [0.0] * WIDTH
    cued = [p for p, flag in zip(padded, praise_cued, strict=True) if flag]
    body = padded[1:] or padded

    def share(found: Sequence[str], terms: Sequence[str]) -> float:
        return sum(_holds(p, terms) for p in found) / len(found) if found else 0.0

    return [
        share(cued, OUTSIDE_SERVICE),
        float(_holds(padded[0], OUTSIDE_SERVICE)),
        float(_holds(padded[0], COMMEMORATION)),
        share(body, COMMEMORATION),
        float(_holds(padded[0], ROUTINE)),
        share(body, ROUTINE),
    ]
