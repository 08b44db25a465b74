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
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass

from mailscope.events import PasteBackPrompt, PromptRequested
from mailscope.record import SessionRecord

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
        """Prompt (paste-back future attached), optionally open a browser, and wait for either answer."""
        assert self._received is not None, "start() first"
        loop = asyncio.get_running_loop()
        pasted: asyncio.Future[str] = loop.create_future()
        record.prompt(PromptRequested(PasteBackPrompt(authorization_url, self.redirect_uri), answer=pasted))
        if open_browser is None and can_open_browser():
            open_browser = webbrowser.open
        if open_browser is not None:
            await asyncio.to_thread(open_browser, authorization_url)
        done, _ = await asyncio.wait({self._received, pasted}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if self._received in done:
            return AuthorizationResponse(self._received.result(), "loopback")
        if pasted in done:
            pasted_text = pasted.result()
            pasted.cancel()
            return AuthorizationResponse(parse_redirect(str(pasted_text)), "paste-back")
        pasted.cancel()
        raise TimeoutError(f"no sign-in answer within {int(timeout)} s")

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        if self._received is not None and not self._received.done():
            self._received.cancel()
