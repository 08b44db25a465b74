"""One live connection, protocol-neutral: DNS and TCP in separately timed phases, implicit TLS or a STARTTLS/STLS
upgrade (TLS facts as evidence), the wire tap, and every step raced against its timeout, the connection closing
and the client library failing, each failure becoming a Fault. The drivers (`imap.py`, `smtp.py`, `pop3.py`) only
say which command comes next and what its answer means for the session (`Driver` is the order every check follows).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from mailscope import sasl
from mailscope.credential import Credential
from mailscope.events import Direction
from mailscope.evidence import FaultKind, TlsFacts
from mailscope.probe.connect import client_context, open_socket, speaks_tls, tls_facts
from mailscope.probe.faults import ProbeFault, fault, fault_from_exception
from mailscope.probe.tap import WireRecorder
from mailscope.protocols import conversation_for
from mailscope.protocols.conversation import SASL_LOOP
from mailscope.protocols.mechanism import MechanismChoice, choose_mechanism
from mailscope.protocols.servers import Greeting
from mailscope.record import SessionRecord
from mailscope.settings import CheckSettings, Security

T = TypeVar("T")
MAX_SERVER_BYTES = 16 * 1024 * 1024  # far beyond any authentication session; a flood is the server's fault
MAX_SESSION_LINES = 20_000  # the same for lines: each costs a transcript line and its report entry, bytes alone do not bound that
_TLS_RECORD_STARTS = ("\x15\x03", "\x16\x03")  # a TLS alert/handshake record where a greeting should be
_A_PROTOCOL = {"imap": "an IMAP", "pop3": "a POP3", "smtp": "an SMTP"}
_NO_MECHANISMS = {"imap": "no AUTH= at all", "pop3": "no SASL at all", "smtp": "no AUTH at all"}


@dataclass(slots=True)
class _Step:
    """A step race() waits on, and whether it was interrupted: its deadline passed, or the connection closed."""

    task: asyncio.Task
    deadline: float  # loop time
    interrupted: bool = False
    expired: bool = False  # interrupted by its deadline, else by the connection closing


class ProbeSession:
    def __init__(self, settings: CheckSettings, record: SessionRecord) -> None:
        self.settings = settings
        self.record = record
        self.conversation = conversation_for(settings.protocol, record.redactor)
        self.recorder = WireRecorder(record, self.conversation)
        self.transport: asyncio.Transport | None = None  # the real transport (a driver's protocol may see a wrapper)
        self.protocol: asyncio.BaseProtocol | None = None
        self.context: ssl.SSLContext | None = None
        self.clean = False  # the session ended with the protocol's goodbye: close gracefully instead of aborting
        self.failure: tuple[FaultKind, str] | None = None  # a fault found while reading (not by a step): reported by race()
        self._lost: asyncio.Future[Exception | None] | None = None
        self._step: _Step | None = None  # the step race() is waiting on: what the step timer and a lost connection interrupt
        self._timer: asyncio.Handle | None = None  # the session's one step timer (see race)
        self._timer_at = 0.0  # when it fires (uvloop's call_at gives a plain Handle, without when(), for a time passed)

    # -- connecting ------------------------------------------------------------------------------
    async def open(self, protocol_factory: Callable[[], asyncio.BaseProtocol]) -> None:
        """DNS, TCP and (implicit TLS) the handshake; raises ProbeFault."""
        settings, loop = self.settings, asyncio.get_running_loop()
        self._lost = loop.create_future()
        self._lost.add_done_callback(self._interrupt_lost)
        if settings.security is not Security.PLAIN:
            try:
                self.context = client_context(settings)
            except (OSError, ssl.SSLError) as exc:
                raise fault(FaultKind.SETTINGS, f"cannot load the CA file {settings.ca_file}: {exc.strerror or exc}", "connect") from None
        self.record.info(f"connecting to {settings.host}:{settings.port} ({settings.security})")
        sock = await open_socket(settings.host, settings.port, settings.timeout)
        tls = settings.security is Security.TLS
        self.protocol = protocol_factory()
        try:
            async with asyncio.timeout(settings.timeout + 1):  # in this task: wait_for would make one per session
                self.transport, _ = await loop.create_connection(  # type: ignore[assignment]
                    lambda: self.protocol,
                    sock=sock,
                    ssl=self.context if tls else None,
                    server_hostname=settings.host if tls else None,
                    ssl_handshake_timeout=settings.timeout if tls else None,
                )
        except (TimeoutError, ConnectionAbortedError):  # asyncio aborts a stalled handshake with ConnectionAbortedError
            sock.close()
            raise self._handshake_timeout("TLS handshake") from None
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            self._note_tls_failure(exc)
            raise fault_from_exception(exc, host=settings.host, port=settings.port, step="TLS handshake") from None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """The driver's protocol is connected (implicit TLS: the handshake has just completed). asyncio calls this before it
        hands the protocol any server byte, but resumes `open` only later: a greeting that came in the same read as the
        end of the handshake is tapped before then. The TLS facts are noted here, so the TLS line always precedes it."""
        if self.settings.security is Security.TLS:
            self._note_tls(transport)

    async def start_tls(self, upgrade: Callable[[], Awaitable[asyncio.Transport]] | None = None) -> asyncio.Transport:
        """The TLS upgrade after the server accepted STARTTLS/STLS: `loop.start_tls` on the connection, or the client
        library's own `upgrade` (aiosmtplib keeps its buffer and transport consistent itself). Returns the new transport."""
        assert self.transport is not None and self.protocol is not None and self.context is not None
        settings, loop = self.settings, asyncio.get_running_loop()
        step = "STARTTLS handshake"
        try:
            async with asyncio.timeout(settings.timeout + 1):
                if upgrade is None:
                    transport = await loop.start_tls(
                        self.transport, self.protocol, self.context, server_hostname=settings.host, ssl_handshake_timeout=settings.timeout
                    )
                else:
                    transport = await upgrade()
        except (TimeoutError, ConnectionAbortedError):
            raise self._handshake_timeout(step) from None
        except (OSError, ssl.SSLError) as exc:
            self._note_tls_failure(exc)
            raise fault_from_exception(exc, host=settings.host, port=settings.port, step=step) from None
        assert transport is not None
        self.transport = transport
        self._note_tls(transport)  # the server speaks only when spoken to after STARTTLS/STLS: this line comes first
        return transport

    def _handshake_timeout(self, step: str) -> ProbeFault:
        return fault(
            FaultKind.TLS_HANDSHAKE,
            f"the TLS handshake with {self.settings.host}:{self.settings.port} did not complete within {self.settings.timeout:g} s "
            "(a plain-text port that waits for the client, or a server that accepts TCP and never answers TLS, looks like this)",
            step,
        )

    def _note_tls(self, transport: asyncio.BaseTransport) -> None:
        assert self.context is not None
        facts = tls_facts(transport, self.context, self.settings.host)
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

    # -- what the protocols report -----------------------------------------------------------------
    def connection_lost(self, exc: Exception | None) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(exc)

    def received(self, data: bytes) -> bool:
        """Server bytes, tapped before the client library sees them. False when the library must not see them: the
        session already failed, or the server sent more than any authentication session needs."""
        if self.failure is not None:
            return False
        try:
            self.recorder.feed(Direction.SERVER, data)
        except Exception as exc:  # noqa: BLE001 - our own reader failing is still data, never a traceback
            self.library_failed("mailscope's wire tap", exc)
            return False
        if self.recorder.bytes_in > MAX_SERVER_BYTES:
            self.fail(
                FaultKind.PROTOCOL_ERROR, f"the server sent more than {MAX_SERVER_BYTES // (1024 * 1024)} MiB: the session was dropped"
            )
            return False
        if len(self.record.lines) > MAX_SESSION_LINES:
            self.fail(FaultKind.PROTOCOL_ERROR, f"the session passed {MAX_SESSION_LINES:,} lines: it was dropped")
            return False
        return True

    def library_failed(self, library: str, exc: BaseException) -> None:
        """The client library raised while reading the server's bytes: its failure (client_parser_error), never a server close."""
        self.fail(FaultKind.CLIENT_PARSER, f"{library} could not read the server's answer ({exc.__class__.__name__}: {exc})")

    def fail(self, kind: FaultKind, detail: str) -> None:
        """Drop the connection; the step waiting on it reports this fault."""
        if self.failure is None:
            self.failure = (kind, detail)
        if self.transport is not None:
            self.transport.abort()

    # -- steps ---------------------------------------------------------------------------------------
    async def greeting(self, wait: Awaitable[object] | None = None) -> Greeting:
        """The server's first words, judged: a refusal, TLS on a plain port, plain text on a TLS port, or no greeting of
        this protocol are faults. `wait` is what signals the greeting (default: the wire tap saw it)."""
        settings = self.settings
        try:
            await self.race(wait if wait is not None else self.recorder.greeted.wait(), "greeting")
        except ProbeFault as exc:
            partial = self.recorder.pending_server_bytes()
            if partial.startswith(tuple(s.encode() for s in _TLS_RECORD_STARTS)) or (
                not partial
                and not self.recorder.greeted.is_set()
                and settings.security is not Security.TLS
                and await speaks_tls(settings.host, settings.port, min(settings.timeout, 3))
            ):
                raise fault(
                    FaultKind.PLAIN_ON_TLS_PORT,
                    f"{settings.host}:{settings.port} expects TLS first (implicit TLS port): use --security tls",
                    "greeting",
                ) from None
            if partial and not self.recorder.greeted.is_set():
                shown = self.record.redactor.redact_bytes(partial[:200])
                raise fault(
                    FaultKind.UNEXPECTED_GREETING, f"the server sent no {self._kind} greeting line, only: {shown}", "greeting"
                ) from None
            if exc.fault.kind is FaultKind.CLOSED_MID_COMMAND and not self.recorder.greeted.is_set():
                raise fault(
                    FaultKind.CLOSED_MID_COMMAND, "the server closed the connection before sending a greeting", "greeting"
                ) from None
            raise
        greeting, seq = self.recorder.greeting, self.recorder.greeting_seq
        text = self.record.evidence.greeting or ""
        if greeting is None:
            raise fault(FaultKind.UNEXPECTED_GREETING, f"no {self._kind} greeting arrived", "greeting")
        if greeting.frontend_name:
            self.record.info(f"Exchange front end: {greeting.frontend_name}")
        if greeting.status == "REFUSED":
            raise fault(FaultKind.BYE_GREETING, f"the server refused the session in its greeting: {text}", "greeting", seq)
        if self.recorder.greeting_raw.startswith(_TLS_RECORD_STARTS):
            raise fault(
                FaultKind.PLAIN_ON_TLS_PORT, f"{settings.host}:{settings.port} answered with TLS: use --security tls", "greeting", seq
            )
        if greeting.status != "OK":
            what = (
                "PREAUTH: the server authenticated the connection by itself"
                if greeting.status == "PREAUTH"
                else f"not {self._kind} greeting"
            )
            raise fault(FaultKind.UNEXPECTED_GREETING, f"unexpected greeting ({what}): {text}", "greeting", seq)
        return greeting

    @property
    def _kind(self) -> str:
        return _A_PROTOCOL[str(self.settings.protocol)]

    async def race(self, awaitable: Awaitable[T], step: str, *, timeout: float | None = None) -> T:
        """The step's result, or a ProbeFault: a failure found while reading (client_parser_error...), closed_mid_command
        or server_silent. Exceptions of the awaited step itself propagate (each driver knows its library's).

        The step runs in the calling task (no task, no `asyncio.wait` per step: a session has six or so, an audit
        hundreds of sessions at once). Its deadline or the connection closing cancels that task, and the cancellation is
        taken back with the fault; neither reaches a later step. One timer serves all the steps of a session: it is armed
        anew only for a step that ends sooner than it fires, and a step that ends later re-arms it when it fires early
        (`asyncio.timeout` per step made, cancelled and left a timer in the loop's heap for every command)."""
        assert self._lost is not None
        timeout = self.settings.timeout if timeout is None else timeout
        if self._lost.done():  # the connection is gone already: the step never starts
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise self._interrupted(step, timeout)
        current = asyncio.current_task()
        assert current is not None and self._step is None  # a session's steps run one after the other
        loop = current.get_loop()
        waiting = self._step = _Step(current, loop.time() + timeout)
        if self._timer is None or self._timer_at > waiting.deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._arm(loop, waiting.deadline)
        try:
            result = await awaitable
        except asyncio.CancelledError:
            if not waiting.interrupted or current.uncancel() > 0:
                raise  # cancelled from outside (Ctrl-C, the audit stopping): not this session's fault
        except Exception as exc:
            if waiting.interrupted:
                current.uncancel()  # the step turned our cancellation into an exception of its own
            ours = waiting.interrupted and (not waiting.expired or isinstance(exc, TimeoutError))  # as asyncio.timeout told them apart
            if not ours and self.failure is None:
                raise  # the step's own exception; a failure found while reading outranks it
        else:
            if waiting.interrupted:
                current.uncancel()  # the step ended anyway: the cancellation must not reach the caller
            if self.failure is None:
                return result
        finally:
            self._step = None
        raise self._interrupted(step, timeout)

    def _on_timer(self) -> None:
        """The session's step timer: the step waiting now has reached its deadline (it is cancelled), or was started after
        the timer was armed and ends later (the timer is armed again for it)."""
        waiting = self._step
        self._timer = None
        if waiting is None or waiting.interrupted:
            return
        if waiting.deadline > self._timer_at:
            self._arm(waiting.task.get_loop(), waiting.deadline)
            return
        waiting.interrupted = waiting.expired = True
        waiting.task.cancel()

    def _arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        self._timer, self._timer_at = loop.call_at(deadline, self._on_timer), deadline

    def _interrupt_lost(self, _: object) -> None:
        """The connection closed (a done callback of `_lost`, so one loop turn later, as the step's own answer would come):
        the step waiting now is cancelled."""
        waiting = self._step
        if waiting is not None and not waiting.interrupted:
            waiting.interrupted = True
            waiting.task.cancel()

    def _interrupted(self, step: str, timeout: float) -> ProbeFault:
        """Why a step ended without its answer: the failure found while reading, the connection closing, or silence."""
        assert self._lost is not None
        last_seq = self.record.lines[-1].seq if self.record.lines else None
        if self.failure is not None:
            return fault(self.failure[0], f"{step}: {self.failure[1]}", step, last_seq)
        if self._lost.done():
            bye = self.record.evidence.untagged_bye
            after = f" after {bye}" if bye else ""
            return fault(FaultKind.CLOSED_MID_COMMAND, f"the server closed the connection during {step}{after}", step, last_seq)
        return fault(FaultKind.SERVER_SILENT, f"no answer to {step} within {timeout:g} s", step, last_seq)

    def close(self) -> None:
        """Close the connection, and let go of what refers back to this session (the protocol, the lost-connection
        callback; the recorder drops a driver's `on_fed`). With no reference cycle left, the session and all it holds (TLS
        objects, the wire tap, the client library's buffers) are freed as soon as the probe returns, not at some later
        collection: an audit has hundreds of sessions in flight, and collections that walked and freed them cost it time
        and memory (tests/mailscope/probe/test_release.py)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None:
            if self.clean:
                self.transport.close()
            else:
                self.transport.abort()
        self.recorder.close()
        if self._lost is not None:
            self._lost.remove_done_callback(self._interrupt_lost)
        self.protocol = None


class Driver:
    """What every check does, in order; a protocol's driver fills in the steps: `open` (its client library's protocol on
    the session), `capabilities`, `starttls`, `authenticate`, `post_auth_check` and `say_goodbye`."""

    auth_step = "AUTH"  # the step name faults carry while authenticating

    def __init__(self, session: ProbeSession, credential: Credential | None) -> None:
        self.session = session
        self.settings = session.settings
        self.record = session.record
        self.credential = credential

    async def run(self) -> None:
        await self.open()
        await self.greet()
        await self.capabilities()
        if self.settings.security is Security.STARTTLS:
            await self.starttls()
        if self.credential is None:
            self.record.info("no credential given: capabilities only")
        elif await self.authenticate(self._choose()):
            await self.post_auth_check()
        await self.goodbye()

    def _choose(self) -> MechanismChoice:
        """The mechanism for this credential and these capabilities (mailscope.protocols.mechanism), as evidence."""
        assert self.credential is not None
        settings, capabilities = self.settings, self.record.evidence.capabilities or ()
        choice = choose_mechanism(
            settings.mechanism, capabilities, is_password=self.credential.is_password, protocol=settings.protocol, sasl_ir=settings.sasl_ir
        )
        if choice is None:
            offered = " ".join(c for c in capabilities if c.upper().startswith("AUTH=")) or _NO_MECHANISMS[str(settings.protocol)]
            kind = "password" if self.credential.is_password else "OAuth (XOAUTH2/OAUTHBEARER)"
            raise fault(FaultKind.NO_USABLE_MECHANISM, f"the server offers no {kind} mechanism: {offered}", self.auth_step)
        self.record.update_evidence(mechanism=choice.mechanism, mechanism_reason=choice.reason)
        return choice

    async def verdict_after_sasl_loop(self, step: str) -> bool:
        """The client stopped answering continuations (SaslAnswers gave up). A burst of them may still end in the server's
        verdict, which the wire tap reads: it is waited for up to the step's timeout. Without one, the fault is the
        server's loop, not a silent server."""
        conversation = self.session.conversation

        async def verdict() -> bool:
            while conversation.auth is not None:
                await asyncio.sleep(0.02)
            return conversation.auth_status == "OK"

        try:
            return await self.session.race(verdict(), step)
        except ProbeFault as exc:
            if exc.fault.kind is FaultKind.SERVER_SILENT:
                raise fault(FaultKind.PROTOCOL_ERROR, f"{step}: {SASL_LOOP}", step, exc.fault.line_seq) from None
            raise

    def first_message(self, mechanism: str) -> bytes:
        assert self.credential is not None
        settings = self.settings
        return sasl.first_message(mechanism, settings.user, self.credential.secret.reveal(), host=settings.host, port=settings.port)

    async def goodbye(self) -> None:
        """LOGOUT/QUIT, briefly: its failure is a note, not the session's fault; its success lets the connection close cleanly."""
        try:
            ended = await self.say_goodbye(min(self.settings.timeout, 5))
        except ProbeFault as exc:
            self.record.info(f"{exc.fault.step}: {exc.fault.detail}")
            return
        self.session.clean = ended

    async def open(self) -> None:
        raise NotImplementedError

    async def greet(self) -> None:
        await self.session.greeting()

    async def capabilities(self) -> None:
        raise NotImplementedError

    async def starttls(self) -> None:
        raise NotImplementedError

    async def authenticate(self, choice: MechanismChoice) -> bool:
        """True when the server accepted the credential."""
        raise NotImplementedError

    async def post_auth_check(self) -> None:
        raise NotImplementedError

    async def say_goodbye(self, timeout: float) -> bool:
        """True when the goodbye was answered (the connection may close gracefully)."""
        raise NotImplementedError

    def close(self) -> None:
        """What the driver holds besides the connection (the session closes that)."""
