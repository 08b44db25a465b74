"""The command palette, hardened against two Textual 8.2.8 crashes found by the monkey test
(tests/tui/test_monkey.py): page keys before its list is laid out raise KeyError, and Esc followed by a pending
Enter dismissed it twice, popping the view underneath."""

from __future__ import annotations

import contextlib

from textual.command import CommandPalette

from tui.dialog import DismissOnce


class SafeCommandPalette(DismissOnce, CommandPalette):
    def _action_command_list(self, action: str) -> None:
        with contextlib.suppress(KeyError):  # the list has no line map yet: nothing to page through
            super()._action_command_list(action)
