"""Groups syndicated copies (the same story on several sites or under a new URL) into stories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd
from datasketch import MinHash, MinHashLSH

from nlp.duplicates import NUM_PERM, SCHEME, THRESHOLD, signature
from pipelines.enrich import ARTICLE_TEXT, analysed
from pipelines.lake import begin, retried, rollback
from pipelines.paths import DataPaths
from pipelines.store import open_db

WINDOW_DAYS = 30  # copies are looked for among articles dated this close


@dataclass(frozen=True)
class StoryLink:
    """One article's story: its own id when it is a first copy."""

    article_id: str
    story_id: str
    similarity: float
    signature: bytes


def group_new_stories(paths: DataPaths, wait_s: float) -> int:
    """Link each new article to a story; return how many were copies of an earlier article."""
    with open_db(paths.store, wait_s=wait_s) as con:
        new = unassigned(con)
        if new.empty:
            return 0
        known = neighbours(con, new["dated"].min() - timedelta(days=WINDOW_DAYS))
    links = assign_stories(new, known)  # computed with no database connection held
    with open_db(paths.store, wait_s=wait_s) as con:
        save_stories(con, links)
    return sum(link.story_id != link.article_id for link in links)


def from_blob(blob: bytes) -> MinHash:
    """A MinHash from its stored hash values."""
    values = np.frombuffer(blob, dtype=np.uint32)
    return MinHash(num_perm=NUM_PERM, hashvalues=values, scheme=SCHEME)


def unassigned(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Articles without a story yet, oldest first, with their text."""
    return con.execute(
        f"""
        SELECT a.article_id, {ARTICLE_TEXT} AS text,
               coalesce(a.published_at, a.fetched_at) AS dated
        FROM articles a ANTI JOIN article_stories s USING (article_id)
        ORDER BY dated, a.article_id
        """
    ).df()


def neighbours(con: duckdb.DuckDBPyConnection, since: object) -> pd.DataFrame:
    """Grouped articles dated since the given time: the copies a new article may match."""
    return con.execute(
        """
        SELECT s.article_id, s.story_id, s.signature
        FROM article_stories s JOIN articles a USING (article_id)
        WHERE coalesce(a.published_at, a.fetched_at) >= ?
        """,
        [since],
    ).df()


def assign_stories(new: pd.DataFrame, known: pd.DataFrame) -> list[StoryLink]:
    """Match each new article to the most similar earlier copy, or start a story with it.

    On a shared store another node may group an article between the reads of new and known:
    it is in both, and keeps the story it was given.
    """
    new = new[~new["article_id"].isin(known["article_id"])]
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    minhashes: dict[str, MinHash] = {}
    story_of: dict[str, str] = {}
    for article_id, story_id, blob in known.itertuples(index=False):
        minhashes[article_id] = from_blob(blob)
        story_of[article_id] = story_id
        lsh.insert(article_id, minhashes[article_id])
    links = []
    for article_id, text, _ in new.itertuples(index=False):
        minhash = signature(analysed(text))
        scored = [(minhash.jaccard(minhashes[c]), c) for c in lsh.query(minhash)]
        best = max(scored, default=(0.0, None))
        story, similarity = (story_of[best[1]], best[0]) if best[1] else (article_id, 1.0)
        links.append(StoryLink(article_id, story, similarity, minhash.hashvalues.tobytes()))
        minhashes[article_id], story_of[article_id] = minhash, story
        lsh.insert(article_id, minhash)
    return links


@retried
def save_stories(con: duckdb.DuckDBPyConnection, links: list[StoryLink]) -> int:
    """Insert the story links in bulk; articles already grouped keep their story."""
    if not links:
        return 0
    frame = pd.DataFrame([vars(link) for link in links])
    con.register("new_stories", frame)
    try:
        begin(con)
        added = con.execute(
            "INSERT INTO article_stories SELECT article_id, story_id, similarity, signature "
            "FROM new_stories ANTI JOIN article_stories USING (article_id)"
        ).fetchone()[0]
        con.execute("COMMIT")
        return added
    except BaseException:
        rollback(con)
        raise
    finally:
        con.unregister("new_stories")
