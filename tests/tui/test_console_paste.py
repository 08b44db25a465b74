"""The console's hook to the Paste view (widgets/paste.py): the `v` key and the command palette open it; Esc goes back."""

from __future__ import annotations

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
