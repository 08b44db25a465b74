"""The command palette, hardened against two Textual 8.2.8 crashes found by the monkey test
(tests/tui/test_monkey.py): Esc followed by a pending Enter dismissed it twice, popping the view underneath; and
its command search, still running when a choice closed it, queried its list after the list was gone."""

from __future__ import annotations

from typing import Any

from textual.await_complete import AwaitComplete
from textual.command import CommandPalette

from tui.dialog import DismissOnce


class SafeCommandPalette(DismissOnce, CommandPalette):
    def dismiss(self, result: Any = None) -> AwaitComplete:
        self.workers.cancel_node(self)  # the search must not outlive the palette
        return super().dismiss(result)
