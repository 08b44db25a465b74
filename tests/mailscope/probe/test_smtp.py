"""The SMTP driver (aiosmtplib under our wire tap) against scripted servers speaking the catalogue's real strings:
AUTH forms, Gmail's 334 error challenge kept and acknowledged, the post-auth check, STARTTLS with the extensions
read again, and hostile answers that must end in a clear fault (never a hang, a traceback or a false 'server closed')."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest
from fakeimap import self_signed, server_context
from fakelines import EXCHANGE_EHLO_PLAIN, EXCHANGE_EHLO_TLS, EXCHANGE_SMTP_GREETING, probe, smtp_server

from mailscope.evidence import FaultKind, OutcomeKind
from mailscope.protocols import decide_outcome
from mailscope.record import SessionRecord
from mailscope.settings import Mechanism, Protocol, Security

BOTH_LOOPS = pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])  # the audit's loop (uvloop) too

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsInNjcCI6IlNNVFAuU2VuZCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
USER = "alice@example.test"
GMAIL_JSON = {"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


async def _probe(handler, *, secret: str = TOKEN, password: bool = False, **kw: object) -> SessionRecord:  # noqa: ANN001
    return await probe(handler, Protocol.SMTP, secret=secret, password=password, **kw)


def _accept(answers: dict[str, bytes]):
    """AUTH answered 235; MAIL/RCPT/RSET/DATA by the first word of the command (`answers` overrides)."""

    async def script(command: str, writer) -> bytes:  # noqa: ANN001
        verb = command.split(" ", 1)[0].upper()
        default = {"AUTH": b"235 2.7.0 Authentication successful\r\n", "DATA": b"354 Start mail input\r\n"}.get(verb, b"250 2.0.0 OK\r\n")
        return answers.get(verb, default)

    return script


def _texts(record: SessionRecord) -> str:
    return "\n".join(line.text for line in record.lines)


@BOTH_LOOPS
async def test_healthy_xoauth2_with_the_post_auth_check_and_no_message() -> None:
    record = await _probe(smtp_server(_accept({})))
    evidence = record.evidence
    assert decide_outcome(evidence).kind is OutcomeKind.MAILBOX_REACHABLE
    assert evidence.server_family == "gmail" and evidence.mechanism == "XOAUTH2" and evidence.sasl[0].sasl_ir
    assert [c.command for c in evidence.commands] == ["EHLO", "MAIL FROM", "RCPT TO", "RSET", "QUIT"]
    assert "AUTH=XOAUTH2" in evidence.capabilities_pre_tls and "AUTH=OAUTHBEARER" in evidence.capabilities_pre_tls
    assert "DATA" not in _texts(record) and "sending AUTH XOAUTH2 with the initial response on the AUTH line" in _texts(record)
    assert TOKEN not in _texts(record) and evidence.fault is None


@BOTH_LOOPS
async def test_gmail_error_challenge_is_acknowledged_and_kept() -> None:
    challenge = base64.b64encode(json.dumps(GMAIL_JSON).encode())

    async def script(command: str, writer) -> bytes:  # noqa: ANN001
        if command.startswith("AUTH"):
            return b"334 " + challenge + b"\r\n"
        assert command == "", "the client must answer the error challenge with an empty line"
        return (b"535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
                b"535 5.7.8  https://support.google.com/mail/?p=BadCredentials d9443c01a7336-2a3e3c4f1sm1234567 - gsmtp\r\n")

    record = await _probe(smtp_server(script))
    [exchange] = record.evidence.sasl
    assert exchange.challenge_json == [GMAIL_JSON] and exchange.result == "NO"
    assert record.evidence.auth_text == ("535 5.7.8 Username and Password not accepted. For more information, go to 5.7.8  "
                                         "https://support.google.com/mail/?p=BadCredentials d9443c01a7336-2a3e3c4f1sm1234567 - gsmtp")
    acknowledgement = record.lines[exchange.result_seq - 3]
    assert acknowledgement.text == "" and acknowledgement.annotations == ("empty response: acknowledges the error challenge",)
    assert decide_outcome(record.evidence).kind is OutcomeKind.AUTH_FAILED
    assert record.evidence.commands[-1].command == "QUIT"  # the session ends cleanly after the refusal


@pytest.mark.parametrize(
    ("reply", "result"),
    [
        (b"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit "
         b"https://aka.ms/smtp_auth_disabled for more information. [MN2PR05CA0004.namprd05.prod.outlook.com]", "NO"),
        (b"535 5.7.3 Authentication unsuccessful [BN9PR03CA0123.namprd03.prod.outlook.com 2026-12-01T10:00:00.000Z]", "NO"),
        (b"504 5.7.4 Unrecognized authentication type [BN9PR03CA0123.namprd03.prod.outlook.com]", "BAD"),
    ],
)
@BOTH_LOOPS
async def test_exchange_refusals_are_kept_as_sent(certificate: tuple[Path, Path], reply: bytes, result: str) -> None:
    """587 STARTTLS as Exchange runs it: no AUTH before TLS, `AUTH LOGIN XOAUTH2` after, the extensions read twice."""
    handler = smtp_server(_accept({"AUTH": reply + b"\r\n"}), greeting=EXCHANGE_SMTP_GREETING, ehlo=EXCHANGE_EHLO_PLAIN,
                          ehlo_after_tls=EXCHANGE_EHLO_TLS, tls=server_context(*certificate))  # fmt: skip
    record = await _probe(handler, security=Security.STARTTLS, ca_file=str(certificate[0]))
    evidence = record.evidence
    assert evidence.server_family == "exchange" and evidence.frontend_name == "BN9PR03CA0123.outlook.office365.com"
    assert "STARTTLS" in evidence.capabilities_pre_tls and not any(c.startswith("AUTH") for c in evidence.capabilities_pre_tls)
    assert {"AUTH=LOGIN", "AUTH=XOAUTH2"} <= set(evidence.capabilities_post_tls)
    assert [c.command for c in evidence.commands][:3] == ["EHLO", "STARTTLS", "EHLO"] and evidence.tls.verified
    assert (evidence.auth_result, evidence.auth_text) == (result, reply.decode())


@pytest.mark.parametrize(
    ("command", "reply"),
    [("MAIL", b"530 5.7.57 Client not authenticated to send mail. [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM]"),
     ("RCPT", b"550 5.7.60 SMTP; Client does not have permissions to send as this sender")],
)
@BOTH_LOOPS
async def test_authenticated_but_refused_at_the_post_auth_check(command: str, reply: bytes) -> None:
    record = await _probe(smtp_server(_accept({command: reply + b"\r\n"})))
    outcome = decide_outcome(record.evidence)
    assert record.evidence.auth_result == "OK" and outcome.kind is OutcomeKind.AUTHENTICATED_NOT_CONNECTED
    assert reply.decode() in outcome.summary
    refused = next(c for c in record.evidence.commands if c.result == "NO")
    assert refused.command == {"MAIL": "MAIL FROM", "RCPT": "RCPT TO"}[command] and refused.text == reply.decode()
    assert [c.command for c in record.evidence.commands][-2:] == ["RSET", "QUIT"]


@BOTH_LOOPS
async def test_send_test_sends_one_message_and_keeps_its_refusal() -> None:
    sendas = b"554 5.2.252 SendAsDenied; alice@example.test not allowed to send as alice@example.test; STOREDRV.Submission.Exception"
    replies = iter([b"354 Start mail input\r\n", sendas + b"\r\n"])

    async def script(command: str, writer) -> bytes:  # noqa: ANN001
        if command.startswith("AUTH"):
            return b"235 2.7.0 Authentication successful\r\n"
        if command == "DATA" or command == ".":
            return next(replies)
        return b"" if not command.startswith(("MAIL", "RCPT")) else b"250 2.1.0 OK\r\n"

    record = await _probe(smtp_server(script), send_test=True)
    data = next(c for c in record.evidence.commands if c.command == "DATA")
    assert (data.result, data.text) == ("NO", sendas.decode())
    assert "Subject: mailscope test message" in _texts(record)


@BOTH_LOOPS
async def test_login_and_plain_passwords_never_show() -> None:
    password = "Winter2026!Pass"
    login = await _probe(smtp_server(_accept({"AUTH": b"334 VXNlcm5hbWU6\r\n"})), secret=password, password=True,
                         mechanism=Mechanism.LOGIN)  # fmt: skip
    assert password not in _texts(login) and base64.b64encode(password.encode()).decode() not in _texts(login)
    plain = await _probe(smtp_server(_accept({})), secret=password, password=True)
    assert plain.evidence.mechanism == "PLAIN" and "password=<password 15 chars sha256:" in plain.evidence.sasl[0].client_payload


# -- hostile servers ---------------------------------------------------------------------------------------
@BOTH_LOOPS
async def test_endless_continuations_are_cancelled_not_followed() -> None:
    async def script(command: str, writer) -> bytes:  # noqa: ANN001
        return b"535 5.7.8 enough\r\n" if command == "*" else b"334 \r\n"

    record = await _probe(smtp_server(script))
    responses = [line for line in record.lines if line.direction == "client"]
    assert sum(1 for line in responses if line.text == "") <= 8 and responses[-2].text == "*"
    assert record.evidence.auth_result == "NO" and record.evidence.fault is None


@BOTH_LOOPS
async def test_a_server_that_answers_the_cancel_with_another_334_loops() -> None:
    async def script(command: str, writer) -> bytes:  # noqa: ANN001
        return b"334 \r\n" if command.startswith("AUTH") or " " not in command else b"250 OK\r\n"

    record = await _probe(smtp_server(script), timeout=0.5)
    fault = record.evidence.fault
    assert fault.kind is FaultKind.PROTOCOL_ERROR and fault.detail.startswith("AUTH: the server kept sending continuations")


@pytest.mark.parametrize(
    ("flood", "kind"),
    [(b"250-" + b"x" * 9000 + b"\r\n250 OK\r\n", FaultKind.PROTOCOL_ERROR),  # one line beyond any RFC limit
     (b"".join(b"250-EXT%d\r\n" % i for i in range(5000)) + b"250 OK\r\n", FaultKind.PROTOCOL_ERROR),  # a 5,000-line reply
     (b"HTTP/1.1 400 Bad Request\r\n", FaultKind.PROTOCOL_ERROR)],  # not SMTP at all
)
@BOTH_LOOPS
async def test_hostile_replies_end_in_a_fault_not_a_hang(flood: bytes, kind: FaultKind) -> None:
    async def script(command: str, writer) -> bytes:  # noqa: ANN001
        return flood

    loop = asyncio.get_running_loop()
    started = loop.time()
    record = await _probe(smtp_server(script))
    assert record.evidence.fault is not None and record.evidence.fault.kind is kind, record.evidence.fault
    assert record.evidence.fault.step == "AUTH" and loop.time() - started < 5


@BOTH_LOOPS
async def test_no_auth_before_starttls_on_a_plain_connection_is_no_usable_mechanism() -> None:
    record = await _probe(smtp_server(_accept({}), greeting=EXCHANGE_SMTP_GREETING, ehlo=EXCHANGE_EHLO_PLAIN))
    assert record.evidence.fault.kind is FaultKind.NO_USABLE_MECHANISM and "no AUTH at all" in record.evidence.fault.detail
