"""congvu classify's stable interface: {"id", "text"} JSON lines in, a prediction a line out."""

from __future__ import annotations

import json
from pathlib import Path

from nlp.classify import Classifier, neutral
from pipelines.enrich import analysed, cut_note


def classify_lines(classifier: Classifier, source: Path, target: Path) -> int:
    """Write a prediction line to target for each text line of source; return how many."""
    count = 0
    with open(source, "rb") as src, open(target, "w", encoding="utf-8") as out:
        for number, line in enumerate(src, start=1):
            try:
                read = read_text_line(line)
            except ValueError as exc:
                raise ValueError(
                    f"{source} line {number}: {exc}; the {count} texts before it are "
                    f"classified in {target}"
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
    return count


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
