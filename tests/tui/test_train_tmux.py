"""`mailscope train --scenario ms-graph-scope` in a real terminal (tmux): the transcript and the token are on screen,
the cause is nowhere (neither its id nor its title) until the trainee answers; a right and a wrong answer both end in
the reveal and a line in the results file. Fails, never skips, when tmux is missing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mailscope.diagnosis.catalogue import CATALOGUE
from mailscope.findings import Owner

pytestmark = pytest.mark.tmux

TITLE = CATALOGUE["ms_graph_scope_or_audience"].title


def everything(pane) -> str:  # noqa: ANN001 - tests/tui/conftest.py's Pane (conftest cannot be imported)
    """The whole pane, scrollback included."""
    return pane.tmux.run("capture-pane", "-t", pane.target, "-p", "-J", "-S", "-")


def option_number(screen: str, text: str) -> str:
    found = re.findall(rf"^\s+(\d)\. {re.escape(text)}", screen, re.MULTILINE)
    assert found, f"{text!r} is not offered:\n{screen}"
    return found[-1]


def answer(pane, cause_text: str) -> str:  # noqa: ANN001
    screen = pane.wait_for("Your choice (1-5", timeout=30)
    before = everything(pane)
    assert "NO AUTHENTICATE failed." in before and "aud: https://graph.microsoft.com" in before
    for hidden in ("ms_graph_scope_or_audience", TITLE, "ms-graph-scope", "token requested for Microsoft Graph"):
        assert hidden not in before, hidden
    pane.keys(option_number(before, cause_text), "Enter")
    pane.wait_for(f"Your choice (1-{len(Owner)}")
    pane.keys(str(list(Owner).index(Owner.CLIENT_CONFIGURATION) + 1), "Enter")
    screen = pane.wait_for("Which fix?")
    pane.wait_for("Your choice (1-")
    pane.keys(option_number(everything(pane), "Request https://outlook.office.com/IMAP.AccessAsUser.All"), "Enter")
    pane.wait_for("Result appended to", timeout=20)
    return everything(pane) + screen


@pytest.mark.parametrize(
    ("cause_text", "verdict"),
    [
        ("The token is for Microsoft Graph, not for Exchange Online", "right"),
        ("The scope was typed without its resource, so Entra picked one", "wrong"),
    ],
)
def test_train_in_a_terminal(tmux, tmp_path: Path, cause_text: str, verdict: str) -> None:  # noqa: ANN001
    results = tmp_path / "results.jsonl"
    # seed 1: the bare-scope cause is among the five offered
    pane = tmux.new_session("train", f"{tmux.mailscope} train --scenario ms-graph-scope --seed 1 --trainee tmux --results {results}",
                            140, 50)
    screen = answer(pane, cause_text)
    assert (
        f"Your cause: {'ms_graph_scope_or_audience' if verdict == 'right' else 'ms_bare_scope_defaults_to_graph'}: {verdict}" in screen
    )
    assert f"The cause: {TITLE} [ms_graph_scope_or_audience]" in screen and "Why the other choices were wrong:" in screen
    assert f"EXIT={0 if verdict == 'right' else 1}" in pane.wait_for("EXIT=")
    [line] = [json.loads(row) for row in results.read_text().splitlines()]
    assert (line["scenario"], line["trainee"], line["score"]) == ("ms-graph-scope", "tmux", 1.0 if verdict == "right" else 0.0)
