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


# A piece underthesea split off the sentence before it that cannot open a sentence: it starts
# with punctuation ("Không có cơ sở!, đó là lời khẳng định…"), a closing quote or (checked
# apart) a lower-case letter. An opening straight quote is followed by a letter.
_CONTINUATION_RE = re.compile(r"[,;:.…)\]}”’»]|[\"'](?!\w)")
# The related-article lines VnExpress texts end with: a headline glued to its date,
# "Buộc thôi việc cán bộ VKS nhận 'chạy án' 120 triệu đồng(28/08/2003)".
_LINK_LINE_RE = re.compile(r"\S\(\d{1,2}/\d{1,2}/\d{4}\)$")


def continues(piece: str) -> bool:
    """Whether a sentence split off by underthesea starts as the rest of the one before it."""
    return piece[:1].islower() or _CONTINUATION_RE.match(piece) is not None


def joined_sentences(line: str) -> dict[str, str]:
    """Each sentence of a line (as `sentences` splits it) -> it with those that continue it or
    that it continues, in the line's own spacing."""
    pieces = [s for s in sent_tokenize(line) if s.strip()]
    spans: list[tuple[int, int]] = []  # (-1, -1): a piece not found as is in the line
    at = 0
    for piece in pieces:
        start = line.find(piece, at)
        spans.append((start, start + len(piece)) if start >= 0 else (-1, -1))
        at = max(at, spans[-1][1])
    groups: list[list[int]] = []
    for k, piece in enumerate(pieces):
        if groups and continues(piece):
            groups[-1].append(k)
        else:
            groups.append([k])
    out: dict[str, str] = {}
    for group in groups:
        first, last = spans[group[0]], spans[group[-1]]
        found = all(spans[k][0] >= 0 for k in group)
        text = line[first[0] : last[1]] if found else " ".join(pieces[k] for k in group)
        for k in group:
            out.setdefault(pieces[k], text)
    return out


def readable_evidence(evidence: list[str], text: str) -> list[str]:
    """Evidence sentences of a text as an analyst should read them, each once.

    A sentence is shown with the sentences of its line that continue it or that it continues, so
    a quote keeps its speaker; a related-article link line (another article's headline and
    date) is left out. The models' sentences (`sentences`) are not changed.
    """
    wanted = set(evidence)
    shown: dict[str, str] = {}
    links: set[str] = set()
    for line in lines(text):
        if not any(s in line for s in wanted):
            continue
        joined = joined_sentences(line)
        for sentence in wanted & joined.keys():
            shown.setdefault(sentence, joined[sentence])
            if _LINK_LINE_RE.search(line):
                links.add(sentence)
    out: list[str] = []
    for sentence in evidence:
        whole = shown.get(sentence, sentence)
        if sentence in links or _LINK_LINE_RE.search(sentence) or whole in out:
            continue
        out.append(whole)
    return out
