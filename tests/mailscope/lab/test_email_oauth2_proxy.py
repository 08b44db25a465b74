"""email-oauth2-proxy (PyPI `emailproxy`, unmodified, no GUI) configured against the lab: its config file points at the
lab's Entra authority and the lab's Exchange IMAP server, with the lab CA trusted. It signs in with its own flows (local
server auth, external auth on a terminal, device code) for the healthy scenario, and an IMAP client talking through it
gets OK; for ms-consent-missing it logs Entra's AADSTS65001 and refuses the login.

It is a test dependency (pyproject's test extra): missing, these tests fail, they never skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import os
import pty
import re
import shutil
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from mailscope.lab.scenarios.world import ALICE, MAIL_CLIENT_ID, TENANT_DOMAIN
from mailscope.lab.session import LabSession

WAIT = 30.0

OUTLOOK_IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"  # the scope as a client asks for it


def emailproxy_script() -> str:
    script = shutil.which("emailproxy", path=str(Path(sys.executable).parent)) or shutil.which("emailproxy")
    assert script, "email-oauth2-proxy is missing: `pip install -e '.[test]'` installs it (tests/run.sh does)"
    return script


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Proxy:
    """A running email-oauth2-proxy and everything it wrote (its terminal and its log file)."""

    process: asyncio.subprocess.Process
    log_file: Path
    imap_port: int
    terminal_fd: int = -1  # the pty master when it runs on a terminal
    terminal: bytearray = field(default_factory=bytearray)  # what it wrote there (read as it comes, so it never blocks)

    def read_terminal(self) -> None:
        try:
            self.terminal.extend(os.read(self.terminal_fd, 65536))
        except OSError:  # the proxy has gone: EIO on the master
            asyncio.get_running_loop().remove_reader(self.terminal_fd)

    def screen_text(self) -> str:
        """What a person reads on that terminal: escape sequences and line wrapping removed."""
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n", "", self.terminal.decode("utf-8", "replace"))

    def type(self, text: str) -> None:
        os.write(self.terminal_fd, text.encode())

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace") if self.log_file.exists() else ""

    async def wait_for(self, predicate: Callable[[str], str | None], what: str) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            found = next((hit for line in self.log().splitlines() if (hit := predicate(line))), None)
            if found:
                return found
            await asyncio.sleep(0.1)
        raise AssertionError(f"email-oauth2-proxy never logged {what}:\n{self.log()[-3000:]}")

    async def authorization_url(self) -> str:
        marker = "Please visit the following URL to authenticate account "
        return await self.wait_for(lambda line: line.split(marker, 1)[1].split(": ", 1)[1].strip() if marker in line else None,
                                   "the authorization URL")


def proxy_config(lab: LabSession, imap_port: int, redirect_port: int, *, device_flow: bool = False) -> str:
    """emailproxy.config as its documentation describes an Office 365 account, pointed at the lab."""
    host, port = lab.endpoint("exchange")
    authority = lab.authority(TENANT_DOMAIN)
    account = [f"[{ALICE}]", f"token_url = {authority}/oauth2/v2.0/token", f"oauth2_scope = {OUTLOOK_IMAP} offline_access",
               f"client_id = {MAIL_CLIENT_ID}"]
    if device_flow:
        account += [f"permission_url = {authority}/oauth2/v2.0/devicecode", "oauth2_flow = device"]
    else:
        account += [f"permission_url = {authority}/oauth2/v2.0/authorize", f"redirect_uri = http://localhost:{redirect_port}"]
    return "\n".join([f"[IMAP-{imap_port}]", f"server_address = {host}", f"server_port = {port}", "local_address = 127.0.0.1", "",
                      *account, "", "[emailproxy]", "delete_account_token_on_password_error = True", ""])


@pytest.fixture
async def start_proxy(tmp_path: Path) -> AsyncIterator[Callable[..., asyncio.Future[Proxy]]]:
    started: list[Proxy] = []

    async def start(lab: LabSession, *mode: str, device_flow: bool = False, on_terminal: bool = False) -> Proxy:
        imap_port = free_port()
        config = tmp_path / "emailproxy.config"
        config.write_text(proxy_config(lab, imap_port, free_port(), device_flow=device_flow), encoding="utf-8")
        # The proxy trusts the lab CA the way Python's ssl does for everyone: SSL_CERT_FILE (urllib and its IMAP TLS).
        env = {**os.environ, "SSL_CERT_FILE": lab.ca_file, "TERM": "xterm"}
        stdio: dict[str, int] = {"stdin": asyncio.subprocess.DEVNULL, "stdout": asyncio.subprocess.DEVNULL,
                                 "stderr": asyncio.subprocess.DEVNULL}
        master = slave = -1
        if on_terminal:  # --external-auth in --no-gui mode prompts on its terminal (prompt_toolkit)
            master, slave = pty.openpty()
            stdio = {"stdin": slave, "stdout": slave, "stderr": slave}
        log_file = tmp_path / "emailproxy.log"
        process = await asyncio.create_subprocess_exec(
            emailproxy_script(), "--no-gui", *mode, "--config-file", str(config), "--cache-store", str(tmp_path / "cache"),
            "--log-file", str(log_file), "--debug", env=env, **stdio)
        proxy = Proxy(process, log_file, imap_port, master)
        started.append(proxy)
        if on_terminal:
            os.close(slave)
            asyncio.get_running_loop().add_reader(master, proxy.read_terminal)
        await proxy.wait_for(lambda line: line if "Initialised Email OAuth 2.0 Proxy" in line else None, "that it started")
        return proxy

    yield start  # type: ignore[misc]
    for proxy in started:
        if proxy.process.returncode is None:
            proxy.process.terminate()
            try:
                await asyncio.wait_for(proxy.process.wait(), 10)
            except TimeoutError:
                proxy.process.kill()
        if proxy.terminal_fd >= 0:
            asyncio.get_running_loop().remove_reader(proxy.terminal_fd)
            os.close(proxy.terminal_fd)


def imap_login(port: int) -> tuple[str, str, str]:
    """A plain IMAP client (the one the proxy serves): LOGIN with the proxy's local password, then EXAMINE INBOX."""
    client = imaplib.IMAP4("127.0.0.1", port, timeout=WAIT)
    try:
        typ, data = client.login(ALICE, "a-local-proxy-password")
        examined = client.select("INBOX", readonly=True)[0]
        return typ, data[0].decode(), examined
    except imaplib.IMAP4.error as exc:
        return "NO", str(exc), ""
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()


async def browse(lab: LabSession, url: str, *, follow: bool) -> requests.Response:
    """The person at the browser: the lab's simulated user signs in; with `follow` the browser lands on the redirect URI."""
    return await asyncio.to_thread(requests.get, url, allow_redirects=follow, verify=lab.ca_file, timeout=20)


async def test_local_server_auth_signs_in_and_an_imap_client_gets_ok(start_proxy) -> None:
    async with LabSession("ms-healthy") as lab:
        proxy = await start_proxy(lab, "--local-server-auth")
        login = asyncio.create_task(asyncio.to_thread(imap_login, proxy.imap_port))
        landing = await browse(lab, await proxy.authorization_url(), follow=True)  # to the proxy's own redirect listener
        assert landing.status_code == 200 and "successfully authenticated account" in landing.text
        assert await asyncio.wait_for(login, WAIT) == ("OK", "AUTHENTICATE completed.", "OK")
    assert "Successfully authenticated IMAP connection" in proxy.log()


async def test_external_auth_on_a_terminal_signs_in_and_an_imap_client_gets_ok(start_proxy) -> None:
    """--external-auth in --no-gui mode (its docs' choice for a headless server): the final URL is pasted into its prompt."""
    async with LabSession("ms-healthy") as lab:
        proxy = await start_proxy(lab, "--external-auth", on_terminal=True)
        login = asyncio.create_task(asyncio.to_thread(imap_login, proxy.imap_port))
        redirect = await browse(lab, await proxy.authorization_url(), follow=False)  # nothing listens: copy the address
        deadline = time.monotonic() + WAIT
        while "then paste here the full" not in proxy.screen_text():  # its prompt is on the terminal
            assert time.monotonic() < deadline, proxy.terminal.decode(errors="replace")
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        proxy.type(redirect.headers["Location"] + "\r")
        assert await asyncio.wait_for(login, WAIT) == ("OK", "AUTHENTICATE completed.", "OK")


async def test_device_flow_signs_in_through_the_get_devicecode_request(start_proxy) -> None:
    """The proxy asks the device-code endpoint with a GET and a query string; Entra answers it, and so must the lab."""
    async with LabSession("ms-healthy") as lab:
        assert lab.idp is not None
        proxy = await start_proxy(lab, "--local-server-auth", device_flow=True)
        assert await asyncio.wait_for(asyncio.to_thread(imap_login, proxy.imap_port), WAIT) == ("OK", "AUTHENTICATE completed.", "OK")
        device = [r for r in lab.idp.requests if r.path.endswith("/devicecode")]
        assert device and device[0].method == "GET" and device[0].status == 200


async def test_consent_missing_is_logged_with_aadsts65001_and_the_login_refused(start_proxy) -> None:
    async with LabSession("ms-consent-missing") as lab:
        proxy = await start_proxy(lab, "--local-server-auth")
        login = asyncio.create_task(asyncio.to_thread(imap_login, proxy.imap_port))
        landing = await browse(lab, await proxy.authorization_url(), follow=True)  # Entra sends the browser back with the error
        assert landing.status_code == 200
        typ, text, _ = await asyncio.wait_for(login, WAIT)
    assert typ == "NO" and "consent_required; AADSTS65001: The user or administrator has not consented" in text
    logged = await proxy.wait_for(lambda line: line if "Authorisation result error for account" in line else None, "the consent error")
    assert ("consent_required; AADSTS65001: The user or administrator has not consented to use the application with ID "
            f"'{MAIL_CLIENT_ID}'") in logged
