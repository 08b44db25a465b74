"""End to end in a real terminal: `mailscope` in a tmux pane, the seed lab scenario run with a keystroke,
the finding read back from `capture-pane` (textual.md §3). Fails, never skips, when tmux is missing."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.tmux


@pytest.fixture
def pane(tmux):
    return tmux.new_session("e2e", tmux.mailscope, 120, 36)


def test_seed_scenario_diagnosed_in_a_real_terminal(pane, tmp_path):
    pane.wait_for("press r to run", 30)
    assert "lab: ms-seed-plain" in pane.screen()
    pane.keys("r")
    pane.wait_for("basic_auth_mechanism_used_when_disabled", 60)
    screen = pane.wait_for("NO AUTHENTICATE failed.", 10)
    assert "AUTHENTICATE PLAIN" in screen
    pane.keys("e")  # explain mode, for trainers
    pane.wait_for("the client says goodbye", 10)
    pane.resize(80, 24)  # still readable on a small terminal
    deadline = time.monotonic() + 10
    while max(len(line) for line in pane.screen().splitlines()) > 80 and time.monotonic() < deadline:
        time.sleep(0.1)
    screen = pane.wait_for("basic_auth_mechanism_used_when_disabled", 10)
    assert max(len(line) for line in screen.splitlines()) <= 80 and "Diagnosis" in screen
    pane.keys("C-s")  # export the redacted report from the keyboard
    pane.wait_for("Wrote", 10)
    # never into the current directory (often a checkout): $XDG_DATA_HOME/mailscope/reports, here under $HOME
    assert not list(tmp_path.glob("mailscope-report-*"))
    reports = sorted((tmp_path / ".local" / "share" / "mailscope" / "reports").glob("mailscope-report-*.json"))
    assert reports, "ctrl+s wrote no report"
    assert "basic_auth_mechanism_used_when_disabled" in reports[0].read_text()
    pane.keys("q")
    pane.wait_for("EXIT=0", 15)


def test_esc_then_a_key_at_once_is_both_keys(pane):
    """Esc and the next key within tmux's escape-time (500 ms by default) or the terminal's escape delay reach the
    console as one Alt+key: a person going back and on quickly must not lose both keys."""
    pane.wait_for("press r to run", 30)
    pane.keys("t")
    pane.wait_for("No token yet", 15)
    pane.keys("Escape", "s")  # one write: the console reads ESC s, i.e. Alt+s
    pane.wait_for("Preset", 15)  # back to the session, then the Settings view
    pane.keys("Escape", "q")
    pane.wait_for("EXIT=0", 15)
