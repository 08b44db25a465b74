"""The console toured in a real terminal (tmux) at 120x36 and 80x24: every view entered and left twice, in both
orders, state kept across visits, and a session run from each view. The first sequence is the issue's own:
`t esc s esc l esc t esc s esc r` once killed the app with a traceback. The Paste view (v) too. Fails, never skips, without tmux."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.tmux

# What only that view shows (capture-pane drops colours, so the highlighted tab cannot tell).
MARKERS = {"t": ("No token yet", "Kind "), "s": "Preset", "l": "emulated Exchange", "v": "ctrl+r diagnoses", "Escape": "Transcript"}


def visit(pane, key: str) -> str:
    pane.keys(key)
    return pane.wait_for(MARKERS[key], 15)


def tab(pane, times: int) -> None:
    """Focus moves are not visible in a plain capture: give each Tab the time a person would."""
    for _ in range(times):
        pane.keys("Tab")
        time.sleep(0.3)


def no_traceback(pane) -> str:
    screen = pane.screen()
    assert "Traceback" not in screen and "EXIT=" not in screen, screen
    return screen


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
def test_every_view_twice_in_both_orders_keeps_its_state_and_runs_from_each(tmux, size):
    pane = tmux.new_session("tour", tmux.mailscope, *size)
    pane.wait_for("press r to run", 30)

    # The sequence: views opened and left in any order, then r runs the seed scenario.
    for key in ("t", "Escape", "s", "Escape", "l", "Escape", "t", "Escape", "s", "Escape"):
        visit(pane, key)
        no_traceback(pane)
    pane.keys("r")
    pane.wait_for("basic_auth_mechanism_used_when_disabled ←", 60)
    assert "lab: ms-seed-plain" in no_traceback(pane)

    # Settings keeps what was typed: a host and a port nobody listens on.
    visit(pane, "s")
    tab(pane, 3)  # preset -> protocol -> security -> host
    pane.type("127.0.0.1")
    pane.wait_for("127.0.0.1", 10)
    tab(pane, 1)
    pane.keys("C-u")
    pane.wait_gone("993", 10)
    pane.type("1")
    visit(pane, "Escape")
    # The lab picker keeps its highlight: one down from the seed is ms-graph-scope.
    visit(pane, "l")
    pane.keys("Down")
    pane.wait_for("under Microsoft Graph", 10)
    visit(pane, "Escape")
    screen = visit(pane, "t")
    assert "password" in screen  # the seed session's credential (a password): the token view shows what is known
    visit(pane, "Escape")

    # Back through the views in the other order; each reopens as it was left and runs its own session.
    visit(pane, "l")
    pane.wait_for("under Microsoft Graph", 10)  # still highlighted
    pane.keys("r")  # the highlighted scenario, not the previously selected one
    pane.wait_for("lab: ms-graph-scope", 15)
    pane.wait_for("ms_graph_scope_or_audience ←", 60)  # the status line's cause (the picker lists the id too)
    no_traceback(pane)

    screen = visit(pane, "s")
    assert "127.0.0.1" in screen  # typed before, still there
    tab(pane, 2)  # port -> CA file -> the verification checkbox (r in a text field would type an r)
    pane.keys("r")
    pane.wait_for("imap://127.0.0.1:1", 15)
    pane.wait_for("refused", 30)
    no_traceback(pane)

    # The Paste view: a pasted server line, diagnosed with r (outside the text); it is still there on return.
    visit(pane, "v")
    pane.type("-ERR Protocol error. Connection is closed. 10")
    pane.wait_for("Connection is closed. 10", 10)
    tab(pane, 1)
    pane.keys("r")
    pane.wait_for("pop3_xoauth2_one_line_rejected_exchange", 30)  # a candidate: a lone line proves nothing
    visit(pane, "Escape")
    visit(pane, "l")
    screen = visit(pane, "v")
    assert "Connection is closed. 10" in screen and "pop3_xoauth2_one_line_rejected_exchange" in screen
    no_traceback(pane)

    screen = visit(pane, "t")
    pane.keys("r")  # from the token view: the session's target again
    pane.wait_for("imap://127.0.0.1:1", 15)
    visit(pane, "Escape")
    pane.wait_for("refused", 30)
    no_traceback(pane)
    pane.keys("q")  # at once after Esc: the terminal joins them into Alt+q, which the console reads as both keys
    pane.wait_for("EXIT=0", 15)
