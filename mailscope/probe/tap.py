"""The wire tap on aioimaplib: every byte both ways goes to a WireRecorder before aioimaplib sees it.

* `TapTransport` wraps the transport, so every write is seen (send(), APPEND literals and the
  continuation answers written from `_continuation`).
* `TapProtocol.data_received` sees each raw chunk as TCP/TLS delivered it (plaintext under TLS).
* `TapProtocol` fixes what stock aioimaplib 2.0.3 gets wrong for a troubleshooter: the greeting is
  judged by the probe (a `* BYE` greeting no longer dies in a background task), continuation
  challenges during AUTHENTICATE are answered (stock code wedges on Gmail's `+ <json>`), and a
  generic `authenticate()` offers SASL-IR or the continuation form.

aioimaplib logs every line it sends and receives at DEBUG, including the base64 SASL string that
decodes to the bearer token. `silence_aioimaplib_logging()` makes those records impossible to emit.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable

from aioimaplib import aioimaplib as _ai

from mailscope.events import Direction
from mailscope.probe.wire import WireRecorder


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def silence_aioimaplib_logging() -> None:
    """No aioimaplib record may reach any handler: not at DEBUG, not if someone re-enables it."""
    for name in ("aioimaplib", "aioimaplib.aioimaplib"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL + 1)
        logger.propagate = False
        logger.handlers.clear()
        if not any(isinstance(f, _DropAll) for f in logger.filters):
            logger.addFilter(_DropAll())


silence_aioimaplib_logging()


class TapTransport:
    """Delegates to the real transport; every write is fed to the recorder first."""

    def __init__(self, transport: asyncio.Transport, recorder: WireRecorder) -> None:
        self.raw = transport
        self._recorder = recorder

    def write(self, data: bytes) -> None:
        self._recorder.feed(Direction.CLIENT, bytes(data))
        self.raw.write(data)

    def writelines(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def __getattr__(self, name: str) -> object:
        return getattr(self.raw, name)


class TapProtocol(_ai.IMAP4ClientProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, recorder: WireRecorder, conn_lost_cb: Callable[[Exception | None], None]) -> None:
        super().__init__(loop, conn_lost_cb)
        self.recorder = recorder

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(TapTransport(transport, self.recorder))  # type: ignore[arg-type]

    def rewrap(self, transport: asyncio.Transport) -> None:
        """After STARTTLS: loop.start_tls returns a new transport and connection_made is not called again."""
        self.transport = TapTransport(transport, self.recorder)

    def data_received(self, d: bytes) -> None:
        self.recorder.feed(Direction.SERVER, d)
        super().data_received(d)

    def _handle_line(self, line: bytes, current_cmd: _ai.Command | None) -> _ai.Command | None:
        """The greeting only moves the state (synchronously, unlike stock `welcome()` in a task that
        dies on `* BYE`); the probe judges the greeting from the recorder and runs CAPABILITY itself."""
        if self.state == _ai.CONNECTED:
            if line.startswith(b"* PREAUTH"):
                self.state = _ai.AUTH
            elif line.startswith(b"* OK"):
                self.state = _ai.NONAUTH
            else:
                self.state = _ai.LOGOUT
            return None
        return super()._handle_line(line, current_cmd)

    def _continuation(self, line: bytes) -> None:
        command = self.pending_sync_command
        responder = getattr(command, "sasl_responder", None)
        if command is not None and command.name == "AUTHENTICATE" and responder is not None:
            self.transport.write(responder(line[1:].strip()) + b"\r\n")
            return
        super()._continuation(line)

    async def authenticate(self, mechanism: str, initial_response: bytes | None, *, sasl_ir: bool) -> _ai.Response:
        """AUTHENTICATE with the initial response on the command line (SASL-IR) or after the first `+`.

        Later challenges are error reports (Gmail/Dovecot XOAUTH2 JSON, RFC 7628): answered with an
        empty line for XOAUTH2, `AQ==` (%x01) for OAUTHBEARER and `*` (cancel) otherwise.
        """
        encoded = None if initial_response is None else (base64.b64encode(initial_response).decode("ascii") or "=")
        args: list[str] = [mechanism]
        pending = None
        if encoded is not None and sasl_ir:
            args.append(encoded)
        else:
            pending = encoded
        command = _ai.Command("AUTHENTICATE", self.new_tag(), *args, loop=self.loop)

        def respond(challenge: bytes) -> bytes:
            nonlocal pending
            if pending is not None:
                answer, pending = pending, None
                return answer.encode("ascii")
            return {"XOAUTH2": b"", "OAUTHBEARER": b"AQ=="}.get(mechanism, b"*")

        command.sasl_responder = respond  # type: ignore[attr-defined]
        response = await self.execute(command, scrub=encoded)
        if response.result == "OK":
            self.state = _ai.AUTH
        return response
