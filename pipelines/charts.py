"""The digest's charts as inline SVG: no script, no network, readable as an e-mail attachment."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date

from markupsafe import Markup, escape

from pipelines.vietnamese import LABEL_NAMES

UNLABELLED = "unlabelled"  # articles the chosen model has not labelled
SERIES = ("criticism", "praise", "neutral", UNLABELLED)
SERIES_NAMES = {**LABEL_NAMES, UNLABELLED: "Chưa có nhãn"}
COLORS = {"criticism": "#b00020", "praise": "#1b7f3b", "neutral": "#a0a0a0", UNLABELLED: "#d8c8a0"}
WIDTH = 720
FONT = 'font-family="system-ui, sans-serif" font-size="12"'
CHAR_WIDTH = 6.6  # average width of a 12 px character, to leave room for the names


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50... at least value: the top of the axis."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def legend(series: Sequence[str], y: int) -> str:
    """A row of coloured squares with the series' names."""
    parts, x = [], 0
    for name in series:
        parts.append(
            f'<rect x="{x}" y="{y - 10}" width="10" height="10" fill="{COLORS[name]}"/>'
            f'<text x="{x + 14}" y="{y}" {FONT}>{escape(SERIES_NAMES[name])}</text>'
        )
        x += 24 + int(len(SERIES_NAMES[name]) * CHAR_WIDTH)
    return "".join(parts)


def present(counts: Mapping[object, Mapping[str, int]]) -> list[str]:
    """The series that have at least one article, in the fixed order."""
    return [s for s in SERIES if any(row.get(s, 0) for row in counts.values())]


def svg(height: int, title: str, body: str) -> Markup:
    """An SVG element WIDTH wide, scaled to the page, titled for screen readers."""
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f"{body}</svg>"
    )


def no_articles(title: str) -> Markup:
    """The chart of no article: the sentence alone, no legend or axis of nothing."""
    return svg(24, title, f'<text x="0" y="16" {FONT}>Không có bài nào.</text>')


def daily_chart(
    days: Sequence[date], counts: Mapping[date, Mapping[str, int]], title: str
) -> Markup:
    """Stacked columns: articles per day and label, one column a day."""
    series = present({day: counts.get(day, {}) for day in days})
    if not series:
        return no_articles(title)
    left, top, bottom = 40, 24, 28
    height = 220
    plot_w, plot_h = WIDTH - left - 8, height - top - bottom
    most = max((sum(counts.get(d, {}).values()) for d in days), default=0)
    ceiling = nice_ceiling(max(most, 1))
    scale = plot_h / ceiling
    slot = plot_w / max(len(days), 1)
    parts = [legend(series, 12)]
    for tick in (0, ceiling // 2, ceiling) if ceiling > 1 else (0, 1):
        y = top + plot_h - tick * scale
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{tick}</text>'
        )
    for i, day in enumerate(days):
        x = left + i * slot
        y = top + plot_h
        for name in series:
            n = counts.get(day, {}).get(name, 0)
            if n:
                h = n * scale
                y -= h
                tip = f"{day:%d/%m/%Y}: {n} bài {SERIES_NAMES[name].lower()}"
                parts.append(
                    f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" '
                    f'height="{h:.1f}" fill="{COLORS[name]}"><title>{escape(tip)}</title></rect>'
                )
        if i % 5 == 0 or i == len(days) - 1:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{height - 8}" text-anchor="middle" {FONT}>'
                f"{day:%d/%m}</text>"
            )
    return svg(height, title, "".join(parts))


def bars_chart(rows: Sequence[tuple[str, Mapping[str, int]]], title: str) -> Markup:
    """Stacked horizontal bars: articles per label for each named row (a source, a province)."""
    series = present(dict(rows))
    if not series:
        return no_articles(title)
    longest = max((len(name) for name, _ in rows), default=10)
    left = min(math.ceil(longest * CHAR_WIDTH) + 12, 300)
    fits = int((left - 12) / CHAR_WIDTH)  # characters of a name that fit left of the bars
    top, row_h = 24, 22
    height = top + row_h * len(rows) + 8
    most = max((sum(counts.values()) for _, counts in rows), default=0)
    scale = (WIDTH - left - 48) / max(most, 1)
    parts = [legend(series, 12)]
    for i, (name, counts) in enumerate(rows):
        y = top + i * row_h
        shown = name if len(name) <= fits else name[: fits - 1] + "…"
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" {FONT}>{escape(shown)}'
            f"<title>{escape(name)}</title></text>"
        )
        x = float(left)
        for label in series:
            n = counts.get(label, 0)
            if n:
                tip = f"{name}: {n} bài {SERIES_NAMES[label].lower()}"
                parts.append(
                    f'<rect x="{x:.1f}" y="{y + 3}" width="{n * scale:.1f}" height="{row_h - 6}" '
                    f'fill="{COLORS[label]}"><title>{escape(tip)}</title></rect>'
                )
                x += n * scale
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 15}" {FONT}>{sum(counts.values())}</text>')
    return svg(height, title, "".join(parts))
