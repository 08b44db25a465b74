"""The README's console keys table is the one tui/keys.py derives (`python -m tui.help`): a key added, remapped or
reworded in the table shows in the README too, or this fails."""

from __future__ import annotations

from pathlib import Path

from tui.help import markdown_keys

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_the_keys_of_tui_keys():
    text = README.read_text(encoding="utf-8")
    start = text.index("-->\n", text.index("<!-- keys:")) + len("-->\n")
    assert text[start:text.index("<!-- /keys -->")] == markdown_keys(), "README out of step: paste `python -m tui.help` into it"
