"""Hostile lines through both routes (live wire tap and log import), found by the attack suite (tests/attacks): a
password a client sends is learned, so a server's echo of it is redacted while the AUTH LOGIN prompts stay readable;
a flood of capability lines cannot hide the mechanisms listed after it; a challenge of deeply nested JSON is text."""

from __future__ import annotations

import base64

import pytest

from mailscope import sasl
from mailscope.events import Direction
from mailscope.protocols.mechanism import MAX_CAPABILITIES
from mailscope.record import SessionRecord
from mailscope.settings import Protocol
from tests.attacks.payloads import echoes
from tests.mailscope.protocols.test_tables import TOKEN, USER, XOAUTH2, Table, imported, live

C, S = Direction.CLIENT, Direction.SERVER
PASSWORD = "alice-password"  # short: base64 pieces of it overlap the prompt `UGFzc3dvcmQ6` ("Password:")
ROUTES = pytest.mark.parametrize("route", [live, imported])


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _shown(record: SessionRecord) -> str:
    return "\n".join(line.text for line in record.lines) + repr(record.evidence)


def _leaked(text: str) -> list[str]:
    return [form for form in (PASSWORD, _b64(PASSWORD), PASSWORD.encode().hex()) if form in text]


PASSWORD_ECHOES = [
    Table("smtp-auth-login", Protocol.SMTP, [
        (S, "220 mx ESMTP Postfix"), (C, "AUTH LOGIN"), (S, "334 VXNlcm5hbWU6"), (C, _b64(USER)), (S, "334 UGFzc3dvcmQ6"),
        (C, _b64(PASSWORD)), *((S, f"535-5.7.8 {line}") for line in echoes(PASSWORD)),
        (S, "535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6")], {}),
    Table("pop3-user-pass", Protocol.POP3, [
        (S, "+OK ready"), (C, f"USER {USER}"), (S, "+OK"), (C, f"PASS {PASSWORD}"), (S, f"-ERR [AUTH] bad password {PASSWORD}"),
        (S, f"-ERR echo {_b64(PASSWORD)}")], {}),
    Table("imap-login", Protocol.IMAP, [
        (S, "* OK ready"), (C, f'A1 LOGIN {USER} "{PASSWORD}"'), (S, f"* OK your password {PASSWORD.encode().hex()}"),
        (S, "A1 NO [AUTHENTICATIONFAILED] Invalid credentials")], {}),
]  # fmt: skip


@ROUTES
@pytest.mark.parametrize("table", PASSWORD_ECHOES, ids=[t.id for t in PASSWORD_ECHOES])
def test_a_password_the_client_sent_is_learned_and_its_echo_redacted(table: Table, route) -> None:  # noqa: ANN001
    shown = _shown(route(table))
    assert _leaked(shown) == [], shown
    if table.protocol is Protocol.SMTP:  # the prompts are words, not fragments of the password
        assert "334 VXNlcm5hbWU6" in shown and "334 UGFzc3dvcmQ6" in shown and "failed: UGFzc3dvcmQ6" in shown


FLOODS = [
    Table("pop3-capa", Protocol.POP3, [
        (S, "+OK ready"), (C, "CAPA"), (S, "+OK"), *((S, f"X-CAP-{i}") for i in range(3 * MAX_CAPABILITIES)),
        (S, "SASL PLAIN XOAUTH2"), (S, "."), (C, "AUTH XOAUTH2"), (S, "+ "), (C, XOAUTH2), (S, "+OK authenticated")], {}),
    Table("smtp-ehlo", Protocol.SMTP, [
        (S, "220 mx ESMTP"), (C, "EHLO client"), (S, "250-mx"), *((S, f"250-X-EXT-{i}") for i in range(3 * MAX_CAPABILITIES)),
        (S, "250 AUTH LOGIN XOAUTH2"), (C, f"AUTH XOAUTH2 {XOAUTH2}"), (S, "235 2.7.0 Authentication successful")], {}),
]  # fmt: skip


@ROUTES
@pytest.mark.parametrize("table", FLOODS, ids=[t.id for t in FLOODS])
def test_a_capability_flood_cannot_hide_the_mechanisms_after_it(table: Table, route) -> None:  # noqa: ANN001
    evidence = route(table).evidence
    capabilities = evidence.capabilities or ()
    assert "AUTH=XOAUTH2" in capabilities and len(capabilities) <= 2 * MAX_CAPABILITIES
    assert evidence.auth_result == "OK"


@pytest.mark.parametrize("depth", [20, 900, 3000])
def test_a_challenge_of_deeply_nested_json_is_kept_as_text(depth: int) -> None:
    challenge = base64.b64encode(('{"status":"400","x":' + "[" * depth + "]" * depth + "}").encode()).decode()
    decoded, parsed = sasl.decode_challenge(challenge)
    assert parsed is None and decoded.startswith('{"status":"400"')
    for route in (live, imported):
        record = route(Table("deep", Protocol.SMTP, [
            (S, "220 smtp.gmail.com ESMTP"), (C, f"AUTH XOAUTH2 {XOAUTH2}"), (S, f"334 {challenge}"), (C, ""),
            (S, "535 5.7.8 Username and Password not accepted.")], {}))  # fmt: skip
        assert record.evidence.auth_result == "NO" and record.evidence.sasl[0].challenge_json == []
        assert TOKEN not in _shown(record)
