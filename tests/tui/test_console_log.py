"""The console replaying a client's debug log (mailscope.logs): the Jira seed log gives the seed finding."""

from __future__ import annotations

from pathlib import Path

from tui.app import MailscopeApp
from tui.session import Target

SAMPLES = Path(__file__).resolve().parents[1] / "mailscope" / "logs" / "samples"


async def test_the_jira_seed_log_replays_into_the_console_with_the_seed_finding():
    app = MailscopeApp(Target(log=str(SAMPLES / "jira_seed.log")))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert app.diagnosis_pane.diagnosis.top.id == "basic_auth_mechanism_used_when_disabled"
        texts = app.transcript.rendered_texts()
        assert any("NO AUTHENTICATE failed." in t for t in texts)
        assert "log: jira_seed.log #1" in str(app.main_screen.query_one("#status-bar").render())


async def test_asking_for_a_session_the_log_lacks_says_how_many_it_has():
    app = MailscopeApp(Target(log=str(SAMPLES / "jira_seed.log"), log_session=99))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        status = str(app.main_screen.query_one("#status-bar").render())
        assert "session(s), not 99" in status
