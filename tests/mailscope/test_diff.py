"""mailscope.diff: a failing and a fixed run of one mailbox differ in what the fix changed (scope, audience, outcome,
findings); two runs of the same failure differ in nothing the diagnosis reads."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from mailscope.diff import diff_records
from mailscope.record import SessionRecord

sys.path.insert(0, str(Path(__file__).parent))
from test_casefile import lab_record  # noqa: E402


@pytest.fixture(scope="module")
def runs() -> dict[str, SessionRecord]:
    return {name: lab_record(name) for name in ("ms-graph-scope", "ms-healthy", "ms-wrong-user", "ms-pop-one-line", "ms-pop-healthy")}


def by_name(changes: tuple) -> dict:
    return {change.name: change for change in changes}


def test_the_fix_shows_the_scope_the_audience_the_outcome_and_the_findings(runs: dict[str, SessionRecord]) -> None:
    result = diff_records(runs["ms-graph-scope"], runs["ms-healthy"])
    assert result.same_mailbox and result.outcome_changed and result.diagnosis_changed
    assert (result.before.outcome, result.before.exit_code) == ("authentication_failed", 1)
    assert (result.after.outcome, result.after.exit_code) == ("authenticated_mailbox_reachable", 0)
    settings, token, session = by_name(result.settings), by_name(result.token), by_name(result.session)
    assert settings["scopes"].removed == ("https://graph.microsoft.com/IMAP.AccessAsUser.All",)
    assert settings["scopes"].added == ("https://outlook.office.com/IMAP.AccessAsUser.All",)
    assert (token["aud"].before, token["aud"].after) == ("https://graph.microsoft.com", "https://outlook.office.com")
    assert "scp" not in token and "upn" not in token and "tid" not in token  # the same user, tenant and delegated scope name
    assert "valid 60 min more when used" in token["exp"].before
    assert (session["auth_result"].before, session["auth_result"].after) == ("NO", "OK")
    assert [(f.status, f.id) for f in result.findings] == [("resolved", "ms_graph_scope_or_audience"), ("appeared", "session_healthy")]
    as_json = result.to_json()
    assert as_json["schema"] == "mailscope.diff/1" and as_json["before"]["judged_at_source"] == "clock"


def test_a_session_compared_with_itself_has_no_change(runs: dict[str, SessionRecord]) -> None:
    result = diff_records(runs["ms-graph-scope"], runs["ms-graph-scope"])
    assert not (result.settings or result.token or result.session or result.diagnosis_changed)
    assert [f.status for f in result.findings] == ["still"]


def test_another_mailbox_is_said_and_a_pop3_sasl_form_change_is_shown(runs: dict[str, SessionRecord]) -> None:
    other = runs["ms-wrong-user"]
    moved = SessionRecord(dataclasses.replace(other.settings, user="mallory@contoso.com"))  # type: ignore[arg-type]
    moved.evidence = other.evidence
    assert not diff_records(runs["ms-healthy"], moved).same_mailbox
    pop = diff_records(runs["ms-pop-one-line"], runs["ms-pop-healthy"])
    assert pop.same_mailbox and by_name(pop.session)["SASL form"].before == "initial response on the AUTH line"
    assert by_name(pop.session)["SASL form"].after == "two-step"
