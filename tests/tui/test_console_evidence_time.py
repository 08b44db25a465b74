"""Issue 16 in the console: a replayed log shows the time it is judged at (the diagnosis pane's checks) and the token
pane reads the token's times against it, not against today's clock."""

from __future__ import annotations

import sys
from pathlib import Path

from textual.widgets import DataTable

from tui.app import MailscopeApp
from tui.session import Target
from widgets.token import TokenInspector

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mailscope" / "logs"))
from timed_logs import timed_logs  # noqa: E402


async def test_a_replayed_log_is_judged_at_its_own_time_in_the_console(tmp_path: Path) -> None:
    log = next(log for log in timed_logs() if log.name == "jira")
    path = tmp_path / "atlassian-jira-incoming-mail.log"
    path.write_text(log.text)
    app = MailscopeApp(Target(log=str(path)))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        diagnosis = app.diagnosis_pane.diagnosis
        assert diagnosis.top is not None and diagnosis.top.id == log.finding_id
        assert "ms_token_expired" not in {f.id for f in diagnosis.findings}
        checks = {c.name: c.detail for c in diagnosis.checks}
        assert checks["time of the evidence"].startswith("2026-11-28T08:00:00+00:00: the log's own timestamp")
        assert checks["expiry"].startswith("3599 s left when it was used (2026-11-28T08:00:00+00:00")
        await pilot.press("t")
        await pilot.pause()
        table = app.screen.query_one(TokenInspector).query_one("#claims", DataTable)
        exp = str(table.get_row("exp")[1])
        assert "2026-11-28 09:00:00Z" in exp and "EXPIRED" not in exp and "(in 59 min)" in exp
