"""Throttling answers, as the services send them, are recognised (and everything else is not)."""

from __future__ import annotations

import pytest

from mailscope.audit.throttle import ThrottleScope, throttle_of
from mailscope.evidence import CommandResult, Fault, FaultKind, SessionEvidence

MAILBOX, HOST = ThrottleScope.MAILBOX, ThrottleScope.HOST


def auth(protocol: str, result: str, text: str) -> SessionEvidence:
    return SessionEvidence(protocol=protocol, auth_result=result, auth_text=text)


def command(protocol: str, result: str, text: str) -> SessionEvidence:
    return SessionEvidence(protocol=protocol, auth_result="OK", commands=[CommandResult("EXAMINE", result, text)])


def greeting(protocol: str, text: str) -> SessionEvidence:
    return SessionEvidence(protocol=protocol, greeting=text, fault=Fault(FaultKind.BYE_GREETING, f"refused: {text}", "greeting"))


@pytest.mark.parametrize(
    ("evidence", "scope", "delay"),
    [
        (auth("imap", "NO", "NO Request is throttled. Suggested Backoff Time: 299609 milliseconds"), MAILBOX, 299.609),
        (auth("imap", "NO", "NO [THROTTLED] Request is throttled."), MAILBOX, None),
        (auth("imap", "NO", "NO [ALERT] Too many simultaneous connections. (Failure)"), MAILBOX, None),
        (auth("imap", "NO", "NO [UNAVAILABLE] Temporary authentication failure. [vm:2026-11-29 03:51:03]"), MAILBOX, None),
        (
            auth("imap", "NO", "NO [LIMIT] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=10)"),
            MAILBOX,
            None,
        ),
        (auth("imap", "NO", "NO Server Unavailable. 15"), MAILBOX, None),
        (command("imap", "BAD", "Request is throttled. Suggested Backoff Time: 89117 milliseconds"), MAILBOX, 89.117),
        (auth("pop3", "NO", "-ERR [SYS/TEMP] Temporary system problem. Please try again later."), MAILBOX, None),
        (auth("pop3", "NO", "-ERR [IN-USE] Mailbox locked by another session"), MAILBOX, None),
        (auth("smtp", "NO", "454 4.7.0 Too many login attempts, please try again later."), MAILBOX, None),
        (auth("smtp", "NO", "421 4.7.0 Try again later, closing connection. (AUTH) - gsmtp"), HOST, None),
        (command("smtp", "NO", "432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending"), MAILBOX, None),
        (greeting("smtp", "421 4.7.0 mx.example.org Error: too many connections from 192.0.2.1"), HOST, None),
        (greeting("imap", "* BYE [UNAVAILABLE] Temporary System Problem. Try again later."), HOST, None),
    ],
)
def test_throttling_answers(evidence: SessionEvidence, scope: ThrottleScope, delay: float | None) -> None:
    throttle = throttle_of(evidence)
    assert throttle is not None
    assert (throttle.scope, throttle.suggested_delay) == (scope, delay)


@pytest.mark.parametrize(
    "evidence",
    [
        auth("imap", "NO", "NO AUTHENTICATE failed."),
        auth("imap", "NO", "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"),
        command("imap", "BAD", "User is authenticated but not connected."),
        auth("pop3", "NO", "-ERR Authentication failure: unknown user name or bad password."),
        auth("smtp", "NO", "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."),
        auth("smtp", "NO", "534-5.7.14 Please log in via your web browser and then try again."),
        command("smtp", "NO", "550 5.7.60 SMTP; Client does not have permissions to send as this sender"),
        greeting("imap", "* BYE Connection closed. 14"),
        auth("imap", "OK", "OK AUTHENTICATE completed."),
        SessionEvidence(protocol="imap", fault=Fault(FaultKind.REFUSED, "connection refused", "connect")),
    ],
)
def test_other_failures_are_the_mailboxs_own(evidence: SessionEvidence) -> None:
    assert throttle_of(evidence) is None
