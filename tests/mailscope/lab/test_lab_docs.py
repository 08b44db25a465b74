"""docs/lab.md is generated from the scenarios (`python -m mailscope.lab.docs > docs/lab.md`): it must be current."""

from __future__ import annotations

from pathlib import Path

from mailscope.lab.docs import render
from mailscope.lab.scenarios import SCENARIOS

DOC = Path(__file__).resolve().parents[3] / "docs" / "lab.md"


def test_lab_doc_is_generated_from_the_scenarios() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text == render(), "docs/lab.md is stale: run python -m mailscope.lab.docs > docs/lab.md"
    for s in SCENARIOS:
        assert f"| `{s.id}` |" in text
