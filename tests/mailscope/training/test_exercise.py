"""The exercise engine over the real lab (real msal / google-auth tokens, the real probe and diagnosis): what the
trainee sees names no cause, hints cost, answers score, the reveal explains, results are recorded, no secret shows."""

from __future__ import annotations

import dataclasses
import json
import re
import stat
from pathlib import Path

import pytest

from mailscope.diagnosis import make_diagnoser
from mailscope.diagnosis.catalogue import CATALOGUE
from mailscope.events import DiagnosisUpdated, LineAdded, SessionFinished
from mailscope.lab.scenarios import scenario
from mailscope.training.conceal import HIDDEN, Concealer
from mailscope.training.exercise import Exercise
from mailscope.training.results import append, default_results_file, result_json, result_line
from mailscope.training.scoring import Answer
from providers.registry import provider_rules, token_source_for

SECRET_SHAPES = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}|ya29\.[\w-]{8,}|1//0[\w-]{8,}|GOCSPX-[\w-]{8,}|lab~[\w-]{8,}|Pw-[\w-]{8,}")


class CapturingSources:
    """token_source_for, keeping the secret each source hands out (to prove it never shows anywhere)."""

    def __init__(self) -> None:
        self.secrets: list[str] = []

    def __call__(self, settings):  # type: ignore[no-untyped-def]
        source = token_source_for(settings)
        return None if source is None else Capturing(source, self.secrets)


@dataclasses.dataclass
class Capturing:
    source: object
    secrets: list[str]

    async def acquire(self, record):  # type: ignore[no-untyped-def]
        credential = await self.source.acquire(record)  # type: ignore[attr-defined]
        self.secrets.append(credential.secret.reveal())
        return credential


async def run_exercise(scenario_id: str, seed: int = 1, sources: CapturingSources | None = None) -> Exercise:
    exercise = Exercise(scenario(scenario_id), seed=seed)
    await exercise.run(sources or token_source_for, make_diagnoser(provider_rules()))
    return exercise


def visible_text(exercise: Exercise) -> str:
    shown = exercise.presented
    parts = [shown.heading, *(line.text for line in shown.lines), *(a for line in shown.lines for a in line.annotations)]
    parts += [
        shown.outcome.summary if shown.outcome else "",
        json.dumps(dataclasses.asdict(shown.token), default=str) if shown.token else "",
    ]
    parts += [option.text for option in exercise.form.causes] + [option.text for option in exercise.form.fixes]
    return "\n".join(parts)


def assert_nothing_names_the_cause(exercise: Exercise) -> None:
    text = visible_text(exercise)
    s = exercise.scenario
    for secret in (s.id, s.title, s.teaching, *CATALOGUE, *(e.title for e in CATALOGUE.values())):
        assert not re.search(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", text), secret


@pytest.mark.parametrize(
    "scenario_id",
    [
        "ms-graph-scope",
        "ms-wrong-user",
        "ms-consent-missing",
        "google-narrow-scope",
        "google-sa-without-dwd",
        "ms-no-oauth-before-starttls",
        "google-healthy",
    ],
)
async def test_what_the_trainee_sees_names_no_cause(scenario_id: str) -> None:
    exercise = await run_exercise(scenario_id)
    assert_nothing_names_the_cause(exercise)
    shown = exercise.presented
    assert shown.outcome is not None and shown.outcome.kind is exercise.scenario.expected_outcome
    assert shown.lines[0].text.startswith("exercise: ") and HIDDEN not in shown.lines[0].text
    assert exercise.record is not None and exercise.record.diagnosis.findings  # diagnosed, only not shown


async def test_the_session_is_all_there_only_concealed() -> None:
    exercise = await run_exercise("ms-graph-scope")
    shown = exercise.presented
    assert shown.token is not None and shown.token.claims["aud"] == "https://graph.microsoft.com"
    assert shown.settings is not None and shown.settings.scopes == ("https://graph.microsoft.com/IMAP.AccessAsUser.All",)
    assert any(line.text.endswith("NO AUTHENTICATE failed.") for line in shown.lines)
    assert [line.seq for line in shown.lines] == [line.seq for line in exercise.record.lines]  # type: ignore[union-attr]


async def test_live_events_are_concealed_and_carry_no_diagnosis() -> None:
    exercise = Exercise(scenario("ms-wrong-user"), seed=3)
    events: list = []
    exercise.subscribe(events.append)
    await exercise.run(token_source_for, make_diagnoser(provider_rules()))
    assert not [e for e in events if isinstance(e, DiagnosisUpdated)]
    lines = [e.line for e in events if isinstance(e, LineAdded)]
    assert lines and all("ms-wrong-user" not in line.text and "bob's mailbox" not in line.text for line in lines)
    finished = [e for e in events if isinstance(e, SessionFinished)]
    assert len(finished) == 1 and finished[0].outcome.kind.value == "authenticated_but_mailbox_refused"


def test_the_concealer_hides_ids_titles_and_conclusions() -> None:
    concealer = Concealer(scenario("ms-graph-scope"))
    text = (
        "lab scenario ms-graph-scope: Exchange Online: token requested for Microsoft Graph; "
        "[ms_graph_scope_or_audience] Token was issued for Microsoft Graph (or another resource), not Exchange Online; "
        "/tmp/mailscope-lab-ms-graph-scope-x1/ca.pem; ms_graph_scope_or_audience_x stays"
    )
    assert concealer.text(text) == (
        f"lab scenario {HIDDEN}: {HIDDEN}; [{HIDDEN}] {HIDDEN}; /tmp/mailscope-lab-{HIDDEN}-x1/ca.pem; ms_graph_scope_or_audience_x stays"
    )


async def test_hints_answers_and_the_reveal() -> None:
    exercise = await run_exercise("ms-graph-scope", seed=5)
    assert exercise.hints_left == 2 and exercise.hint_cost == 0
    assert exercise.take_hint().text == "Open the token: look at its aud claim."  # type: ignore[union-attr]
    assert exercise.hint_cost == 0.2 and exercise.hints_left == 1
    exercise.take_hint()
    assert exercise.take_hint() is None and exercise.hint_cost == pytest.approx(0.5)
    with pytest.raises(ValueError, match="has 2 hint"):
        exercise.take_hints(3)
    exercise.take_hints(1)

    right = exercise.answer(Answer("ms_graph_scope_or_audience", "Client-Configuration", "ms_graph_scope_or_audience"), trainee="sam")
    assert right.score.value == 0.8 and right.score.owner_right and right.score.fix_right and right.trainee == "sam"
    wrong = exercise.answer(Answer("ms_bare_scope_defaults_to_graph", "user"))
    assert wrong.score.value == 0 and not wrong.score.cause_right and wrong.score.owner_right is False
    reveal = wrong.reveal
    assert (reveal.finding_id, reveal.ranked_first, reveal.owner) == ("ms_graph_scope_or_audience",) * 2 + ("client configuration",)
    assert reveal.title == CATALOGUE["ms_graph_scope_or_audience"].title and reveal.teaching == exercise.scenario.teaching
    assert any(
        line.text.endswith("NO AUTHENTICATE failed.") and "refuses the sign-in" in line.explanation for line in reveal.decisive_lines
    )
    assert "claim aud: https://graph.microsoft.com" in reveal.evidence
    chosen = next(c for c in reveal.wrong_choices if c.chosen)
    assert chosen.id == "ms_bare_scope_defaults_to_graph" and "typed bare" in chosen.tell
    assert "setting scopes: https://graph.microsoft.com/IMAP.AccessAsUser.All" in chosen.here
    offered = {o.id for o in exercise.form.causes} - {"ms_graph_scope_or_audience"}
    assert {c.id for c in reveal.wrong_choices} == offered | {"ms_bare_scope_defaults_to_graph"}  # the choices, and the answer given


async def test_an_answer_outside_the_form_and_a_true_consequence_are_explained() -> None:
    exercise = await run_exercise("ms-wrong-user")
    result = exercise.answer(Answer("ms_authenticated_but_not_connected"))
    first = result.reveal.wrong_choices[0]
    assert first.chosen and first.id == "ms_authenticated_but_not_connected" and "consequence" in first.note
    with pytest.raises(ValueError, match="not a finding id"):
        exercise.answer(Answer("no_such_cause"))
    with pytest.raises(ValueError, match="owner 'nobody' is not one of"):
        exercise.answer(Answer("ms_user_mismatch_token_vs_login", "nobody"))


async def test_token_stage_and_healthy_exercises() -> None:
    consent = await run_exercise("ms-consent-missing")
    result = consent.answer(Answer("ms_consent_or_permission_missing", "tenant admin", "ms_consent_or_permission_missing"))
    assert result.score.value == 1 and result.right.owner == "tenant admin"
    assert any(item.startswith("token_response ") for item in result.reveal.evidence)
    healthy = await run_exercise("google-healthy")
    assert not healthy.form.asks_owner_and_fix and healthy.right == Answer("session_healthy")
    assert healthy.answer(Answer("session_healthy")).score.value == 1


def test_an_exercise_answers_only_after_it_ran() -> None:
    with pytest.raises(RuntimeError, match="has not run"):
        Exercise(scenario("ms-healthy"), seed=1).answer(Answer("session_healthy"))


async def test_results_file_and_no_secret_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_results_file() == tmp_path / "data" / "mailscope" / "training" / "results.jsonl"
    sources = CapturingSources()
    outputs = []
    for scenario_id, answer in (
        ("ms-graph-scope", "ms_token_expired"),
        ("google-narrow-scope", "google_scope_not_full_mail"),
        ("ms-app-missing-role", "ms_app_only_missing_role"),
        ("google-app-password-required", "xoauth2_string_malformed"),
    ):
        exercise = await run_exercise(scenario_id, sources=sources)
        result = exercise.answer(Answer(answer))
        append(default_results_file(), result_line(result))
        outputs += [visible_text(exercise), json.dumps(result_json(result))]
    lines = default_results_file().read_text().splitlines()
    assert [json.loads(line)["scenario"] for line in lines] == [
        "ms-graph-scope",
        "google-narrow-scope",
        "ms-app-missing-role",
        "google-app-password-required",
    ]
    assert [json.loads(line)["score"] for line in lines] == [0.0, 1.0, 1.0, 0.0]
    assert stat.S_IMODE(default_results_file().stat().st_mode) == 0o600
    assert len(sources.secrets) == 4
    everything = "\n".join(outputs) + "\n".join(lines)
    for secret in sources.secrets:
        assert secret not in everything
    assert not SECRET_SHAPES.findall(everything)
