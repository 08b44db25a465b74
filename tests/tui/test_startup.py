"""Fast startup: opening the console imports neither the heavy sign-in libraries nor the lab or the probe;
they load inside the session that needs them (figures: benchmarks/first_paint.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"msal", "google", "aioimaplib", "requests", "jwt", "cryptography", "mailscope.lab", "mailscope.probe", "mailscope.redact"}


def test_opening_the_console_imports_no_heavy_module():
    script = (
        "import sys, tui.cli, tui.console, tui.app\n"
        f"heavy = {sorted(HEAVY)!r}\n"
        "print(sorted(m for m in sys.modules if any(m == h or m.startswith(h + '.') for h in heavy)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


async def test_a_view_shown_for_the_first_time_does_not_parse_every_stylesheet_again(kit, monkeypatch):
    """Textual re-parsed every stylesheet from scratch each time a view was first shown, with the same sources and
    variables (tui/textual_fixes.py): a third of the time from import to the first frame. Only a change re-parses:
    the theme, after which every view is restyled, the ones not shown included."""
    from textual.css.stylesheet import Stylesheet

    reparses: list[int] = []  # a re-parse builds a fresh Stylesheet from every source
    init = Stylesheet.__init__
    monkeypatch.setattr(Stylesheet, "__init__", lambda sheet, *a, **k: reparses.append(1) or init(sheet, *a, **k))
    app = kit.make_app()
    reparses.clear()  # the app's own stylesheet
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert reparses == []  # the session view, the first frame
        for key in ("t", "escape", "s", "escape", "l"):
            await pilot.press(key)
            await pilot.pause()
        assert reparses == [] and app.current_view == "lab"
        status = app.view_screen("session").query_one("#status-bar")
        dark = status.styles.background
        await pilot.press("d")  # the theme: its variables change
        await pilot.pause()
        assert reparses
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is status.screen and status.styles.background != dark
        assert status.styles.background == app.view_screen("lab").query_one("#status-bar").styles.background
