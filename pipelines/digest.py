"""The HTML digest and report analysts read (in Vietnamese): one renderer for both."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from crawlers.state import stored_links
from crawlers.text import BIDI
from nlp.classify import ModelNotFoundError, models_dir, precision_at_nightly_mix, resolve_model
from nlp.lexicon import Lexicon
from nlp.names import HONORIFICS
from nlp.roles import AGENT, SUBJECT, roles
from nlp.text import normalize
from pipelines.charts import UNLABELLED, bars_chart, daily_chart
from pipelines.paths import DataPaths
from pipelines.selection import (
    ARTICLE_DAY,
    TOTAL,
    Selection,
    article_rows,
    daily_labels,
    relabelled,
    story_counts,
)
from pipelines.store import open_db
from pipelines.vietnamese import (
    LABEL_NAMES,
    NO_PROVINCE,
    STORY_COUNTING,
    day_text,
    drift_text,
    error_text,
    evidence_of_text,
    review_text,
    time_text,
    times_apart,
    trust_text,
    vn_time,
    window_text,
)

LISTED = ("criticism", "praise")  # neutral stories are counted, not listed
CHART_DAYS = 30
MAX_EVIDENCE = 3
_ADDRESS = "|".join(sorted(HONORIFICS))  # "ông K.": a form of address before a given name
MAX_NAMES = 5  # people of each line and bodies shown per story, most mentioned first
# A card's lines of people (people_lines), each cut at MAX_NAMES with a count of those left out.
NAME_LINES = ("people_subject", "people_agent", "people_quoted", "people")
# A body's kind as the press writes it, one spelling each in body_key: "VKS Bình Dương" is
# "VKSND Bình Dương", "Tòa án nhân dân" is "TAND"; "VKSNDTC" is "VKSND tối cao".
BODY_KINDS = (
    (r"viện kiểm sát nhân dân|viện ksnd|vksnd|viện kiểm sát|vks", "vksnd"),
    (r"tòa án nhân dân|tand", "tand"),
    (r"ủy ban nhân dân|ubnd", "ubnd"),
    (r"hội đồng nhân dân|hđnd", "hđnd"),
    (r"cảnh sát nhân dân|csnd", "csnd"),
)
# The place words of a province ("tỉnh Bình Dương") or a city ("TP HCM", "thành phố Hà Tĩnh")
# before its name, which the press often leaves out ("VKSND Bình Dương").
# "Tỉnh ủy", "Thành ủy" are bodies, not places.
_PROVINCE_WORD_RE = re.compile(r"(?<!\w)(tỉnh|thành phố|tp)\s+(?=\w)(?!ủy(?!\w))")
# Cities that are themselves provinces, whose name alone is the city's. Huế is not here: in the
# corpus's years "TP Huế" was a city of the province Thừa Thiên Huế. Cần Thơ is, but its "tỉnh"
# (before 2004) is another body: "TAND thành phố Cần Thơ" judged, "TAND tỉnh Cần Thơ" on appeal.
PROVINCE_CITIES = {"hà nội", "hcm", "hải phòng", "đà nẵng", "cần thơ"}

DAILY_CHART = "Số bài theo ngày đăng và nhãn"
SOURCE_CHART = "Số bài theo nguồn và nhãn"
PROVINCE_CHART = "Số bài theo tỉnh, thành phố (bản đồ 34 tỉnh, thành) và nhãn"
FALLBACK_CUES = "cue-lexicon-1"  # the guide's phrases, for a model folder without cues.yaml
# How story_cards orders a section's cards, as the page says it.
CARD_ORDER = (
    "Tin phân tích viên đã duyệt (xác nhận hay đổi nhãn) xếp trước, tin đăng mới hơn trước; sau "
    "đó là các tin khác, xếp theo mức độ chắc chắn của mô hình, cao trước."
)
# After a card's list cut at MAX_NAMES: where the rest are (the workbook lists every name).
FULL_LIST = "danh sách đầy đủ trong tệp Excel"
# A workbook's or notebook's cell of the one praised or criticised on a story an analyst relabelled
# whose headline names no such one (people_lines): short, as a notebook shows 50 characters.
UNREAD_CELL = "Máy không xác định (nhãn do phân tích viên gán)"
# A card's lines of the people its sentences praise or criticise, and of those who handed out
# the praise or decided the sanction (nlp.roles), by the card's label.
ROLE_LINES = {
    "praise": {SUBJECT: "Người được khen", AGENT: "Người trao khen thưởng, biểu dương"},
    "criticism": {SUBJECT: "Người bị phê phán", AGENT: "Người ra quyết định xử lý, chỉ đạo"},
}


@dataclass(frozen=True)
class RunInfo:
    """What a nightly digest says about its run besides the articles."""

    run_id: str
    started_at: datetime
    since: datetime | None  # the articles shown were loaded after this (None: since the start)
    until: datetime  # ... and up to this
    previous: tuple[str, datetime] | None  # the latest earlier digest that listed articles: its
    # file name and its run's start
    rewritten: datetime | None = None  # when the digest was written again, after its night


@cache
def cue_lexicon(model_id: str) -> Lexicon:
    """The lexicon of the model (its cues.yaml), to mark the cue words in its evidence."""
    try:
        cues = resolve_model(model_id) / "cues.yaml"
    except ModelNotFoundError:  # labels of a model folder since moved: the guide's phrases
        cues = None
    if cues is None or not cues.is_file():
        cues = models_dir() / FALLBACK_CUES / "cues.yaml"
    return Lexicon.from_yaml(cues)


def highlight(sentence: str, lexicon: Lexicon) -> Markup:
    """The sentence, escaped, with each praise or criticism cue the lexicon finds in <mark>."""
    sentence = BIDI.sub("", sentence)  # a Markup is past shown(): its text is cleaned here
    parts: list[str] = []
    done = 0
    for start, end, hit in lexicon.located_hits(sentence):
        parts.append(escape(sentence[done:start]))
        parts.append(Markup('<mark class="{}">{}</mark>').format(hit.polarity, sentence[start:end]))
        done = end
    parts.append(escape(sentence[done:]))
    return Markup("").join(parts)


def shown(value: object) -> object:
    """A value as the page shows it: text without bidirectional controls (U+202E and the like,
    which rows stored before the crawl dropped them may hold); markup, built here, as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return BIDI.sub("", value)
    return value


def safe_url(url: object) -> str | None:
    """The URL when it is an http(s) address; None for anything a click could run."""
    if not isinstance(url, str):
        return None
    return url if urlsplit(url.strip()).scheme.lower() in ("http", "https") else None


def as_list(value: object) -> list:
    """A DuckDB list column's value as a list (NULL gives an empty one)."""
    if value is None or value is pd.NA or isinstance(value, float):
        return []
    return list(value)


def same_text(a: str, b: str) -> bool:
    """Whether two texts are the same sentence, ignoring case, spacing and end punctuation."""

    def key(text: str) -> str:
        return " ".join(normalize(text).casefold().split()).rstrip(" .!?:;…")

    return key(a) == key(b)


def without_headline(evidence: object, title: object) -> list[str]:
    """A DuckDB evidence list's sentences, the headline (shown above them already) left out."""
    title = title if isinstance(title, str) else ""
    return [s for s in as_list(evidence) if s and not same_text(s, title)]


def evidence_shown(evidence: Iterable[str], title: object, lexicon: Lexicon) -> list[Markup]:
    """Up to MAX_EVIDENCE evidence sentences, the headline left out, cue words marked."""
    kept = without_headline(evidence, title)
    return [highlight(s, lexicon) for s in kept[:MAX_EVIDENCE]]


def people_lines(row: dict, label: str, changed: bool) -> dict[str, object]:
    """The people a card names: the one its sentences praise or criticise, the one who handed out
    the praise or decided the sanction, the others its headline or shown evidence names, then
    the rest.

    A praise article names the official who presented the award beside the one praised, a
    criticism article the chairman who signed the discipline beside the one disciplined; an
    analyst must see which is which. The roles are read from the sentences by nlp.roles for the
    card's (current) label; whether one criticised holds a post, and whether a sanction was
    wrongful, from the whole article too (its `text`, when the row has it). A card whose label an
    analyst changed reads them from its headline alone, and lists the people its evidence names
    with the rest: that evidence argues the model's label, and its people, said to be in the
    machine's sentences under the analyst's label, would read as the ones praised or criticised
    there. When the headline gives no such
    one, `people_unread` is true: the card says the machine did not read who is
    (roles_unread_text), a table's cell too (UNREAD_CELL), and names no one who handed out the
    praise or decided the sanction either: with no one praised or criticised read for the
    analyst's label, such a one is the machine's reading of a headline it gave its own label
    ("Phó Chủ tịch X ký quyết định khen thưởng, kỷ luật ..." gives X for both labels), and is
    listed with everyone else.
    """
    people = as_list(row["people"])
    headline = row["title"] if isinstance(row["title"], str) else ""
    sentences = [headline, *without_headline(row["evidence"], row["title"])[:MAX_EVIDENCE]]
    read = sentences[:1] if changed else sentences
    quoted = names_in(people, read)
    article = row.get("text")
    placed = roles(quoted, read, label, article if isinstance(article, str) else "")
    subject = [name for name in quoted if placed.get(name) == SUBJECT]
    unread = changed and label in ROLE_LINES and not subject
    if unread:
        placed = {}
    apart = placed if changed else quoted
    # Every name: a table's cells list them all, story_cards cuts a card's lines (NAME_LINES).
    return {
        "people_subject": subject,
        "people_agent": [name for name in quoted if placed.get(name) == AGENT],
        "people_quoted": [] if changed else [n for n in quoted if n not in placed],
        "people": [name for name in people if name not in apart],
        "people_unread": unread,
    }


def roles_unread_text(label: str) -> str:
    """What a card an analyst gave this label says in place of the one praised or criticised."""
    name = LABEL_NAMES[label]
    return (
        f"máy không xác định, vì nhãn {name} là của phân tích viên và máy không có câu căn cứ cho "
        "nhãn này"
    )


def subject_cell(people: dict) -> str:
    """A table's cell of people_lines' ones praised or criticised, or UNREAD_CELL."""
    return UNREAD_CELL if people["people_unread"] else ", ".join(people["people_subject"])


def names_in(names: list[str], sentences: list[str]) -> list[str]:
    """The names the sentences mention, whole or as a form of address and given name ("ông K.")."""
    text = normalize(" ".join(sentences))
    found = []
    for name in names:
        given = re.escape(name.rsplit(" ", 1)[-1])
        whole = rf"{re.escape(name)}|(?i:{_ADDRESS}) {given}"
        if re.search(rf"(?<!\w)(?:{whole})(?!\w)", text):
            found.append(name)
    return found


def body_key(name: str) -> tuple[str, str]:
    """A body's name without its province or city word, and that word's kind ("province" for
    "tỉnh", "central" for the city of a PROVINCE_CITIES, "city", or "" when it has none):
    "VKSND tỉnh Bình Dương" and "VKS Bình Dương" give ("vksnd bình dương", "province") and
    ("vksnd bình dương", "")."""
    key = " ".join(normalize(name).casefold().replace(".", ". ").split())
    key = re.sub(r"\s*[-–]\s*", "-", key)
    key = re.sub(r"(?<!\w)(viện ksnd|vksnd|tand)tc(?!\w)", r"\1 tối cao", key)
    for spellings, kind in BODY_KINDS:
        key = re.sub(rf"(?<!\w)(?:{spellings})(?!\w)", kind, key)
    key = re.sub(r"(?<!\w)tp\. ?", "tp ", key)
    key = re.sub(r"(?<!\w)tphcm(?!\w)", "tp hcm", key)
    key = re.sub(r"(?<!\w)(tp|thành phố) hồ chí minh$", r"\1 hcm", key)
    words = list(_PROVINCE_WORD_RE.finditer(key))
    if not words:
        return key, ""
    word = words[-1]
    place = key[word.end() :]
    city = "central" if place in PROVINCE_CITIES else "city"
    return key[: word.start()] + place, "province" if word[1] == "tỉnh" else city


def distinct_bodies(names: list[str]) -> list[list[str]]:
    """The names grouped by body, in the order of their first name, each group's fullest first.

    Names of one body differ only in case, spacing, how its kind is written (body_key) or in a
    province word: "VKS Bình Dương", "VKSND Bình Dương" and "VKSND tỉnh Bình Dương" are one. A
    name without its place's word joins only a province's ("Công an Đồng Nai" is "Công an tỉnh
    Đồng Nai", "TAND Đà Nẵng" is "TAND thành phố Đà Nẵng"), and only when no other level of that
    name is named too: "Công an Hà Tĩnh" is not made "Công an TP Hà Tĩnh". Nothing else is
    merged: "TAND tối cao" and "TAND tỉnh" stay two, and so do "tỉnh" and "thành phố" Cần Thơ.
    """
    keys = [body_key(name) for name in names]
    levels: dict[str, set[str]] = {}
    for key, level in keys:
        if level:
            levels.setdefault(key, set()).add(level)
    groups: dict[tuple[str, str], list[str]] = {}
    for name, (key, level) in zip(names, keys, strict=True):
        known = levels.get(key, set())
        if not level and known in ({"province"}, {"central"}):
            (level,) = known
        groups.setdefault((key, level), []).append(name)
    # The longest name, then the one with fewer capitals ("Công an tỉnh", not "Công an Tỉnh").
    return [
        sorted(group, key=lambda n: (-len(n), sum(c.isupper() for c in n)))
        for group in groups.values()
    ]


def card_bodies(names: list[str], sentences: list[str]) -> tuple[list[str], int]:
    """The bodies a card shows, each once in its fullest name, those the sentences (headline and
    shown evidence) name first, then the most mentioned; and how many more it leaves out."""
    text = normalize(" ".join(sentences)).casefold()

    def named(group: list[str]) -> bool:
        return any(
            re.search(rf"(?<!\w){re.escape(normalize(n).casefold())}(?!\w)", text) for n in group
        )

    groups = distinct_bodies(names)
    ordered = [g for g in groups if named(g)] + [g for g in groups if not named(g)]
    return [group[0] for group in ordered[:MAX_NAMES]], max(len(ordered) - MAX_NAMES, 0)


def story_cards(rows: pd.DataFrame, label: str, lexicon: Lexicon) -> list[dict]:
    """One card per story whose current label is this one, in CARD_ORDER (its first copy shown).

    The model's score for the label of a story it gave another label is low: sorted by it, the
    stories an analyst moved into this label would come last.
    """
    chosen = rows[rows["current_label"] == label]
    decided = chosen["analyst_label"].notna()
    order = [
        chosen[decided].sort_values("published_at", ascending=False, na_position="last"),
        chosen[~decided].sort_values(
            [f"score_{label}", "published_at"], ascending=False, na_position="last"
        ),
    ]
    cards = []
    for row in pd.concat(order).drop_duplicates("story_id").to_dict("records"):
        reviewed = (row["label"], row["analyst_label"], row["reviewer"], row["labelled_at"])
        note = row["analyst_note"]
        changed = relabelled(row["label"], row["analyst_label"])
        evidence = evidence_shown(as_list(row["evidence"]), row["title"], lexicon)
        people = people_lines(row, label, changed)
        headline = row["title"] if isinstance(row["title"], str) else ""
        read = [headline, *without_headline(row["evidence"], row["title"])[:MAX_EVIDENCE]]
        bodies, bodies_more = card_bodies(as_list(row["bodies"]), read)
        cards.append(
            {
                "title": row["title"] or "(không có tiêu đề)",
                "url": safe_url(row["url"]),
                "source": row["source"],
                "day": day_text(row["published_at"]) or "không rõ ngày đăng",
                "province": row["province"] if isinstance(row["province"], str) else "",
                "people_unread": people["people_unread"],
                **{key: people[key][:MAX_NAMES] for key in NAME_LINES},
                **{f"{key}_more": max(len(people[key]) - MAX_NAMES, 0) for key in NAME_LINES},
                "bodies": bodies,
                "bodies_more": bodies_more,
                "evidence": evidence,
                "copies": int(row["copies"]),
                "review": review_text(*reviewed),
                "note": note.strip() if isinstance(note, str) else "",
                "changed": changed,
                # The evidence is the model's, for its own label: never the analyst's support.
                "evidence_of": (
                    evidence_of_text(row["label"], row["analyst_label"], bool(evidence))
                    if changed
                    else ""
                ),
            }
        )
    return cards


def label_counts(frame: pd.DataFrame, key: str) -> list[tuple[str, dict[str, int]]]:
    """Articles per current label for each value of key, the largest first."""
    labels = frame["current_label"].fillna(UNLABELLED)
    table = pd.crosstab(frame[key], labels)
    order = table.sum(axis=1).sort_values(ascending=False, kind="stable").index
    # Bidi controls dropped here too: the charts draw these names into markup shown() skips.
    return [
        (BIDI.sub("", str(name)), {k: int(v) for k, v in table.loc[name].items()}) for name in order
    ]


def days_text(first: object, last: object) -> str:
    """A span of days: "từ 20/11/2026 đến 27/11/2026", "ngày 20/11/2026" for one, "từ"/"đến"
    alone for an open end, empty for none."""
    first, last = day_text(first), day_text(last)
    if first and first == last:
        return f"ngày {first}"
    return " ".join(part for part in (first and f"từ {first}", last and f"đến {last}") if part)


def daily_counts(
    con: duckdb.DuckDBPyConnection, selection: Selection, end: date, run: RunInfo | None
) -> tuple[str, str, Markup]:
    """The chart of labels per day over the CHART_DAYS days ending at end: name, period, chart.

    It counts every article published in those days (the page's province and source kept), so a
    digest's chart holds earlier digests' articles too, and a report's the 30 days to its last day.
    A digest's counts only those loaded by the end of its run's window: written again weeks later,
    it shows the articles its night showed (with today's labels), not those crawled since.
    """
    start = end - timedelta(days=CHART_DAYS - 1)
    until = run.until if run else None
    window = replace(selection, start=start, end=end, loaded_since=None, loaded_until=until)
    counts: dict[date, dict[str, int]] = {}
    for row in daily_labels(con, window).to_dict("records"):
        label = row["label"] if isinstance(row["label"], str) else UNLABELLED
        counts.setdefault(pd.Timestamp(row["day"]).date(), {})[label] = int(row["articles"])
    days = [start + timedelta(days=i) for i in range(CHART_DAYS)]
    period = f"trong {CHART_DAYS} ngày, {days_text(start, end)} (theo ngày đăng)"
    if run:
        period += (
            f": mọi bài đã nạp vào cơ sở dữ liệu đến {time_text(run.until)}, gồm cả bài đã có "
            "trong các bản tin trước"
        )
    return DAILY_CHART, period, daily_chart(days, counts, f"{DAILY_CHART}, {period}")


def page_period(rows: pd.DataFrame, selection: Selection, run: RunInfo | None) -> str:
    """Which articles the page lists and counts, with their dates: a digest's by load time and
    publication day, a report's by publication day (its own days, else the articles')."""
    published = rows["day"].dropna()
    first = selection.start or (published.min() if len(published) else None)
    last = selection.end or (published.max() if len(published) else None)
    if run is None:
        return f"các bài đăng {days_text(first, last)}" if first or last else "không có bài nào"
    loaded = window_text(run.since, run.until)
    if rows.empty:
        return f"không có bài mới nạp vào cơ sở dữ liệu {loaded}"
    period = f"các bài mới của bản tin này (nạp vào cơ sở dữ liệu {loaded})"
    return f"{period}, đăng {days_text(first, last)}" if len(published) else period


def attention(
    stories: dict[str, int], unlabelled: int, failed: int, drifted: int, new: bool
) -> str:
    """The line saying what needs reading ("3 tin phê phán, 2 tin khen ngợi mới; 1 nguồn lỗi").

    Stories ("tin"), as the cards below: the copies of one story are one thing to read.
    """
    listed = [
        f"{stories[label]} tin {LABEL_NAMES[label].lower()}" for label in LISTED if stories[label]
    ]
    head = ", ".join(listed) or "Không có tin phê phán hay khen ngợi"
    head += " mới" if new else ""
    notes = [f"{n} {what}" for n, what in (
        (unlabelled, "bài chưa có nhãn"),
        (failed, "nguồn lỗi"),
        (drifted, "nguồn có thể đã đổi giao diện"),
    ) if n]  # fmt: skip
    return "; ".join([head, *notes])


def site_results(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    """The run's line per site: source title, status, counts, errors in words, drift warning.

    stored: the links found that were already stored and not fetched again
    (crawlers.state.stored_links, as the crawl summary says): a quiet night finds only these.
    unchanged: the articles fetched again (a sitemap or feed date said the page changed) whose
    text was the same as stored: counted among the articles, though nothing of them is new.
    """
    rows = con.execute(
        """
        SELECT coalesce(s.title, r.site) AS source, r.status, r.articles, r.discovered, r.errors,
               r.warning, r.counts
        FROM crawl_run_sites r LEFT JOIN sites s USING (site)
        WHERE r.run_id = ? ORDER BY source
        """,
        [run_id],
    ).df()
    results = []
    for row in rows.to_dict("records"):
        counts = json.loads(row["counts"] or "{}")
        warning = row["warning"] if isinstance(row["warning"], str) else ""
        results.append(
            {
                **row,
                "errors": [error_text(k, n) for k, n in json.loads(row["errors"] or "{}").items()],
                "stored": stored_links(counts),
                "unchanged": counts.get("unchanged", 0),
                "warning": warning,
                "drift": drift_text(warning) if warning else "",
            }
        )
    return results


def render(
    con: duckdb.DuckDBPyConnection,
    selection: Selection,
    heading: str,
    chart_end: date,
    run: RunInfo | None = None,
) -> tuple[str, int]:
    """The page for the selected articles (a run's digest when run is given) and their number."""
    lexicon = cue_lexicon(selection.model_id)
    rows = article_rows(con, selection)
    current = rows["current_label"]
    counted = story_counts(rows).iloc[0]
    stories = {label: int(counted[label]) for label in LABEL_NAMES}
    sites = site_results(con, run.run_id) if run else []
    failed = [s["source"] for s in sites if s["status"] != "ok"]
    drifted = [s for s in sites if s["warning"]]
    unlabelled = int(current.isna().sum())
    by_source = label_counts(rows, "source")
    places = rows.assign(province=rows["province"].fillna(NO_PROVINCE))
    by_province = label_counts(places, "province")
    scope = page_period(rows, selection, run)
    previous: tuple[str, str] | None = None
    started = since = ""
    if run:
        # Two runs a minute apart, as the start of this one and of the previous digest's, or
        # the window's ends, read with their seconds (times_apart) rather than as one time.
        started = time_text(run.started_at)
        if run.previous:
            when, started = times_apart(run.previous[1], run.started_at)
            previous = (run.previous[0], when)
        if run.since is not None:
            since = times_apart(run.since, run.until)[0]
    page = (
        Environment(
            loader=PackageLoader("pipelines", "templates"),
            autoescape=select_autoescape(["j2"]),
            finalize=shown,
        )
        .get_template("digest.html.j2")
        .render(
            heading=heading,
            selection=selection,
            trust=trust_text(selection.model_id, precision_at_nightly_mix(selection.model_id)),
            days=days_text(selection.start, selection.end),
            run=run,
            run_started=started,
            rewritten=time_text(run.rewritten) if run else "",
            since=since,
            previous=previous,
            scope=scope,
            total=len(rows),
            attention=attention(stories, unlabelled, len(failed), len(drifted), run is not None),
            sites=sites,
            failed=failed,
            drifted=drifted,
            label_names=LABEL_NAMES,
            role_lines=ROLE_LINES,
            card_order=CARD_ORDER,
            full_list=FULL_LIST,
            roles_unread={label: roles_unread_text(label) for label in LISTED},
            subject=SUBJECT,
            agent=AGENT,
            by_source=by_source,
            stories=stories,
            story_total=int(counted[TOTAL]),
            unlabelled_stories=int(counted[UNLABELLED]),
            story_counting=STORY_COUNTING,
            articles={label: int((current == label).sum()) for label in LABEL_NAMES},
            unlabelled=unlabelled,
            charts=[
                daily_counts(con, selection, chart_end, run),
                (SOURCE_CHART, scope, bars_chart(by_source, f"{SOURCE_CHART}, {scope}")),
                (PROVINCE_CHART, scope, bars_chart(by_province, f"{PROVINCE_CHART}, {scope}")),
            ],
            sections=[
                (label, LABEL_NAMES[label], story_cards(rows, label, lexicon)) for label in LISTED
            ],
        )
    )
    return page, len(rows)


def previous_digest(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[str, datetime] | None:
    """The latest digest before run_id that listed at least one article: file name, run start."""
    row = con.execute(
        """
        SELECT r.digest, r.started_at FROM crawl_runs r
        WHERE r.run_id < ? AND r.digest IS NOT NULL AND EXISTS (
            SELECT 1 FROM articles a
            WHERE a.loaded_at > coalesce(r.digest_from, '-infinity'::TIMESTAMPTZ)
              AND a.loaded_at <= r.digest_until)
        ORDER BY r.run_id DESC LIMIT 1
        """,
        [run_id],
    ).fetchone()
    return (Path(row[0]).name, row[1]) if row else None


def render_digest(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    model_id: str,
    since: datetime | None,
    until: datetime,
    rewritten: datetime | None = None,
) -> tuple[str, int]:
    """A run's digest (the articles loaded in (since, until]) and how many articles it shows;
    rewritten: when it is written again after its night (a review import, `congvu digest`)."""
    started = con.execute("SELECT started_at FROM crawl_runs WHERE run_id = ?", [run_id]).fetchone()
    if started is None:
        raise LookupError(f"no crawl run {run_id} in the database")
    run = RunInfo(run_id, started[0], since, until, previous_digest(con, run_id), rewritten)
    selection = Selection(model_id, loaded_since=since, loaded_until=until)
    heading = f"Bản tin giám sát báo chí ngày {day_text(started[0])}"
    return render(con, selection, heading, vn_time(started[0]).date(), run)


def render_report(con: duckdb.DuckDBPyConnection, selection: Selection) -> str:
    """The report on the articles published in the selection's days (congvu report)."""
    heading = f"Báo cáo giám sát báo chí {days_text(selection.start, selection.end)}".rstrip()
    end = selection.end or vn_time(datetime.now(timezone.utc)).date()
    return render(con, selection, heading, end)[0]


def replace_file(target: Path, text: str) -> None:
    """Write text to target in one step: a reader sees the old file or the new one, whole."""
    partial = target.with_name(target.name + ".part")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)


def latest_run(con: duckdb.DuckDBPyConnection) -> str | None:
    """The id of the latest run recorded, or None before the first."""
    return con.execute("SELECT max(run_id) FROM crawl_runs").fetchone()[0]


def undigested_since(con: duckdb.DuckDBPyConnection) -> object:
    """The end of the last digest's window: later loads have not been in any digest yet."""
    return con.execute("SELECT max(digest_until) FROM crawl_runs").fetchone()[0]


def listed_later(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """Whether a run after run_id has a digest that lists articles or failed sites."""
    return con.execute(
        """
        SELECT EXISTS (
            SELECT 1 FROM crawl_runs r
            WHERE r.run_id > ? AND r.digest IS NOT NULL AND (
                EXISTS (SELECT 1 FROM articles a
                        WHERE a.loaded_at > coalesce(r.digest_from, '-infinity'::TIMESTAMPTZ)
                          AND a.loaded_at <= r.digest_until)
                OR EXISTS (SELECT 1 FROM crawl_run_sites s
                           WHERE s.run_id = r.run_id AND s.status <> 'ok')))
        """,
        [run_id],
    ).fetchone()[0]


def digests_listing(con: duckdb.DuckDBPyConnection, article_ids: list[str]) -> list[str]:
    """The runs whose digest lists any of these articles (loaded in its window), oldest first."""
    return [
        run_id
        for (run_id,) in con.execute(
            """
            SELECT DISTINCT r.run_id FROM crawl_runs r JOIN articles a
              ON a.loaded_at > coalesce(r.digest_from, '-infinity'::TIMESTAMPTZ)
             AND a.loaded_at <= r.digest_until
            WHERE r.digest IS NOT NULL AND list_contains(?, a.article_id)
            ORDER BY r.run_id
            """,
            [article_ids],
        ).fetchall()
    ]


def digests_showing(con: duckdb.DuckDBPyConnection, article_ids: list[str]) -> list[str]:
    """The runs whose digest shows any of these articles' labels, oldest first: it lists them
    (loaded in its window) or counts them in its daily chart (published in the CHART_DAYS days to
    its run's day and loaded by the end of its window, daily_counts), a quiet night's digest too."""
    return [
        run_id
        for (run_id,) in con.execute(
            f"""
            SELECT DISTINCT r.run_id FROM crawl_runs r JOIN articles a
              ON (a.loaded_at > coalesce(r.digest_from, '-infinity'::TIMESTAMPTZ)
                  AND a.loaded_at <= r.digest_until)
              OR (a.loaded_at <= r.digest_until AND {ARTICLE_DAY}
                  BETWEEN CAST(r.started_at AS DATE) - ? AND CAST(r.started_at AS DATE))
            WHERE r.digest IS NOT NULL AND list_contains(?, a.article_id)
            ORDER BY r.run_id
            """,
            [CHART_DAYS - 1, article_ids],
        ).fetchall()
    ]


def write_digest(
    paths: DataPaths, run_id: str, model_id: str, db: Path
) -> tuple[Path, datetime | None, datetime]:
    """Write digest-<run_id>.html from db (articles not in any digest yet), refresh latest.html.

    Returns the file and the load window it covers, which the nightly job records with the run.
    Rewriting the digest of a run that has one keeps that digest's window. latest.html is
    replaced only by a digest that lists articles or failed sites (it links the last digest that
    listed articles): a quiet night with nothing new leaves the last one readable there, and
    rewriting that last one (after a review import, say) rewrites latest.html too.
    """
    with open_db(db, read_only=True) as con:
        window = con.execute(
            "SELECT digest_from, digest_until FROM crawl_runs WHERE run_id = ?", [run_id]
        ).fetchone()
        since = undigested_since(con)
        superseded = listed_later(con, run_id)
        rewritten = None
        if window and window[1] is not None:
            since, until = window
            rewritten = datetime.now(timezone.utc)  # its night wrote it: a morning copy differs
        else:
            until = datetime.now(timezone.utc)
        page, shown = render_digest(con, run_id, model_id, since, until, rewritten)
        failed = con.execute(
            "SELECT count(*) FROM crawl_run_sites WHERE run_id = ? AND status <> 'ok'", [run_id]
        ).fetchone()[0]
    paths.digests.mkdir(parents=True, exist_ok=True)
    target = paths.digests / f"digest-{run_id}.html"
    replace_file(target, page)
    if (shown or failed) and not superseded:
        replace_file(paths.digests / "latest.html", page)
    return target, since, until
