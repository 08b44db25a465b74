"""The SMTP driver on aiosmtplib's protocol: greeting, EHLO, STARTTLS and EHLO again, AUTH (XOAUTH2 / OAUTHBEARER /
PLAIN with the initial response on the AUTH line or after `334`, or LOGIN), then the post-auth check that never sends
a message: `MAIL FROM:<user>`, `RCPT TO:<user>`, `RSET`, `QUIT` (a real test message only with `send_test`). The
session (session.py) connects, races every step and maps failures; the conversation (mailscope.protocols.smtp) reads
every line, so a `334` error challenge (Gmail's base64 JSON) is kept however aiosmtplib reports it.

aiosmtplib has no logging hooks: `TapSMTPProtocol` sees every byte (`write` is its one way out, `data_received` its
one way in; plaintext under STARTTLS). aiosmtplib is pinned: the driver uses its protocol class directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
from collections.abc import Awaitable
from typing import TypeVar

from aiosmtplib.errors import SMTPDataError, SMTPReadTimeoutError, SMTPResponseException, SMTPServerDisconnected, SMTPTimeoutError
from aiosmtplib.protocol import SMTPProtocol
from aiosmtplib.response import SMTPResponse

from mailscope import sasl
from mailscope.credential import Credential
from mailscope.events import Direction
from mailscope.evidence import FaultKind
from mailscope.probe.faults import fault
from mailscope.probe.session import Driver, ProbeSession
from mailscope.protocols.conversation import SaslAnswers
from mailscope.protocols.mechanism import MechanismChoice

T = TypeVar("T")
_LIBRARY = "the SMTP library (aiosmtplib)"


class TapSMTPProtocol(SMTPProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, session: ProbeSession) -> None:
        super().__init__(loop=loop)
        self.session = session

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.session.connection_made(transport)
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self.session.received(data):
            return
        try:
            super().data_received(data)
        except Exception as exc:  # noqa: BLE001 - aiosmtplib gave up reading: its failure, not the server's close
            self.session.library_failed(_LIBRARY, exc)

    def write(self, data: bytes) -> None:
        self.session.recorder.feed(Direction.CLIENT, bytes(data))
        super().write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.session.connection_lost(exc)


class SmtpDriver(Driver):
    def __init__(self, session: ProbeSession, credential: Credential | None) -> None:
        super().__init__(session, credential)
        self.protocol: TapSMTPProtocol | None = None
        self._closing = False  # the server said 421: it closes the connection, no further commands

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await self.session.open(lambda: TapSMTPProtocol(loop, self.session))
        assert isinstance(self.session.protocol, TapSMTPProtocol)
        self.protocol = self.session.protocol

    async def greet(self) -> None:
        await self.session.greeting()
        assert self.protocol is not None
        await self._step(self.protocol.read_response(), "greeting")  # the library's copy of the greeting the tap judged

    async def capabilities(self) -> None:
        response = await self._command("EHLO", self._local_name())
        if response.code != 250 and not self._closing:
            response = await self._command("HELO", self._local_name())  # a server without ESMTP: no AUTH to offer
        if response.code != 250:
            raise fault(FaultKind.PROTOCOL_ERROR, f"EHLO/HELO refused: {response.code} {response.message}", "EHLO", self._last_seq())

    async def starttls(self) -> None:
        await self.session.start_tls(self._upgrade)
        await self.capabilities()

    def _local_name(self) -> str:
        """An address literal (RFC 5321 §4.1.3) of our end: no local host name leaves the machine."""
        assert self.session.transport is not None
        address = (self.session.transport.get_extra_info("sockname") or ("127.0.0.1",))[0]
        return f"[IPv6:{address}]" if ":" in address else f"[{address}]"

    async def _upgrade(self) -> asyncio.Transport:
        """aiosmtplib's STARTTLS: the command, the 220, then the handshake (it drops bytes a man in the middle may
        have injected before it). Its errors become what session.start_tls maps."""
        assert self.protocol is not None and self.session.context is not None
        try:
            await self.protocol.start_tls(self.session.context, server_hostname=self.settings.host, timeout=self.settings.timeout)
        except SMTPResponseException as exc:
            raise fault(FaultKind.STARTTLS_REFUSED, f"STARTTLS refused: {exc.code} {exc.message}", "STARTTLS", self._last_seq()) from None
        except SMTPReadTimeoutError:
            raise fault(FaultKind.SERVER_SILENT, f"no answer to STARTTLS within {self.settings.timeout:g} s", "STARTTLS") from None
        except SMTPTimeoutError:
            raise TimeoutError from None
        except SMTPServerDisconnected as exc:
            raise ConnectionResetError(str(exc)) from None
        assert self.protocol.transport is not None
        return self.protocol.transport  # type: ignore[return-value]

    async def authenticate(self, choice: MechanismChoice) -> bool:
        """235: accepted. The responses go one per `334`; once they are spent, a `334` is an error challenge."""
        assert self.credential is not None
        if choice.mechanism == "LOGIN":
            first, rest = self.settings.user.encode(), [self.credential.secret.reveal().encode()]
        else:
            first, rest = self.first_message(choice.mechanism), []
        form = "the initial response on the AUTH line" if choice.sasl_ir else "the response after the server's 334"
        self.record.info(f"sending AUTH {choice.mechanism} with {form}")
        responses = [sasl.b64(data) or "=" for data in (first, *rest)]
        initial = [responses.pop(0)] if choice.sasl_ir else []
        answers = SaslAnswers(choice.mechanism, responses)
        response = await self._command("AUTH", choice.mechanism, *initial)
        while response.code == 334 and not self._closing:
            if (answer := answers.next()) is None:
                return await self.verdict_after_sasl_loop("AUTH")
            response = await self._send_line(answer.encode(), "AUTH")
        return response.code == 235

    async def post_auth_check(self) -> None:
        """May this user send as this address? Nothing is delivered unless `send_test`."""
        address = f"<{self.settings.user}>"
        mail = await self._command("MAIL", f"FROM:{address}")
        if mail.code == 250 and not self._closing:
            rcpt = await self._command("RCPT", f"TO:{address}")
            if rcpt.code in (250, 251) and self.settings.send_test and not self._closing:
                await self._send_test_message()
                return
        if not self._closing:
            await self._command("RSET")

    async def _send_test_message(self) -> None:
        assert self.protocol is not None
        user = self.settings.user
        message = (
            f"From: <{user}>\r\nTo: <{user}>\r\nSubject: mailscope test message\r\nDate: {email.utils.formatdate()}\r\n"
            f"Message-ID: {email.utils.make_msgid('mailscope')}\r\n\r\n"
            "This message was sent by `mailscope check --send-test` to prove this account may submit mail.\r\n"
        ).encode()
        self.record.info("--send-test: sending one test message to the user's own address")
        with contextlib.suppress(SMTPDataError):  # a refusal (554 5.2.252 SendAsDenied...) is evidence the conversation kept
            await self._step(self.protocol.execute_data_command(message), "DATA")

    async def say_goodbye(self, timeout: float) -> bool:
        if self._closing:
            return False
        await self._command("QUIT", timeout=timeout)
        return True

    def close(self) -> None:
        """aiosmtplib keeps its last answer in its response waiter, an exception among them (a reply that is not SMTP),
        whose traceback holds the protocol: a cycle that would keep the whole session until a collection. Once the session
        ends nothing reads it; the library's own state for a connection gone is no waiter (`read_response`)."""
        if self.protocol is not None:
            self.protocol._response_waiter = None

    # -- plumbing --------------------------------------------------------------------------------------
    async def _command(self, *words: str, timeout: float | None = None) -> SMTPResponse:
        return await self._send_line(" ".join(words).encode(), words[0], timeout=timeout)

    async def _send_line(self, line: bytes, step: str, *, timeout: float | None = None) -> SMTPResponse:
        assert self.protocol is not None
        try:
            response = await self._step(self.protocol.execute_command(line), step, timeout=timeout)
        except ValueError:  # aiosmtplib refuses CR, LF and other controls in a command
            raise fault(FaultKind.SETTINGS, f"{step}: the user name or credential contains control characters", step) from None
        if response.code == 421:
            self._closing = True
            self.record.info(f"the server is closing the connection ({response.code} {response.message}): no further commands")
        return response

    async def _step(self, awaitable: Awaitable[T], step: str, *, timeout: float | None = None) -> T:
        """A step through aiosmtplib; its own exceptions become faults (a read timeout is the session's to report)."""
        try:
            return await self.session.race(awaitable, step, timeout=timeout)
        except SMTPServerDisconnected:
            detail = f"the server closed the connection during {step}"
            raise fault(FaultKind.CLOSED_MID_COMMAND, detail, step, self._last_seq()) from None
        except SMTPDataError:
            raise
        except SMTPResponseException as exc:
            detail = f"{step}: the server's reply is not SMTP ({exc.message})"
            raise fault(FaultKind.PROTOCOL_ERROR, detail, step, self._last_seq()) from None

    def _last_seq(self) -> int | None:
        return self.record.lines[-1].seq if self.record.lines else None
