"""Snapshot tests of the main screens. SYNC tests: snap_compare runs its own event loop (textual.md §4).
Stable: injected clock, no cursor blink (conftest), fixed terminal size, pinned theme."""

from __future__ import annotations

import asyncio

SIZE = (120, 36)


def run_first(*keys: str):
    async def run_before(pilot) -> None:
        await pilot.press("r")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.15)
        if keys:
            await pilot.press(*keys)
            await pilot.pause(0.15)

    return run_before


def test_seed_scenario_diagnosed(snap_compare, kit):
    assert snap_compare(kit.make_app(), terminal_size=SIZE, run_before=run_first())


def test_seed_scenario_diagnosed_at_80x24(snap_compare, kit):
    assert snap_compare(kit.make_app(), terminal_size=(80, 24), run_before=run_first())


def test_healthy_session(snap_compare, kit):
    assert snap_compare(kit.make_app(kit.healthy_runner), terminal_size=SIZE, run_before=run_first())


def test_token_inspector_with_claims_of_the_selected_finding(snap_compare, kit):
    assert snap_compare(kit.make_app(), terminal_size=SIZE, run_before=run_first("f", "down", "t"))


def test_explain_mode(snap_compare, kit):
    assert snap_compare(kit.make_app(), terminal_size=SIZE, run_before=run_first("e"))


def test_presenter_mode_light_theme(snap_compare, kit):
    assert snap_compare(kit.make_app(), terminal_size=SIZE, run_before=run_first("p", "d"))


def test_device_code_dialog(snap_compare, kit):
    async def run_before(pilot) -> None:
        await pilot.press("r")
        await pilot.pause(0.3)

    assert snap_compare(kit.make_app(kit.device_code_runner(asyncio.Event())), terminal_size=SIZE, run_before=run_before)


def test_lab_picker(snap_compare, kit):
    assert snap_compare(kit.make_app(), terminal_size=SIZE, press=["l"])


def test_settings_pane_from_preset(snap_compare, kit):
    async def run_before(pilot) -> None:
        await pilot.press("s")
        pilot.app.screen.query_one("#preset").value = "m365-imap"
        await pilot.pause(0.1)

    assert snap_compare(kit.make_app(), terminal_size=SIZE, run_before=run_before)
