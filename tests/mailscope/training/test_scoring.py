"""Scoring: one point for the right cause, less the hints; a wrong owner or fix costs a quarter when answered; a wrong
cause is 0; a healthy reference asks only the cause."""

from __future__ import annotations

import pytest

from mailscope.training.scoring import Answer, normalise_owner, score

RIGHT = Answer("ms_graph_scope_or_audience", "client configuration", "ms_graph_scope_or_audience")


@pytest.mark.parametrize(
    ("given", "hints", "asks", "expected"),
    [
        (Answer("ms_graph_scope_or_audience"), 0.0, True, (1.0, True, None, None)),
        (RIGHT, 0.0, True, (1.0, True, True, True)),
        (RIGHT, 0.5, True, (0.5, True, True, True)),
        (Answer("ms_graph_scope_or_audience", "tenant admin", "ms_graph_scope_or_audience"), 0.2, True, (0.55, True, False, True)),
        (Answer("ms_graph_scope_or_audience", "user", "ms_token_expired"), 0.0, True, (0.5, True, False, False)),
        (Answer("ms_graph_scope_or_audience", "user", "ms_token_expired"), 0.8, True, (0.0, True, False, False)),
        (
            Answer("ms_bare_scope_defaults_to_graph", "client configuration", "ms_graph_scope_or_audience"),
            0.0,
            True,
            (0.0, False, True, True),
        ),
        (Answer("session_healthy", "user"), 0.0, False, (0.0, False, None, None)),
    ],
)
def test_score(given: Answer, hints: float, asks: bool, expected: tuple) -> None:
    result = score(RIGHT, given, hints, asks_owner_and_fix=asks)
    assert (result.value, result.cause_right, result.owner_right, result.fix_right) == expected
    assert result.hint_cost == hints


def test_healthy_reference_scores_the_cause_only() -> None:
    assert score(Answer("session_healthy"), Answer("session_healthy", "network", "x"), 0.2, asks_owner_and_fix=False).value == 0.8


@pytest.mark.parametrize("text", ["tenant admin", "Tenant-Admin", "tenant_admin", "  TENANT   admin "])
def test_owner_spellings(text: str) -> None:
    assert normalise_owner(text) == "tenant admin"
