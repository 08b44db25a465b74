"""Console test fixtures: sessions replayed into a real SessionRecord (its redactor, its events), a fixed
clock, no cursor blink. The lab end to end runs in test_tmux_e2e.py."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.widgets import Input

from mailscope.events import DeviceCodePrompt, Direction, PasteBackPrompt, PromptRequested
from mailscope.evidence import Outcome, OutcomeKind, TokenEvidence
from mailscope.findings import Check, Diagnosis, DiagnosisInput, EvidenceKind, EvidenceRef, Finding, Owner, Severity
from tui.app import MailscopeApp
from tui.session import Target
from widgets.lab_picker import ScenarioInfo

NOW = 1_790_000_000.0  # 2026-09-21: the injected wall clock
PASSWORD = "hunter2-Secret-Pa55"
JWT_CLAIMS = {
    "aud": "https://graph.microsoft.com",
    "scp": "Mail.Read User.Read",
    "upn": "alice@contoso.example",
    "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    "oid": "0b3a8f0e-55aa-4e2b-9a51-2a1e1c3d7f10",
    "appid": "d3590ed6-52b3-4102-aeff-aad2292ab01c",
    "iss": "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
    "exp": int(NOW + 3000),
    "iat": int(NOW - 600),
}
SCENARIOS = [
    ScenarioInfo("ms-seed-plain", "Jira falls back to AUTHENTICATE PLAIN on Exchange Online", ("basic_auth_mechanism_used_when_disabled",),
                 "The Atlassian seed case: PLAIN is advertised, but basic auth is off."),
    ScenarioInfo("ms-healthy", "Exchange Online, XOAUTH2 with the right scope", (), "Everything works: compare with the failures."),
]


def seed_diagnoser(data: DiagnosisInput) -> Diagnosis:
    """A deterministic stand-in rule for the seed case (the real rules are tested in tests/mailscope/diagnosis)."""
    plain = [line for line in data.lines if line.direction is Direction.CLIENT and "AUTHENTICATE PLAIN" in line.text]
    refused = [line for line in data.lines if line.direction is Direction.SERVER and " NO " in line.text]
    checks = (Check("mechanism used", bool(plain), "AUTHENTICATE PLAIN" if plain else ""), Check("token claims", data.token is not None))
    if not (plain and refused):
        return Diagnosis((), checks, "authenticated and mailbox reachable" if data.evidence.auth_result == "OK" else "")
    graph = Finding(
        "ms_token_audience_graph", Severity.WARNING, "The token is for Microsoft Graph, not Exchange Online",
        "aud is https://graph.microsoft.com: Exchange refuses such tokens.", Owner.CLIENT_CONFIGURATION,
        fix=("Request https://outlook.office.com/IMAP.AccessAsUser.All",),
        evidence=(EvidenceRef(EvidenceKind.CLAIM, "aud", JWT_CLAIMS["aud"]), EvidenceRef(EvidenceKind.CLAIM, "scp", "Mail.Read User.Read")),
        score=0.5,
    )
    basic = Finding(
        "basic_auth_mechanism_used_when_disabled", Severity.ERROR,
        "Client uses AUTHENTICATE PLAIN (a password) where basic auth is disabled",
        "The server advertises AUTH=PLAIN, but Exchange Online no longer accepts passwords for IMAP.", Owner.CLIENT_CONFIGURATION,
        fix=("Make the client use XOAUTH2 (JavaMail: mail.imaps.auth.mechanisms=XOAUTH2)", "Pass the access token as the password"),
        evidence=(EvidenceRef(EvidenceKind.LINE, "AUTHENTICATE PLAIN", seq=plain[0].seq),
                  EvidenceRef(EvidenceKind.LINE, "NO AUTHENTICATE failed.", seq=refused[0].seq)),
        score=1.0, confirmed=True,
    )
    return Diagnosis((basic, graph), checks, "basic auth is disabled: the client must use XOAUTH2")


async def seed_runner(target: Target, make_record) -> None:
    record = make_record(None)
    record.info("connecting to outlook.office365.com:993 (TLS) as alice@contoso.example")
    record.add_line(Direction.SERVER, "* OK The Microsoft Exchange IMAP4 service is ready. "
                    "[TQBSADEAUAAyADYANABDAEEAMAAxADQANgAuAEYAUgBBAFAAMgA2ADQALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]")
    record.add_line(Direction.CLIENT, "A1 CAPABILITY")
    record.add_line(Direction.SERVER, "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE")
    record.add_line(Direction.SERVER, "A1 OK CAPABILITY completed.")
    await asyncio.sleep(0)
    record.set_token(TokenEvidence(kind="jwt", shape="jwt", length=1480, fingerprint="sha256:1f2e3d4c", provider="microsoft",
                                   flow="device_code", source="msal", claims=dict(JWT_CLAIMS)))
    payload = base64.b64encode(f"\0alice@contoso.example\0{PASSWORD}".encode()).decode()
    record.add_line(Direction.CLIENT, f"A2 AUTHENTICATE PLAIN {payload}")
    record.add_line(Direction.SERVER, "A2 NO AUTHENTICATE failed.")
    record.update_evidence(auth_result="NO", auth_text="NO AUTHENTICATE failed.", mechanism="PLAIN")
    record.finish(Outcome(OutcomeKind.AUTH_FAILED, "authentication failed: A2 NO AUTHENTICATE failed."))


async def healthy_runner(target: Target, make_record) -> None:
    record = make_record(None)
    record.info("connecting to outlook.office365.com:993 (TLS) as alice@contoso.example")
    for direction, text in [
        (Direction.SERVER, "* OK The Microsoft Exchange IMAP4 service is ready. [TQBSADEAUAAyADYANABDAEEAMAAxADQA]"),
        (Direction.CLIENT, "A1 CAPABILITY"),
        (Direction.SERVER, "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE"),
        (Direction.SERVER, "A1 OK CAPABILITY completed."),
        (Direction.CLIENT, "A2 AUTHENTICATE XOAUTH2 " + base64.b64encode(b"user=alice@contoso.example\x01auth=Bearer eyJ0eXAiOiJKV1QifQ."
                                                                            b"eyJhdWQiOiJ4In0.c2lnbmF0dXJlLXZhbHVl\x01\x01").decode()),
        (Direction.SERVER, "A2 OK AUTHENTICATE completed."),
        (Direction.CLIENT, "A3 EXAMINE INBOX"),
        (Direction.SERVER, "* 42 EXISTS"),
        (Direction.SERVER, "A3 OK [READ-ONLY] EXAMINE completed."),
        (Direction.CLIENT, "A4 LOGOUT"),
        (Direction.SERVER, "* BYE Microsoft Exchange Server IMAP4 server signing off."),
    ]:
        record.add_line(direction, text)
    claims = dict(JWT_CLAIMS, aud="https://outlook.office.com", scp="IMAP.AccessAsUser.All")
    record.set_token(TokenEvidence(kind="jwt", shape="jwt", length=1520, fingerprint="sha256:9a8b7c6d", provider="microsoft",
                                   flow="device_code", source="msal", claims=claims))
    record.update_evidence(auth_result="OK", mechanism="XOAUTH2")
    record.finish(Outcome(OutcomeKind.MAILBOX_REACHABLE, "authenticated and mailbox reachable (42 messages)"))


def device_code_runner(signed_in: asyncio.Event) -> Callable:
    async def run(target: Target, make_record) -> None:
        record = make_record(None)
        record.info("requesting a device code from login.microsoftonline.com")
        prompt = DeviceCodePrompt("https://microsoft.com/devicelogin", "FQK7-2MXB", "To sign in, use a web browser", 900)
        record.prompt(PromptRequested(prompt))
        await asyncio.wait_for(signed_in.wait(), 10)
        record.set_token(TokenEvidence(kind="jwt", claims=dict(JWT_CLAIMS)))
        record.finish(Outcome(OutcomeKind.AUTH_FAILED, "authentication failed"))

    return run


def paste_back_runner(answers: list[str]) -> Callable:
    async def run(target: Target, make_record) -> None:
        record = make_record(None)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        record.prompt(PromptRequested(PasteBackPrompt("https://accounts.google.com/o/oauth2/auth?client_id=x", "http://localhost:1"),
                                      future))
        answers.append(await asyncio.wait_for(future, 10))
        record.finish(Outcome(OutcomeKind.AUTH_FAILED, "done"))

    return run


async def run_seed(app: MailscopeApp, pilot) -> None:
    """r, then until the session and its flushes are done."""
    await pilot.press("r")
    await app.workers.wait_for_complete()
    await pilot.pause(0.1)


def make_app(runner=seed_runner, **kwargs) -> MailscopeApp:
    kwargs.setdefault("diagnoser_factory", lambda: seed_diagnoser)
    kwargs.setdefault("scenarios", SCENARIOS)
    kwargs.setdefault("clock", lambda: NOW)
    ticks = iter(range(10_000_000))
    kwargs.setdefault("monotonic", lambda: next(ticks) * 0.05)
    return MailscopeApp(Target(scenario="ms-seed-plain"), runner=runner, **kwargs)


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch):
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture
def kit() -> SimpleNamespace:
    """Everything a console test needs (test modules cannot import conftest under --import-mode=importlib)."""
    return SimpleNamespace(
        make_app=make_app, seed_runner=seed_runner, healthy_runner=healthy_runner, device_code_runner=device_code_runner,
        paste_back_runner=paste_back_runner, run_seed=run_seed, PASSWORD=PASSWORD, NOW=NOW, JWT_CLAIMS=JWT_CLAIMS,
    )


# -- a real terminal: tmux (textual.md §3) ---------------------------------------------------------------
MAILSCOPE = Path(sys.executable).with_name("mailscope")


class Tmux:
    """One private tmux server (its own socket): sessions, keys, screens. Fails, never skips, without tmux."""

    def __init__(self, tmp: Path) -> None:
        tmux = shutil.which("tmux")
        assert tmux, "tmux is not installed: the end-to-end tests need it (apt-get install tmux); tests/run.sh installs it"
        self.socket = f"ms-e2e-{uuid.uuid4().hex[:8]}"
        self.base = [tmux, "-L", self.socket, "-f", "/dev/null"]
        self.tmp = tmp
        self.mailscope = str(MAILSCOPE)
        self.env = {"TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8", "HOME": str(tmp),
                    "XDG_CONFIG_HOME": f"{tmp}/.config", "XDG_DATA_HOME": f"{tmp}/.local/share", "PATH": os.environ.get("PATH", "")}

    def run(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=10, check=True).stdout

    def new_session(self, name: str, command: str, width: int, height: int, *, fixed: bool = True) -> Pane:
        env = [arg for key, value in self.env.items() for arg in ("-e", f"{key}={value}")]
        self.run("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), *env,
                 # COLUMNS/LINES inherited from the test run would override the pane's real size (shutil.get_terminal_size)
                 f"cd {self.tmp} && env -u COLUMNS -u LINES {command}; echo EXIT=$?; sleep 30")
        self.run("set-option", "-t", name, "status", "off")
        pane = Pane(self, name)
        if fixed:
            pane.resize(width, height)  # a fixed size: no attached client may change it
        return pane

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=10)


class Pane:
    def __init__(self, tmux: Tmux, target: str) -> None:
        self.tmux = tmux
        self.target = target

    def screen(self) -> str:
        return self.tmux.run("capture-pane", "-t", self.target, "-p")

    def keys(self, *keys: str) -> None:
        self.tmux.run("send-keys", "-t", self.target, *keys)

    def type(self, text: str) -> None:
        self.tmux.run("send-keys", "-t", self.target, "-l", "--", text)  # text may start with "-"

    def wait_for(self, text: str | tuple[str, ...], timeout: float = 20) -> str:
        """The screen once `text` (or any of several texts) shows on it."""
        texts = (text,) if isinstance(text, str) else text
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if any(t in screen for t in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear within {timeout}s; the screen was:\n{screen}")
            time.sleep(0.1)

    def wait_gone(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text not in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not go away within {timeout}s; the screen was:\n{screen}")
            time.sleep(0.1)

    def resize(self, width: int, height: int) -> None:
        self.tmux.run("resize-window", "-t", self.target, "-x", str(width), "-y", str(height))


@pytest.fixture
def tmux(tmp_path) -> Iterator[Tmux]:
    assert MAILSCOPE.exists(), f"{MAILSCOPE} missing: install the package (pip install -e .) so the console script exists"
    server = Tmux(tmp_path)
    yield server
    server.close()
