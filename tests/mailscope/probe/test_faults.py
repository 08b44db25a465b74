"""Every fault the probe must classify, against small asyncio servers on loopback: no tracebacks, no
hangs (each test is bounded by the per-step timeout), the connection always closed."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from fakeimap import (
    bye_greeting,
    close_at_once,
    garbage,
    greeting_then_hang,
    hang,
    scripted,
    self_signed,
    serve,
    server_context,
)

from mailscope.check import run_check
from mailscope.credential import Credential
from mailscope.events import Direction
from mailscope.evidence import FaultKind, OutcomeKind, TokenEvidence
from mailscope.probe import run_probe
from mailscope.protocols import decide_outcome
from mailscope.record import SessionRecord
from mailscope.secret import Secret, SecretKind
from mailscope.settings import CheckSettings, Mechanism, Security

pytestmark = pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])  # the audit's loop (uvloop) too

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsInNjcCI6Ik1haWwuUmVhZCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
TIMEOUT = 1.0


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def _settings(port: int, security: Security = Security.PLAIN, host: str = "127.0.0.1", **kw: object) -> CheckSettings:
    return CheckSettings(host=host, port=port, security=security, user="alice@example.test", timeout=TIMEOUT, **kw)  # type: ignore[arg-type]


def _credential(record: SessionRecord) -> Credential:
    secret = Secret(SecretKind.ACCESS_TOKEN, TOKEN)
    record.redactor.register(secret)
    return Credential(secret, False, TokenEvidence(kind="jwt"))


async def _probe(settings: CheckSettings, *, credential: bool = True) -> SessionRecord:
    record = SessionRecord(settings)
    await asyncio.wait_for(run_probe(settings, _credential(record) if credential else None, record), 10)
    return record


async def test_dns_failure() -> None:
    record = await _probe(_settings(993, host="mailscope-test.invalid"))
    assert record.evidence.fault is not None and record.evidence.fault.kind is FaultKind.DNS
    assert "mailscope-test.invalid" in record.evidence.fault.detail


async def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: the kernel refuses
        record = await _probe(_settings(port))
    assert record.evidence.fault.kind is FaultKind.REFUSED


async def test_connect_timeout() -> None:
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # never accepted: one queued connection fills the backlog, the next SYN is dropped
        filler.connect(listener.getsockname())
        record = await _probe(_settings(listener.getsockname()[1]))
    fault = record.evidence.fault
    assert fault.kind is FaultKind.CONNECT_TIMEOUT and fault.step == "connect"


async def test_silent_server_is_server_silent_not_a_hang() -> None:
    async with serve(hang) as port:
        record = await _probe(_settings(port))
    fault = record.evidence.fault
    assert fault.kind is FaultKind.SERVER_SILENT and fault.step == "greeting"


async def test_server_closing_at_once() -> None:
    async with serve(close_at_once) as port:
        record = await _probe(_settings(port))
    assert record.evidence.fault.kind is FaultKind.CLOSED_MID_COMMAND
    assert "before sending a greeting" in record.evidence.fault.detail


async def test_garbage_greeting_is_escaped_and_classified() -> None:
    async with serve(garbage) as port:
        record = await _probe(_settings(port))
    assert record.evidence.fault.kind is FaultKind.UNEXPECTED_GREETING
    greeting = record.lines[1]
    assert greeting.direction is Direction.SERVER
    assert "\x1b" not in greeting.text and "\x07" not in greeting.text and "\x00" not in greeting.text
    assert "\\e[31mHELLO" in greeting.text


async def test_bye_greeting() -> None:
    async with serve(bye_greeting) as port:
        record = await _probe(_settings(port))
    evidence = record.evidence
    assert evidence.fault.kind is FaultKind.BYE_GREETING
    assert evidence.untagged_bye == "* BYE Too many simultaneous connections. Try again later."
    assert evidence.bye_seq == evidence.greeting_seq == evidence.fault.line_seq


async def test_tls_spoken_to_a_plain_port() -> None:
    async with serve(greeting_then_hang) as port:
        record = await _probe(_settings(port, Security.TLS))
    assert record.evidence.fault.kind is FaultKind.TLS_ON_PLAIN_PORT
    assert "starttls" in record.evidence.fault.detail


async def test_plain_spoken_to_a_tls_port(certificate: tuple[Path, Path]) -> None:
    async with serve(greeting_then_hang, ssl_context=server_context(*certificate)) as port:
        record = await _probe(_settings(port, Security.PLAIN))
    assert record.evidence.fault.kind is FaultKind.PLAIN_ON_TLS_PORT
    assert "--security tls" in record.evidence.fault.detail


async def test_tls_verification_failure_names_the_reason(certificate: tuple[Path, Path]) -> None:
    async with serve(greeting_then_hang, ssl_context=server_context(*certificate)) as port:
        record = await _probe(_settings(port, Security.TLS))  # system trust store: self-signed is unknown
    fault, tls = record.evidence.fault, record.evidence.tls
    assert fault.kind is FaultKind.TLS_VERIFY and "self-signed certificate" in fault.detail
    assert tls is not None and tls.verified is False and tls.verify_error == "self-signed certificate"


async def test_hostname_mismatch_is_a_verification_failure(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, san="DNS:imap.other.test")
    async with serve(greeting_then_hang, ssl_context=server_context(cert, key)) as port:
        record = await _probe(_settings(port, Security.TLS, ca_file=str(cert)))
    assert record.evidence.fault.kind is FaultKind.TLS_VERIFY
    assert "mismatch, certificate is not valid for '127.0.0.1'" in record.evidence.fault.detail


async def test_insecure_is_explicit_and_recorded(certificate: tuple[Path, Path]) -> None:
    async with serve(greeting_then_hang, ssl_context=server_context(*certificate)) as port:
        record = await _probe(_settings(port, Security.TLS, verify_tls=False), credential=False)
    tls = record.evidence.tls
    assert tls.verified is False and "not checked" in tls.verify_error
    assert tls.version and tls.version.startswith("TLS")


async def _close_on_authenticate(tag: bytes, name: bytes, args: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.close()
    return False


async def _silent_on_authenticate(tag: bytes, name: bytes, args: bytes, writer: asyncio.StreamWriter) -> bool:
    return False


async def test_connection_closed_mid_command() -> None:
    async with serve(scripted(_close_on_authenticate)) as port:
        record = await _probe(_settings(port))
    fault = record.evidence.fault
    assert fault.kind is FaultKind.CLOSED_MID_COMMAND and fault.step == "AUTHENTICATE"


async def test_a_connection_lost_during_a_step_leaves_the_calling_task_uncancelled() -> None:
    """The step is interrupted by cancelling the task that runs it: that cancellation is taken back with the fault, so the
    caller (an audit worker going on with its next mailbox) is not cancelled later."""
    async with serve(scripted(_close_on_authenticate)) as port:
        settings = _settings(port)
        record = SessionRecord(settings)
        await run_probe(settings, _credential(record), record)  # in this very task
        await asyncio.sleep(0.05)  # a cancellation left behind would be raised here
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    assert record.evidence.fault is not None and record.evidence.fault.kind is FaultKind.CLOSED_MID_COMMAND


async def test_a_session_cancelled_from_outside_during_a_step_stays_cancelled() -> None:
    """Ctrl-C (an audit stopping) while a step waits on the server: the cancellation propagates, never taken for a
    silent or lost server, and the connection is closed."""
    async with serve(greeting_then_hang) as port:
        settings = CheckSettings(host="127.0.0.1", port=port, security=Security.PLAIN, user="alice@example.test", timeout=30)
        record = SessionRecord(settings)
        task = asyncio.ensure_future(run_probe(settings, _credential(record), record))
        async with asyncio.timeout(5):  # the CAPABILITY step is waiting on the silent server
            while not any(line.text.endswith("CAPABILITY") for line in record.lines):
                await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert record.evidence.fault is None


async def test_server_silent_after_a_command_unwedges_and_ends() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with serve(scripted(_silent_on_authenticate)) as port:
        record = await _probe(_settings(port))
    fault = record.evidence.fault
    assert fault.kind is FaultKind.SERVER_SILENT and fault.step == "AUTHENTICATE"
    assert loop.time() - started < TIMEOUT * 4  # one step timeout (+ LOGOUT is not attempted after a wedge)


async def test_run_check_reports_a_fault_outcome() -> None:
    async with serve(bye_greeting) as port:
        settings = _settings(port)
        record = SessionRecord(settings)
        outcome = await run_check(settings, None, record)
    assert outcome.kind is OutcomeKind.FAULT and outcome.exit_code == 1
    assert record.outcome == outcome


async def test_cancellation_closes_and_finishes_cancelled() -> None:
    async with serve(hang) as port:
        settings = CheckSettings(host="127.0.0.1", port=port, security=Security.PLAIN, timeout=30)
        record = SessionRecord(settings)
        task = asyncio.ensure_future(run_check(settings, None, record))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert record.outcome is not None and record.outcome.kind is OutcomeKind.CANCELLED


async def test_login_refused_then_logout() -> None:
    async def refuse(tag: bytes, name: bytes, args: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(tag + b" NO [ALERT] Unsupported authentication mechanism.\r\n")
        return True

    async with serve(scripted(refuse)) as port:
        record = await _probe(_settings(port, mechanism=Mechanism.LOGIN))
    evidence = record.evidence
    assert evidence.login_used and evidence.auth_result == "NO"
    assert evidence.commands[-1].command == "LOGOUT" and evidence.commands[-1].result == "OK"


async def test_untagged_bye_after_auth_stops_the_session_without_a_fault() -> None:
    async def exchange_not_connected(tag: bytes, name: bytes, args: bytes, writer: asyncio.StreamWriter) -> bool:
        if name == b"AUTHENTICATE":
            writer.write(tag + b" OK AUTHENTICATE completed.\r\n")
            return True
        writer.write(tag + b" BAD User is authenticated but not connected.\r\n* BYE Connection closed. 14\r\n")
        writer.close()
        return False

    async with serve(scripted(exchange_not_connected)) as port:
        settings = _settings(port)
        record = SessionRecord(settings)
        secret = Secret(SecretKind.ACCESS_TOKEN, TOKEN)
        record.redactor.register(secret)
        await run_probe(settings, Credential(secret, False, TokenEvidence()), record)
    evidence = record.evidence
    assert evidence.fault is None and evidence.untagged_bye == "* BYE Connection closed. 14"
    # no capabilities came with the OK (as at Exchange): asked once more, then the one mailbox command meets the refusal;
    # after the BYE nothing more is sent (no LOGOUT into a closed connection)
    assert [c.command for c in evidence.commands] == ["CAPABILITY", "CAPABILITY", "EXAMINE"]
    assert any(line.text.startswith("the server ended the session (* BYE Connection closed. 14)") for line in record.lines)
    outcome = decide_outcome(evidence)
    assert outcome.kind is OutcomeKind.AUTHENTICATED_NOT_CONNECTED
    assert outcome.summary.endswith("EXAMINE INBOX answered BAD User is authenticated but not connected.")


async def test_an_unforeseen_library_error_becomes_a_redacted_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    from aioimaplib import aioimaplib

    original = aioimaplib.Command.__init__

    def broken(self: aioimaplib.Command, name: str, *args: object, **kwargs: object) -> None:
        if name == "AUTHENTICATE":
            raise TypeError(f"cannot build the command with {TOKEN}")  # a library bug quoting its arguments
        original(self, name, *args, **kwargs)

    monkeypatch.setattr(aioimaplib.Command, "__init__", broken)
    async with serve(scripted(lambda *_: asyncio.sleep(0, True))) as port:
        record = await _probe(_settings(port))
    fault = record.evidence.fault
    assert fault is not None and fault.kind is FaultKind.PROTOCOL_ERROR and "TypeError" in fault.detail
    assert TOKEN not in fault.detail
