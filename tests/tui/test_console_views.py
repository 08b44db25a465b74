"""Views, keys and modes: every view enters and leaves any number of times in any order with its state kept; one
command table drives the footer, the help screen, the palette and the user's keymap; presenter mode shows a badge
and masks every identifier on screen and in exports; the log switcher replays another session."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

from rich.console import Console
from textual.widgets import OptionList

from tui.app import MailscopeApp
from tui.audit_view import AuditView
from tui.help import HelpScreen, help_table
from tui.keys import COMMANDS
from tui.session import Target
from widgets.lab_picker import LabPicker
from widgets.paste import PasteView
from widgets.settings import SettingsPane
from widgets.token import TokenInspector

SIZE = (120, 36)
SAMPLES = Path(__file__).resolve().parents[1] / "mailscope" / "logs" / "samples"


def plain(renderable) -> str:
    console = Console(width=160, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


async def test_token_then_back_then_run_no_longer_crashes(kit):
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t", "escape", "r")  # once: NoMatches '#token-facts', a traceback and exit 0
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert app.is_running and app.outcome is not None
        await pilot.press("t")
        await pilot.pause()
        assert app.screen.query_one(TokenInspector).token is not None  # the view learnt the new token while closed


async def test_every_view_reopens_in_any_order_with_its_state(kit):
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        for key in ("s", "escape", "t", "escape", "l", "escape", "s", "t", "l", "s", "escape", "l", "t", "escape"):
            await pilot.press(key)
            await pilot.pause()
        expected = {"s": "settings", "t": "token", "l": "lab", "escape": "session"}
        await pilot.press("s")
        await pilot.pause()
        assert app.current_view == expected["s"]
        pane = app.screen.query_one(SettingsPane)
        pane.query_one("#host").value = "mail.example.net"
        await pilot.press("l")
        await pilot.pause()
        await pilot.press("down")
        highlighted = app.screen.query_one(LabPicker).highlighted_id
        for key in ("escape", "t", "s"):
            await pilot.press(key)
            await pilot.pause()
            assert app.current_view == expected[key]
        assert app.screen.query_one(SettingsPane) is pane and pane.query_one("#host").value == "mail.example.net"
        await pilot.press("l")
        await pilot.pause()
        assert app.screen.query_one(LabPicker).highlighted_id == highlighted
        assert app.screen.query_one("#scenarios", OptionList).has_focus


async def test_the_palette_opens_the_view_it_names_after_views_were_closed(kit):
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        for key in ("t", "escape", "s", "escape"):
            await pilot.press(key)
            await pilot.pause()
        for query, view in (("lab: pick", "lab"), ("token inspector", "token"), ("settings", "settings")):
            await pilot.press("ctrl+p")
            await pilot.pause(0.2)
            await pilot.press(*query)
            await pilot.pause(0.4)
            await pilot.press("enter")
            await pilot.pause(0.2)
            assert app.current_view == view, query  # once, the palette's Lab showed the Token view


async def test_help_lists_every_command_with_the_users_keys(kit, tmp_path, monkeypatch):
    app = kit.make_app(keymap={"run": "ctrl+r", "view_lab": "L"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        listing = " ".join(plain(help_table(app)).split())
        for command in COMMANDS:
            assert command.help in listing
        assert "^r Run what the view shows" in listing and "L Reproducible failure scenarios" in listing
        assert "Line down" in listing  # the transcript's own keys too
        await pilot.press("escape")
        await pilot.pause()
        assert "^r Run" in str(app.screen.query_one("KeyBar").render())  # the footer follows the keymap
        await pilot.press("L")
        await pilot.pause()
        assert app.current_view == "lab"
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_presenter_mode_shows_a_badge_on_every_view_and_exports_masked(kit, tmp_path):
    app = kit.make_app(export_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await kit.run_seed(app, pilot)
        await pilot.press("p")
        await pilot.pause()
        for key in ("t", "s", "l", "escape"):
            await pilot.press(key)
            await pilot.pause()
            assert "PRESENTER: identifiers masked" in str(app.screen.query_one("#status-bar").render()), key
        await pilot.press("ctrl+s")
        await pilot.pause()
        for path in tmp_path.iterdir():
            text = path.read_text()
            assert "alice@contoso.example" not in text and kit.JWT_CLAIMS["tid"] not in text and "<user:" in text, path.name
            if path.suffix == ".json":
                json.loads(text)  # still valid JSON
            else:
                assert text.startswith("> Exported in presenter mode")
        assert any("presenter mode" in str(n.message) for n in app._notifications)


async def test_exports_go_to_the_data_directory_by_default(kit, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await kit.run_seed(app, pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
    reports = tmp_path / "data" / "mailscope" / "reports"
    assert sorted(p.suffix for p in reports.iterdir()) == [".json", ".md"]
    assert not list(tmp_path.glob("mailscope-report-*"))


async def test_the_log_switcher_replays_another_session_of_the_log():
    app = MailscopeApp(Target(log=str(SAMPLES / "jira_threads_debug.log")))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert "#1" in str(app.screen.query_one("#status-bar").render())
        await pilot.press("n")
        for _ in range(50):
            await pilot.pause(0.05)
            if app.screen.query("#log-sessions"):
                break
        options = app.screen.query_one("#log-sessions", OptionList)
        assert options.option_count == 4
        await pilot.press("down", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert app.target.log_session == 2
        assert "log: jira_threads_debug.log #2" in str(app.screen.query_one("#status-bar").render())
        assert app.diagnosis_pane.diagnosis.top.id == "dns_failure"


async def test_wrap_toggles_with_w(kit):
    app = kit.make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await kit.run_seed(app, pilot)
        rows = app.transcript.row_count
        await pilot.press("w")
        await pilot.pause()
        assert app.transcript.wrap and app.transcript.row_count > rows
        await pilot.press("w")
        await pilot.pause()
        assert app.transcript.row_count == rows


async def test_page_keys_on_lists_not_laid_out_yet_never_end_the_app(kit):
    """Textual 8.2.8 raises KeyError for page up/down on an OptionList before its first layout (tui/textual_fixes.py):
    a Select's overlay right after it opens, the palette right after ctrl+p, a findings list squeezed to no rows."""
    app = kit.make_app()
    async with app.run_test(size=(60, 14)) as pilot:
        await kit.run_seed(app, pilot)
        await pilot.press("f", "pagedown", "pageup", "s", "down", "pagedown", "pageup", "escape", "escape",
                          "ctrl+p", "pagedown", "pageup", "escape")
        await pilot.pause()
        assert app.is_running and app.current_view == "session"


async def test_quitting_during_a_session_ends_cleanly(kit):
    """q while a session still emits lines and diagnoses: the app ends with exit code 0 (the session is cancelled with
    it; the teardown race the monkey found, flushes into removed panes, is guarded by MailscopeApp._panes_alive)."""
    import asyncio

    async def chatty(target, make_record):
        record = make_record(None)
        for i in range(10_000):
            record.info(f"line {i}")
            record.update_evidence(auth_text=f"step {i}")  # a new diagnosis each time: the flush updates the panes
            await asyncio.sleep(0.001)

    app = kit.make_app(chatty)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await pilot.pause(0.2)
        assert app.running
        await pilot.press("q")
    assert app.return_code == 0


async def test_alt_and_a_key_is_esc_then_that_key(kit):
    """tmux and terminals send Esc followed quickly by a key as Alt+key: nothing is bound to Alt, so it counts as both."""
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert app.current_view == "token"
        await pilot.press("alt+s")
        await pilot.pause()
        assert app.current_view == "settings"
        await pilot.press("alt+l")
        await pilot.pause()
        assert app.current_view == "lab"
        await pilot.press("alt+q")
        await pilot.pause()
    assert not app.is_running


async def test_a_view_being_built_takes_no_keys_and_shows_the_latest_state_once_built(kit):
    """The key-sequence test once caught a token arriving while the Token view was composing: NoMatches
    '#token-facts', a traceback. Here every step of each view's build is visited: a token, presenter mode and r
    arrive at each one (r on the views it acts on: elsewhere it runs the session's target, which is not the case
    here), nothing reaches a half-built pane, and the built view shows the state as last set."""
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await kit.run_seed(app, pilot)
        token = app.token
        assert token is not None
        outcome = app.outcome
        for view in ("token", "settings", "lab", "paste", "audit"):
            app.action_show_view(view)
            half_built = 0
            while app.built_view(view) is None:
                half_built += app.view_screen(view) is not None
                app._show_token(None if app.token is token else token)
                app.presenter = not app.presenter
                if view in ("settings", "lab", "paste"):
                    app.action_run()
                await asyncio.sleep(0)
            assert half_built, view  # the screen existed, unbuilt, at some step: the case this test is about
            await pilot.pause()
            screen = app.screen
            assert app.built_view(view) is screen and app.running is False and app.outcome is outcome, view
            if view == "token":
                inspector = screen.query_one(TokenInspector)
                assert inspector.token is app.token and inspector.presenter == app.presenter
                assert str(inspector.query_one("#token-facts").render()).startswith(
                    "Kind" if app.token else "No token yet")
            elif view == "settings":
                assert screen.query_one(SettingsPane)._input("user").password == app.presenter
            elif view == "paste":
                assert screen.query_one(PasteView)._presenter == app.presenter
            elif view == "audit":
                assert screen.query_one(AuditView).presenter == app.presenter
            await pilot.press("escape")
            await pilot.pause()
