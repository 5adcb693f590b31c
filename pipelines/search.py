"""Ranked full-text search over article titles and bodies (tantivy), typed with or without marks.

The index is built by the reader, on demand, from the published snapshot it searches, and cached
beside it in data/search/<snapshot identity>/: the nightly job never builds, waits for or even
knows of it. A new snapshot (a new file, renamed into place by every publish) has a new identity,
so the first search after a publish builds a new index and removes the stale ones.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import tantivy

from crawlers.text import BIDI
from nlp.classify import DEFAULT_MODEL, LABELS
from nlp.text import normalize, sentences
from pipelines.digest import shown
from pipelines.enrich import analysed
from pipelines.lake import lake_target
from pipelines.selection import CURRENT_LABEL
from pipelines.sql import literal
from pipelines.store import existing_db, open_db

# Part of the cache key: raise it when the fields or their text change. 2: bidi controls left
# out, which split a word in two in rows stored before the crawl dropped them. 3: no labels (the
# label filter reads the current label from the snapshot), so a relabel reindexes nothing.
INDEX_VERSION = 3
BATCH = 5_000
TITLE_BOOST = 2.0  # a word in the headline says more about the story than one in the body
PHRASE_BOOST = 3.0  # the query's words side by side ("né việc"), not just somewhere apart
ABANDONED_BUILD_S = 86_400  # a build folder untouched this long was left by a killed reader
EXACT_BOOST = 1.5  # typed without marks: a word written exactly so ranks above its marked forms
_WORD_RE = re.compile(r"[^\W_]+")  # what tantivy's default tokenizer keeps: letters and digits
_MARKS_RE = re.compile("[\u0300-\u036f]")


def fold(text: str) -> str:
    """Lower case without tone or vowel marks, đ as d: the form a query typed without marks has."""
    decomposed = unicodedata.normalize("NFD", BIDI.sub("", text.lower()))
    return _MARKS_RE.sub("", decomposed).replace("đ", "d")


def marked(text: str) -> str:
    """Lower case NFC with new-style tone marks (nlp.text.normalize) and no bidi controls: the
    form marks are kept in."""
    return BIDI.sub("", normalize(text)).lower()


def words(text: str) -> list[str]:
    """The query's words as the index splits text, with their marks."""
    return _WORD_RE.findall(marked(text))


def build_schema() -> tantivy.Schema:
    """Title and body twice (as written and folded), and the fields results are filtered on
    (labels are not: they change without the text, see label_articles)."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("article_id", stored=True, tokenizer_name="raw", index_option="basic")
    for field in ("title", "title_plain", "body", "body_plain"):
        builder.add_text_field(field, tokenizer_name="default", index_option="position")
    builder.add_integer_field("day", indexed=True, fast=True)  # yyyymmdd, Vietnam date
    builder.add_text_field("province", tokenizer_name="raw", index_option="basic")  # folded
    return builder.build()


SCHEMA = build_schema()

# One row per article, over the same text the enrichments read (pipelines/enrich.py); the day is
# the publication date in Vietnam (fetch date when undated), as in the exports. The stamp changes
# whenever anything indexed of the article does (text, day, province).
ROWS_SQL = """
    SELECT *, md5(concat_ws('|', title, body, day, province)) AS stamp
    FROM (
        SELECT a.article_id, coalesce(a.title, '') AS title, coalesce(a.body, '') AS body,
               CAST(strftime(CAST(coalesce(a.published_at, a.fetched_at) AS DATE), '%Y%m%d')
                    AS INTEGER) AS day,
               p.province
        FROM articles a
        LEFT JOIN article_places p USING (article_id)
    )
"""
STAMPS = "stamps.parquet"  # in each index folder: article_id, stamp of every article indexed


def documents(con: duckdb.DuckDBPyConnection, sql: str) -> Iterator[tantivy.Document]:
    """The index's documents for the rows sql selects from ROWS_SQL, read in batches."""
    cursor = con.execute(sql)
    while rows := cursor.fetchmany(BATCH):
        for article_id, title, body, day, province, _ in rows:
            body = analysed(body)  # a broken page of millions of characters is read on its head
            yield tantivy.Document(
                article_id=article_id,
                title=marked(title),
                title_plain=fold(title),
                body=marked(body),
                body_plain=fold(body),
                day=day if day is not None else [],
                province=fold(province) if province else [],
            )


def link_copy(source: Path, target: Path) -> None:
    """Hard-link every file of an index folder into target: tantivy never rewrites a file."""
    for path in source.iterdir():
        if path.is_file() and path.name != STAMPS and not path.name.startswith(".tantivy-"):
            os.link(path, target / path.name)


def build_index(con: duckdb.DuckDBPyConnection, folder: Path, previous: Path | None) -> int:
    """Index the snapshot into folder, from the previous snapshot's index when there is one.

    Only the articles whose stamp changed are (re)indexed: after a night, a few hundred rather
    than every article. Returns how many were indexed.
    """
    rows = f"({ROWS_SQL}) r"
    gone, fresh = [], f"SELECT * FROM {rows}"
    if previous is not None:
        old = f"read_parquet({literal(str(previous / STAMPS))}) o"
        try:
            link_copy(previous, folder)
            gone = con.execute(
                f"SELECT o.article_id FROM {old} ANTI JOIN {rows} "
                "ON r.article_id = o.article_id AND r.stamp = o.stamp"
            ).fetchall()
        except (OSError, duckdb.IOException):  # another reader removed it meanwhile: build anew
            for path in folder.iterdir():
                path.unlink()
            previous = None
        else:
            fresh = (
                f"SELECT r.* FROM {rows} ANTI JOIN {old} "
                "ON o.article_id = r.article_id AND o.stamp = r.stamp"
            )
    index = tantivy.Index(SCHEMA, path=str(folder), reuse=previous is not None)
    writer = index.writer(heap_size=256_000_000)
    for (article_id,) in gone:  # changed or removed: a changed one is added again below
        writer.delete_documents_by_term("article_id", article_id)
    count = 0
    for document in documents(con, fresh):
        writer.add_document(document)
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    stamps = literal(str(folder / STAMPS))
    con.execute(f"COPY (SELECT article_id, stamp FROM {rows}) TO {stamps} (FORMAT parquet)")
    return count


def snapshot_key(db: Path) -> str:
    """The snapshot file's identity: every publish renames a new file (a new inode) into place."""
    stat = db.stat()
    return f"v{INDEX_VERSION}-{stat.st_ino}-{stat.st_size}-{stat.st_mtime_ns}"


def latest_index(root: Path) -> Path | None:
    """The most recently built complete index of this INDEX_VERSION under root, if any (an
    earlier snapshot's); another version's fields differ, so it is never built upon."""
    version = f"v{INDEX_VERSION}-"
    built = [p for p in root.iterdir() if p.name.startswith(version) and (p / STAMPS).is_file()]
    return max(built, key=lambda p: p.stat().st_mtime_ns, default=None)


def cached_index(con: duckdb.DuckDBPyConnection, db: Path, key: str) -> tantivy.Index:
    """The index of the snapshot con reads, built into data/search/<key>/ when not there yet."""
    root = db.parent / "search"
    folder = root / key
    if not (folder / "meta.json").is_file():
        root.mkdir(exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
        try:
            build_index(con, building, latest_index(root))
            building.chmod(0o755)  # mkdtemp's 0700 would keep the other analysts out
            os.rename(building, folder)
        except OSError:
            if not (folder / "meta.json").is_file():  # not another reader's finished build
                raise
        finally:
            shutil.rmtree(building, ignore_errors=True)
        # Earlier snapshots' indexes go, and builds a killed reader left a day ago; builds in
        # progress stay, and so does the index of the snapshot published now, when this reader
        # still holds an older one.
        keep = {key, snapshot_key(db) if db.exists() else key}
        for stale in root.iterdir():
            if stale.name.startswith(".building-"):
                if time.time() - stale.stat().st_mtime > ABANDONED_BUILD_S:
                    shutil.rmtree(stale, ignore_errors=True)
            elif stale.name not in keep:
                shutil.rmtree(stale, ignore_errors=True)
    index = tantivy.Index.open(str(folder))
    index.reload()
    return index


def word_query(word: str) -> tantivy.Query:
    """One query word: marks typed must match; typed without, its marked forms match too."""
    plain = fold(word)
    fields = [("title", TITLE_BOOST), ("body", 1.0)]
    options = [
        tantivy.Query.boost_query(tantivy.Query.term_query(SCHEMA, f, word), boost)
        for f, boost in fields
    ]
    if plain == word:
        options = [tantivy.Query.boost_query(o, EXACT_BOOST) for o in options] + [
            tantivy.Query.boost_query(tantivy.Query.term_query(SCHEMA, f + "_plain", plain), boost)
            for f, boost in fields
        ]
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, o) for o in options])


@dataclass(frozen=True)
class Filters:
    """What results are limited to: a date range, a province, a current label (the analyst's
    when reviewed, else model_id's: CURRENT_LABEL, as the digest), some articles."""

    start: date | None = None
    end: date | None = None
    province: str | None = None
    label: str | None = None
    model_id: str = DEFAULT_MODEL
    # Article ids, e.g. a notebook's list of stories by their current label; None: every article.
    articles: frozenset[str] | None = None


def full_query(text: str, filters: Filters) -> tantivy.Query:
    """Every word of the text (ranked by BM25, headline first, phrase first), within the filters
    but the label (label_articles turns it into filters.articles)."""
    query_words = words(text)
    if not query_words:
        raise ValueError(f"nothing to search for in {text!r}: type at least one word")
    clauses = [(tantivy.Occur.Must, word_query(w)) for w in query_words]
    if len(query_words) > 1:
        folded = [fold(w) for w in query_words]
        for field, boost in (("title_plain", TITLE_BOOST), ("body_plain", 1.0)):
            phrase = tantivy.Query.phrase_query(SCHEMA, field, folded)
            clauses.append(
                (tantivy.Occur.Should, tantivy.Query.boost_query(phrase, PHRASE_BOOST * boost))
            )
    if filters.start or filters.end:
        clauses.append(
            (
                tantivy.Occur.Must,
                tantivy.Query.range_query(
                    SCHEMA,
                    "day",
                    tantivy.FieldType.Integer,
                    int(filters.start.strftime("%Y%m%d")) if filters.start else None,
                    int(filters.end.strftime("%Y%m%d")) if filters.end else None,
                ),
            )
        )
    if filters.province:
        term = tantivy.Query.term_query(SCHEMA, "province", fold(filters.province.strip()))
        clauses.append((tantivy.Occur.Must, term))
    if filters.articles is not None:
        chosen = tantivy.Query.term_set_query(SCHEMA, "article_id", sorted(filters.articles))
        clauses.append((tantivy.Occur.Must, chosen))
    return tantivy.Query.boolean_query(clauses)


def label_articles(con: duckdb.DuckDBPyConnection, filters: Filters) -> Filters:
    """The filters with the label turned into the articles whose current label it is, read from
    the snapshot searched: the index holds no label, so an analyst's new one counts at once, and
    the index ranks and limits only those articles."""
    if filters.label is None:
        return filters
    rows = con.execute(
        f"""
        SELECT a.article_id FROM articles a
        LEFT JOIN classifications c ON c.article_id = a.article_id AND c.model_id = ?
        LEFT JOIN story_labels al ON al.article_id = a.article_id
        WHERE {CURRENT_LABEL} = ?
        """,
        [filters.model_id, filters.label],
    ).fetchnumpy()["article_id"]
    labelled = frozenset(rows.tolist())
    articles = labelled if filters.articles is None else labelled & filters.articles
    return replace(filters, label=None, articles=articles)


def check_filters(con: duckdb.DuckDBPyConnection, filters: Filters) -> None:
    """A clear error for a label, model or province the snapshot cannot match."""
    if filters.label is not None and filters.label not in LABELS:
        raise ValueError(f"unknown label {filters.label!r}; choose one of {', '.join(LABELS)}")
    if filters.start and filters.end and filters.start > filters.end:
        raise ValueError(f"--from {filters.start} is after --to {filters.end}")
    rows = con.execute("SELECT DISTINCT model_id FROM classifications ORDER BY 1").fetchall()
    models = [model_id for (model_id,) in rows]
    if models and filters.model_id not in models:
        raise LookupError(
            f"no labels from model {filters.model_id!r} in the database; it holds "
            f"{', '.join(models)} (`congvu reclassify --model ID` adds another)"
        )
    if filters.province:
        known = con.execute("SELECT DISTINCT province FROM article_places").fetchall()
        if fold(filters.province.strip()) not in {fold(p) for (p,) in known if p}:
            raise LookupError(
                f"no article in the database is about the province {filters.province!r} "
                "(provinces are on the 34-province map since 1 July 2025, e.g. 'Đà Nẵng')"
            )


def snippet(body: str, query_words: list[str]) -> str:
    """The body's sentence holding most of the query's words (compared without marks)."""
    wanted = {fold(w) for w in query_words}
    best, best_hits = "", 0
    for sentence in sentences(analysed(body)):
        hits = len(wanted & {fold(w) for w in _WORD_RE.findall(sentence)})
        if hits > best_hits:
            best, best_hits = sentence, hits
    return best if len(best) <= 300 else best[:299] + "…"


RESULT_COLUMNS = [
    "article_id",
    "score",
    "published",
    "site",
    "site_title",
    "province",
    "label",
    "title",
    "url",
    "snippet",
]


def search(
    db: Path,
    text: str,
    filters: Filters | None = None,
    limit: int = 20,
) -> pd.DataFrame:
    """The articles of the snapshot at db best matching text, best first, with a snippet each.

    One row per article: its BM25 score, publication date (dd/mm/yyyy), site and its title,
    province, its current label (the analyst's when reviewed, else filters.model_id's; empty
    when neither labelled it), headline, link and the body sentence that holds most of the
    query's words.
    """
    filters = filters or Filters()
    db = existing_db(Path(db))
    for _ in range(3):  # a publish between stat and connect: the key would name another file
        key = "" if lake_target() else snapshot_key(db)
        con = open_db(db, read_only=True)
        if lake_target():  # the shared store's snapshot is the key: DuckLake numbers each one
            (snapshot,) = con.execute("SELECT id FROM congvu.current_snapshot()").fetchone()
            key = f"v{INDEX_VERSION}-lake-{snapshot}"
            break
        if snapshot_key(db) == key:
            break
        con.close()
    else:
        raise RuntimeError(f"{db} kept changing while opening it; try again")
    with con:
        check_filters(con, filters)
        query = full_query(text, label_articles(con, filters))
        searcher = cached_index(con, db, key).searcher()
        hits = searcher.search(query, limit).hits
        ids = [searcher.doc(address)["article_id"][0] for _, address in hits]
        if not ids:
            return pd.DataFrame(columns=RESULT_COLUMNS)
        found = con.execute(
            f"""
            SELECT a.article_id, strftime(coalesce(a.published_at, a.fetched_at), '%d/%m/%Y'),
                   a.site, coalesce(s.title, a.site), p.province, {CURRENT_LABEL}, a.title, a.url,
                   a.body
            FROM articles a
            LEFT JOIN sites s USING (site)
            LEFT JOIN article_places p USING (article_id)
            LEFT JOIN classifications c
              ON c.article_id = a.article_id AND c.model_id = ?
            LEFT JOIN story_labels al ON al.article_id = a.article_id
            WHERE a.article_id IN (SELECT unnest(?::VARCHAR[]))
            """,
            [filters.model_id, ids],
        ).fetchall()
    by_id = {row[0]: row for row in found}
    query_words = words(text)
    rows = []
    for (score, _), article_id in zip(hits, ids, strict=True):
        # Rows stored before the crawl dropped bidi controls may hold them: shown as the digest.
        row = [shown(value) for value in by_id[article_id]]
        _, published, site, site_title, province, label, title, url, body = row
        rows.append(
            [article_id, round(score, 3), published, site, site_title, province, label, title]
            + [url, snippet(body or "", query_words)]
        )
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)
