"""The console's browser sign-in, with the real Microsoft flow against the in-process lab: the paste-back dialog shows
that it is waiting, closes by itself when the scripted browser's redirect reaches the loopback listener, and `x` in the
dialog stops the session at once."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time

import requests

from mailscope.check import run_check
from mailscope.lab.session import LabSession
from providers.registry import token_source_for
from tui.prompts import PasteBackScreen

SIZE = (120, 36)


def auth_code_runner(lab: LabSession):
    settings = dataclasses.replace(lab.settings, flow="auth_code", extra={"token_cache": "none"})

    async def run(target, make_record) -> None:
        await run_check(settings, token_source_for(settings), make_record(settings))

    return run


@contextlib.asynccontextmanager
async def signing_in(kit, monkeypatch):
    """The console running ms-healthy with the auth-code flow, its sign-in dialog on screen: (lab, app, pilot, dialog)."""
    monkeypatch.delenv("DISPLAY", raising=False)  # no real browser: the test is the browser
    async with LabSession("ms-healthy") as lab:
        app = kit.make_app(auth_code_runner(lab))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("r")
            deadline = time.monotonic() + 10
            while not isinstance(app.screen, PasteBackScreen):
                assert time.monotonic() < deadline, "the sign-in dialog never appeared"
                await pilot.pause(0.05)
            yield lab, app, pilot, app.screen


async def test_the_dialog_waits_then_closes_by_itself_on_the_loopback_redirect(kit, monkeypatch):
    async with signing_in(kit, monkeypatch) as (lab, app, pilot, dialog):
        await pilot.pause(1.2)
        waiting = str(dialog.query_one("#waiting").render())
        assert "Waiting for the sign-in: 0:01 · gives up in 4:5" in waiting and "x stops the session" in waiting
        landing = await asyncio.to_thread(requests.get, dialog.prompt.authorization_url, verify=lab.ca_file, timeout=20)
        assert landing.status_code == 200
        await app.workers.wait_for_complete()
        await pilot.pause(0.5)
        assert not isinstance(app.screen, PasteBackScreen)
        assert app.outcome is not None and app.outcome.kind == "authenticated_mailbox_reachable"


async def test_x_in_the_dialog_stops_the_session_at_once(kit, monkeypatch):
    async with signing_in(kit, monkeypatch) as (_, app, pilot, dialog):
        future = dialog.prompt.answer
        started = time.monotonic()
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.pause(0.5)
        assert time.monotonic() - started < 2
        assert future.done() and not isinstance(app.screen, PasteBackScreen)
        assert app.outcome is not None and app.outcome.kind == "cancelled"


async def test_typed_x_goes_into_the_field_once_typing_started(kit, monkeypatch):
    async with signing_in(kit, monkeypatch) as (lab, app, pilot, dialog):
        await pilot.press("a", "x")
        assert dialog.query_one("#pasted").value == "ax" and app.running
        await pilot.press("escape")  # hides the dialog; the loopback listener still waits
        await pilot.pause(0.2)
        assert not isinstance(app.screen, PasteBackScreen) and app.running
        await asyncio.to_thread(requests.get, dialog.prompt.authorization_url, verify=lab.ca_file, timeout=20)
        await app.workers.wait_for_complete()
        assert app.outcome is not None and app.outcome.kind == "authenticated_mailbox_reachable"
