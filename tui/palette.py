"""The command palette, dismissed at most once: Esc followed by a pending Enter dismissed Textual 8.2.8's palette
twice, popping the view underneath (found by the monkey test, tests/tui/test_monkey.py)."""

from __future__ import annotations

from textual.command import CommandPalette

from tui.dialog import DismissOnce


class SafeCommandPalette(DismissOnce, CommandPalette):
    pass
