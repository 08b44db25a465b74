"""Getting the authorization code back: a loopback listener and paste-back, whichever answers first.

Over SSH no browser can reach the listener unless the user forwards the port (`ssh -L`), so the same
prompt also offers paste-back: the UI/CLI resolves `PromptRequested.answer` with the final redirect URL
(or just the code). Both paths end in `AuthorizationResponse`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from mailscope.events import PasteBackPrompt, PromptRequested
from mailscope.record import SessionRecord

if TYPE_CHECKING:
    from providers.tokens import Attempt

T = TypeVar("T")
DEFAULT_SIGN_IN_TIMEOUT = 300.0  # a person signing in, MFA included; the auth code itself lives 10 minutes
MAX_SIGN_IN_TIMEOUT = 3600.0

_PAGE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n\r\n"
         b"<html><body><p>mailscope received the sign-in answer. You can close this window.</p></body></html>")
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass(frozen=True, slots=True)
class AuthorizationResponse:
    params: dict[str, str]  # code, state, or error, error_description
    via: str  # "loopback" | "paste-back"


def parse_redirect(text: str) -> dict[str, str]:
    """The query of a pasted redirect URL; a bare value is taken as the code itself."""
    text = text.strip()
    if "?" in text or "#" in text or "=" in text:
        query = urllib.parse.urlsplit(text).query if "://" in text else text.split("?", 1)[-1]
        if not query and "#" in text:
            query = text.split("#", 1)[1]
        return dict(urllib.parse.parse_qsl(query.lstrip("?"), keep_blank_values=True))
    return {"code": text} if text else {}


def sign_in_timeout(extra: Mapping[str, str]) -> float:
    """`extra["signin_timeout"]` (seconds, as the CLI and profiles store it), else the default; ValueError names the limits."""
    text = str(extra.get("signin_timeout", "") or "").strip()
    if not text:
        return DEFAULT_SIGN_IN_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 1 <= seconds <= MAX_SIGN_IN_TIMEOUT:
        raise ValueError(f"sign-in timeout {text!r} is not a number of seconds between 1 and {MAX_SIGN_IN_TIMEOUT:g}")
    return seconds


def can_open_browser() -> bool:
    """False over SSH or without a display: then only paste-back (or `ssh -L`) can work."""
    if os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"):
        return False
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class LoopbackRedirect:
    """Listens on 127.0.0.1 for the browser's redirect carrying `code`/`error`."""

    def __init__(self, port: int = 0, path: str = "/") -> None:
        self.port = port
        self.path = path
        self._server: asyncio.base_events.Server | None = None
        self._received: asyncio.Future[dict[str, str]] | None = None

    async def start(self) -> str:
        self._received = asyncio.get_running_loop().create_future()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.redirect_uri

    @property
    def redirect_uri(self) -> str:
        return f"http://localhost:{self.port}{self.path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 10)
            parts = request_line.decode("latin-1").split()
            query = urllib.parse.urlsplit(parts[1]).query if len(parts) >= 2 else ""
            params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
            if "code" in params or "error" in params:
                writer.write(_PAGE)
                if self._received is not None and not self._received.done():
                    self._received.set_result(params)
            else:
                writer.write(_NOT_FOUND)
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeError):
            pass
        finally:
            writer.close()

    async def wait(self, record: SessionRecord, authorization_url: str, *, timeout: float,
                   open_browser: Callable[[str], object] | None = None) -> AuthorizationResponse:
        """Prompt (paste-back future attached), optionally open a browser, and wait for either answer.

        The browser's redirect alone ends the wait. A paste the UI gives up on (the future cancelled: dialog
        closed, stdin at EOF) leaves the loopback listening until `timeout`. Whatever ends the wait (answer,
        TimeoutError, cancellation), the paste-back future is done afterwards, so every prompt can close itself.
        """
        assert self._received is not None, "start() first"
        loop = asyncio.get_running_loop()
        pasted: asyncio.Future[str] = loop.create_future()
        prompt = PasteBackPrompt(authorization_url, self.redirect_uri, timeout=timeout, answer=pasted)
        record.prompt(PromptRequested(prompt, answer=pasted))
        try:
            if open_browser is None and can_open_browser():
                import webbrowser  # here, not at import: every token source imports this module, few open a browser

                open_browser = webbrowser.open
            if open_browser is not None:
                await asyncio.to_thread(open_browser, authorization_url)
            deadline = loop.time() + timeout
            waiting: set[asyncio.Future[Any]] = {self._received, pasted}
            while (remaining := deadline - loop.time()) > 0:
                done, _ = await asyncio.wait(waiting, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
                if self._received in done:
                    return AuthorizationResponse(self._received.result(), "loopback")
                if pasted in done:
                    if not pasted.cancelled():
                        return AuthorizationResponse(parse_redirect(str(pasted.result())), "paste-back")
                    waiting = {self._received}  # no paste will come; the redirect still may
            raise TimeoutError(f"no sign-in answer within {_duration(timeout)}")
        finally:
            if not pasted.done():
                pasted.cancel()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        if self._received is not None and not self._received.done():
            self._received.cancel()


def _duration(seconds: float) -> str:
    """300 -> '5 min', 90 -> '90 s': how long a sign-in was given, as a person says it."""
    return f"{seconds / 60:g} min" if seconds >= 120 and seconds % 60 == 0 else f"{seconds:g} s"


async def browser_sign_in(attempt: Attempt, authorize: Callable[[str], tuple[str, T]], extra: Mapping[str, str],
                          open_browser: Callable[[str], object] | None = None) -> tuple[AuthorizationResponse, T]:
    """The browser leg of an auth-code flow: listen on loopback (`extra["redirect_port"]`, default any free port), let
    `authorize(redirect_uri)` build the authorization URL (and the library's flow state, handed back with the answer),
    wait for the redirect or a paste (`extra["signin_timeout"]`). Running out of time, or an unusable setting, fails
    the attempt."""
    port_text = str(extra.get("redirect_port", "") or "0").strip()
    if not port_text.isdigit() or int(port_text) > 65535:
        attempt.fail({"error": "configuration_error", "error_description": f"redirect port {port_text!r} is not a TCP port"})
    try:
        timeout = sign_in_timeout(extra)
    except ValueError as exc:
        attempt.fail({"error": "configuration_error", "error_description": str(exc)})
    loopback = LoopbackRedirect(int(port_text))
    try:
        redirect_uri = await loopback.start()
        url, flow = authorize(redirect_uri)
        attempt.info(f"sign in at the authorization URL; waiting up to {_duration(timeout)} for the redirect to {redirect_uri} "
                     "or a pasted URL")
        try:
            return await loopback.wait(attempt.record, url, timeout=timeout, open_browser=open_browser), flow
        except TimeoutError as exc:
            forward = f"ssh -L {loopback.port}:localhost:{loopback.port} <this host>"
            attempt.fail({"error": "sign_in_timeout", "error_description": f"{exc}: nobody finished the sign-in in a browser",
                          "fix": [f"Open the authorization URL and finish the sign-in within {_duration(timeout)} "
                                  "(--signin-timeout SECONDS gives more time).",
                                  f"Over SSH the browser's redirect to {redirect_uri} cannot reach this machine: forward the port "
                                  f"({forward}) or paste the address the browser ended on."]})
    finally:
        await loopback.close()
