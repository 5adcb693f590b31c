"""Staging lines the load could not read: counted, and kept with their file, line and reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Unreadable:
    """The lines of one staging file that could not be loaded, kept in a quarantine file."""

    rejected: int
    truncated: bool
    path: Path


def unreadable_reason(line: bytes) -> str | None:
    """Why a non-blank staging line cannot be loaded, or None when it can."""
    try:
        text = line.decode("utf-8")
        record = json.loads(text)
    except UnicodeDecodeError:
        return "not UTF-8"
    except ValueError as exc:
        return f"not JSON ({exc})"
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get("canonical_url") is None and record.get("http_status") != 304:
        return "no canonical_url"
    try:  # the database's JSON reader refuses escaped lone surrogates, Python does not
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "lone surrogate in a string"
    return None


def quarantine_lines(file: Path, staging_dir: Path, quarantine_dir: Path, count: int) -> Unreadable:
    """Copy the unreadable lines of a staging file, with their line numbers, to quarantine.

    count is how many lines the database reader refused. A final line with no newline that
    cannot be read was cut short by a killed crawl: expected, so not counted as rejected. The
    quarantine file is rewritten whole, so a load that is rolled back and run again keeps one
    copy; the staging file itself is kept as it is.
    """
    relative = file.relative_to(staging_dir).as_posix()
    data = file.read_bytes()
    lines = data.split(b"\n")
    found = []
    for number, line in enumerate(lines, start=1):
        reason = unreadable_reason(line) if line.strip() else None
        if reason is not None:
            text = line.decode("utf-8", "replace")
            found.append({"file": relative, "line": number, "reason": reason, "text": text})
    truncated = bool(found) and not data.endswith(b"\n") and found[-1]["line"] == len(lines)
    if truncated:
        found[-1]["reason"] = "cut short (a killed crawl): " + found[-1]["reason"]
    if len(found) < count:  # never expected: say so rather than pretend the count is whole
        reason = f"{count - len(found)} more line(s) refused by the database reader, not found"
        found.append({"file": relative, "line": None, "reason": reason, "text": ""})
    target = quarantine_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as out:
        for entry in found:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return Unreadable(max(count, len(found)) - truncated, truncated, target)
