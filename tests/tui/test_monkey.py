"""The monkey: random key sequences through the real console (Pilot), including view switches, runs, stops,
filters, exports, the palette, the help screen, the log switcher, the Paste view (typed and pasted text, diagnosed),
theme / presenter / explain / wrap toggles and terminal resizes. Whatever the order: the app never raises, always
answers, and never shows a secret or a raw control sequence (on screen, in the clipboard, in an export).

Cheap by construction: the session is a real SessionRecord fed by a fast hostile session (server text with
escape sequences, a password in a PLAIN payload, a JWT echoed back, a long base64 challenge) or the real replay
of the Jira seed log; pauses are short. CI runs it derandomized (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import base64
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual import events

from mailscope.events import Direction
from mailscope.evidence import Outcome, OutcomeKind, TokenEvidence
from mailscope.secret import Secret, SecretKind
from tui.app import MailscopeApp
from tui.session import Target, default_diagnoser
from widgets.lab_picker import ScenarioInfo

SEED_LOG = Path(__file__).resolve().parents[1] / "mailscope" / "logs" / "samples" / "jira_seed.log"
PASSWORD = "Monkey-Pa55w0rd-Secret"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlLmNvbSIsInVwbiI6ImFsaWNlQGNvbnRvc28uY29tIn0.c2lnbmF0dXJlLW1vbmtleQ"
SECRET_FORMS = (PASSWORD, TOKEN, TOKEN[:40], base64.b64encode(PASSWORD.encode()).decode()[:16],
                base64.b64encode(f"\0alice@contoso.com\0{PASSWORD}".encode()).decode()[:24])
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SCENARIOS = [ScenarioInfo("ms-seed-plain", "seed"), ScenarioInfo("ms-healthy", "healthy"), ScenarioInfo("google-narrow-scope", "gmail")]

KEYS = ("r", "r", "x", "t", "s", "l", "escape", "escape", "e", "p", "d", "w", "f", "y", "slash", "a", "u", "t", "h",
        "enter", "up", "down", "home", "end", "pageup", "pagedown", "left", "right", "tab", "shift+tab", "space",
        "question_mark", "f1", "ctrl+s", "ctrl+o", "ctrl+p", "n", "j", "k", "backspace", "1", "v", "ctrl+r", "ctrl+l",
        "right_square_bracket", "g",  # g: the Exercise view (a, h, n, 1 and enter drive it and the Audit view too)
        "alt+s", "alt+r", "alt+t")  # Esc and a key at once, joined by the terminal
SIZES = ((120, 36), (80, 24), (100, 30), (60, 20), (160, 48))
BURST = 4  # keys sent before waiting for the screen: up to four keys land while a view switch or a run is under way


@dataclass(frozen=True)
class Resize:
    size: tuple[int, int]


@dataclass(frozen=True)
class Paste:
    """A terminal paste into whatever has focus (the Paste view's text area, the filter, a settings field)."""

    text: str


# A client's log excerpt as a user pastes it: escape sequences from the server included.
PASTED = ("* OK \x1b]0;PWNED\x07 \x1b[2J\x1b[31mThe Microsoft Exchange IMAP4 service is ready. \x9b31m\n"
          "A1 AUTHENTICATE XOAUTH2\nA1 NO AUTHENTICATE failed.\n")


async def hostile_session(target: Target, make_record) -> None:
    """A short session that throws everything the screen must withstand at the console."""
    if target.log:
        from tui.session import replay_log

        await replay_log(target.log, target.log_session, make_record)
        return
    record = make_record(None)
    record.redactor.register(Secret(SecretKind.PASSWORD, PASSWORD))
    record.redactor.register(Secret(SecretKind.ACCESS_TOKEN, TOKEN))
    record.info(f"lab scenario {target.scenario}: connecting as alice@contoso.com, tenant contoso.onmicrosoft.com")
    record.add_line(Direction.SERVER, "* OK \x1b]0;PWNED\x07 \x1b[2J\x1b[31mThe Microsoft Exchange IMAP4 service is ready. \x9b31m")
    record.add_line(Direction.CLIENT, "A1 CAPABILITY")
    record.add_line(Direction.SERVER, "* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR " + "X-LONG " * 40)
    await asyncio.sleep(0.02)  # room for x to cancel mid-session
    record.set_token(TokenEvidence(kind="jwt", shape="jwt", length=len(TOKEN), provider="microsoft", flow="device_code",
                                   claims={"aud": "https://outlook.office.com", "upn": "alice@contoso.com",
                                           "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "scp": "IMAP.AccessAsUser.All"}))
    payload = base64.b64encode(f"\0alice@contoso.com\0{PASSWORD}".encode()).decode()
    record.add_line(Direction.CLIENT, f"A2 AUTHENTICATE PLAIN {payload}")
    record.add_line(Direction.SERVER, f"A2 NO [ALERT] token {TOKEN} refused \x1b[5m AUTHENTICATE failed.")
    record.add_line(Direction.SERVER, "+ " + base64.b64encode(b'{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}')
                    .decode())
    record.update_evidence(auth_result="NO", auth_text="NO AUTHENTICATE failed.", mechanism="PLAIN")
    await asyncio.sleep(0.01)
    record.finish(Outcome(OutcomeKind.AUTH_FAILED, "authentication failed: A2 NO AUTHENTICATE failed."))


CHARACTERS = {"question_mark": "?", "slash": "/", "space": " "}


async def press(app: MailscopeApp, pilot, *keys: str) -> None:
    """Keys as the terminal driver delivers them (a fast typist: the next key may arrive mid-transition), then wait
    until the screen has handled its messages. Cheaper than Pilot.press, which also sleeps until the process looks
    idle (>= 40 ms a key with the flush timers running)."""
    for key in keys:
        app.post_message(events.Key(key, CHARACTERS.get(key, key if len(key) == 1 else None)))
    await asyncio.wait_for(pilot.pause(0), 10)


async def settle(app: MailscopeApp, pilot, timeout: float = 10) -> None:
    """Until no session runs (a cancelled one counts as ended): the app must get there on its own."""
    deadline = asyncio.get_running_loop().time() + timeout
    while app.running or any(w.is_running for w in app.workers):
        assert asyncio.get_running_loop().time() < deadline, "the console did not settle: a session kept running"
        await asyncio.wait_for(pilot.pause(0.02), timeout)
    await asyncio.wait_for(pilot.pause(0), timeout)


def _visible(text: str) -> None:
    plain = text.replace("&#160;", " ")
    for form in SECRET_FORMS:
        assert form not in plain, f"a secret form reached the screen or an export: {form[:12]}…"
    assert not CONTROL.search(plain), f"a raw control character reached the screen or an export: {CONTROL.search(plain)!r}"


# Keys, and now and then a resize (a resize relayouts every widget: the costliest step).
steps = st.lists(st.sampled_from(KEYS + tuple(Resize(size) for size in SIZES) + (Paste(PASTED),)), min_size=30, max_size=36)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(keys=steps, source=st.sampled_from(["lab", "log"]))
async def test_random_keys_never_crash_hang_or_leak(keys: list[str | Resize | Paste], source: str) -> None:
    with tempfile.TemporaryDirectory() as exports:
        target = Target(log=str(SEED_LOG)) if source == "log" else Target(scenario="ms-seed-plain")
        app = MailscopeApp(target, runner=hostile_session, diagnoser_factory=default_diagnoser, scenarios=SCENARIOS,
                           clock=lambda: 1_790_000_000.0, export_dir=exports, flush_hz=10)
        async with app.run_test(size=(80, 24)) as pilot:
            burst: list[str] = []
            for index, step in enumerate([*keys, None]):
                if index == len(keys) // 2 and app.is_running:
                    _visible(app.export_screenshot())  # mid-way too: whatever dialog or view is up
                if not app.is_running:
                    break  # the palette's Quit is a legitimate end
                if isinstance(step, str):
                    burst.append(step)
                if burst and (len(burst) == BURST or not isinstance(step, str)):
                    await press(app, pilot, *burst)
                    burst = []
                if isinstance(step, Resize):
                    await asyncio.wait_for(pilot.resize_terminal(*step.size), 10)
                elif isinstance(step, Paste):
                    app.post_message(events.Paste(step.text))
                    await asyncio.wait_for(pilot.pause(0), 10)
            if app.is_running:
                await settle(app, pilot)  # still answering
                _visible(app.export_screenshot())
                for _ in range(4):  # back out of any dialog, palette or view: the session view answers
                    await press(app, pilot, "escape")
                    await settle(app, pilot)
                await asyncio.wait_for(pilot.pause(0.1), 10)
            if app.is_running:  # else the app crashed: leaving this block raises its exception
                assert app.current_mode == "session" and app.transcript is not None
                _visible(app.export_screenshot())
                _visible(app.clipboard)
                for notification in app._notifications:
                    _visible(str(notification.message))
        for path in Path(exports).iterdir():
            _visible(path.read_text(encoding="utf-8"))
