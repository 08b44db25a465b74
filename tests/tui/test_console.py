"""Pilot tests of the console's main interactions."""

from __future__ import annotations

import asyncio
import json

from textual.widgets import OptionList

from tui.prompts import DeviceCodeScreen, PasteBackScreen
from widgets.diagnosis import DiagnosisPane
from widgets.settings import SettingsPane
from widgets.token import TokenInspector

SIZE = (120, 36)


async def test_opens_on_the_seed_scenario_and_runs_it_with_one_key(kit):
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert "lab: ms-seed-plain" in str(app.query_one("#status-bar").render())
        await kit.run_seed(app, pilot)
        pane = app.query_one(DiagnosisPane)
        assert [f.id for f in pane.diagnosis.findings][0] == "basic_auth_mechanism_used_when_disabled"
        assert "basic_auth_mechanism_used_when_disabled" in str(app.query_one("#status-bar").render())
        texts = app.transcript.rendered_texts()
        assert any("AUTHENTICATE PLAIN" in t for t in texts)
        assert not any(kit.PASSWORD in t for t in texts)
        assert app.outcome is not None and app.outcome.exit_code == 1


async def test_selecting_a_finding_highlights_its_lines_and_claims(kit):
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await kit.run_seed(app, pilot)
        await pilot.press("f")
        assert app.transcript._highlighted == frozenset({6, 7})  # the AUTHENTICATE PLAIN line and the NO
        await pilot.press("down")
        await pilot.pause()
        assert app.transcript._highlighted == frozenset()
        await pilot.press("t")
        await pilot.pause()
        assert app.screen.query_one(TokenInspector).highlighted_claims == frozenset({"aud", "scp"})


async def test_selecting_a_line_names_the_findings_that_cite_it(kit):
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await kit.run_seed(app, pilot)
        app.transcript.focus()
        await pilot.press("end")
        await pilot.pause()
        assert app.transcript.selected_seq == 7
        detail = str(app.query_one("#line-detail").render())
        assert "cited by basic_auth_mechanism_used_when_disabled" in detail
        assert "refuses the sign-in" in detail
        assert "A2 NO AUTHENTICATE failed." in detail  # the whole line, however long
        assert app.main_screen.query_one("#transcript-column").border_subtitle.endswith("cited by basic_auth_mechanism_used_when_disabled")
        await pilot.press("home")
        await pilot.pause()
        assert "no finding cites it" in str(app.query_one("#line-detail").render())


async def test_explain_mode_adds_plain_words_rows(kit):
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await kit.run_seed(app, pilot)
        plain_rows = app.transcript.row_count
        await pilot.press("e")
        joined = " ".join(t.strip().removeprefix("↳ ") for t in app.transcript.rendered_texts())
        assert app.transcript.row_count > plain_rows
        assert "the server lists what it can do and the SASL mechanisms it accepts: PLAIN, XOAUTH2" in joined
        assert "[explain]" in str(app.query_one("#status-bar").render())


async def test_presenter_mode_masks_identifiers(kit):
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await kit.run_seed(app, pilot)
        await pilot.press("p")
        await pilot.pause()
        svg = app.export_screenshot()
        assert "alice@contoso.example" not in svg.replace("&#160;", " ")
        await pilot.press("t")
        await pilot.pause()
        svg = app.export_screenshot()
        assert kit.JWT_CLAIMS["tid"] not in svg and kit.JWT_CLAIMS["oid"] not in svg
        assert "&lt;user:" in svg or "<user:" in svg
        await pilot.press("p")
        await pilot.pause()
        assert kit.JWT_CLAIMS["tid"] in app.export_screenshot()


async def test_filter_shows_only_matching_lines_and_escape_clears(kit):
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await kit.run_seed(app, pilot)
        await pilot.press("slash", *"authenticate")
        await pilot.pause()
        texts = app.transcript.rendered_texts()
        assert len(texts) == 2 and all("AUTHENTICATE" in t for t in texts)
        column = app.main_screen.query_one("#transcript-column")
        assert column.border_subtitle == "filter “authenticate”: 2 of 7 lines · Esc clears"
        await pilot.press("escape")
        assert app.transcript.row_count == 7
        await pilot.press("slash", *"auth", "enter")  # kept: the focus goes back to the transcript
        await pilot.pause()
        assert app.transcript.row_count == 3 and app.transcript.has_focus  # AUTHENTICATE twice, AUTH= once
        await pilot.press("escape")  # Esc clears it from there too
        await pilot.pause()
        assert app.transcript.row_count == 7 and not app.main_screen.query_one("#filter").has_class("-active")
        assert column.border_subtitle == ""


async def test_stop_cancels_a_running_session(kit):
    started = asyncio.Event()

    async def slow(target, make_record):
        record = make_record(None)
        record.info("waiting for a server that never answers")
        started.set()
        await asyncio.sleep(60)

    app = kit.make_app(slow)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await asyncio.wait_for(started.wait(), 5)
        assert app.running
        await pilot.press("x")
        await pilot.pause(0.2)
        assert not app.running
        assert app.record.outcome.kind == "cancelled"
        assert "cancelled by the user (x)" in app.transcript.rendered_texts()[-1]  # the transcript says so
        assert "cancelled: stopped by the user" in str(app.diagnosis_pane.query_one("#summary").render())


async def test_a_crashing_session_becomes_a_message_not_a_crash(kit):
    async def broken(target, make_record):
        make_record(None)
        raise RuntimeError(f"boom with {kit.PASSWORD}")

    app = kit.make_app(broken)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert app.is_running and not app.running
        status = str(app.query_one("#status-bar").render())
        assert "session error: RuntimeError" in status


async def test_device_code_dialog_shows_the_code_and_closes_when_signed_in(kit):
    signed_in = asyncio.Event()
    app = kit.make_app(kit.device_code_runner(signed_in))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await pilot.pause(0.2)
        assert isinstance(app.screen, DeviceCodeScreen)
        svg = app.export_screenshot()
        assert "F&#160;Q&#160;K&#160;7&#160;-&#160;2&#160;M&#160;X&#160;B" in svg or "F Q K 7 - 2 M X B" in svg
        assert "microsoft.com/devicelogin" in svg
        signed_in.set()
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        assert not isinstance(app.screen, DeviceCodeScreen)


async def test_paste_back_dialog_resolves_the_prompt(kit):
    answers: list[str] = []
    app = kit.make_app(kit.paste_back_runner(answers))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await pilot.pause(0.2)
        assert isinstance(app.screen, PasteBackScreen)
        await pilot.press(*"http://localhost:1/?code=abc", "enter")
        await app.workers.wait_for_complete()
        assert answers == ["http://localhost:1/?code=abc"]


async def test_export_writes_redacted_report_and_screenshot(kit, tmp_path):
    app = kit.make_app(export_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await kit.run_seed(app, pilot)
        await pilot.press("ctrl+s", "ctrl+o")
        await pilot.pause()
        toasts = [str(n.message) for n in app._notifications]
        assert f"Wrote report to\n{tmp_path}/\n  mailscope-report-20260921T141320Z.md" in toasts[0]  # absolute, whole names
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["mailscope-20260921T141320Z.svg", "mailscope-report-20260921T141320Z.json", "mailscope-report-20260921T141320Z.md"]
    report = json.loads((tmp_path / names[1]).read_text())
    assert report["findings"][0]["id"] == "basic_auth_mechanism_used_when_disabled"
    for path in tmp_path.iterdir():
        assert kit.PASSWORD not in path.read_text()


async def test_command_palette_runs_every_action(kit):
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Run session", "Stop session", "Toggle explain mode", "Toggle presenter mode", "Export report",
                      "Export screenshot", "Lab: pick a scenario", "Run lab scenario ms-healthy"):
            assert title in titles
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"toggle explain")
        await pilot.pause(0.4)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.explain


async def test_lab_picker_runs_the_highlighted_scenario(kit):
    seen = []

    async def runner(target, make_record):
        seen.append(target.scenario)
        await kit.healthy_runner(target, make_record)

    app = kit.make_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await pilot.pause()
        assert app.screen.query_one("#scenarios", OptionList).has_focus
        await pilot.press("down", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert seen == ["ms-healthy"]
        assert app.outcome.exit_code == 0
        assert app.screen is app.main_screen
        await pilot.press("l")  # the picker kept its highlight; r runs the highlighted one, not the last run
        await pilot.pause()
        await pilot.press("up", "r")
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert seen == ["ms-healthy", "ms-seed-plain"] and app.current_view == "session"


async def test_settings_preset_fills_host_and_refuses_a_raw_secret(kit):
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        pane = app.screen.query_one(SettingsPane)
        pane.query_one("#preset").value = "m365-imap"
        await pilot.pause()
        assert pane.query_one("#host").value == "outlook.office365.com"
        assert pane.query_one("#port").value == "993"
        settings = pane.to_settings()
        assert settings.provider == "microsoft" and settings.scopes == ("https://outlook.office.com/IMAP.AccessAsUser.All",)
        pane.query_one("#src_token").value = "eyJhbGciOiJSUzI1NiJ9.secret"
        pane.query_one("#run").press()
        await pilot.pause(0.2)
        assert not app.running
        shown = " ".join(str(n.message) for n in app._notifications)
        assert "never the secret itself" in shown and "eyJhbGci" not in shown
        pane.query_one("#src_token").value = "env:MS_TOKEN"
        assert pane.to_settings().token.describe() == "env:MS_TOKEN"


async def test_theme_toggles_between_light_and_dark(kit):
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "textual-dark"
        await pilot.press("d")
        assert app.theme == "textual-light"


async def test_readable_at_80x24(kit):
    app = kit.make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await kit.run_seed(app, pilot)
        transcript, pane = app.transcript.region, app.query_one(DiagnosisPane).region
        assert transcript.height >= 6 and pane.height >= 6
        assert transcript.width >= 78 and pane.y > transcript.y  # stacked, full width


async def test_profiles_save_and_load_sources_never_secrets(kit, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    app = kit.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        pane = app.screen.query_one(SettingsPane)
        pane.query_one("#preset").value = "m365-imap"
        await pilot.pause()
        pane.query_one("#user").value = "alice@contoso.example"
        pane.query_one("#src_token").value = "env:MS_TOKEN"
        pane.query_one("#profile").value = "work"
        pane.query_one("#save").press()
        await pilot.pause()
        saved = (tmp_path / "mailscope" / "profiles.toml").read_text()
        assert "env:MS_TOKEN" in saved and "outlook.office365.com" in saved
        pane.query_one("#host").value = ""
        pane.query_one("#user").value = ""
        pane.query_one("#load").press()
        await pilot.pause()
        assert pane.query_one("#host").value == "outlook.office365.com"
        assert pane.query_one("#user").value == "alice@contoso.example"
        assert pane.to_settings().token.describe() == "env:MS_TOKEN"


def test_device_codes_render_in_block_letters_or_fall_back():
    from tui.bigtext import big

    rows = big("FQK7-2MXB").splitlines()
    assert len(rows) == 5 and all(len(row) == len(rows[0]) == 9 * 4 - 1 for row in rows)
    assert big("code with ?") is None
