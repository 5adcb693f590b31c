"""The card's role rules on hostile text: a criticism card whose evidence is one long sentence.

Run from the project root: .venv/bin/python bench/roles.py [--chars 100000]
Crawled text can hold a paragraph with no stop; the model may pick it as evidence, and the digest
reads it for a wrongful sanction (nlp.roles.wrongful) and for roles. Prints the seconds each takes
on such a sentence of --chars characters, made of words WRONGFUL's "việc ... là sai" pattern
backtracks over.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.roles import roles, wrongful  # noqa: E402

CLAUSE = "việc cán bộ Nguyễn Văn An kỷ luật người dân "


def main(argv: list[str] | None = None) -> int:
    """Print the time of wrongful and of roles on one long criticism sentence."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=100_000)
    args = parser.parse_args(argv)
    sentence = (CLAUSE * (args.chars // len(CLAUSE) + 1))[: args.chars]
    for name, call in (
        ("wrongful", lambda: wrongful([sentence], "criticism")),
        ("roles", lambda: roles(["Nguyễn Văn An"], [sentence], "criticism", sentence)),
    ):
        start = time.perf_counter()
        call()
        took = time.perf_counter() - start
        print(f"{name}: {took:.2f} s on one sentence of {args.chars:,} characters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
