"""An OptionList whose page keys never raise.

Textual 8.2.8's OptionList builds its line map only once it has room on screen; page up/down on a list with no
visible rows (a findings list squeezed to nothing at 60x20) raises KeyError from that empty map and ends the app.
Found by the monkey test (tests/tui/test_monkey.py)."""

from __future__ import annotations

from textual.widgets import OptionList as _OptionList


class OptionList(_OptionList):
    def action_page_up(self) -> None:
        try:
            super().action_page_up()
        except KeyError:  # no line map yet: a page is the first option
            self.action_first()

    def action_page_down(self) -> None:
        try:
            super().action_page_down()
        except KeyError:
            self.action_last()
