"""page_state: what the crawl knows of each URL, written by the load and read before a crawl."""

from __future__ import annotations

import duckdb

from crawlers.state import KnownPage


def save_page_state(con: duckdb.DuckDBPyConnection) -> None:
    """Upsert the crawl state of every URL in the `latest` batch (article and canonical URL)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE fetched_urls AS
        WITH fetched AS (
            SELECT i.url, i.canonical_url, i.article_id, i.site, i.content_hash, i.etag,
                   i.last_modified, i.lastmod, i.fetched_at
            FROM incoming i SEMI JOIN latest l ON i.rowid = l.rid
        )
        FROM (
            SELECT url, * EXCLUDE (url, canonical_url) FROM fetched
            UNION ALL
            SELECT canonical_url, * EXCLUDE (url, canonical_url) FROM fetched
            WHERE canonical_url <> url
        )
        -- One row per URL: a page fetched itself wins over a page naming it as canonical.
        QUALIFY row_number() OVER (PARTITION BY url ORDER BY article_id = md5(url) DESC,
                                   fetched_at DESC) = 1
        """
    )
    # An update of the URLs already known, then a plain insert of the new ones: cheaper than
    # INSERT ... ON CONFLICT when, as in a backfill, nearly every URL is new.
    con.execute(
        """
        UPDATE page_state p SET
            article_id = f.article_id, content_hash = f.content_hash, etag = f.etag,
            last_modified = f.last_modified, lastmod = coalesce(f.lastmod, p.lastmod),
            last_fetched = greatest(p.last_fetched, f.fetched_at)  -- reextract: stored time
        FROM fetched_urls f WHERE p.url = f.url
        """
    )
    # A 304 confirms the stored copy as of now, for every URL of that article.
    con.execute(
        """
        UPDATE page_state p SET
            etag = coalesce(n.etag, p.etag), last_modified = coalesce(n.last_modified,
            p.last_modified), lastmod = coalesce(n.lastmod, p.lastmod),
            last_fetched = greatest(p.last_fetched, n.fetched_at)
        FROM (
            SELECT s.article_id, n.* EXCLUDE (url) FROM not_modified n JOIN page_state s USING (url)
            QUALIFY row_number() OVER (PARTITION BY s.article_id ORDER BY n.fetched_at DESC) = 1
        ) n
        WHERE p.article_id = n.article_id
        """
    )
    con.execute(
        """
        INSERT INTO page_state
        SELECT f.url, f.article_id, f.site, f.content_hash, f.etag, f.last_modified, f.lastmod,
               f.fetched_at, f.fetched_at
        FROM fetched_urls f ANTI JOIN page_state p USING (url)
        """
    )


def known_pages(con: duckdb.DuckDBPyConnection, days: int = 60) -> dict[str, KnownPage]:
    """Pages fetched in the last `days`, by URL: the crawl skips them unless they changed."""
    rows = con.execute(
        """
        SELECT url, content_hash, etag, last_modified, lastmod, last_fetched FROM page_state
        WHERE last_fetched >= now() - to_days(?)
        """,
        [days],
    ).fetchall()
    return {row[0]: KnownPage(*row) for row in rows}
