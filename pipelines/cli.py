"""The congvu command: the nightly job and the tools around it (`congvu --help` lists them)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from crawlers.dates import VN_TZ
from crawlers.profiles import ProfileError
from nlp.classify import DEFAULT_MODEL, LABELS
from pipelines.commands import (
    cmd_classify,
    cmd_crawl,
    cmd_db,
    cmd_demo,
    cmd_digest,
    cmd_evaluate,
    cmd_export,
    cmd_load,
    cmd_model,
    cmd_nightly,
    cmd_prune,
    cmd_reclassify,
    cmd_reextract,
    cmd_report,
    cmd_review,
    cmd_search,
    cmd_sites,
    cmd_train,
)
from pipelines.paths import DataPaths
from pipelines.report import EXIT_FAILED
from pipelines.sites import shard

DEFAULT_UNCERTAIN = 100  # stories in a review file: an analyst's sitting


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

    frontier = argparse.ArgumentParser(add_help=False)
    frontier.add_argument(
        "--frontier",
        metavar="REDIS_URL",
        help="share the sites with other crawler nodes through this Redis, e.g. "
        "redis://10.0.0.5:6379/0: each site is crawled by one node at a time, each URL once",
    )

    p = sub.add_parser(
        "nightly", parents=[data, model, wait, sites, frontier], help=cmd_nightly.__doc__
    )
    p.add_argument(
        "--shard",
        type=shard,
        metavar="K/N",
        help="crawl only shard K of N: the sites whose name hashes to it (one node's share)",
    )
    p.set_defaults(func=cmd_nightly)
    p = sub.add_parser("demo", parents=[model], help=cmd_demo.__doc__)
    p.add_argument("--data-dir", type=Path, default=Path("data/demo"), help="default: data/demo")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("crawl", parents=[data, sites, frontier], help=cmd_crawl.__doc__)
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
    p.add_argument("--article", help="check this article URL (default: the first one found)")
    p.set_defaults(func=cmd_sites)
    p = sub.add_parser("load", parents=[data, model, wait], help=cmd_load.__doc__)
    p.set_defaults(func=cmd_load)
    p = sub.add_parser("reclassify", parents=[data, model, wait], help=cmd_reclassify.__doc__)
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="classify as a batch on a Ray cluster this machine is a node of: ADDRESS is auto "
        "(the cluster `ray start` joined here) or HOST:PORT, or local (a new one on this "
        "machine); --ray alone: RAY_ADDRESS, else a cluster running here, else a new local one",
    )
    p.set_defaults(func=cmd_reclassify)
    p = sub.add_parser("classify", parents=[model], help=cmd_classify.__doc__)
    p.add_argument("--input", required=True, type=Path, help="JSON lines with id and text")
    p.add_argument("--output", required=True, type=Path, help="where to write the predictions")
    p.set_defaults(func=cmd_classify)
    p = sub.add_parser("digest", parents=[data, model], help=cmd_digest.__doc__)
    p.add_argument("--run", help="run id (default: the latest run)")
    p.set_defaults(func=cmd_digest)
    p = sub.add_parser("report", parents=[data, model], help=cmd_report.__doc__)
    p.add_argument("--from", dest="start", type=date.fromisoformat, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=date.fromisoformat, help="last day, YYYY-MM-DD")
    p.add_argument("--province", help="only articles about this province (34-province map)")
    p.add_argument("--site", help="only articles of this site (its name or title)")
    p.add_argument("--format", choices=["html", "xlsx"], default="html")
    p.add_argument("--output", type=Path, help="file to write (default: data/reports/...)")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("export", parents=[data, model], help=cmd_export.__doc__)
    p.add_argument("--from", dest="start", type=date.fromisoformat, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=date.fromisoformat, help="last day, YYYY-MM-DD")
    p.add_argument("--format", choices=["parquet", "csv", "xlsx"], default="parquet")
    p.add_argument("--output", type=Path, help="file to write (default: data/exports/...)")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("review", parents=[data, model, wait], help=cmd_review.__doc__)
    p.add_argument("action", choices=["export", "import"])
    p.add_argument("file", nargs="?", type=Path, help="import: the filled-in review xlsx")
    p.add_argument(
        "--uncertain",
        type=int,
        default=DEFAULT_UNCERTAIN,
        help="export: this many stories, the model's least sure first (default: %(default)s)",
    )
    p.add_argument("--from", dest="start", type=date.fromisoformat, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=date.fromisoformat, help="last day, YYYY-MM-DD")
    p.add_argument("--output", type=Path, help="export: file to write (default: data/exports/)")
    p.add_argument("--reviewer", help="import: who reviewed the file")
    p.set_defaults(func=cmd_review)
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
    p = sub.add_parser("search", parents=[data], help=cmd_search.__doc__)
    p.add_argument("query", help='words to find, with or without marks, e.g. "né việc"')
    p.add_argument("--from", dest="start", type=date.fromisoformat, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=date.fromisoformat, help="last day, YYYY-MM-DD")
    p.add_argument("--province", help="only articles about this province, e.g. 'Đà Nẵng'")
    p.add_argument(
        "--label",
        choices=LABELS,
        help="only articles whose current label this is (the analyst's, else the model's)",
    )
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help="model whose label counts where no analyst labelled (default: %(default)s)",
    )
    p.add_argument("--limit", type=int, default=20, help="results shown (default: %(default)s)")
    p.set_defaults(func=cmd_search)
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
