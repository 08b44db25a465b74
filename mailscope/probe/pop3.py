"""The POP3 driver: no maintained asyncio POP3 client exists, so this small one writes commands and reads the replies
the conversation (mailscope.protocols.pop3) assembles from the wire tap: greeting, CAPA, STLS and CAPA again, AUTH
(XOAUTH2 / OAUTHBEARER / PLAIN in the two-step form or on one line, as `sasl_ir` says) or USER/PASS, then STAT and
QUIT. The session (session.py) connects, races every step and maps failures.

Exchange Online refuses `AUTH XOAUTH2 <initial response>` with `-ERR Protocol error. Connection is closed. 10`:
`sasl_ir=auto` sends the two-step form, `yes` the one-line form, and the transcript says which was sent.
"""

from __future__ import annotations

import asyncio

from mailscope import sasl
from mailscope.credential import Credential
from mailscope.events import Direction
from mailscope.evidence import FaultKind
from mailscope.probe.faults import fault
from mailscope.probe.session import Driver, ProbeSession
from mailscope.protocols import Fed, Reply
from mailscope.protocols.conversation import SaslAnswers
from mailscope.protocols.mechanism import MechanismChoice


class _Pop3Protocol(asyncio.Protocol):
    """Bytes in go to the wire tap (the conversation assembles the replies); nothing else."""

    def __init__(self, session: ProbeSession) -> None:
        self.session = session

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.session.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self.session.received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.session.connection_lost(exc)


class Pop3Driver(Driver):
    def __init__(self, session: ProbeSession, credential: Credential | None) -> None:
        super().__init__(session, credential)
        self._replies: asyncio.Queue[Reply] = asyncio.Queue()
        session.recorder.on_fed = self._on_fed

    def _on_fed(self, fed: Fed) -> None:
        if fed.reply is not None:
            self._replies.put_nowait(fed.reply)

    async def open(self) -> None:
        await self.session.open(lambda: _Pop3Protocol(self.session))

    async def capabilities(self) -> None:
        await self._command("CAPA")  # -ERR: a server without CAPA (RFC 1939 only); USER/PASS still works

    async def starttls(self) -> None:
        reply = await self._command("STLS")
        if reply.status != "OK":
            raise fault(FaultKind.STARTTLS_REFUSED, f"STLS refused: {reply.text}", "STLS", reply.seq)
        await self.session.start_tls()
        await self.capabilities()

    async def authenticate(self, choice: MechanismChoice) -> bool:
        """+OK: accepted. The responses go one per `+`; once they are spent, a `+` is an error challenge."""
        assert self.credential is not None
        if choice.mechanism == "USER/PASS":
            if (await self._command("USER", self.settings.user)).status != "OK":
                return False
            return (await self._command("PASS", self.credential.secret.reveal())).status == "OK"
        payload = sasl.b64(self.first_message(choice.mechanism)) or "="
        form = "one-line form (initial response on the AUTH line)" if choice.sasl_ir else "two-step form (response after the '+')"
        self.record.info(f"sending AUTH {choice.mechanism} in the {form}")
        answers = SaslAnswers(choice.mechanism, [] if choice.sasl_ir else [payload])
        reply = await self._command("AUTH", choice.mechanism, *([payload] if choice.sasl_ir else []))
        while reply.status == "CONTINUE":
            if (answer := answers.next()) is None:
                accepted = await self.verdict_after_sasl_loop("AUTH")
                while not self._replies.empty():  # the continuations and the verdict read meanwhile answer nothing now
                    self._replies.get_nowait()
                return accepted
            reply = await self._send(answer, "AUTH")
        return reply.status == "OK"

    async def post_auth_check(self) -> None:
        await self._command("STAT")

    async def say_goodbye(self, timeout: float) -> bool:
        await self._command("QUIT", timeout=timeout)
        return True

    async def _command(self, *words: str, timeout: float | None = None) -> Reply:
        return await self._send(" ".join(words), words[0], timeout=timeout)

    async def _send(self, line: str, step: str, *, timeout: float | None = None) -> Reply:
        """One line to the server, then its complete reply (a multi-line answer up to its `.`, or a `+` continuation)."""
        if any(ch in line for ch in "\r\n\0"):
            raise fault(FaultKind.SETTINGS, f"{step}: the user name or credential contains CR, LF or NUL", step)
        transport = self.session.transport
        assert transport is not None
        data = line.encode() + b"\r\n"
        self.session.recorder.feed(Direction.CLIENT, data)
        transport.write(data)
        return await self.session.race(self._replies.get(), step, timeout=timeout)
