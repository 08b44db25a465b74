"""The console's Audit view on real audits of the lab fleet: the summary grouped by finding (counts as `mailscope audit`
prints them, owner, the fix once), any mailbox's transcript and diagnosis in the panes beside it, the state kept when
the view is left and entered again; `--lab-fleet N` typed in the view audits a fleet without blocking the console; a
foreign line, a cut last line, a FIFO or a missing file is a message, never a crash or a hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import OptionList

from tests.tui.test_console_exercise import screen_text
from tui.app import MailscopeApp
from tui.audit_view import AuditView
from tui.session import Target

SIZE = (140, 45)
MAILSCOPE = Path(sys.executable).with_name("mailscope")


@pytest.fixture(scope="module")
def audit_output(tmp_path_factory) -> tuple[Path, dict]:
    """A real audit of a 24-mailbox lab fleet, by the command line, and the summary it printed."""
    output = tmp_path_factory.mktemp("audit") / "fleet.audit.jsonl"
    done = subprocess.run(
        [str(MAILSCOPE), "audit", "--lab-fleet", "24", "-o", str(output), "--json"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr  # the fleet has failing mailboxes
    return output, json.loads(done.stdout)


def make_app(tmp_path: Path) -> MailscopeApp:
    return MailscopeApp(Target(scenario="ms-seed-plain"), export_dir=tmp_path / "reports", flush_hz=10)


async def open_audit(app: MailscopeApp, pilot, source: str, timeout: float = 60) -> AuditView:
    await pilot.press("a")
    await pilot.pause()
    view = app.screen.query_one(AuditView)
    await pilot.press(*source, "enter")
    for _ in range(int(timeout * 20)):
        await pilot.pause(0.05)
        if view.loaded is not None:
            await pilot.pause(0.1)
            return view
    raise AssertionError(f"the audit did not open:\n{screen_text(app)}")


async def drill(app: MailscopeApp, pilot, view: AuditView) -> None:
    """Enter on the highlighted group, then wait for the first mailbox's transcript."""
    await pilot.press("enter")
    for _ in range(100):
        await pilot.pause(0.05)
        if view.transcript.lines:
            return
    raise AssertionError(f"no mailbox transcript:\n{screen_text(app)}")


async def test_the_summary_matches_the_command_line_and_any_mailbox_drills_down(tmp_path, audit_output):
    output, printed = audit_output
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_audit(app, pilot, str(output))
        assert view.loaded.summary.counts() == printed["counts"]
        screen = screen_text(app)
        assert f"{printed['total']} mailboxes: {printed['healthy']} healthy, {printed['failed']} failed" in screen
        first = printed["groups"][0]
        assert first["id"] in screen and first["fixes"][0]["steps"][0].split()[0] in screen
        await drill(app, pilot, view)
        mailbox = view.mailbox
        assert (mailbox.row, mailbox.user) == (first["mailboxes"][0]["row"], first["mailboxes"][0]["user"])
        assert view.diagnosis_pane.diagnosis.findings[0].id == first["id"]
        assert f"row {mailbox.row} {mailbox.user}" in screen_text(app)
        await pilot.press("down")  # the next mailbox of the group
        for _ in range(100):
            await pilot.pause(0.05)
            if view.mailbox != mailbox and view.transcript.border_title.endswith(view.mailbox.user):
                break
        assert view.mailbox == view.group.mailboxes[1]
        shown = (view.group, view.mailbox, view.transcript.lines)
        for key in ("escape", "g", "t", "a", "l", "escape", "a"):  # leave and enter again, in any order
            await pilot.press(key)
            await pilot.pause()
        assert app.current_mode == "audit" and app.screen.query_one(AuditView) is view
        assert (view.group, view.mailbox, view.transcript.lines) == shown
        assert view.query_one("#audit-mailboxes", OptionList).has_focus


async def test_a_lab_fleet_audited_from_the_view(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_audit(app, pilot, "--lab-fleet 12")
        summary = view.loaded.summary
        assert summary.total == 12 and summary.failed and Path(view.loaded.path).parent == tmp_path / "reports"
        from mailscope.lab.fleet import make_fleet

        assert summary.counts() == make_fleet(12, 0).truth()["counts"]


async def test_foreign_and_cut_lines_are_counted_and_skipped(tmp_path, audit_output):
    output, printed = audit_output
    edited = tmp_path / "edited.jsonl"
    text = output.read_text()
    edited.write_text('{"not": "an audit record"}\nnot json at all\n' + text + text.splitlines()[0][:200])
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_audit(app, pilot, str(edited))
        assert view.loaded.summary.counts() == printed["counts"] and view.loaded.skipped == 3
        assert "3 line(s) were no audit record" in screen_text(app)


@pytest.mark.parametrize("kind", ["missing", "fifo", "directory"])
async def test_an_unreadable_source_is_a_message(tmp_path, kind):
    path = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*str(path), "enter")
        for _ in range(100):
            await pilot.pause(0.05)
            if "cannot read" in screen_text(app):
                break
        screen = screen_text(app)
        assert f"cannot read {path}" in screen and app.is_running
        assert {"missing": "No such file", "fifo": "FIFO", "directory": "directory"}[kind] in screen


async def test_presenter_mode_masks_the_mailboxes_of_an_audit(tmp_path, audit_output):
    """On a shared screen an audit's mailbox names are identifiers like any other: masked in the lists, the transcript's
    title and the drilled-in session while presenter mode is on, shown again when it is off."""
    output, printed = audit_output
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_audit(app, pilot, str(output))
        await drill(app, pilot, view)
        user = view.mailbox.user
        assert user in screen_text(app)
        await pilot.press("p")
        await pilot.pause(0.2)
        assert app.presenter and user not in screen_text(app)
        assert user.split("@")[0] not in view.transcript.border_title
        await pilot.press("p")
        await pilot.pause(0.2)
        assert not app.presenter and user in screen_text(app)
