"""The IMAP driver on aioimaplib: greeting, CAPABILITY, STARTTLS, authenticate (SASL XOAUTH2 / OAUTHBEARER / PLAIN
or the LOGIN command), then CAPABILITY (only when the answer to the credential did not list them), EXAMINE INBOX and
LOGOUT. The session (session.py) connects, races every step and maps failures; the conversation
(mailscope.protocols.imap) reads every line.

After authentication one mailbox command is enough: Exchange's `BAD User is authenticated but not connected.` answers
the first one whatever it is (catalogue: NAMESPACE, LIST, SELECT and EXAMINE alike), and EXAMINE's OK is what proves
the mailbox reachable. NAMESPACE and LIST told no rule anything more and cost two round trips per mailbox in an audit.

`TapProtocol` fixes what stock aioimaplib 2.0.3 gets wrong for a troubleshooter: the greeting is judged by the probe
(a `* BYE` greeting no longer dies in a background task), continuation challenges during AUTHENTICATE are answered
(stock code wedges on Gmail's `+ <json>`), a generic `authenticate()` offers SASL-IR or the continuation form, the
response parser runs as a loop (stock code recurses once per line: ~1,000 lines in one read raised RecursionError
inside `data_received`), and a parser failure is reported as the library's, never as the server closing.

aioimaplib logs every line it sends and receives at DEBUG, including the base64 SASL string that decodes to the
bearer token. `silence_aioimaplib_logging()` makes those records impossible to emit.
"""

from __future__ import annotations

import asyncio
import base64
import logging

from aioimaplib import aioimaplib as _ai

from mailscope.credential import Credential
from mailscope.evidence import CommandResult, FaultKind
from mailscope.probe.faults import ProbeFault, fault
from mailscope.probe.session import Driver, ProbeSession
from mailscope.probe.tap import TapTransport
from mailscope.protocols.conversation import SASL_LOOP, SaslAnswers
from mailscope.protocols.imap import ImapConversation
from mailscope.protocols.mechanism import MechanismChoice
from mailscope.protocols.servers import parse_greeting
from mailscope.settings import Protocol

MAX_PENDING_LINE = 1024 * 1024  # aioimaplib keeps an unterminated line in memory: a server may never send CRLF


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


class _Command(_ai.Command):
    """A command the session times (race): it has no timeout of its own, so aioimaplib's timer reset on every line of
    its answer (cancel a placeholder timer, arm none) is skipped."""

    def _reset_timer(self) -> None:
        assert self._timeout is None


class TapProtocol(_ai.IMAP4ClientProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, session: ProbeSession) -> None:
        super().__init__(loop, session.connection_lost)
        self.session = session
        self.sasl_loop = False  # the server kept sending continuations past every answer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.session.connection_made(transport)
        super().connection_made(TapTransport(transport, self.session.recorder))  # type: ignore[arg-type]

    def rewrap(self, transport: asyncio.Transport) -> None:
        """After STARTTLS: loop.start_tls returns a new transport and connection_made is not called again."""
        self.transport = TapTransport(transport, self.session.recorder)

    def data_received(self, d: bytes) -> None:
        if not self.session.received(d):
            return
        try:  # stock data_received, less its debug line (formatted with the bytes for every read, though never emitted)
            self._handle_responses(self.incomplete_line + d, self._handle_line, self.current_command)
            self.incomplete_line = b""
            self.current_command = None
        except _ai.IncompleteRead as incomplete_read:
            self.current_command = incomplete_read.cmd
            self.incomplete_line = incomplete_read.data
        except Exception as exc:  # noqa: BLE001 - aioimaplib's parser gave up (unknown tag, ...): its failure, not the server's close
            self.session.library_failed("the IMAP library (aioimaplib)", exc)
            return
        if len(self.incomplete_line) > MAX_PENDING_LINE:
            self.session.fail(FaultKind.PROTOCOL_ERROR, f"the server sent a line longer than {MAX_PENDING_LINE} bytes without CRLF")

    def send(self, line: str, scrub: str | None = None) -> None:
        """Stock `send`, less its debug line: that formatted every command, and a scrubbed copy of the AUTHENTICATE line,
        though never emitted. The bytes written are the same."""
        self.transport.write(f"{line}\r\n".encode())

    def _handle_responses(self, data: bytes, line_handler, current_cmd: _ai.Command | None = None) -> None:  # noqa: ANN001
        """aioimaplib 2.0.3's parser, step for step, as a loop instead of one recursion per line."""
        pos = 0
        while True:
            if pos >= len(data):
                if self.pending_sync_command is not None:
                    self.pending_sync_command.flush()
                if current_cmd is not None and current_cmd.wait_data():
                    raise _ai.IncompleteRead(current_cmd)
                return
            if current_cmd is not None and current_cmd.wait_literal_data():
                data, pos = current_cmd.append_literal_data(data[pos:]), 0
                if current_cmd.wait_literal_data():
                    raise _ai.IncompleteRead(current_cmd)
            end = data.find(_ai.CRLF, pos)
            if end < 0:
                raise _ai.IncompleteRead(current_cmd, data[pos:])
            line, pos = data[pos:end], end + 2
            cmd = line_handler(line, current_cmd)
            # The literal pattern (`.*{n}$`: `$` also before a final LF) is tried only where it can match: it backtracks
            # over the whole line, three times the cost of this test on a capability list.
            begin_literal = _ai.literal_data_re.match(line) if line.endswith((b"}", b"}\n")) else None
            if begin_literal:
                if cmd is None:
                    cmd = _ai.Command("NIL", "unused")
                cmd.begin_literal_data(int(begin_literal.group("size")))
                current_cmd = cmd
            elif cmd is not None and cmd.wait_data():
                current_cmd = cmd
            else:
                current_cmd = None

    def _handle_line(self, line: bytes, current_cmd: _ai.Command | None) -> _ai.Command | None:
        """The greeting only moves the state (synchronously, unlike stock `welcome()` in a task that dies on `* BYE`);
        the probe judges the greeting from the conversation and runs CAPABILITY itself. The wire tap saw the line first:
        its reading of the greeting is used, not a second parse of it."""
        if self.state == _ai.CONNECTED:
            greeting = self.session.recorder.greeting or parse_greeting(line.decode("utf-8", "replace"), Protocol.IMAP)
            self.state = {"PREAUTH": _ai.AUTH, "OK": _ai.NONAUTH}.get(greeting.status, _ai.LOGOUT)
            return None
        return super()._handle_line(line, current_cmd)

    def _continuation(self, line: bytes) -> None:
        command = self.pending_sync_command
        responder = getattr(command, "sasl_responder", None)
        if command is not None and command.name == "AUTHENTICATE" and responder is not None:
            answer = responder(line[1:].strip())
            if answer is not None:
                self.transport.write(answer + b"\r\n")
            return
        super()._continuation(line)

    async def authenticate(self, mechanism: str, initial_response: bytes | None, *, sasl_ir: bool) -> _ai.Response:
        """AUTHENTICATE with the initial response on the command line (SASL-IR) or after the first `+`.

        Later challenges are error reports (Gmail/Dovecot XOAUTH2 JSON, RFC 7628), answered as SaslAnswers says.
        """
        encoded = None if initial_response is None else (base64.b64encode(initial_response).decode("ascii") or "=")
        args: list[str] = [mechanism]
        if encoded is not None and sasl_ir:
            args.append(encoded)
        answers = SaslAnswers(mechanism, [encoded] if encoded is not None and not sasl_ir else [])
        command = _Command("AUTHENTICATE", self.new_tag(), *args, loop=self.loop)

        def respond(challenge: bytes) -> bytes | None:
            answer = answers.next()
            self.sasl_loop = answer is None  # no more answers: a tagged verdict may still come (ImapDriver.authenticate)
            return None if answer is None else answer.encode("ascii")

        command.sasl_responder = respond  # type: ignore[attr-defined]
        response = await self.execute(command, scrub=encoded)
        if response.result == "OK":
            self.state = _ai.AUTH
        return response


class ImapDriver(Driver):
    auth_step = "AUTHENTICATE"

    def __init__(self, session: ProbeSession, credential: Credential | None) -> None:
        super().__init__(session, credential)
        assert isinstance(session.conversation, ImapConversation)
        self.conversation: ImapConversation = session.conversation
        self.protocol: TapProtocol | None = None
        self._bye_noted = False

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await self.session.open(lambda: TapProtocol(loop, self.session))
        assert isinstance(self.session.protocol, TapProtocol)
        self.protocol = self.session.protocol

    async def capabilities(self) -> None:
        result = await self._command("CAPABILITY")
        if result.result != "OK":
            raise fault(FaultKind.PROTOCOL_ERROR, f"CAPABILITY failed: {result.result} {result.text}", "CAPABILITY", result.seq)

    async def starttls(self) -> None:
        assert self.protocol is not None
        result = await self._command("STARTTLS")
        if result.result != "OK":
            raise fault(FaultKind.STARTTLS_REFUSED, f"STARTTLS refused: {result.result} {result.text}".strip(), "STARTTLS", result.seq)
        self.protocol.rewrap(await self.session.start_tls())
        await self.capabilities()

    async def authenticate(self, choice: MechanismChoice) -> bool:
        assert self.protocol is not None
        if choice.mechanism == "LOGIN":
            return await self._login()
        payload = self.first_message(choice.mechanism)
        try:
            response = await self._library(self.protocol.authenticate(choice.mechanism, payload, sasl_ir=choice.sasl_ir), "AUTHENTICATE")
        except ProbeFault as exc:
            if self.protocol.sasl_loop and exc.fault.kind is FaultKind.SERVER_SILENT:  # no verdict came: the server loops
                raise fault(FaultKind.PROTOCOL_ERROR, f"AUTHENTICATE: {SASL_LOOP}", "AUTHENTICATE", exc.fault.line_seq) from None
            raise
        sasl_exchange = self.record.evidence.sasl[-1] if self.record.evidence.sasl else None
        return (sasl_exchange.result if sasl_exchange is not None and sasl_exchange.result else response.result) == "OK"

    async def _login(self) -> bool:
        assert self.credential is not None and self.protocol is not None
        try:
            args = (_ai.quoted(self.settings.user), _ai.quoted(self.credential.secret.reveal()))
            result = await self._command("LOGIN", *args)
        except ValueError:
            raise fault(FaultKind.SETTINGS, "the user name or password contains CR, LF or NUL", "LOGIN") from None
        if result.result == "OK":
            self.protocol.state = _ai.AUTH
        return result.result == "OK"

    async def post_auth_check(self) -> None:
        if self.record.evidence.capabilities_post_auth is None:  # Dovecot and Gmail send them with their OK, Exchange does not
            await self.capabilities()
        if not self._server_said_bye():
            await self._command("EXAMINE", "INBOX")

    async def say_goodbye(self, timeout: float) -> bool:
        if self._server_said_bye():
            return False
        await self._command("LOGOUT", timeout=timeout)
        return True

    def _server_said_bye(self) -> bool:
        """After an untagged BYE (e.g. Exchange's `* BYE Connection closed. 14`) the server is gone: sending more
        commands would only turn its clear answer into a `closed_mid_command` fault."""
        if self.record.evidence.untagged_bye is None:
            return False
        if not self._bye_noted:
            self._bye_noted = True
            self.record.info(f"the server ended the session ({self.record.evidence.untagged_bye}): no further commands")
        return True

    async def _command(self, name: str, *args: str, timeout: float | None = None) -> CommandResult:
        assert self.protocol is not None
        command = _Command(name, self.protocol.new_tag(), *args, loop=self.protocol.loop)
        response = await self._library(self.protocol.execute(command), name, timeout=timeout)
        return self.conversation.results.get(command.tag) or CommandResult(name, response.result, "")

    async def _library(self, awaitable, step: str, *, timeout: float | None = None):  # noqa: ANN001, ANN202
        """A step through aioimaplib: its own refusals (a command illegal in this state...) are protocol errors. A timed-out
        command stays pending in aioimaplib forever (every later one would time out too): close() drops the connection."""
        try:
            return await self.session.race(awaitable, step, timeout=timeout)
        except _ai.AioImapException as exc:
            raise fault(FaultKind.PROTOCOL_ERROR, f"{step}: the IMAP library gave up: {exc}", step) from None

    def close(self) -> None:
        if self.protocol is not None:
            for task in list(self.protocol.tasks):
                task.cancel()
