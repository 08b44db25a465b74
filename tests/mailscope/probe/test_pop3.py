"""The POP3 driver against scripted servers speaking Exchange's and Gmail's real strings: the two-step and the
one-line AUTH form (and the transcript saying which was sent), USER/PASS, STAT as the post-auth check, STLS with
CAPA read again, and hostile answers that must end in a clear fault, never a hang or a traceback."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from fakeimap import self_signed, server_context
from fakelines import FRONTEND, pop3_server, probe

from mailscope.evidence import FaultKind, OutcomeKind
from mailscope.protocols import decide_outcome
from mailscope.record import SessionRecord
from mailscope.settings import Mechanism, Protocol, Security

BOTH_LOOPS = pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])  # the audit's loop (uvloop) too

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsInNjcCI6IlBPUC5BY2Nlc3NBc1VzZXIuQWxsIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
USER = "alice@example.test"
EXO_FAILED = b"-ERR Authentication failure: unknown user name or bad password."


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


async def _probe(handler, *, secret: str = TOKEN, password: bool = False, **kw: object) -> SessionRecord:  # noqa: ANN001
    return await probe(handler, Protocol.POP3, secret=secret, password=password, **kw)


def exchange(*, stat: bytes = b"+OK 3 1234"):
    """Exchange Online POP3: two-step AUTH XOAUTH2 only; the one-line form ends the session (getmail6 #256)."""

    async def script(command: str, writer) -> bytes | None:  # noqa: ANN001
        if command == "AUTH XOAUTH2":
            return b"+ \r\n"
        if command.startswith("AUTH XOAUTH2 "):
            return b"-ERR Protocol error. Connection is closed. 10\r\n"
        if command.startswith("dXNlcj"):  # base64 of "user=..."
            return b"+OK User successfully authenticated.\r\n"
        if command == "STAT":
            return stat + b"\r\n"
        return EXO_FAILED + b"\r\n"

    return pop3_server(script)


def _texts(record: SessionRecord) -> str:
    return "\n".join(line.text for line in record.lines)


@BOTH_LOOPS
async def test_exchange_two_step_by_default_then_stat() -> None:
    record = await _probe(exchange())
    evidence = record.evidence
    assert decide_outcome(evidence).kind is OutcomeKind.MAILBOX_REACHABLE
    assert evidence.server_family == "exchange" and evidence.frontend_name == FRONTEND
    assert evidence.capabilities_pre_tls == ("TOP", "UIDL", "SASL", "AUTH=PLAIN", "AUTH=XOAUTH2", "USER")
    assert not evidence.sasl[0].sasl_ir and evidence.sasl[0].result_text == "+OK User successfully authenticated."
    assert "in the two-step form" in _texts(record) and "two-step form" in evidence.mechanism_reason
    assert [c.command for c in evidence.commands] == ["CAPA", "STAT", "QUIT"] and evidence.commands[1].text == "+OK 3 1234"
    assert TOKEN not in _texts(record)


@BOTH_LOOPS
async def test_one_line_form_when_asked_and_exchanges_refusal_is_kept() -> None:
    record = await _probe(exchange(), sasl_ir="yes")
    exchange_ = record.evidence.sasl[0]
    assert exchange_.sasl_ir and "in the one-line form" in _texts(record)
    assert record.evidence.auth_text == "-ERR Protocol error. Connection is closed. 10"
    assert decide_outcome(record.evidence).kind is OutcomeKind.AUTH_FAILED


@BOTH_LOOPS
async def test_authenticated_but_not_connected_at_stat() -> None:
    record = await _probe(exchange(stat=b"-ERR Logon failure: unknown user name or bad password. User is authenticated but not connected."))
    outcome = decide_outcome(record.evidence)
    assert outcome.kind is OutcomeKind.AUTHENTICATED_NOT_CONNECTED and "not connected" in outcome.summary


@BOTH_LOOPS
async def test_user_pass_is_a_password_login_with_the_password_redacted() -> None:
    password = "Winter2026!Pass"

    async def script(command: str, writer) -> bytes:  # noqa: ANN001
        if command.startswith("USER"):
            return b"+OK\r\n"
        return b"-ERR [AUTH] Application-specific password required\r\n"

    record = await _probe(pop3_server(script), secret=password, password=True, mechanism=Mechanism.LOGIN)
    evidence = record.evidence
    assert evidence.login_used and evidence.mechanism == "USER/PASS"
    assert (evidence.auth_result, evidence.auth_text) == ("NO", "-ERR [AUTH] Application-specific password required")
    assert password not in _texts(record) and "PASS <password 15 chars sha256:" in _texts(record)


@BOTH_LOOPS
async def test_stls_reads_capa_again(certificate: tuple[Path, Path]) -> None:
    handler = pop3_server(_stat_only, tls=server_context(*certificate), capa=[b"STLS", b"USER", b"SASL XOAUTH2", b"."])
    record = await _probe(handler, security=Security.STARTTLS, ca_file=str(certificate[0]))
    evidence = record.evidence
    assert [c.command for c in evidence.commands][:3] == ["CAPA", "STLS", "CAPA"] and evidence.tls.verified
    assert "STLS" in evidence.capabilities_pre_tls and evidence.capabilities_post_tls is not None
    assert decide_outcome(evidence).kind is OutcomeKind.MAILBOX_REACHABLE


async def _stat_only(command: str, writer) -> bytes:  # noqa: ANN001
    if command.startswith("AUTH"):
        return b"+ \r\n"
    return b"+OK 0 0\r\n" if command == "STAT" else b"+OK Logged in.\r\n"


# -- hostile servers ---------------------------------------------------------------------------------------
@BOTH_LOOPS
async def test_endless_continuations_are_cancelled() -> None:
    async def script(command: str, writer) -> bytes:  # noqa: ANN001
        return b"-ERR enough\r\n" if command == "*" else b"+ \r\n"

    record = await _probe(pop3_server(script))
    clients = [line.text for line in record.lines if line.direction == "client"]
    assert clients[-2] == "*" and record.evidence.auth_result == "NO" and record.evidence.fault is None


@BOTH_LOOPS
async def test_a_server_that_answers_the_cancel_with_another_continuation_loops() -> None:
    async def script(command: str, writer) -> bytes:  # noqa: ANN001
        return b"+ \r\n"  # every response, the cancel too, gets another continuation: no verdict ever comes

    record = await _probe(pop3_server(script), timeout=0.5)
    fault = record.evidence.fault
    assert fault.kind is FaultKind.PROTOCOL_ERROR and fault.detail.startswith("AUTH: the server kept sending continuations")
    assert sum(1 for line in record.lines if line.direction == "client" and line.text == "*") == 1


@BOTH_LOOPS
async def test_a_capability_list_that_never_ends_is_server_silence_not_a_hang() -> None:
    async def script(command: str, writer) -> bytes:  # noqa: ANN001
        return b"+OK\r\n"

    never_ending = [b"X-%d" % i for i in range(5000)]  # no "." at the end
    record = await _probe(pop3_server(script, capa=never_ending), timeout=1.0)
    assert record.evidence.fault.kind is FaultKind.SERVER_SILENT and record.evidence.fault.step == "CAPA"
    assert len(record.lines) > 5000  # every line was read and stored


@BOTH_LOOPS
async def test_refused_greeting_and_garbage() -> None:
    async def nothing(command: str, writer) -> bytes:  # noqa: ANN001
        return b"-ERR\r\n"

    refused = await _probe(pop3_server(nothing, greeting=b"-ERR [SYS/PERM] Your account is not enabled for POP"))
    assert refused.evidence.fault.kind is FaultKind.BYE_GREETING and "not enabled for POP" in refused.evidence.fault.detail
    garbage = await _probe(pop3_server(nothing, greeting=b"* OK IMAP4rev1 ready"))
    assert garbage.evidence.fault.kind is FaultKind.UNEXPECTED_GREETING and "not a POP3 greeting" in garbage.evidence.fault.detail


@BOTH_LOOPS
async def test_a_line_without_crlf_is_bounded() -> None:
    async def flood(command: str, writer) -> bytes:  # noqa: ANN001
        return b"+ " + base64.b64encode(b"x" * 200_000)  # 266 KB, never terminated

    record = await _probe(pop3_server(flood), timeout=1.0)
    assert record.evidence.fault.kind is FaultKind.SERVER_SILENT
    assert max(line.nbytes for line in record.lines) <= 64 * 1024
