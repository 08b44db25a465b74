"""The console's Exercise view in a real terminal (tmux), as `mailscope train --scenario ms-graph-scope` runs it: the
transcript and the token are on screen, the cause is nowhere (neither its id nor its title) until the trainee answers;
a right and a wrong answer both end in the reveal and a line in the results file. Fails, never skips, when tmux is
missing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mailscope.diagnosis.catalogue import CATALOGUE
from mailscope.training.causes import CAUSES

pytestmark = pytest.mark.tmux

CAUSE = "ms_graph_scope_or_audience"
HIDDEN = (CAUSE, CATALOGUE[CAUSE].title, "ms-graph-scope", "token requested for Microsoft Graph")


@pytest.mark.parametrize("right", [True, False])
def test_exercise_view_in_a_terminal(tmux, tmp_path: Path, right: bool) -> None:  # noqa: ANN001 - tests/tui/conftest.py's Tmux
    pane = tmux.new_session("exercise", tmux.mailscope, 160, 50)
    pane.wait_for("press r to run")
    pane.keys("g")
    pane.wait_for("Enter draws a scenario at random")
    pane.type("ms-graph-scope")
    pane.keys("Enter")
    pane.wait_for("What is the cause?", timeout=30)
    for shown in ("NO AUTHENTICATE failed.", "aud: https://graph.microsoft.com"):  # a capture can catch a frame half drawn
        screen = pane.wait_for(shown)
    assert "What is the cause?" in screen and "NO AUTHENTICATE failed." in screen and "aud: https://graph.microsoft.com" in screen
    for hidden in HIDDEN:
        assert hidden not in screen, f"{hidden!r} on screen before the answer:\n{screen}"
    choice = CAUSES.causes[CAUSE].choice
    [number] = re.findall(rf"(\d)\. {re.escape(choice[:30])}", screen)
    pane.keys(number if right else ("2" if number == "1" else "1"))
    screen = pane.wait_for("Who must fix it?")
    assert not any(hidden in screen for hidden in HIDDEN), screen
    pane.keys("1")
    screen = pane.wait_for("Which fix?")
    assert not any(hidden in screen for hidden in HIDDEN), screen
    pane.keys("1")
    screen = pane.wait_for("result appended to", timeout=20)
    assert "== Reveal:" in screen and CAUSE in screen
    assert ("right: score" if right else "wrong: score 0") in screen
    [line] = [json.loads(row) for row in (tmp_path / ".local/share/mailscope/training/results.jsonl").read_text().splitlines()]
    assert (line["scenario"], line["correct"]["cause"]) == ("ms-graph-scope", right)
    pane.keys("q")
    assert "EXIT=0" in pane.wait_for("EXIT=")
