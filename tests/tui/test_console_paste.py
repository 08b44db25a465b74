"""The console's hook to the Paste view (widgets/paste.py): the `v` key and the command palette open it; Esc goes back."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from tui.app import MailscopeApp
from widgets.paste import PasteView


async def test_the_console_opens_the_paste_view_with_v_and_from_the_palette(kit) -> None:  # noqa: ANN001
    app: MailscopeApp = kit.make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        assert "Paste: diagnose pasted text" in [c.title for c in app.get_system_commands(app.screen)]
        await pilot.press("v")
        await pilot.pause(0.2)
        view = app.screen.query_one(PasteView)
        assert app.focused is view.text_area
        view.text_area.load_text("-ERR Protocol error. Connection is closed. 10")
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert view.diagnosis_pane.diagnosis.top.id == "pop3_xoauth2_one_line_rejected_exchange"
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not app.screen.query(PasteView)


EXCHANGE_LINES = ("* OK The Microsoft Exchange IMAP4 service is ready.\n"
                  "A1 AUTHENTICATE XOAUTH2 dXNlcj1hbGljZUBjb250b3NvLmNvbQFhdXRoPUJlYXJlciB4AQE=\nA1 NO AUTHENTICATE failed.\n")


async def test_the_paste_view_reopens_with_its_text_and_results_and_follows_presenter_mode(kit) -> None:  # noqa: ANN001
    app: MailscopeApp = kit.make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("v")
        await pilot.pause(0.2)
        view = app.screen.query_one(PasteView)
        view.text_area.load_text(EXCHANGE_LINES)
        await pilot.press("tab")  # out of the text: r runs what the view shows, here the paste
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert app.current_view == "paste" and view.result is not None and view.transcript.lines
        top = view.diagnosis_pane.diagnosis.top
        assert top is not None and top.fix
        await pilot.press("f", "y")  # the paste's own findings and fix, not the session's
        await pilot.pause()
        assert app.current_view == "paste" and view.diagnosis_pane.findings_list.has_focus
        assert top.fix[0] in app.clipboard
        for key in ("escape", "t", "s", "l", "v", "escape", "v"):
            await pilot.press(key)
            await pilot.pause()
        assert app.screen.query_one(PasteView) is view and view.text_area.text == EXCHANGE_LINES
        assert view.diagnosis_pane.diagnosis.top == top and view.transcript.lines
        assert "alice@contoso.com" in app.export_screenshot()  # the decoded XOAUTH2 user, in the transcript
        await pilot.press("p")
        await pilot.pause()
        assert "alice@contoso.com" not in app.export_screenshot()
        assert "PRESENTER: identifiers masked" in str(app.screen.query_one("#status-bar").render())
        assert view.transcript.presenter and view.diagnosis_pane.presenter
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_view == "session"


HOSTILE = "* OK \x1b]0;PWNED\x07 \x1b[2JThe Microsoft Exchange IMAP4 service is ready. \x9b31m\r\nA1 NO AUTHENTICATE failed.\r\n"


async def test_a_pasted_escape_sequence_is_shown_escaped_never_sent_to_the_terminal(kit) -> None:  # noqa: ANN001
    """Found by the monkey test: a log's escape sequences, pasted into the Paste view or any text field (the filter,
    the palette, a setting), were stored and drawn raw."""
    app: MailscopeApp = kit.make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("v")
        await pilot.pause(0.2)
        view = app.screen.query_one(PasteView)
        app.post_message(events.Paste(HOSTILE))
        await pilot.pause(0.1)
        assert view.text_area.text.startswith("* OK \\e]0;PWNED\\x07 \\e[2JThe Microsoft")
        assert "\r" not in view.text_area.text and "\x1b" not in app.export_screenshot()
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert view.result is not None and view.result.summary.sessions == 1
        await pilot.press("escape", "slash")  # the filter: an Input
        await pilot.pause()
        app.post_message(events.Paste(HOSTILE))
        await pilot.pause(0.1)
        assert app.main_screen.query_one("#filter", Input).value.startswith("* OK \\e]0;PWNED\\x07")
        assert "\x1b" not in app.export_screenshot()
