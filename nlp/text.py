"""Vietnamese text normalisation, sentence splitting and word segmentation."""

from __future__ import annotations

import re
import unicodedata

from underthesea import sent_tokenize, word_tokenize

# underthesea's text_normalize is not used: it re-tokenises the text (spaces around every
# punctuation mark), joins all lines into one and its token table contains a few broken entries.
# Only its tone-placement idea is kept here, as a small explicit table.

_TONES = "\u0300\u0301\u0309\u0303\u0323"  # huyền, sắc, hỏi, ngã, nặng
_CLUSTERS = (("o", "ae"), ("u", "y"))


def _build_tone_table() -> dict[str, str]:
    """Map old-style tone placement ("oà", "uỷ") to new style ("òa", "ủy") in every case."""
    table: dict[str, str] = {}
    for first, seconds in _CLUSTERS:
        for second in seconds:
            for tone in _TONES:
                for f in (first, first.upper()):
                    for s in (second, second.upper()):
                        old = f + unicodedata.normalize("NFC", s + tone)
                        new = unicodedata.normalize("NFC", f + tone) + s
                        table[old] = new
    return table


_TONE_TABLE = _build_tone_table()
# Only at the end of a syllable ("hoà" but not "hoàn"), and "uy" not after q ("quý" is correct).
_TONE_RE = re.compile(
    r"(?<![qQ])(" + "|".join(sorted(_TONE_TABLE, key=len, reverse=True)) + r")(?![^\W\d_])"
)
# Characters from legacy encodings that stand in for Vietnamese letters, and invisible ones.
_CHAR_MAP = str.maketrans({"ð": "đ", "Ð": "Đ", "\u200b": "", "\ufeff": "", "\u00ad": ""})
_SPACES_RE = re.compile(r"[^\S\n]+")
_BLANK_LINES_RE = re.compile(r"\n(?:[^\S\n]*\n)+")


def normalize(text: str) -> str:
    """Return NFC text with new-style tone marks, single spaces and at most one blank line."""
    text = unicodedata.normalize("NFC", text).translate(_CHAR_MAP)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _TONE_RE.sub(lambda m: _TONE_TABLE[m.group(1)], text)
    text = _SPACES_RE.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _BLANK_LINES_RE.sub("\n\n", text)
    return text.strip()


def lines(text: str) -> list[str]:
    """Return the non-empty lines of normalised text (title, sapo and paragraphs)."""
    return [line for line in normalize(text).split("\n") if line]


def sentences(text: str) -> list[str]:
    """Split text into sentences, line by line, so that a title line is always its own sentence."""
    return [s for line in lines(text) for s in sent_tokenize(line) if s.strip()]


def head_lines(text: str, max_chars: int) -> list[str]:
    """Return the first lines of normalised text (title first), cut to about max_chars in all."""
    out: list[str] = []
    used = 0
    for line in lines(text):
        if used >= max_chars:
            break
        if used + len(line) > max_chars:
            line = line[: max_chars - used].rsplit(" ", 1)[0]
        out.append(line)
        used += len(line) + 1
    return out


def segment_lines(line_list: list[str]) -> list[list[str]]:
    """Segment each line into words with underthesea ("cán bộ" stays one word)."""
    # underthesea's CRF tokenizer takes about 1.3 s per 50,000 characters: the models segment
    # only an article's head, and the lexicon matches syllables without it.
    return [word_tokenize(line) for line in line_list]
