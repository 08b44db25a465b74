"""`mailscope --open FILE`: a saved case (a real lab check's report) reopens in the console with its transcript, token
and diagnosis as saved, judged at its saved time even a year later; a file that is no case ends with exit 2 and one
clear line before any UI starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tui.app import MailscopeApp
from tui.session import Target
from widgets.token import TokenInspector

MAILSCOPE = Path(sys.executable).with_name("mailscope")
YEAR = 365 * 24 * 3600


@pytest.fixture(scope="module")
def healthy_case(tmp_path_factory) -> tuple[Path, dict]:
    """`mailscope check --lab ms-healthy --json`: the case file format, from a real lab session."""
    path = tmp_path_factory.mktemp("case") / "healthy.json"
    done = subprocess.run([str(MAILSCOPE), "check", "--lab", "ms-healthy", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    path.write_text(done.stdout)
    return path, json.loads(done.stdout)


async def test_a_saved_case_reopens_as_it_was_a_year_later(tmp_path, healthy_case):
    path, saved = healthy_case
    exp = saved["token"]["claims"]["exp"]
    app = MailscopeApp(Target(case=str(path)), run_at_start=True, clock=lambda: exp + YEAR, export_dir=tmp_path, flush_hz=10)
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.outcome is not None and not app.running:
                break
        await pilot.pause(0.2)
        assert [line.text for line in app.transcript.lines] == [line["text"] for line in saved["transcript"]]
        assert [f.id for f in app.diagnosis_pane.diagnosis.findings] == [f["id"] for f in saved["findings"]]
        assert "ms_token_expired" not in {f.id for f in app.diagnosis_pane.diagnosis.findings}  # not re-judged at the clock
        assert app.outcome.kind == saved["outcome"]["kind"] and "case: healthy.json" in str(app.status[0])
        await pilot.press("t")
        await pilot.pause()
        inspector = app.screen.query_one(TokenInspector)
        assert inspector.token.claims["aud"] == saved["token"]["claims"]["aud"]
        assert not any(str(row[1]).startswith("EXPIRED") for row in [inspector.query_one("#claims").get_row("exp")])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a case file: invalid JSON"),
        ('{"schema": "mailscope.audit-summary/1"}', "not a case"),
        (None, "no such file"),
    ],
)
def test_a_file_that_is_no_case_ends_before_the_console_starts(tmp_path, content, message):
    path = tmp_path / "case.json"
    if content is not None:
        path.write_text(content)
    done = subprocess.run([str(MAILSCOPE), "--open", str(path)], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    last = done.stderr.splitlines()[-1]  # after the usage, as every start-up check of the console
    assert last.startswith("mailscope: error: --open: ") and message in last
