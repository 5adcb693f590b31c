"""RULES_VERSION in pipelines/places.py is not forgotten when the rules of who and where change."""

from __future__ import annotations

from nlp.datafiles import sha256
from pipelines.places import RULES_SHA256
from tests.conftest import ROOT

RULE_FILES = ("nlp/entities.py", "nlp/names.py", "nlp/provinces.py")


def test_rule_files_are_those_rules_version_was_set_for() -> None:
    found = {name: sha256(ROOT / name) for name in RULE_FILES}
    changed = [name for name in RULE_FILES if found[name] != RULES_SHA256.get(name)]
    assert changed == [], (
        f"these files changed: {', '.join(changed)}: bump RULES_VERSION in pipelines/places.py "
        "if what they find changed, then record the new hashes in RULES_SHA256 there "
        f"(command: sha256sum {' '.join(RULE_FILES)}); now: {found}"
    )
