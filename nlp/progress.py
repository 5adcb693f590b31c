"""Progress lines for long work (training folds and epochs, reclassifying the archive)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def duration(seconds: float) -> str:
    """A short human duration: 45 s, 3 min 20 s, 1 h 05 min."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """Counts steps of known number and prints one line per step: done, rate, time left."""

    def __init__(self, what: str, total: int, unit: str = "", stream: TextIO | None = None) -> None:
        """Start the clock for `total` steps of `what`; unit names what a rate counts."""
        self.what = what
        self.total = max(total, 1)
        self.unit = unit
        self.stream = stream
        self.done = 0
        self.items = 0
        self.started = time.monotonic()

    def step(self, note: str = "", items: int = 0, steps: int = 1) -> str:
        """Count steps (and `items` processed in them); print and return the progress line."""
        self.done += steps
        self.items += items
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        parts = [f"{self.what} {self.done}/{self.total}"]
        if note:
            parts.append(note)
        if self.items and self.unit:
            parts.append(f"{self.items / max(elapsed, 1e-9):.1f} {self.unit}/s")
        parts.append(f"{duration(elapsed)} so far")
        parts.append("done" if self.done >= self.total else f"about {duration(left)} left")
        line = ", ".join(parts)
        print(line, file=self.stream or sys.stderr, flush=True)
        return line
