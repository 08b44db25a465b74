"""The partial reading of a conversation (a log excerpt, a pasted line): lines in, evidence out, with no greeting and no
command before the answer; and which server lines are evidence on their own. The live reading is unchanged: the same
lines fed with partial=False keep their old meaning."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest

from mailscope import sasl
from mailscope.events import Direction
from mailscope.evidence import SessionEvidence
from mailscope.protocols import conversation_for, imap, pop3, smtp
from mailscope.protocols.servers import challenge_family, frontend_name, reply_family
from mailscope.redact import Redactor
from mailscope.settings import Protocol

C, S = Direction.CLIENT, Direction.SERVER
GMAIL_CHALLENGE = base64.b64encode(b'{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}').decode()
RFC7628_CHALLENGE = base64.b64encode(b'{"status":"invalid_token","openid-configuration":"https://idp/.well-known"}').decode()
GMAIL_CAPS_AFTER_LOGIN = "IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS COMPRESS=DEFLATE ENABLE MOVE"


def evidence_of(protocol: Protocol, lines: list[tuple[Direction, str]], *, partial: bool = True) -> SessionEvidence:
    """Feed the lines and apply what each says, as mailscope.transcript does (without a record)."""
    conversation = conversation_for(protocol, Redactor(), partial=partial)
    evidence = SessionEvidence(protocol=protocol.value)
    feds = [conversation.feed(direction, text, seq) for seq, (direction, text) in enumerate(lines, 1)]
    closed = conversation.close()
    for fed in [*feds, *([closed] if closed else [])]:
        if fed.sasl is not None:
            evidence.sasl.append(fed.sasl)
        if fed.command is not None:
            evidence.commands.append(fed.command)
        for name, value in fed.changes.items():
            setattr(evidence, name, value)
    return evidence


@dataclass(frozen=True)
class Case:
    id: str
    protocol: Protocol
    lines: list[tuple[Direction, str]]
    expected: dict[str, Any]


CASES = [
    Case("exchange generic refusal alone", Protocol.IMAP, [(S, "A0001 NO AUTHENTICATE failed.")],
         {"auth_result": "NO", "auth_seq": 1, "server_family": "exchange", "mechanism": None, "greeting": None}),
    Case("LOGIN's answer names the command", Protocol.IMAP, [(S, "2 NO LOGIN failed.")],
         {"auth_result": "NO", "login_used": True, "mechanism": "LOGIN", "server_family": "exchange"}),
    Case("an answer quoted without its tag", Protocol.IMAP, [(S, "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)")],
         {"auth_result": "NO", "server_family": "gmail"}),
    Case("not connected implies the sign-in was accepted", Protocol.IMAP, [(S, "A3 BAD User is authenticated but not connected.")],
         {"auth_result": "OK", "server_family": "exchange"}),
    Case("an error challenge implies the XOAUTH2 exchange", Protocol.IMAP, [
        (S, f"+ {GMAIL_CHALLENGE}"), (C, ""), (S, "A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)")],
         {"mechanism": "XOAUTH2", "server_family": "gmail", "auth_result": "NO"}),
    Case("an RFC 7628 challenge implies OAUTHBEARER", Protocol.IMAP, [(S, f"+ {RFC7628_CHALLENGE}")],
         {"mechanism": "OAUTHBEARER", "server_family": "unknown"}),
    Case("a mid-session BYE is no greeting", Protocol.IMAP, [(S, "* BYE Session invalidated - AccessTokenExpired")],
         {"greeting": None, "untagged_bye": "* BYE Session invalidated - AccessTokenExpired", "server_family": "exchange"}),
    Case("Gmail's tagged OK after a hidden sign-in carries the post-auth list", Protocol.IMAP, [
        (S, "* OK Gimap ready for requests from 192.0.2.7 x1"), (C, "A1 CAPABILITY"),
        (S, "* CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE SASL-IR AUTH=XOAUTH2 AUTH=PLAIN AUTH=OAUTHBEARER"), (S, "A1 OK Thats all"),
        (S, f"A2 OK [CAPABILITY {GMAIL_CAPS_AFTER_LOGIN}] alice@gmail.com authenticated (Success)")],
         {"auth_result": "OK", "capabilities_post_auth": tuple(GMAIL_CAPS_AFTER_LOGIN.split()),
          "capabilities_pre_tls": ("IMAP4rev1", "UNSELECT", "IDLE", "NAMESPACE", "SASL-IR", "AUTH=XOAUTH2", "AUTH=PLAIN",
                                   "AUTH=OAUTHBEARER")}),
    Case("a shrunken list without AUTH= after one with it is post-auth", Protocol.IMAP, [
        (S, "* CAPABILITY IMAP4rev1 AUTH=XOAUTH2"), (S, f"* CAPABILITY {GMAIL_CAPS_AFTER_LOGIN}")],
         {"capabilities_pre_tls": ("IMAP4rev1", "AUTH=XOAUTH2"), "capabilities_post_auth": tuple(GMAIL_CAPS_AFTER_LOGIN.split())}),
    Case("POP3 refusal alone answers the credential", Protocol.POP3,
         [(S, "-ERR Authentication failure: unknown user name or bad password.")],
         {"auth_result": "NO", "server_family": "exchange", "greeting": None}),
    Case("POP3 protocol error alone", Protocol.POP3, [(S, "-ERR Protocol error. Connection is closed. 10")],
         {"auth_result": "NO", "server_family": "exchange"}),
    Case("SMTP 535 alone, front end from its stamp", Protocol.SMTP, [
        (S, "535 5.7.3 Authentication unsuccessful [SN4PR0601CA0012.namprd06.prod.outlook.com 2026-11-28T10:00:00.000Z 08DC]")],
         {"auth_result": "NO", "server_family": "exchange", "frontend_name": "SN4PR0601CA0012.namprd06.prod.outlook.com"}),
    Case("SMTP reply cut before its last line", Protocol.SMTP, [(S, "535-5.7.8 Username and Password not accepted. Learn more at")],
         {"auth_result": "NO", "auth_text": "535 5.7.8 Username and Password not accepted. Learn more at", "server_family": "gmail"}),
    Case("SMTP error challenge implies XOAUTH2", Protocol.SMTP, [(S, f"334 {GMAIL_CHALLENGE}")],
         {"mechanism": "XOAUTH2", "server_family": "gmail"}),
    Case("SMTP 501 naming the XOAUTH2 data answers AUTH", Protocol.SMTP, [
        (S, "501 5.5.124 Invalid XOAUTH2 auth data - User address provided is not valid. Please ensure the auth d")],
         {"auth_result": "BAD", "server_family": "exchange"}),
    Case("an AUTH whose mechanism the log hides (Postfix) is answered", Protocol.SMTP, [
        (C, "AUTH"), (S, "535 5.7.3 Authentication unsuccessful [FR3P281CA0094.DEUP281.PROD.OUTLOOK.COM]")],
         {"auth_result": "NO", "server_family": "exchange", "frontend_name": "FR3P281CA0094.DEUP281.PROD.OUTLOOK.COM"}),
    Case("a 550 at MAIL FROM is no answer to the credential", Protocol.SMTP, [
        (S, "550 5.7.60 SMTP; Client does not have permissions to send as this sender")],
         {"auth_result": None, "server_family": "exchange"}),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_partial_lines_say_what_they_answer(case: Case) -> None:
    evidence = evidence_of(case.protocol, case.lines)
    for name, value in case.expected.items():
        assert getattr(evidence, name) == value, (name, getattr(evidence, name))


def test_the_response_length_is_recorded_without_the_response() -> None:
    payload = sasl.b64(sasl.xoauth2_payload("alice@contoso.com", "eyJ" + "a" * 5000 + ".b.c"))
    evidence = evidence_of(Protocol.POP3, [(C, "AUTH XOAUTH2"), (S, "+ "), (C, payload)])
    assert evidence.sasl[0].response_length == len(payload) and payload not in repr(evidence)


def test_live_reading_is_unchanged() -> None:
    """Live, the first server line is the greeting whatever it says; nothing is inferred from answers without commands."""
    live = evidence_of(Protocol.IMAP, [(S, "* BYE Too many connections"), (S, "A1 NO AUTHENTICATE failed.")], partial=False)
    assert live.greeting == "* BYE Too many connections" and live.auth_result is None
    assert evidence_of(Protocol.SMTP, [(S, "535-5.7.8 Username and Password not accepted.")], partial=False).auth_result is None


@pytest.mark.parametrize(("text", "family"), [
    ("A1 NO AUTHENTICATE failed.", "exchange"), ("-ERR Protocol error. Connection is closed. 10", "exchange"),
    ("550 5.7.30 Basic authentication is not supported for Client Submission.", "exchange"),
    ("* BYE Connection closed. 14", "exchange"), ("535 5.7.8  https://support.google.com/mail/?p=BadCredentials x - gsmtp", "gmail"),
    ("A1 NO Lookup failed x1", "gmail"), ("-ERR [SYS/PERM] POP access is disabled for your domain.", "gmail"),
    ("a NO [AUTHENTICATIONFAILED] Authentication failed.", "unknown"),  # Dovecot's words: no family
    ("A1 NO authentication failed", "unknown"),
])  # fmt: skip
def test_reply_family(text: str, family: str) -> None:
    assert reply_family(text) == family


def test_challenge_family_and_stamped_front_end() -> None:
    assert challenge_family({"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}) == "gmail"
    assert challenge_family({"status": "401", "schemes": "bearer", "scope": "mail"}) == "unknown"
    assert frontend_name("535 5.7.3 Authentication unsuccessful [AM0PR10CA0012.EURPRD10.PROD.OUTLOOK.COM 2026-11-28T10:00:00Z]") == (
        "AM0PR10CA0012.EURPRD10.PROD.OUTLOOK.COM")


@pytest.mark.parametrize(("module", "text", "alone"), [
    (imap, "A1 NO AUTHENTICATE failed.", True), (imap, "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)", True),
    (imap, "* BYE Session invalidated - AccessTokenExpired", True), (imap, f"+ {GMAIL_CHALLENGE}", True),
    (imap, "* NO [WEBALERT https://accounts.google.com/x] Web login required.", True),
    (imap, "Job2 NO entries", False), (imap, "A1 OK [READ-ONLY] EXAMINE completed.", False), (imap, "* 3 EXISTS", False),
    (pop3, "-ERR Authentication failed.", True), (pop3, "+OK 2 320", False),
    (smtp, "535 5.7.3 Authentication unsuccessful", True), (smtp, "235 2.7.0 Accepted", True), (smtp, "250 2.1.0 OK", False),
    (smtp, "334 ", False), (smtp, "334 VXNlcm5hbWU6", True),
])  # fmt: skip
def test_which_lines_stand_alone(module: Any, text: str, alone: bool) -> None:
    assert module.stands_alone(text) is alone
