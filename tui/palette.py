"""The command palette, hardened against Textual 8.2.8 crashes found by the monkey test (tests/tui/test_monkey.py):
Esc followed by a pending Enter dismissed it twice, popping the view underneath; and keys typed after a choice
closed it started a command search that then queried the palette's list after the list was gone."""

from __future__ import annotations

import contextlib
from typing import Any

from textual.await_complete import AwaitComplete
from textual.command import CommandPalette
from textual.css.query import NoMatches

from tui.dialog import DismissOnce


class SafeCommandPalette(DismissOnce, CommandPalette):
    def dismiss(self, result: Any = None) -> AwaitComplete:
        self.workers.cancel_node(self)  # the search must not outlive the palette
        return super().dismiss(result)

    def _gather_commands(self, search_value: str) -> None:  # type: ignore[override]
        if not self._dismissing:  # keys typed after the choice, on their way to a closing palette
            super()._gather_commands(search_value)

    def _watch__list_visible(self) -> None:
        with contextlib.suppress(NoMatches):  # a timer firing while the palette is taken down
            super()._watch__list_visible()

    async def _watch__show_busy(self) -> None:
        with contextlib.suppress(NoMatches):
            await super()._watch__show_busy()
