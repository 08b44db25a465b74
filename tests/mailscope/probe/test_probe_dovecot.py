"""The probe against the real Dovecot 2.3 lab (tests/dovecot-lab): JWTs validated locally by Dovecot,
PLAIN users from its passwd-file. Asserts what Dovecot really sends (dovecot.md §5.1)."""

from __future__ import annotations

import base64

import labfixture
import pytest

from mailscope.check import run_check
from mailscope.events import Direction
from mailscope.evidence import FaultKind, OutcomeKind
from mailscope.record import SessionRecord
from mailscope.settings import CheckSettings, Mechanism, SecretSource, Security
from providers.registry import token_source_for

BOTH_LOOPS = pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])  # the audit's loop (uvloop) too

pytestmark = pytest.mark.dovecot

USER = "alice@example.test"
POST_AUTH = ["EXAMINE", "LOGOUT"]  # the capabilities came with Dovecot's OK to the credential: not asked again


async def _check(
    lab: labfixture.LabInstance,
    monkeypatch: pytest.MonkeyPatch,
    secret: str,
    *,
    security: Security = Security.TLS,
    mechanism: Mechanism = Mechanism.AUTO,
    password: bool = False,
    ca_file: str | None = "lab",
) -> SessionRecord:
    monkeypatch.setenv("A2_TEST_SECRET", secret)
    source = SecretSource("env", "A2_TEST_SECRET")
    settings = CheckSettings(
        host="127.0.0.1",
        port=lab.imaps if security is Security.TLS else lab.imap,
        security=security,
        user=USER,
        mechanism=mechanism,
        ca_file=lab.ca_file if ca_file == "lab" else ca_file,
        timeout=5,
        password=source if password else None,
        token=None if password else source,
    )
    record = SessionRecord(settings)
    await run_check(settings, token_source_for(settings), record)
    _assert_no_secret(record, secret)
    return record


def _assert_no_secret(record: SessionRecord, secret: str) -> None:
    from mailscope.report import report_json

    b64 = base64.b64encode(secret.encode()).decode()
    stored = [line.text for line in record.lines] + [a for line in record.lines for a in line.annotations] + [report_json(record)]
    for text in stored:
        assert secret not in text and b64[:-4] not in text


@BOTH_LOOPS
async def test_valid_jwt_xoauth2_reaches_the_mailbox(dovecot: labfixture.LabInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    record = await _check(dovecot, monkeypatch, labfixture.mint(dovecot))
    evidence = record.evidence
    assert record.outcome.kind is OutcomeKind.MAILBOX_REACHABLE
    assert evidence.server_family == "dovecot" and evidence.greeting.endswith("Dovecot (Debian) ready.")
    assert evidence.mechanism == "XOAUTH2" and "OAUTHBEARER also offered" in evidence.mechanism_reason
    assert evidence.tls.verified and evidence.tls.version.startswith("TLSv1.") and evidence.tls.peer_subject == "commonName=localhost"
    assert "AUTH=XOAUTH2" in evidence.capabilities_pre_tls and "NAMESPACE" in evidence.capabilities_post_auth
    assert [c.command for c in evidence.commands] == ["CAPABILITY", *POST_AUTH]
    assert all(c.result == "OK" for c in evidence.commands)
    exchange = evidence.sasl[0]
    assert exchange.sasl_ir and exchange.result == "OK" and exchange.challenges == []
    auth_line = record.lines[exchange.command_seq - 1]
    assert auth_line.annotations == ("SASL XOAUTH2 initial response",)
    assert f"<SASL XOAUTH2 user={USER} ^A auth=Bearer <jwt " in auth_line.text
    examine = evidence.commands[-2]
    assert examine.command == "EXAMINE" and examine.text.startswith("[READ-ONLY] Examine completed")
    assert record.lines[examine.seq - 1].text == f"{record.lines[examine.seq - 1].text.split()[0]} OK {examine.text}"


@pytest.mark.parametrize(
    ("token_kwargs", "mechanism", "challenge", "answer"),
    [
        ({"ttl": -60}, Mechanism.XOAUTH2, {"status": "401", "schemes": "bearer", "scope": "mail"}, ""),
        ({"claims": {"scope": "openid email"}}, Mechanism.XOAUTH2, {"status": "401", "schemes": "bearer", "scope": "mail"}, ""),
        ({"ttl": -60}, Mechanism.OAUTHBEARER, {"status": "invalid_token"}, "AQ=="),
    ],
    ids=["xoauth2-expired", "xoauth2-wrong-scope", "oauthbearer-expired"],
)
@BOTH_LOOPS
async def test_refused_token_keeps_the_decoded_challenge_and_ends_cleanly(
    dovecot: labfixture.LabInstance, monkeypatch: pytest.MonkeyPatch, token_kwargs: dict, mechanism: Mechanism, challenge: dict, answer: str
) -> None:
    record = await _check(dovecot, monkeypatch, labfixture.mint(dovecot, **token_kwargs), mechanism=mechanism)
    evidence = record.evidence
    assert record.outcome.kind is OutcomeKind.AUTH_FAILED and record.outcome.exit_code == 1
    exchange = evidence.sasl[0]
    assert exchange.challenge_json == [challenge]
    assert exchange.result_text == "NO [AUTHENTICATIONFAILED] Authentication failed."
    acknowledgement = record.lines[exchange.result_seq - 2]
    assert acknowledgement.direction is Direction.CLIENT and acknowledgement.text == answer
    assert "acknowledges the error challenge" in acknowledgement.annotations[0]
    assert evidence.commands[-1].command == "LOGOUT" and evidence.commands[-1].result == "OK"
    assert evidence.fault is None


@BOTH_LOOPS
async def test_oauthbearer_over_starttls(dovecot: labfixture.LabInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    record = await _check(dovecot, monkeypatch, labfixture.mint(dovecot), security=Security.STARTTLS, mechanism=Mechanism.OAUTHBEARER)
    evidence = record.evidence
    assert record.outcome.kind is OutcomeKind.MAILBOX_REACHABLE
    assert "STARTTLS" in evidence.capabilities_pre_tls and "STARTTLS" not in evidence.capabilities_post_tls
    assert evidence.tls.verified
    assert [c.command for c in evidence.commands][:3] == ["CAPABILITY", "STARTTLS", "CAPABILITY"]
    assert f"n,a={USER}, ^A host=127.0.0.1 ^A port={dovecot.imap}" in evidence.sasl[0].client_payload


@BOTH_LOOPS
async def test_plain_and_login_with_a_password(dovecot: labfixture.LabInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = await _check(dovecot, monkeypatch, "alice-password", password=True)
    assert plain.outcome.kind is OutcomeKind.MAILBOX_REACHABLE and plain.evidence.mechanism == "PLAIN"
    assert "password=<password 14 chars sha256:" in plain.evidence.sasl[0].client_payload
    login = await _check(dovecot, monkeypatch, "alice-password", password=True, mechanism=Mechanism.LOGIN)
    assert login.outcome.kind is OutcomeKind.MAILBOX_REACHABLE and login.evidence.login_used
    login_line = next(line for line in login.lines if " LOGIN " in line.text)
    assert login_line.text.endswith(f'LOGIN "{USER}" <password 14 chars sha256:' + login_line.text.rsplit("sha256:", 1)[1])
    wrong = await _check(dovecot, monkeypatch, "not-the-password", password=True, mechanism=Mechanism.PLAIN)
    assert wrong.outcome.kind is OutcomeKind.AUTH_FAILED


@BOTH_LOOPS
async def test_sasl_ir_hidden_uses_the_continuation_form(
    dovecot_no_sasl_ir: labfixture.LabInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = await _check(dovecot_no_sasl_ir, monkeypatch, labfixture.mint(dovecot_no_sasl_ir))
    evidence = record.evidence
    assert "SASL-IR" not in evidence.capabilities_pre_tls and "AUTH=XOAUTH2" in evidence.capabilities_pre_tls
    assert record.outcome.kind is OutcomeKind.MAILBOX_REACHABLE
    exchange = evidence.sasl[0]
    assert not exchange.sasl_ir and "no SASL-IR" in evidence.mechanism_reason
    command, continuation, response = record.lines[exchange.command_seq - 1 : exchange.command_seq + 2]
    assert command.text.endswith("AUTHENTICATE XOAUTH2")
    assert continuation.direction is Direction.SERVER and continuation.text.rstrip() == "+"
    assert response.annotations == ("SASL XOAUTH2 response",) and response.text.startswith("<SASL XOAUTH2 user=")


@BOTH_LOOPS
async def test_tls_to_dovecots_plain_port_and_plain_to_its_tls_port(
    dovecot: labfixture.LabInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    for security, port, kind in (
        (Security.TLS, dovecot.imap, FaultKind.TLS_ON_PLAIN_PORT),
        (Security.PLAIN, dovecot.imaps, FaultKind.PLAIN_ON_TLS_PORT),
    ):
        settings = CheckSettings(host="127.0.0.1", port=port, security=security, user=USER, ca_file=dovecot.ca_file, timeout=1)
        record = SessionRecord(settings)
        await run_check(settings, None, record)
        assert record.evidence.fault.kind is kind, record.evidence.fault


@BOTH_LOOPS
async def test_system_trust_rejects_the_lab_certificate(dovecot: labfixture.LabInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    record = await _check(dovecot, monkeypatch, labfixture.mint(dovecot), ca_file=None)
    assert record.evidence.fault.kind is FaultKind.TLS_VERIFY and "self-signed certificate" in record.evidence.fault.detail
    assert record.outcome.kind is OutcomeKind.FAULT


@BOTH_LOOPS
@pytest.mark.parametrize("security", [Security.TLS, Security.STARTTLS])
async def test_the_tls_line_stands_where_the_handshake_happened_on_the_wire(
    dovecot: labfixture.LabInstance, monkeypatch: pytest.MonkeyPatch, security: Security
) -> None:
    """Against a server we did not write: implicit TLS puts the TLS line before Dovecot's greeting (the handshake comes
    first), STARTTLS puts it after the server's OK to STARTTLS and before the client's next command."""
    record = await _check(dovecot, monkeypatch, labfixture.mint(dovecot), security=security)
    texts = [(line.direction, line.text) for line in record.lines]
    tls_at = next(i for i, (direction, text) in enumerate(texts) if direction is Direction.INFO and text.startswith("TLS "))
    greeting_at = next(i for i, (direction, _) in enumerate(texts) if direction is Direction.SERVER)
    if security is Security.TLS:
        assert tls_at < greeting_at, texts
    else:
        asked = next(i for i, (d, text) in enumerate(texts) if d is Direction.CLIENT and text.endswith(" STARTTLS"))
        starttls_ok = asked + 1
        assert texts[starttls_ok][0] is Direction.SERVER and " OK " in texts[starttls_ok][1], texts
        after = next(i for i, (d, _) in enumerate(texts) if d is Direction.CLIENT and i > tls_at)
        assert greeting_at < starttls_ok < tls_at < after, texts
