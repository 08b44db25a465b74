"""Every POP3 and SMTP lab scenario, driven by clients we did not write (Python's poplib and smtplib) with the token
the real provider code gets from the lab IdP (msal / google-auth through providers/): the scenario's settings as a
user typed them (mechanism, SASL initial response, TLS mode), its catalogue strings on the wire, and the outcome it
promises, judged the way CONTRACTS §1 defines it (POP3 STAT +OK; SMTP MAIL FROM and RCPT TO 2xx).

This checks the servers and the scenarios without mailscope's own probe; test_scenarios_end_to_end.py runs the same
scenarios through `mailscope check --lab` once the POP3/SMTP probe (branch `protocols`) is there."""

from __future__ import annotations

import asyncio
import base64
import poplib
import smtplib
import ssl

import pytest

from mailscope.evidence import OutcomeKind
from mailscope.lab.scenarios import SCENARIOS, SERVER_MODES, Scenario
from mailscope.lab.session import LabSession
from mailscope.record import SessionRecord
from mailscope.settings import CheckSettings, Mechanism, Protocol, Security
from providers.registry import token_source_for

POP_SMTP = [s for s in SCENARIOS if SERVER_MODES[s.server_under_test][0] is not Protocol.IMAP]


class TappedPop3(poplib.POP3_SSL):
    """poplib over TLS, keeping every line the server sent."""

    def __init__(self, settings: CheckSettings, context: ssl.SSLContext, lines: list[str]) -> None:
        self.server_lines = lines  # set before the constructor reads the greeting
        super().__init__(settings.host, settings.port, context=context, timeout=5)

    def _getline(self) -> tuple[bytes, int]:
        line, octets = super()._getline()
        self.server_lines.append(line.decode("utf-8", "replace"))
        return line, octets


class _TapReplies:
    """smtplib's replies, rebuilt line by line (`250-...`, `250 ...`) as the server sent them."""

    def __init__(self, *args: object, lines: list[str], **kwargs: object) -> None:
        self.server_lines = lines  # set before the constructor reads the greeting
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]

    def getreply(self) -> tuple[int, bytes]:
        code, message = super().getreply()  # type: ignore[misc]
        parts = message.decode("utf-8", "replace").split("\n")
        self.server_lines += [f"{code}{' ' if i == len(parts) - 1 else '-'}{part}" for i, part in enumerate(parts)]
        return code, message


class TappedSmtp(_TapReplies, smtplib.SMTP):
    pass


class TappedSmtpSsl(_TapReplies, smtplib.SMTP_SSL):
    pass


def xoauth2(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def pop3_session(settings: CheckSettings, secret: str, context: ssl.SSLContext, lines: list[str]) -> OutcomeKind:
    client = TappedPop3(settings, context, lines)
    try:
        client.capa()
        payload = base64.b64encode(xoauth2(settings.user, secret).encode()).decode()
        try:
            if settings.sasl_ir == "yes":
                answer = client._shortcmd(f"AUTH XOAUTH2 {payload}")
            else:
                client._shortcmd("AUTH XOAUTH2")
                answer = client._shortcmd(payload)
            while answer.startswith(b"+ ") and len(answer) > 2:  # Gmail's error challenge: answer it with an empty line
                answer = client._shortcmd("")
        except poplib.error_proto:
            return OutcomeKind.AUTH_FAILED
        try:
            client.stat()
        except poplib.error_proto:
            return OutcomeKind.AUTHENTICATED_NOT_CONNECTED
        client.quit()
        return OutcomeKind.MAILBOX_REACHABLE
    finally:
        client.close()


def smtp_session(settings: CheckSettings, secret: str, context: ssl.SSLContext, lines: list[str]) -> OutcomeKind:
    if settings.security is Security.TLS:
        client: smtplib.SMTP = TappedSmtpSsl(settings.host, settings.port, context=context, timeout=5, lines=lines)
    else:
        client = TappedSmtp(settings.host, settings.port, timeout=5, lines=lines)
    with client:
        client.ehlo()
        if settings.security is Security.STARTTLS:
            client.starttls(context=context)
            client.ehlo()
        try:
            if settings.mechanism in (Mechanism.LOGIN, Mechanism.PLAIN):
                client.user, client.password = settings.user, secret
                method = client.auth_login if settings.mechanism is Mechanism.LOGIN else client.auth_plain
                client.auth(str(settings.mechanism).upper(), method, initial_response_ok=False)
            else:
                client.auth("XOAUTH2", lambda challenge=None: xoauth2(settings.user, secret) if challenge is None else "")
        except smtplib.SMTPAuthenticationError:
            return OutcomeKind.AUTH_FAILED
        sender, recipient = client.mail(settings.user)[0], client.rcpt(settings.user)[0]
        client.rset()
        return OutcomeKind.MAILBOX_REACHABLE if sender < 300 and recipient < 300 else OutcomeKind.AUTHENTICATED_NOT_CONNECTED


@pytest.mark.parametrize("scenario", POP_SMTP, ids=[s.id for s in POP_SMTP])
async def test_scenario_with_stdlib_clients_and_real_tokens(scenario: Scenario) -> None:
    async with LabSession(scenario.id) as lab:
        settings = lab.settings
        assert (settings.protocol, settings.security) == SERVER_MODES[scenario.server_under_test]
        source = token_source_for(settings)
        assert source is not None
        credential = await source.acquire(SessionRecord(settings))
        if settings.mechanism.is_oauth:  # a real token from msal / google-auth, not a password
            assert credential.token.provider == settings.provider and not credential.is_password
        assert lab.ca is not None
        lines: list[str] = []
        session = pop3_session if settings.protocol is Protocol.POP3 else smtp_session
        outcome = await asyncio.to_thread(session, settings, credential.secret.reveal(), lab.ca.client_context(), lines)
    assert outcome is scenario.expected_outcome, "\n".join(lines)
    for expected in scenario.wire:
        assert any(expected in line for line in lines), f"{expected!r} not on the wire:\n" + "\n".join(lines)


def test_every_contract_server_key_has_a_scenario() -> None:
    """CONTRACTS §4: each POP3/SMTP server key is exercised by at least one scenario."""
    assert {s.server_under_test for s in POP_SMTP} == {"exchange-pop3", "exchange-smtp", "gmail-pop3", "gmail-smtp", "gmail-smtp-starttls"}
