"""How right the generic extractor is without a profile, field by field, beside trafilatura.

Run: .venv/bin/python -m crawlers.evaluation [--pages ../shared/pages] [--details]

Every saved article page (../shared/pages/<site>/article.html and the 2025 VnExpress page) is
read WITHOUT its profile, as an unverified portal is read, and by trafilatura alone; then the
same pages stripped of their JSON-LD and named meta tags (a portal that declares nothing shows
only what a reader sees), and the articles of the shipped demo site. Each field is compared
with a reference: the hand-read fact where the page has one (expected.json, the 2025 page's
ground truth, the demo's expected.json), else what the page's own profile extracts. title,
category and author must be equal (authors as a set of names, case aside), published_at equal
to the minute; the body scores its token F1.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trafilatura

from crawlers.article import page_record
from crawlers.dates import parse_datetime, to_vietnam
from crawlers.encoding import decode_html
from crawlers.fallback import guarded
from crawlers.profiles import SiteProfile, load_profile, load_profiles
from crawlers.text import clean, token_f1
from crawlers.urls import on_domains, url_host

SHARED_PAGES = Path(__file__).resolve().parents[2] / "shared" / "pages"
DEMO_DIR = Path(__file__).resolve().parent / "demo"
# What a page declares for machines: JSON-LD and the meta tags named by property, name, itemprop
# (the charset and http-equiv ones stay: the page must still decode as it did).
DECLARED = re.compile(
    rb"<script[^>]*application/ld\+json[^>]*>.*?</script\s*>"
    rb"|<meta\s[^>]*\b(?:property|name|itemprop)\s*=[^>]*>",
    re.IGNORECASE | re.DOTALL,
)
FIELDS = ("title", "published_at", "category", "author", "body")
# trafilatura as a user would call it, asked for the time of day too (it prints dates only).
TRAFILATURA_OPTIONS = {
    "with_metadata": True,
    "date_extraction_params": {"outputformat": "%Y-%m-%dT%H:%M:%S", "original_date": True},
}


@dataclass(frozen=True)
class SavedArticle:
    """One saved article page: its public URL, raw bytes, profile and hand-read facts."""

    name: str
    url: str
    raw: bytes
    profile: SiteProfile
    facts: dict[str, Any] = field(default_factory=dict)
    original: bytes | None = None  # the page as saved, when raw was stripped: the profile's


@dataclass
class Scores:
    """Per page and field, the score of one extractor (1.0 right, 0.0 wrong, F1 for body)."""

    extractor: str
    pages: dict[str, dict[str, float]] = field(default_factory=dict)

    def mean(self, name: str) -> float:
        """The mean score of a field over all pages."""
        values = [scores[name] for scores in self.pages.values()]
        return sum(values) / len(values) if values else 0.0


@dataclass
class Evaluation:
    """The generic extractor and trafilatura scored on one set of pages, with the references."""

    title: str
    generic: Scores
    trafilatura: Scores
    references: dict[str, dict[str, str]]  # page -> field -> "hand-read" | "profile"
    readings: dict[str, dict[str, dict[str, str]]]  # page -> extractor -> field -> value


def profile_for(profiles: dict[str, SiteProfile], url: str) -> SiteProfile:
    """The configured profile whose domains hold url's host."""
    host = url_host(url)
    for profile in profiles.values():
        if on_domains(host, profile.domains):
            return profile
    raise ValueError(f"no site profile covers {url}")


def ground_truth(folder: Path) -> dict[str, Any]:
    """The facts of a ground-truth.json (title, authors, date, body paragraphs) as facts."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))["V1"]
    body = truth["body"]
    paragraphs = body["summary"] + [p for s in body["sections"] for p in s["paragraphs"]]
    return {
        "title": truth["title"],
        "published_at": truth["publishing_date"],
        "author": ", ".join(truth["authors"]),
        "body": "\n\n".join(paragraphs),
    }


def saved_articles(pages: Path) -> list[SavedArticle]:
    """The saved article pages that expected.json describes, with their facts."""
    expected = json.loads((pages / "expected.json").read_text(encoding="utf-8"))
    profiles = load_profiles()
    found = []
    for name, facts in expected.items():
        if name.startswith("_") or "title" not in facts:
            continue  # the notes, and listing pages
        path = pages / name
        raw = path.read_bytes()
        if name.endswith(".gz"):
            raw = gzip.decompress(raw)
        known = {key: facts[key] for key in ("title", "published_at", "category") if key in facts}
        if (path.parent / "ground-truth.json").is_file():
            known.update(ground_truth(path.parent))
        found.append(
            SavedArticle(name, facts["url"], raw, profile_for(profiles, facts["url"]), known)
        )
    return found


def demo_articles(demo: Path = DEMO_DIR) -> list[SavedArticle]:
    """The demo site's articles, with the facts its expected.json states."""
    expected = json.loads((demo / "expected.json").read_text(encoding="utf-8"))
    profile = load_profile(demo / "demo.yaml")
    found = []
    for facts in expected["articles"]:
        path = demo / "www" / urlsplit(facts["url"]).path.lstrip("/")
        known = {key: facts[key] for key in ("title", "published_at", "category", "author")}
        name = f"demo/{path.name.rsplit('-', 1)[-1]}"
        found.append(SavedArticle(name, facts["url"], path.read_bytes(), profile, known))
    return found


def bare(articles: list[SavedArticle]) -> list[SavedArticle]:
    """The articles without JSON-LD blocks and named meta tags (og:, article:, author...)."""
    return [
        replace(article, raw=DECLARED.sub(b"", article.raw), original=article.raw)
        for article in articles
    ]


def generic_reading(article: SavedArticle) -> dict[str, Any]:
    """The page read by congvu without a profile (as an unverified site is read)."""
    return page_record(None, article.url, article.raw, "text/html")


def profile_reading(article: SavedArticle) -> dict[str, Any]:
    """The page (as saved) read by its own profile."""
    raw = article.original or article.raw
    return page_record(article.profile, article.url, raw, "text/html")


def trafilatura_reading(article: SavedArticle) -> dict[str, Any]:
    """The page read by trafilatura alone: its title, date, last category, authors and text."""
    html = decode_html(article.raw, "text/html")[0]
    doc = guarded(trafilatura.bare_extraction, html, article.url, TRAFILATURA_OPTIONS)
    data = {} if doc is None else doc if isinstance(doc, dict) else doc.as_dict()
    categories = data.get("categories") or []
    if isinstance(categories, str):
        categories = [part for part in categories.split(",") if part.strip()]
    return {
        "title": data.get("title") or "",
        "published_at": parse_datetime(data["date"]) if data.get("date") else None,
        # Its most specific category, as a breadcrumb's last item (the most generous reading).
        "category": categories[-1] if categories else "",
        "author": ", ".join((data.get("author") or "").split(";")),
        "body": data.get("text") or "",
    }


def names(text: str) -> set[str]:
    """The author names of a comma-separated byline, case and spacing aside."""
    return {clean(name).casefold() for name in text.split(",") if clean(name)}


def minute(value: Any) -> datetime | None:
    """A datetime or date string in Vietnam time, seconds dropped."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None:
        return None
    return to_vietnam(value).replace(second=0, microsecond=0)


def score(name: str, found: Any, want: Any) -> float:
    """1.0 when found equals the reference (a date to the minute), 0.0 otherwise; body: F1."""
    if name == "body":
        return token_f1(found or "", want or "")
    if name == "published_at":
        return float(minute(found) is not None and minute(found) == minute(want))
    if name == "author":
        return float(names(found or "") == names(want or ""))
    return float(clean(found).casefold() == clean(want).casefold())


def evaluate(title: str, articles: list[SavedArticle]) -> Evaluation:
    """Score the generic extractor and trafilatura on the articles, field by field."""
    extractors: dict[str, Callable[[SavedArticle], dict[str, Any]]] = {
        "generic": generic_reading,
        "trafilatura": trafilatura_reading,
    }
    scores = {name: Scores(name) for name in extractors}
    references: dict[str, dict[str, str]] = {}
    readings: dict[str, dict[str, dict[str, str]]] = {}
    for article in articles:
        by_profile = profile_reading(article)
        want = {name: article.facts.get(name, by_profile[name]) for name in FIELDS}
        references[article.name] = {
            name: "hand-read" if name in article.facts else "profile" for name in FIELDS
        }
        readings[article.name] = {"reference": {n: str(want[n] or "") for n in FIELDS}}
        for extractor, read in extractors.items():
            found = read(article)
            scores[extractor].pages[article.name] = {
                name: score(name, found[name], want[name]) for name in FIELDS
            }
            readings[article.name][extractor] = {n: str(found[n] or "") for n in FIELDS}
    return Evaluation(title, scores["generic"], scores["trafilatura"], references, readings)


def report(evaluation: Evaluation, details: bool = False) -> str:
    """The evaluation as text: per page marks, then per-field accuracy of both extractors."""
    lines = [evaluation.title, ""]
    width = max(len(name) for name in evaluation.references)
    lines.append(f"  {'page':<{width}}  " + "  ".join(f"{n[:12]:>12}" for n in FIELDS))
    for page, sources in evaluation.references.items():
        marks = []
        for name in FIELDS:
            got = evaluation.generic.pages[page][name]
            mark = f"{got:.2f}" if name == "body" else ("ok" if got == 1.0 else "WRONG")
            marks.append(f"{mark + ' (' + sources[name][0] + ')':>12}")
        lines.append(f"  {page:<{width}}  " + "  ".join(marks))
        if details:
            for name in FIELDS:
                for who, values in evaluation.readings[page].items():
                    lines.append(f"      {name:<12} {who:<11} {values[name][:90]!r}")
    lines += ["", f"  {'accuracy':<{width}}  " + "  ".join(f"{n[:12]:>12}" for n in FIELDS)]
    for scores in (evaluation.generic, evaluation.trafilatura):
        means = "  ".join(f"{scores.mean(name):>12.3f}" for name in FIELDS)
        lines.append(f"  {scores.extractor:<{width}}  {means}")
    lines.append(
        f"  ({len(evaluation.references)} pages; (h) reference read by hand, (p) by the page's "
        "profile; body: mean token F1)"
    )
    return "\n".join(lines)


def main() -> None:
    """Print the evaluation on the saved pages and on the demo site."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=Path, default=SHARED_PAGES, help="the saved pages folder")
    parser.add_argument("--details", action="store_true", help="print every value compared")
    args = parser.parse_args()
    if not (args.pages / "expected.json").is_file():
        parser.error(f"no saved pages at {args.pages} (expected.json missing): pass --pages")
    saved = evaluate(
        f"Saved article pages ({args.pages}), read without their profiles:",
        saved_articles(args.pages),
    )
    print(report(saved, args.details))
    print()
    stripped = evaluate(
        "The same pages without JSON-LD and named meta tags (a portal that declares nothing):",
        bare(saved_articles(args.pages)),
    )
    print(report(stripped, args.details))
    print()
    demo = evaluate(
        "Demo site articles (crawlers/demo), read without the demo profile:", demo_articles()
    )
    print(report(demo, args.details))


if __name__ == "__main__":
    main()
