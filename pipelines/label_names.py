"""How a label code is shown to analysts, in one place for the search and the notebooks."""

from __future__ import annotations


def label_name(code: str | None) -> str:
    """The label as analysts read it; empty for an article the model has not labelled.

    Shows the code (praise / criticism / neutral) until the Vietnamese names (Khen ngợi / Phê phán
    / Trung lập) are merged: issue 11's digest work defines that mapping in pipelines/, and this
    function is then to return it, so the search and the notebooks follow with no other change.
    """
    return code or ""
