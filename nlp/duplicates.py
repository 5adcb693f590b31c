"""Near-duplicate articles: MinHash over word shingles, and shared title / body keys."""

from __future__ import annotations

import hashlib
import re

from datasketch import MinHash

NUM_PERM = 64
SCHEME = "affine32"  # stored signatures are only comparable under the scheme that made them
SHINGLE = 5  # words per shingle
THRESHOLD = 0.6  # estimated Jaccard of 5-word shingles: reposts score > 0.8, distinct stories < 0.1

_WORD = re.compile(r"\w+")
_KEY_RE = re.compile(r"\W+")


def signature(text: str) -> MinHash:
    """MinHash of the text's lower-cased 5-word shingles."""
    words = _WORD.findall(text.lower())
    shingles = {" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    minhash = MinHash(num_perm=NUM_PERM, scheme=SCHEME)
    minhash.update_batch([s.encode("utf-8") for s in shingles])
    return minhash


def duplicate_keys(text: str) -> list[str]:
    """Keys two reposts of one article share: the normalised title, the hash of the body."""
    first, _, body = text.strip().partition("\n")
    title = _KEY_RE.sub(" ", first.lower()).strip()
    body_key = _KEY_RE.sub(" ", body.lower()).strip()
    keys = []
    if len(title) >= 10:  # very short titles ("Tin vắn") say nothing about identity
        keys.append("title:" + title)
    if len(body_key) >= 50:
        keys.append("body:" + hashlib.sha1(body_key.encode("utf-8")).hexdigest())
    return keys


def near_duplicate_groups(texts: dict[str, str]) -> dict[str, str]:
    """Group articles that share a normalised title or body (union-find); id -> group id."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for article_id, text in texts.items():
        for key in duplicate_keys(text):
            parent[find(key)] = find(article_id)
    out: dict[str, str] = {}
    for article_id in texts:
        out[article_id] = find(article_id)
    return out
