"""Fixes for Textual 8.2.8 bugs the console runs into (textual is pinned in pyproject.toml: re-check these
when the pin moves). Found by the monkey test (tests/tui/test_monkey.py).

Page up/down on any OptionList before it has been laid out (a list squeezed to no rows at 60x20, the command
palette right after ctrl+p, a Select's overlay right after it opens) raises KeyError from its empty line map
and ends the app. Every OptionList is affected, Textual's own included, so the fix is on the class: a page
with nothing laid out moves to the first or last option instead.
"""

from __future__ import annotations

from textual.widgets import OptionList

_move_page = OptionList._move_page


def _safe_move_page(self: OptionList, direction: int) -> None:
    try:
        _move_page(self, direction)  # type: ignore[arg-type]
    except KeyError:
        if direction < 0:
            self.action_first()
        else:
            self.action_last()


def apply() -> None:
    """Idempotent: the console calls it once per app."""
    OptionList._move_page = _safe_move_page  # type: ignore[method-assign]
