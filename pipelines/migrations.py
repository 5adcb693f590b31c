"""The DuckDB schema as append-only numbered migrations; never edit one that has shipped.

Every table and column carries a `-- comment` in its migration; `migrate` stores it with
COMMENT ON, so analysts read the documentation in the database itself (duckdb_columns()) or
as text with `congvu db schema`.
"""

from __future__ import annotations

import re

import duckdb

from pipelines.lake import begin, is_lake, retried, rollback
from pipelines.sql import literal

MIGRATIONS: list[tuple[str, str]] = [
    (
        "001_core_tables",
        """
        CREATE TABLE sites (  -- one row per site profile
            site VARCHAR PRIMARY KEY,      -- profile name, e.g. 'vnexpress'
            title VARCHAR,                 -- the site's name as readers know it
            base_url VARCHAR,              -- the site's home address
            kind VARCHAR,                  -- press | portal (provincial government portal)
            province VARCHAR,              -- province of a provincial outlet, else NULL
            verified BOOLEAN,              -- selectors confirmed on a real page
            updated_at TIMESTAMPTZ         -- when this row was last written from the profile
        );
        CREATE TABLE crawl_runs (  -- one row per nightly run: its summary
            run_id VARCHAR PRIMARY KEY,    -- UTC start time, e.g. '20261128T190000Z'
            started_at TIMESTAMPTZ,        -- when the run started
            finished_at TIMESTAMPTZ,       -- when it finished (NULL while running or if killed)
            status VARCHAR,                -- running | ok | sites_failed | failed | interrupted
            sites_ok INTEGER,              -- sites that gave articles
            sites_failed INTEGER,          -- sites that gave none (unreachable, layout changed)
            articles_crawled INTEGER,      -- article pages extracted by the crawl
            articles_new INTEGER,          -- articles this run added to the database
            summary VARCHAR,               -- the run summary as printed
            digest VARCHAR,                -- path of the run's HTML digest
            digest_from TIMESTAMPTZ,       -- the digest covers articles loaded after this time
            digest_until TIMESTAMPTZ       -- and up to this time
        );
        CREATE TABLE crawl_run_sites (  -- the run summary: one line per site and run
            run_id VARCHAR,                -- the run
            site VARCHAR,                  -- the site
            status VARCHAR,                -- ok | failed
            articles INTEGER,              -- article pages extracted
            discovered INTEGER,            -- article links found in feeds, sitemaps and listings
            pages INTEGER,                 -- pages fetched successfully
            errors JSON,                   -- failed requests and bad pages by kind, e.g. {"dns": 3}
            counts JSON,                   -- the crawl's other counters (fallback extractions, ...)
            message VARCHAR,               -- what went wrong, in a sentence
            warning VARCHAR,               -- layout drift: coverage fell against recent runs
            PRIMARY KEY (run_id, site)
        );
        CREATE TABLE articles (  -- one row per article (per canonical URL)
            article_id VARCHAR PRIMARY KEY,          -- md5(canonical_url): one row per URL
            canonical_url VARCHAR NOT NULL,          -- the page's canonical URL: the dedup key
            url VARCHAR NOT NULL,                    -- the URL it was fetched from
            site VARCHAR NOT NULL,                   -- the site profile that crawled it
            title VARCHAR,                           -- headline
            sapo VARCHAR,                            -- the lead paragraph
            body VARCHAR,                            -- sapo first, paragraphs split by blank lines
            author VARCHAR,                          -- byline as printed, NULL when none
            category VARCHAR,                        -- the site's own section name
            published_at TIMESTAMPTZ,                -- publication time, NULL when not on the page
            date_source VARCHAR,                     -- where published_at came from (rule)
            extraction VARCHAR,                      -- profile | fallback (generic extractor)
            fetched_at TIMESTAMPTZ,                  -- when the page was fetched
            raw_sha256 VARCHAR,                      -- SHA-256 of the raw HTML bytes
            raw_path VARCHAR,                        -- archived raw HTML under data/raw/
            content_type VARCHAR,                    -- the page's Content-Type header as served
            content_hash VARCHAR,                    -- SHA-256 of the normalised title and body
            version INTEGER,                         -- 1, +1 each time the content changed
            run_id VARCHAR,                          -- the crawl run that fetched it
            loaded_at TIMESTAMPTZ                    -- when it entered the database
        );
        CREATE TABLE classifications (  -- one label per article and model
            article_id VARCHAR,                      -- the article
            model_id VARCHAR,                        -- the model that gave the label
            label VARCHAR,                           -- praise | criticism | neutral
            score_praise DOUBLE,                     -- the model's score for praise (0-1)
            score_criticism DOUBLE,                  -- for criticism (0-1)
            score_neutral DOUBLE,                    -- for neutral (0-1); the three sum to 1
            evidence VARCHAR[],                      -- the sentences that carry the label
            reason VARCHAR,                          -- a note when the text could not be judged
            classified_at TIMESTAMPTZ,               -- when
            PRIMARY KEY (article_id, model_id)
        );
        CREATE TABLE staged_files (  -- crawl files already loaded (so reloading adds nothing)
            path VARCHAR PRIMARY KEY,                -- relative to data/staging
            run_id VARCHAR,                          -- the run that wrote it
            rows_read INTEGER,                       -- article lines read
            rows_new INTEGER,                        -- articles it added
            loaded_at TIMESTAMPTZ                    -- when
        );
        """,
    ),
    (
        "002_stories",
        """
        CREATE TABLE article_stories (  -- syndicated copies grouped into stories
            article_id VARCHAR PRIMARY KEY,          -- the article
            story_id VARCHAR NOT NULL,               -- article_id of the story's first copy
            similarity DOUBLE,                       -- estimated word overlap with the matched copy
            signature BLOB                           -- MinHash of the body (64 x uint32)
        );
        """,
    ),
    (
        "003_who_and_where",
        """
        CREATE TABLE article_places (  -- the province each article is mainly about
            article_id VARCHAR PRIMARY KEY,          -- the article
            province VARCHAR,                        -- on the 34-province map since 1 July 2025
            province_named VARCHAR,                  -- as the article names it (pre-merger kept)
            provinces VARCHAR[]                      -- every province the article names (current)
        );
        CREATE TABLE article_entities (  -- people, organisations and places named in an article
            article_id VARCHAR,                      -- the article
            kind VARCHAR,                            -- person | organisation | location
            name VARCHAR,                            -- as written in the article
            mentions INTEGER,                        -- how many times
            PRIMARY KEY (article_id, kind, name)
        );
        """,
    ),
    (
        "004_crawl_state",
        """
        CREATE TABLE page_state (  -- what the crawler knows of each URL, to fetch only what changed
            url VARCHAR PRIMARY KEY,                 -- a fetched article URL (and canonical URL)
            article_id VARCHAR,                      -- the article stored from it
            site VARCHAR,                            -- the site
            content_hash VARCHAR,                    -- hash of the content last fetched
            etag VARCHAR,                            -- the ETag the site sent
            last_modified VARCHAR,                   -- the Last-Modified the site sent
            lastmod TIMESTAMPTZ,                     -- the sitemap/feed lastmod last seen
            first_seen TIMESTAMPTZ,                  -- first fetched
            last_fetched TIMESTAMPTZ                 -- last fetched
        );
        CREATE TABLE article_versions (  -- earlier contents of changed articles, none overwritten
            article_id VARCHAR,                      -- the article (its current content: articles)
            version INTEGER,                         -- this content's version number (1 = first)
            replaced_by VARCHAR,                     -- crawl (the site changed it) | reextract
            content_hash VARCHAR,                    -- hash of this content
            title VARCHAR,                           -- headline of this version
            sapo VARCHAR,                            -- lead of this version
            body VARCHAR,                            -- body of this version
            published_at TIMESTAMPTZ,                -- publication time this version gave
            fetched_at TIMESTAMPTZ,                  -- when this version was fetched
            raw_path VARCHAR,                        -- its archived raw HTML
            replaced_at TIMESTAMPTZ,                 -- when a newer content replaced it
            PRIMARY KEY (article_id, version)
        );
        """,
    ),
    (
        "005_run_errors",
        """
        ALTER TABLE crawl_runs ADD COLUMN error VARCHAR;
        COMMENT ON COLUMN crawl_runs.error IS 'why the run failed, as printed (NULL unless failed)';
        """,
    ),
    (
        "006_bounded_input",
        """
        ALTER TABLE staged_files
            ADD COLUMN rows_rejected INTEGER;        -- unreadable lines, kept in data/quarantine/
        ALTER TABLE staged_files
            ADD COLUMN truncated BOOLEAN;            -- last line cut short by a killed crawl
        ALTER TABLE classifications
            ADD COLUMN analysed_chars INTEGER;       -- characters the model read (at most 100,000)
        ALTER TABLE article_places
            ADD COLUMN analysed_chars INTEGER;       -- characters read for places (at most 100,000)
        """,
    ),
    (
        "008_entity_kind_spelling",
        # 003 documented the kinds as 'organisation'; the stored values (nlp/entities.py KINDS),
        # which queries must match, are spelt 'organization'.
        """
        COMMENT ON COLUMN article_entities.kind IS 'person | organization | location';
        """,
    ),
    (
        "009_analyst_labels",
        """
        CREATE TABLE labels (  -- the analysts' own labels (congvu review import); append-only
            article_id VARCHAR NOT NULL,             -- the article reviewed
            label VARCHAR NOT NULL,                  -- praise | criticism | neutral, as decided
            reviewer VARCHAR NOT NULL,               -- who decided (review import --reviewer)
            labelled_at TIMESTAMPTZ NOT NULL,        -- when the label was imported
            model_id VARCHAR,                        -- the model whose label the analyst saw
            model_label VARCHAR,                     -- that model's label at the time
            note VARCHAR,                            -- the analyst's note
            source_file VARCHAR                      -- the review file it came from
        );
        CREATE VIEW analyst_labels AS  -- the columns of labels
            SELECT * FROM labels
            QUALIFY row_number() OVER (
                PARTITION BY article_id ORDER BY labelled_at DESC, rowid DESC) = 1;
        COMMENT ON VIEW analyst_labels IS
            'the current analyst label of each reviewed article: its latest row in labels';
        """,
    ),
    (
        "013_who_and_where_rules_version",
        # Rows made before this migration came from the rules before 69cc9d8: version 1
        # (pipelines/places.py RULES_VERSION); the nightly job redoes them a batch a night.
        """
        ALTER TABLE article_places
            ADD COLUMN rules_version INTEGER;        -- the who-and-where rules that made the row
        UPDATE article_places SET rules_version = 1;
        """,
    ),
    (
        "014_article_run_id_comment",
        # 001 documented articles.run_id as a crawl run's, which a reader joins to crawl_runs;
        # `congvu crawl` (a crawl alone) is no run of the job and writes no crawl_runs row.
        """
        COMMENT ON COLUMN articles.run_id IS
            'the run that fetched it (a `congvu crawl`''s id has no crawl_runs row)';
        """,
    ),
    (
        "015_story_labels",
        # The review sheet offers one copy per story and its analyst decides for the story: the
        # label reaches every copy, those loaded later too. labels keeps the rows as given.
        """
        CREATE VIEW story_labels AS
            WITH story_of AS (
                SELECT a.article_id, coalesce(s.story_id, a.article_id) AS story_id
                FROM articles a LEFT JOIN article_stories s USING (article_id)
            ), newest AS (
                SELECT o.story_id, l.*
                FROM labels l JOIN story_of o USING (article_id)
                QUALIFY row_number() OVER (
                    PARTITION BY o.story_id ORDER BY l.labelled_at DESC, l.rowid DESC) = 1
            )
            SELECT o.article_id, o.story_id, n.label, n.reviewer, n.labelled_at, n.model_id,
                   n.model_label, n.note, n.source_file, n.article_id AS labelled_article_id
            FROM story_of o JOIN newest n USING (story_id);
        COMMENT ON VIEW story_labels IS
            'the current analyst label of every copy of a reviewed story';
        COMMENT ON COLUMN story_labels.article_id IS 'a copy of the story (loaded later too)';
        COMMENT ON COLUMN story_labels.story_id IS
            'its story (article_stories; the article itself when ungrouped)';
        COMMENT ON COLUMN story_labels.label IS
            'praise | criticism | neutral, as decided for the story';
        COMMENT ON COLUMN story_labels.reviewer IS 'who decided';
        COMMENT ON COLUMN story_labels.labelled_at IS 'when the label was imported';
        COMMENT ON COLUMN story_labels.model_id IS 'the model whose label the analyst saw';
        COMMENT ON COLUMN story_labels.model_label IS
            'that model''s label of the labelled copy then';
        COMMENT ON COLUMN story_labels.note IS 'the analyst''s note';
        COMMENT ON COLUMN story_labels.source_file IS 'the review file it came from';
        COMMENT ON COLUMN story_labels.labelled_article_id IS
            'the copy the analyst labelled (labels.article_id)';
        """,
    ),
]

_TABLE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+) \(\s*--\s*(.+)")
_VIEW = re.compile(r"CREATE VIEW (\w+) AS\s*--\s*the columns of (\w+)")
_ALTERED = re.compile(r"^\s*ALTER TABLE (\w+)$")  # its next line adds one column
_COLUMN = re.compile(r"^\s*(?:ADD COLUMN )?(\w+) [A-Z][A-Z\[\]]*[^-\n]*--\s*(.+)$")


def comments(sql: str) -> list[str]:
    """COMMENT ON statements for the `-- comment` after each table and column in sql."""
    statements: list[str] = []
    table = None
    for line in sql.splitlines():
        if match := _VIEW.search(line):
            view, source = match.groups()
            prefix = f"COMMENT ON COLUMN {source}."
            statements += [
                f"COMMENT ON COLUMN {view}." + statement.removeprefix(prefix)
                for statement in statements
                if statement.startswith(prefix)
            ]
            table = None
        elif match := _TABLE.search(line):
            table = match.group(1)
            statements.append(f"COMMENT ON TABLE {table} IS {literal(match.group(2).strip())}")
        elif match := _ALTERED.match(line):
            table = match.group(1)
        elif table and (match := _COLUMN.match(line)) and match.group(1) != "PRIMARY":
            text = literal(match.group(2).strip())
            statements.append(f"COMMENT ON COLUMN {table}.{match.group(1)} IS {text}")
    return statements


_COMMENT_ON = re.compile(r"^\s*(COMMENT ON .+? IS\s+'(?:[^']|'')*')", re.MULTILINE | re.DOTALL)

# The record of what was applied, created before the first migration.
BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (  -- schema migrations applied, in order
    name VARCHAR PRIMARY KEY,                    -- migration name (pipelines/migrations.py)
    applied_at TIMESTAMPTZ                       -- when it was applied
);
"""
# In the shared store only: the one row every write transaction bumps (pipelines/lake.py, begin).
LAKE_WRITES = """
CREATE TABLE IF NOT EXISTS lake_writes (  -- the shared store's writers take turns on its row
    writes BIGINT                          -- write transactions begun (pipelines/lake.py)
);
INSERT INTO lake_writes SELECT 0 WHERE NOT EXISTS (FROM lake_writes);
"""
# DuckLake has no PRIMARY KEY, UNIQUE constraint or index, so the lake's tables are created from
# the same migration text with each PRIMARY KEY turned into NOT NULL on its columns. The keys
# still hold there because the code keeps them: every insert is an anti-join on the key (or a
# MERGE), and writers take turns (pipelines/lake.py, begin): of two overlapping writes the
# second is rolled back and run again on a snapshot that has the first one's rows.
# DuckLake cannot comment on a view's columns either: the lake keeps the view's own comment, and
# a migration's own COMMENT ON COLUMN statements on its views are left out there.
_TABLE_KEY = re.compile(r",([ \t]*--[^\n]*)?\n[ \t]*PRIMARY KEY \([^)]*\)")
_VIEW_NAME = re.compile(r"CREATE VIEW (\w+)")


def lake_ddl(sql: str) -> str:
    """A migration's SQL as the shared store takes it: its keys' columns NOT NULL, no keys, no
    comments on its views' columns."""
    tables = []
    for table in re.split(r"(?=CREATE TABLE )", sql):
        for key in re.findall(r"PRIMARY KEY \(([^)]*)\)", table):
            for column in key.split(","):
                table = re.sub(rf"(\n\s*{column.strip()} [A-Z][A-Z\[\]]*)", r"\1 NOT NULL", table)
        tables.append(_TABLE_KEY.sub(r"\1", table).replace(" PRIMARY KEY", " NOT NULL"))
    ddl = "".join(tables)
    for view in _VIEW_NAME.findall(sql):
        ddl = re.sub(rf"\n\s*COMMENT ON COLUMN {view}\.\w+ IS\s+'(?:[^']|'')*';", "", ddl)
    return ddl


def lake_comments(sql: str) -> list[str]:
    """comments(sql) as the shared store takes them: none on a view's columns."""
    views = tuple(f"COMMENT ON COLUMN {view}." for view in _VIEW_NAME.findall(sql))
    return [statement for statement in comments(sql) if not statement.startswith(views or "\0")]


@retried
def document(con: duckdb.DuckDBPyConnection) -> None:
    """Write every comment the applied migrations give, in order (`congvu db migrate`).

    IMPORT DATABASE (the way over from a newer DuckDB, README) carries no comments: this puts
    the documentation back. Migrations not applied yet are left to migrate.
    """
    done = {row[0] for row in con.execute("SELECT name FROM schema_migrations").fetchall()}
    lake = is_lake(con)
    documentation = lake_comments if lake else comments
    begin(con)
    for statement in comments(BOOKKEEPING):
        con.execute(statement)
    for name, sql in MIGRATIONS:
        if name in done:
            own = _COMMENT_ON.findall(lake_ddl(sql) if lake else sql)
            for statement in documentation(sql) + own:
                con.execute(statement)
    con.execute("COMMIT")


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether con's database has that table."""
    return (
        con.execute(
            "SELECT count(*) FROM duckdb_tables() "
            "WHERE database_name = current_database() AND table_name = ?",
            [name],
        ).fetchone()[0]
        > 0
    )


@retried
def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded, each in its own transaction; return their names.

    Nodes sharing the lake may migrate at once: each migration checks its record again inside
    its transaction, and of two that overlap the second one's commit fails (begin); run again,
    it finds the migration done.
    """
    lake = is_lake(con)
    ddl, documentation = (lake_ddl, lake_comments) if lake else (str, comments)
    if lake and not has_table(con, "lake_writes"):
        con.execute("BEGIN")  # no turn to take yet: a concurrent creation conflicts by itself
        con.execute(LAKE_WRITES)
        con.execute("COMMIT")
    if not has_table(con, "schema_migrations"):
        begin(con)
        con.execute(ddl(BOOKKEEPING))
        for statement in comments(BOOKKEEPING):
            con.execute(statement)
        con.execute("COMMIT")
    done = {row[0] for row in con.execute("SELECT name FROM schema_migrations").fetchall()}
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        begin(con)
        recorded = con.execute("SELECT count(*) FROM schema_migrations WHERE name = ?", [name])
        if recorded.fetchone()[0]:
            rollback(con)  # another node applied it since `done` was read
            continue
        con.execute(ddl(sql))
        for statement in documentation(sql):
            con.execute(statement)
        con.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, now())", [name])
        con.execute("COMMIT")
        applied.append(name)
    return applied


def pending(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of migrations not applied yet (on a read-only connection too)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_migrations'"
    ).fetchone()[0]
    done = set()
    if exists:
        done = {row[0] for row in con.execute("SELECT name FROM schema_migrations").fetchall()}
    return [name for name, _ in MIGRATIONS if name not in done]


def schema_markdown(con: duckdb.DuckDBPyConnection) -> str:
    """The tables, views and columns of the database with their comments, as Markdown."""
    tables = con.execute(
        "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main' "
        "AND database_name = current_database() UNION ALL SELECT view_name, comment "
        "FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal "
        "AND database_name = current_database() ORDER BY 1"
    ).fetchall()
    lines = []
    for table, table_comment in tables:
        lines += [f"### {table}", "", table_comment or "", "", "| column | type | meaning |"]
        lines.append("| --- | --- | --- |")
        columns = con.execute(
            "SELECT column_name, data_type, comment FROM duckdb_columns() "
            "WHERE schema_name = 'main' AND table_name = ? ORDER BY column_index",
            [table],
        ).fetchall()
        lines += [f"| {name} | {kind} | {comment or ''} |" for name, kind, comment in columns]
        lines.append("")
    return "\n".join(lines)
