"""The Paste view: pasted text → transcript + diagnosis of each session, nothing written to disk (its hook in the console:
tests/tui/test_console_paste.py)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import App, ComposeResult

from widgets.paste import PasteView

SMTP_DISABLED = ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit "
                 "https://aka.ms/smtp_auth_disabled for more information.")
TWO_SESSIONS = ("* OK The Microsoft Exchange IMAP4 service is ready.\nA1 NO AUTHENTICATE failed.\n"
                "* OK Gimap ready for requests from 192.0.2.7 x1\nA1 NO Lookup failed x1\n")


class Host(App):
    def compose(self) -> ComposeResult:
        yield PasteView()


async def paste_and_diagnose(pilot, view: PasteView, text: str) -> None:  # noqa: ANN001
    view.text_area.load_text(text)
    view.text_area.focus()
    await pilot.press("ctrl+r")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.1)


async def test_a_pasted_line_shows_its_transcript_and_diagnosis_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    before = set(os.listdir(tmp_path))
    app = Host()
    async with app.run_test(size=(120, 36)) as pilot:
        view = app.query_one(PasteView)
        await paste_and_diagnose(pilot, view, SMTP_DISABLED)
        assert view.result is not None and view.result.exit_code == 1
        assert view.diagnosis_pane.diagnosis.top.id == "ms_smtp_auth_disabled"
        assert any("5.7.139" in text for text in view.transcript.rendered_texts())
        assert "a cause found" in str(view.query_one("#paste-status").render())
    assert set(os.listdir(tmp_path)) == before


async def test_sessions_switch_and_candidates_are_marked() -> None:
    app = Host()
    async with app.run_test(size=(120, 36)) as pilot:
        view = app.query_one(PasteView)
        await paste_and_diagnose(pilot, view, TWO_SESSIONS)
        assert view.result is not None and view.result.summary.sessions == 2
        first = view.diagnosis_pane.diagnosis
        assert first.top.id == "ms_graph_scope_or_audience" and not first.top.confirmed
        view.transcript.focus()
        await pilot.press("right_square_bracket")
        await pilot.pause(0.1)
        assert view.index == 1 and view.diagnosis_pane.diagnosis.top.id == "google_account_lookup_failed"
        assert "session 2" in str(view.query_one("#paste-status").render())


async def test_nothing_found_says_so_and_clear_empties_the_view() -> None:
    app = Host()
    async with app.run_test(size=(120, 36)) as pilot:
        view = app.query_one(PasteView)
        await paste_and_diagnose(pilot, view, "just some words")
        assert "no mail session found" in str(view.query_one("#paste-status").render())
        await pilot.press("ctrl+l")
        assert view.text_area.text == "" and view.result is None
