"""The live IMAP session: connect (implicit TLS, STARTTLS or plain), greeting, CAPABILITY, authenticate
(SASL XOAUTH2 / OAUTHBEARER / PLAIN or the LOGIN command), then CAPABILITY, NAMESPACE, LIST, EXAMINE
INBOX and LOGOUT. Every step is raced against the timeout and against the connection closing, and
each failure becomes `evidence.fault` instead of an exception. Facts are written to the record as
they are learned, so the diagnosis and any UI follow live.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable
from typing import TypeVar

from aioimaplib import aioimaplib as _ai

from mailscope import sasl
from mailscope.credential import Credential
from mailscope.evidence import CommandResult, Fault, FaultKind, SaslExchange, TlsFacts
from mailscope.probe.connect import client_context, open_socket, speaks_tls, tls_facts
from mailscope.probe.faults import ProbeFault, fault, fault_from_exception
from mailscope.probe.greeting import parse_greeting
from mailscope.probe.mechanism import MechanismChoice, choose_mechanism
from mailscope.probe.tap import TapProtocol
from mailscope.probe.wire import WireRecorder
from mailscope.record import SessionRecord
from mailscope.settings import CheckSettings, Security

T = TypeVar("T")
_TLS_RECORD_STARTS = (b"\x15\x03", b"\x16\x03")  # a TLS alert/handshake record where a greeting should be


async def run_imap_probe(settings: CheckSettings, credential: Credential | None, record: SessionRecord) -> None:
    """Run the session; results land in `record.evidence` (fault included). Never raises, except
    CancelledError, and always leaves the connection closed."""
    session = _ImapSession(settings, credential, record)
    try:
        await session.run()
    except ProbeFault as exc:
        record.update_evidence(fault=exc.fault)
    except Exception as exc:  # a path we (or aioimaplib) did not foresee: still data, redacted with the session's secrets
        record.update_evidence(fault=Fault(FaultKind.PROTOCOL_ERROR, f"unexpected {exc.__class__.__name__}: {exc}", "session"))
    finally:
        session.close()


class _ImapSession:
    def __init__(self, settings: CheckSettings, credential: Credential | None, record: SessionRecord) -> None:
        self.settings = settings
        self.credential = credential
        self.record = record
        self.recorder = WireRecorder(record)
        self.protocol: TapProtocol | None = None
        self.transport: asyncio.BaseTransport | None = None
        self.context: ssl.SSLContext | None = None
        self.clean = False  # LOGOUT completed: close gracefully instead of aborting
        self._bye_noted = False
        self._lost: asyncio.Future[Exception | None] | None = None

    # -- the session -----------------------------------------------------------------------------
    async def run(self) -> None:
        settings = self.settings
        loop = asyncio.get_running_loop()
        self._lost = loop.create_future()
        if settings.security is not Security.PLAIN:
            try:
                self.context = client_context(settings)
            except (OSError, ssl.SSLError) as exc:
                raise fault(FaultKind.SETTINGS, f"cannot load the CA file {settings.ca_file}: {exc.strerror or exc}", "connect") from None
        self.record.info(f"connecting to {settings.host}:{settings.port} ({settings.security})")
        await self._connect()
        await self._greeting()
        caps = await self._capability()
        self.record.update_evidence(capabilities_pre_tls=caps)
        if settings.security is Security.STARTTLS:
            await self._starttls()
        if self.credential is None:
            self.record.info("no credential given: capabilities only")
        elif await self._authenticate():
            await self._mailbox()
        await self._logout()

    async def _connect(self) -> None:
        settings, loop = self.settings, asyncio.get_running_loop()
        sock = await open_socket(settings.host, settings.port, settings.timeout)
        tls = settings.security is Security.TLS
        self.protocol = TapProtocol(loop, self.recorder, self._connection_lost)
        try:
            self.transport, _ = await asyncio.wait_for(
                loop.create_connection(
                    lambda: self.protocol,
                    sock=sock,
                    ssl=self.context if tls else None,
                    server_hostname=settings.host if tls else None,
                    ssl_handshake_timeout=settings.timeout if tls else None,
                ),
                settings.timeout + 1,
            )
        except TimeoutError:
            sock.close()
            raise self._handshake_timeout("TLS handshake") from None
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            self._note_tls_failure(exc)
            raise fault_from_exception(exc, host=settings.host, port=settings.port, step="TLS handshake") from None
        if tls:
            self._note_tls()

    def _handshake_timeout(self, step: str) -> ProbeFault:
        return fault(
            FaultKind.TLS_HANDSHAKE,
            f"the TLS handshake with {self.settings.host}:{self.settings.port} did not complete within {self.settings.timeout:g} s "
            "(a plain-text port that waits for the client looks like this)",
            step,
        )

    def _note_tls(self) -> None:
        assert self.transport is not None and self.context is not None
        facts = tls_facts(self.transport, self.context, self.settings.host)
        self.record.update_evidence(tls=facts)
        peer = (
            f"; certificate {facts.peer_subject} issued by {facts.peer_issuer}, valid until {facts.not_after}" if facts.peer_subject else ""
        )
        verified = "verified" if facts.verified else "NOT verified"
        self.record.info(f"TLS {facts.version} {facts.cipher}{peer}; {verified} for {facts.server_hostname}")

    def _note_tls_failure(self, exc: BaseException) -> None:
        if isinstance(exc, ssl.SSLCertVerificationError):
            reason = exc.verify_message or exc.reason or str(exc)
            self.record.update_evidence(tls=TlsFacts(verified=False, verify_error=reason, server_hostname=self.settings.host))

    def _connection_lost(self, exc: Exception | None) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(exc)

    async def _greeting(self) -> None:
        settings = self.settings
        try:
            await self._race(self.recorder.greeted.wait(), "greeting")
        except ProbeFault as exc:
            partial = self.recorder.pending_server_bytes()
            if partial.startswith(_TLS_RECORD_STARTS) or (
                not partial
                and settings.security is not Security.TLS
                and await speaks_tls(settings.host, settings.port, min(settings.timeout, 3))
            ):
                raise fault(
                    FaultKind.PLAIN_ON_TLS_PORT,
                    f"{settings.host}:{settings.port} expects TLS first (implicit TLS port): use --security tls",
                    "greeting",
                ) from None
            if partial:
                shown = self.record.redactor.redact_bytes(partial[:200])
                raise fault(FaultKind.UNEXPECTED_GREETING, f"the server sent no IMAP greeting line, only: {shown}", "greeting") from None
            if exc.fault.kind is FaultKind.CLOSED_MID_COMMAND:
                raise fault(
                    FaultKind.CLOSED_MID_COMMAND, "the server closed the connection before sending a greeting", "greeting"
                ) from None
            raise
        raw = self.recorder.greeting_raw or b""
        seq = self.recorder.greeting_seq
        greeting = parse_greeting(raw.decode("utf-8", "backslashreplace"))
        self.record.update_evidence(
            greeting=self.recorder.greeting, greeting_seq=seq, server_family=greeting.family, frontend_name=greeting.frontend_name
        )
        if greeting.frontend_name:
            self.record.info(f"Exchange front end: {greeting.frontend_name}")
        if greeting.status == "BYE":
            self.record.update_evidence(untagged_bye=self.recorder.greeting, bye_seq=seq)
            raise fault(
                FaultKind.BYE_GREETING, f"the server refused the session in its greeting: {self.recorder.greeting}", "greeting", seq
            )
        if raw.startswith(_TLS_RECORD_STARTS):
            raise fault(
                FaultKind.PLAIN_ON_TLS_PORT, f"{settings.host}:{settings.port} answered with TLS: use --security tls", "greeting", seq
            )
        if greeting.status != "OK":
            what = "PREAUTH: the server authenticated the connection by itself" if greeting.status == "PREAUTH" else "not an IMAP greeting"
            raise fault(FaultKind.UNEXPECTED_GREETING, f"unexpected greeting ({what}): {self.recorder.greeting}", "greeting", seq)

    async def _capability(self) -> tuple[str, ...]:
        result, response = await self._command("CAPABILITY")
        caps: list[str] = []
        for line in response.lines[:-1]:
            words = line.decode("utf-8", "replace").split()
            if words and words[0].upper() == "CAPABILITY":
                words = words[1:]
            caps += words
        if result.result != "OK":
            raise fault(FaultKind.PROTOCOL_ERROR, f"CAPABILITY failed: {result.result} {result.text}", "CAPABILITY", result.seq)
        return tuple(caps)

    async def _starttls(self) -> None:
        assert self.protocol is not None and self.context is not None
        result, _ = await self._command("STARTTLS")
        if result.result != "OK":
            raise fault(FaultKind.STARTTLS_REFUSED, f"STARTTLS refused: {result.result} {result.text}".strip(), "STARTTLS", result.seq)
        loop = asyncio.get_running_loop()
        raw = self.protocol.transport.raw
        try:
            self.transport = await asyncio.wait_for(
                loop.start_tls(
                    raw, self.protocol, self.context, server_hostname=self.settings.host, ssl_handshake_timeout=self.settings.timeout
                ),
                self.settings.timeout + 1,
            )
        except TimeoutError:
            raise self._handshake_timeout("STARTTLS handshake") from None
        except (OSError, ssl.SSLError) as exc:
            self._note_tls_failure(exc)
            raise fault_from_exception(exc, host=self.settings.host, port=self.settings.port, step="STARTTLS handshake") from None
        self.protocol.rewrap(self.transport)
        self._note_tls()
        self.record.update_evidence(capabilities_post_tls=await self._capability())

    async def _authenticate(self) -> bool:
        """True when the server accepted the credential."""
        assert self.credential is not None and self.protocol is not None
        evidence = self.record.evidence
        choice = choose_mechanism(self.settings.mechanism, evidence.capabilities or (), is_password=self.credential.is_password)
        if choice is None:
            offered = " ".join(c for c in evidence.capabilities or () if c.upper().startswith("AUTH=")) or "no AUTH= at all"
            kind = "password" if self.credential.is_password else "OAuth (XOAUTH2/OAUTHBEARER)"
            raise fault(FaultKind.NO_USABLE_MECHANISM, f"the server offers no {kind} mechanism: {offered}", "AUTHENTICATE")
        self.record.update_evidence(mechanism=choice.mechanism, mechanism_reason=choice.reason)
        if choice.mechanism == "LOGIN":
            return await self._login()
        payload = self._payload(choice)
        exchange = SaslExchange(
            mechanism=choice.mechanism,
            sasl_ir=choice.sasl_ir,
            client_payload=self.record.redactor.describe_sasl(sasl.b64(payload), choice.mechanism),
            defects=[self.record.redactor.redact(d) for d in sasl.parse_payload(payload, choice.mechanism).defects],
        )
        evidence.sasl.append(exchange)
        self.recorder.sasl = exchange
        self.record.evidence_touched("sasl")
        response = await self._race(self.protocol.authenticate(choice.mechanism, payload, sasl_ir=choice.sasl_ir), "AUTHENTICATE")
        result = exchange.result or response.result
        self.record.update_evidence(auth_result=result, auth_text=exchange.result_text)
        return result == "OK"

    def _payload(self, choice: MechanismChoice) -> bytes:
        assert self.credential is not None
        user, secret = self.settings.user, self.credential.secret.reveal()
        if choice.mechanism == "OAUTHBEARER":
            return sasl.oauthbearer_payload(user, secret, self.settings.host, self.settings.port)
        if choice.mechanism == "PLAIN":
            return sasl.plain_payload(user, secret)
        return sasl.xoauth2_payload(user, secret)

    async def _login(self) -> bool:
        assert self.credential is not None
        self.record.update_evidence(login_used=True)
        try:
            args = (_ai.quoted(self.settings.user), _ai.quoted(self.credential.secret.reveal()))
            result, _ = await self._command("LOGIN", *args)
        except ValueError:
            raise fault(FaultKind.SETTINGS, "the user name or password contains CR, LF or NUL", "LOGIN") from None
        self.record.update_evidence(auth_result=result.result, auth_text=f"{result.result} {result.text}".strip())
        if result.result == "OK":
            assert self.protocol is not None
            self.protocol.state = _ai.AUTH
        return result.result == "OK"

    async def _mailbox(self) -> None:
        self.record.update_evidence(capabilities_post_auth=await self._capability())
        for name, *args in (("NAMESPACE",), ("LIST", '""', '"INBOX"'), ("EXAMINE", "INBOX")):
            if self._server_said_bye():
                return
            await self._command(name, *args)

    async def _logout(self) -> None:
        if self._server_said_bye():
            return
        try:
            await self._command("LOGOUT", timeout=min(self.settings.timeout, 5))
        except ProbeFault as exc:
            self.record.info(f"LOGOUT: {exc.fault.detail}")
            return
        self.clean = True

    def _server_said_bye(self) -> bool:
        """After an untagged BYE (e.g. Exchange's `* BYE Connection closed. 14`) the server is gone:
        sending more commands would only turn its clear answer into a `closed_mid_command` fault."""
        if self.record.evidence.untagged_bye is None:
            return False
        if not self._bye_noted:
            self._bye_noted = True
            self.record.info(f"the server ended the session ({self.record.evidence.untagged_bye}): no further commands")
        return True

    # -- plumbing --------------------------------------------------------------------------------
    async def _command(self, name: str, *args: str, timeout: float | None = None) -> tuple[CommandResult, _ai.Response]:
        assert self.protocol is not None
        command = _ai.Command(name, self.protocol.new_tag(), *args, loop=self.protocol.loop)
        response = await self._race(self.protocol.execute(command), name, timeout=timeout)
        tagged = self.recorder.results.get(command.tag)
        result = CommandResult(
            command=name,
            result=tagged.result if tagged else response.result,
            text=tagged.text if tagged else "",
            seq=tagged.seq if tagged else None,
        )
        self.record.evidence.commands.append(result)
        self.record.evidence_touched("commands")
        return result, response

    async def _race(self, awaitable: Awaitable[T], step: str, *, timeout: float | None = None) -> T:
        """The step's result, or a ProbeFault: closed_mid_command, server_silent or protocol_error."""
        assert self._lost is not None
        timeout = self.settings.timeout if timeout is None else timeout
        task = asyncio.ensure_future(awaitable)
        try:
            done, _ = await asyncio.wait({task, self._lost}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task in done:
            try:
                return task.result()
            except _ai.AioImapException as exc:
                raise fault(FaultKind.PROTOCOL_ERROR, f"{step}: the IMAP library gave up: {exc}", step) from None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        last_seq = self.record.lines[-1].seq if self.record.lines else None
        if self._lost.done():
            bye = self.record.evidence.untagged_bye
            after = f" after {bye}" if bye else ""
            raise fault(FaultKind.CLOSED_MID_COMMAND, f"the server closed the connection during {step}{after}", step, last_seq)
        # aioimaplib keeps the timed-out command pending forever (every later command would time out
        # too): the only way on is to drop the connection, which close() does.
        raise fault(FaultKind.SERVER_SILENT, f"no answer to {step} within {timeout:g} s", step, last_seq)

    def close(self) -> None:
        if self.protocol is not None:
            for task in list(self.protocol.tasks):
                task.cancel()
        if self.transport is not None:
            if self.clean:
                self.transport.close()
            else:
                self.transport.abort()
        self.recorder.close()
