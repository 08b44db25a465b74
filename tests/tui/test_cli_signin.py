"""`mailscope check --flow auth_code` as a user runs it (the real console script), against the in-process lab: a scripted
browser follows the authorization URL to the loopback redirect and the session finishes with nothing on stdin; paste-back
through a pipe and through a terminal; the sign-in timeout; Ctrl-C while waiting."""

from __future__ import annotations

import asyncio
import io
import os
import pty
import shutil
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from mailscope.events import PasteBackPrompt, PromptRequested
from mailscope.lab.scenarios.spec import GOOGLE_MAIL
from mailscope.lab.scenarios.world import ALICE, GOOGLE_CLIENT_ID, GOOGLE_USER, MAIL_CLIENT_ID, TENANT_DOMAIN
from mailscope.lab.session import LabSession
from mailscope.record import SessionRecord
from tui.commands.signin import SignInPrompts

RUN_TIMEOUT = 60.0

OUTLOOK_IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"  # the scope as a client asks for it


@dataclass
class Lab:
    session: LabSession
    env: dict[str, str]

    def microsoft_args(self, *extra: str) -> list[str]:
        host, port = self.session.endpoint("exchange")
        return ["--host", host, "--port", str(port), "--security", "tls", "--ca-file", self.session.ca_file, "--user", ALICE,
                "--mechanism", "xoauth2", "--provider", "microsoft", "--flow", "auth_code", "--client-id", MAIL_CLIENT_ID,
                "--authority", self.session.authority(TENANT_DOMAIN), "--scope", OUTLOOK_IMAP, "--timeout", "10", *extra]

    def google_args(self, *extra: str) -> list[str]:
        host, port = self.session.endpoint("gmail")
        assert self.session.idp is not None
        return ["--host", host, "--port", str(port), "--security", "tls", "--ca-file", self.session.ca_file, "--user", GOOGLE_USER,
                "--mechanism", "xoauth2", "--provider", "google", "--flow", "installed_app", "--client-id", GOOGLE_CLIENT_ID,
                "--client-secret-env", "LAB_GOOGLE_SECRET", "--token-endpoint", self.session.google_token_uri,
                "--auth-endpoint", self.session.idp.google_auth_uri, "--scope", GOOGLE_MAIL, "--timeout", "10", *extra]


async def lab_for(scenario: str, tmp_path: Path) -> AsyncIterator[Lab]:
    async with LabSession(scenario) as session:
        env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path),
               "PYTHONUNBUFFERED": "1"}
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)  # no real browser may open: the scripted one signs in
        assert session.world is not None
        env["LAB_GOOGLE_SECRET"] = session.world.secrets.get("google_client_secret", "")
        yield Lab(session, env)


@pytest.fixture
async def microsoft(tmp_path: Path) -> AsyncIterator[Lab]:
    async for lab in lab_for("ms-healthy", tmp_path):
        yield lab


@pytest.fixture
async def google(tmp_path: Path) -> AsyncIterator[Lab]:
    async for lab in lab_for("google-healthy", tmp_path):
        yield lab


def mailscope_script() -> str:
    script = shutil.which("mailscope")
    assert script, "the mailscope console script must be on PATH (tests/run.sh puts the venv's bin first)"
    return script


class Check:
    """A running `mailscope check`: stderr collected line by line (the authorization URL is read from it)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stderr: list[str] = []
        self.started = time.monotonic()

    @classmethod
    async def start(cls, lab: Lab, args: list[str], *, stdin: int | None = asyncio.subprocess.DEVNULL) -> Check:
        process = await asyncio.create_subprocess_exec(mailscope_script(), "check", *args, stdin=stdin, stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.PIPE, env=lab.env)
        return cls(process)

    async def authorization_url(self) -> str:
        """The URL the user is asked to open (printed indented under 'Sign in: open this address...')."""
        assert self.process.stderr is not None
        while True:
            line = (await asyncio.wait_for(self.process.stderr.readline(), 20)).decode()
            assert line, "mailscope ended before asking for the sign-in: " + "".join(self.stderr)
            self.stderr.append(line)
            if line.startswith("  https://"):
                return line.strip()

    async def finish(self) -> tuple[int, str, str]:
        stdout, stderr = await asyncio.wait_for(self.process.communicate(), RUN_TIMEOUT)
        return self.process.returncode or 0, stdout.decode(), "".join(self.stderr) + stderr.decode()

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


async def browse(lab: Lab, url: str, *, follow: bool = True) -> requests.Response:
    """The scripted browser: open the authorization URL (the lab's simulated user signs in and consents) and, with
    `follow`, let the redirect land on mailscope's loopback listener, as a browser on the same machine does."""
    return await asyncio.to_thread(requests.get, url, allow_redirects=follow, verify=lab.session.ca_file, timeout=20)


async def test_microsoft_auth_code_finishes_on_the_loopback_redirect_with_stdin_at_eof(microsoft: Lab) -> None:
    check = await Check.start(microsoft, microsoft.microsoft_args())
    try:
        landing = await browse(microsoft, await check.authorization_url())
        assert landing.status_code == 200 and "mailscope received the sign-in answer" in landing.text
        assert landing.history and landing.history[0].status_code == 302
        code, stdout, stderr = await check.finish()
    finally:
        check.kill()
    assert code == 0, stdout + stderr
    assert "outcome: authenticated_mailbox_reachable" in stdout
    assert "authorization response received via loopback" in stdout
    assert "waiting for the sign-in in the browser: 0:0" in stderr and "Traceback" not in stderr
    location = landing.history[0].headers["Location"]
    secret_code = location.split("code=", 1)[1].split("&", 1)[0]
    assert secret_code not in stdout and secret_code not in stderr


async def test_google_installed_app_finishes_on_the_loopback_redirect_with_stdin_at_eof(google: Lab) -> None:
    check = await Check.start(google, google.google_args())
    try:
        landing = await browse(google, await check.authorization_url())
        assert landing.status_code == 200
        code, stdout, stderr = await check.finish()
    finally:
        check.kill()
    assert code == 0, stdout + stderr
    assert "outcome: authenticated_mailbox_reachable" in stdout and "authorization response received via loopback" in stdout
    assert google.env["LAB_GOOGLE_SECRET"] not in stdout + stderr


async def test_paste_back_through_a_pipe(microsoft: Lab) -> None:
    check = await Check.start(microsoft, microsoft.microsoft_args(), stdin=asyncio.subprocess.PIPE)
    try:
        redirect = await browse(microsoft, await check.authorization_url(), follow=False)  # the browser cannot reach the listener
        assert check.process.stdin is not None
        check.process.stdin.write(redirect.headers["Location"].encode() + b"\n")
        await check.process.stdin.drain()
        code, stdout, stderr = await check.finish()
    finally:
        check.kill()
    assert code == 0, stdout + stderr
    assert "authorization response received via paste-back" in stdout


async def test_paste_back_on_a_terminal_stops_the_progress_line_and_restores_the_terminal(microsoft: Lab) -> None:
    """stdin and stderr on a pseudo-terminal, as over SSH: the progress line redraws until the first key, the pasted
    address is echoed by mailscope itself, and the terminal is back in line mode afterwards."""
    import termios

    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    process = await asyncio.create_subprocess_exec(mailscope_script(), "check", *microsoft.microsoft_args(), stdin=slave,
                                                   stdout=asyncio.subprocess.PIPE, stderr=slave, env=microsoft.env)
    screen = bytearray()

    async def read_screen(until: bytes) -> None:
        deadline = time.monotonic() + 20
        while until not in screen:
            assert time.monotonic() < deadline, screen.decode(errors="replace")
            try:
                screen.extend(await asyncio.to_thread(os.read, master, 65536))
            except OSError:
                return

    try:
        await read_screen(b"waiting for the sign-in in the browser: 0:01")  # redrawn in place, second by second
        url = next(line.strip() for line in screen.decode().splitlines() if line.startswith("  https://"))
        redirect = await browse(microsoft, url, follow=False)
        os.write(master, redirect.headers["Location"].encode())
        await read_screen(b"pasted address: http://localhost")
        os.write(master, b"\r")
        stdout, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT)
        after = termios.tcgetattr(slave)
    finally:
        if process.returncode is None:
            process.kill()
        os.close(master)
        os.close(slave)
    assert process.returncode == 0, screen.decode(errors="replace") + stdout.decode()
    assert after == before  # line mode and echo are back
    assert b"\r\x1b[Kwaiting for the sign-in in the browser: 0:0" in screen
    assert "authorization response received via paste-back" in stdout.decode()


async def test_the_sign_in_times_out_with_a_clear_message(microsoft: Lab) -> None:
    started = time.monotonic()
    check = await Check.start(microsoft, microsoft.microsoft_args("--signin-timeout", "2"))
    try:
        code, stdout, stderr = await check.finish()
    finally:
        check.kill()
    assert code == 1 and time.monotonic() - started < 20
    assert "outcome: token_acquisition_failed: microsoft token request failed: sign_in_timeout: no sign-in answer within 2 s" in stdout
    assert "[interactive_sign_in_not_completed] (owner: user)" in stdout
    assert "--signin-timeout SECONDS gives more time" in stdout and "ssh -L " in stdout
    assert "Traceback" not in stderr


async def test_a_bad_signin_timeout_is_a_usage_error(microsoft: Lab) -> None:
    check = await Check.start(microsoft, microsoft.microsoft_args("--signin-timeout", "inf"))
    code, _, stderr = await check.finish()
    assert code == 2 and "sign-in timeout 'inf' is not a number of seconds between 1 and 3600" in stderr


async def test_ctrl_c_while_waiting_ends_at_once(microsoft: Lab) -> None:
    check = await Check.start(microsoft, microsoft.microsoft_args())
    try:
        await check.authorization_url()
        await asyncio.sleep(0.5)
        interrupted = time.monotonic()
        check.process.send_signal(signal.SIGINT)
        code, _, stderr = await check.finish()
    finally:
        check.kill()
    assert time.monotonic() - interrupted < 3
    assert code == 130 and "interrupted" in stderr and "Traceback" not in stderr


class Terminal(io.StringIO):
    """stderr as a terminal (the progress line is redrawn in place there)."""

    def isatty(self) -> bool:
        return True


async def test_a_transcript_line_first_closes_the_progress_line() -> None:
    """The engine prints its next line before the progress task notices the end of the wait: the subscriber, registered
    before the printer, erases the progress line first, so no transcript line is glued to it."""
    read_end, write_end = os.pipe()  # stdin that stays silent
    err = Terminal()
    record = SessionRecord(None)
    record.subscribe(SignInPrompts(stdin_fd=read_end, err=err))
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    try:
        record.prompt(PromptRequested(PasteBackPrompt("https://idp/authorize?x=1", "http://localhost:1/", timeout=60, answer=answer),
                                      answer=answer))
        await asyncio.sleep(0.05)
        assert err.getvalue().endswith("\r\x1b[Kwaiting for the sign-in in the browser: 0:00 | gives up in 1:00")
        answer.cancel()  # the redirect arrived; the engine goes on at once
        record.info("authorization response received via loopback")
        assert err.getvalue().endswith("gives up in 1:00\r\x1b[K")
        await asyncio.sleep(0.05)
        assert err.getvalue().endswith("gives up in 1:00\r\x1b[K")  # the progress task, ending later, writes nothing more
    finally:
        os.close(write_end)
        os.close(read_end)
