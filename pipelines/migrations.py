"""The DuckDB schema as append-only numbered migrations; never edit one that has shipped."""

from __future__ import annotations

import duckdb

MIGRATIONS: list[tuple[str, str]] = [
    (
        "001_core_tables",
        """
        CREATE TABLE sites (
            site VARCHAR PRIMARY KEY,      -- profile name, e.g. 'vnexpress'
            title VARCHAR,                 -- the site's name as readers know it
            base_url VARCHAR,
            kind VARCHAR,                  -- press | portal
            province VARCHAR,              -- province of a provincial outlet, else NULL
            verified BOOLEAN,              -- selectors confirmed on a real page
            updated_at TIMESTAMPTZ
        );
        CREATE TABLE crawl_runs (
            run_id VARCHAR PRIMARY KEY,    -- UTC start time, e.g. '20261128T190000Z'
            started_at TIMESTAMPTZ,
            finished_at TIMESTAMPTZ,
            status VARCHAR,                -- ok | partial (some sites failed) | failed
            sites_ok INTEGER,
            sites_failed INTEGER,
            articles_crawled INTEGER,      -- article pages extracted by the crawl
            articles_new INTEGER,          -- of those, not already in the database
            summary VARCHAR                -- the printed run summary
        );
        CREATE TABLE crawl_run_sites (
            run_id VARCHAR,
            site VARCHAR,
            status VARCHAR,                -- ok | failed
            articles INTEGER,              -- article pages extracted
            discovered INTEGER,            -- article links found in feeds and listings
            pages INTEGER,                 -- pages fetched successfully
            errors JSON,                   -- failed requests by kind, e.g. {"dns": 3}
            message VARCHAR,
            PRIMARY KEY (run_id, site)
        );
        CREATE TABLE articles (
            article_id VARCHAR PRIMARY KEY,          -- first 16 hex of md5(canonical_url)
            canonical_url VARCHAR NOT NULL UNIQUE,   -- dedup key
            url VARCHAR NOT NULL,                    -- the URL it was fetched from
            site VARCHAR NOT NULL,
            title VARCHAR,
            sapo VARCHAR,                            -- the lead paragraph
            body VARCHAR,                            -- sapo first, paragraphs split by blank lines
            author VARCHAR,
            category VARCHAR,                        -- the site's own section name
            published_at TIMESTAMPTZ,                -- NULL when the page gives no date
            date_source VARCHAR,                     -- which rule gave published_at
            extraction VARCHAR,                      -- profile | fallback (generic extractor)
            fetched_at TIMESTAMPTZ,
            raw_sha256 VARCHAR,                      -- archived raw HTML: data/raw/<raw_path>
            raw_path VARCHAR,
            run_id VARCHAR,                          -- the crawl run that first stored it
            loaded_at TIMESTAMPTZ
        );
        CREATE TABLE classifications (
            article_id VARCHAR,
            model_id VARCHAR,                        -- e.g. 'cue-lexicon-1'
            label VARCHAR,                           -- praise | criticism | neutral
            score_praise DOUBLE,
            score_criticism DOUBLE,
            score_neutral DOUBLE,
            evidence VARCHAR[],                      -- sentences that carry the label
            reason VARCHAR,
            classified_at TIMESTAMPTZ,
            PRIMARY KEY (article_id, model_id)
        );
        CREATE TABLE staged_files (
            path VARCHAR PRIMARY KEY,                -- relative to data/staging
            run_id VARCHAR,
            rows_read INTEGER,
            rows_new INTEGER,
            loaded_at TIMESTAMPTZ
        );
        """,
    ),
]


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded; return the names applied now."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ DEFAULT now())"
    )
    done = {row[0] for row in con.execute("SELECT name FROM schema_migrations").fetchall()}
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        con.execute("BEGIN")
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations (name) VALUES (?)", [name])
        con.execute("COMMIT")
        applied.append(name)
    return applied
