"""The console over the real lab: emulated servers, the lab identity provider, real msal / google-auth,
the real probe and diagnosis. No stand-ins."""

from __future__ import annotations

import pytest

from mailscope.lab.scenarios import scenario
from tui.app import MailscopeApp
from tui.session import Target
from widgets.token import TokenInspector


async def run_to_end(app: MailscopeApp, pilot, timeout: float = 30) -> None:
    await pilot.press("r")
    for _ in range(int(timeout * 10)):
        await pilot.pause(0.1)
        if not app.running and app.outcome is not None:
            return
    raise AssertionError(f"the session did not finish within {timeout}s")


@pytest.mark.parametrize("scenario_id", ["ms-seed-plain", "ms-healthy", "ms-graph-scope", "google-narrow-scope"])
async def test_lab_scenario_runs_from_the_console_and_ranks_the_expected_finding(scenario_id):
    expected = scenario(scenario_id)
    app = MailscopeApp(Target(scenario=scenario_id))
    async with app.run_test(size=(120, 36)) as pilot:
        await run_to_end(app, pilot)
        assert app.outcome.kind is expected.expected_outcome
        top = app.diagnosis_pane.diagnosis.top
        if expected.expected_finding:
            assert top.id == expected.expected_finding
            assert expected.expected_finding in str(app.main_screen.query_one("#status-bar").render())
        for text in expected.wire:
            assert any(text in line for line in app.transcript.rendered_texts()), text


async def test_graph_scope_finding_highlights_the_audience_claim():
    app = MailscopeApp(Target(scenario="ms-graph-scope"))
    async with app.run_test(size=(120, 36)) as pilot:
        await run_to_end(app, pilot)
        await pilot.press("f", "t")
        await pilot.pause()
        assert "aud" in app.screen.query_one(TokenInspector).highlighted_claims


async def test_settings_run_a_live_check_and_a_refused_connection_becomes_a_finding():
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = MailscopeApp(Target(scenario="ms-seed-plain"))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("s")
        pane = app.screen.query_one("#settings")
        pane.query_one("#host").value = "127.0.0.1"
        pane.query_one("#port").value = str(port)
        pane.query_one("#security").value = "plain"
        pane.query_one("#run").press()
        for _ in range(200):
            await pilot.pause(0.05)
            if app.outcome is not None:
                break
        assert app.screen is app.main_screen
        assert app.outcome.kind == "connection_fault"
        assert app.target.describe() == f"imap://127.0.0.1:{port}"
        assert any("refused" in f.id or "refused" in f.explanation.lower() for f in app.diagnosis_pane.diagnosis.findings)
