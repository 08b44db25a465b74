"""Lines in, evidence out, per protocol: each table is fed through both routes into a session record, the live wire
tap (raw bytes in 7-byte pieces → WireRecorder → Conversation) and log import (LogItems → replay → Conversation),
and both must establish the same evidence. The strings are the catalogue's real ones (failure-modes.md)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from mailscope import sasl
from mailscope.events import Channel, Direction
from mailscope.logs import replay
from mailscope.logs.model import ImportedSession, ItemKind, LogItem
from mailscope.probe.tap import WireRecorder
from mailscope.protocols import conversation_for, decide_outcome
from mailscope.record import SessionRecord
from mailscope.settings import Protocol

C, S = Direction.CLIENT, Direction.SERVER
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJ1cG4iOiJhbGljZUBjb250b3NvLmNvbSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
USER = "alice@contoso.com"
XOAUTH2 = sasl.b64(sasl.xoauth2_payload(USER, TOKEN))
GMAIL_JSON = {"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}
GMAIL_CHALLENGE = base64.b64encode(json.dumps(GMAIL_JSON, separators=(",", ":")).encode()).decode()
DOVECOT_JSON = {"status": "401", "schemes": "bearer", "scope": "mail"}
DOVECOT_CHALLENGE = base64.b64encode(json.dumps(DOVECOT_JSON, separators=(",", ":")).encode()).decode()
EXO_FRONTEND = "MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM"
EXO_BRACKET = base64.b64encode(EXO_FRONTEND.encode("utf-16-le")).decode()


@dataclass
class Table:
    id: str
    protocol: Protocol
    lines: list[tuple[Direction, str]]
    evidence: dict[str, Any]  # SessionEvidence fields that must hold
    commands: list[tuple[str, str, str]] = field(default_factory=list)  # (command, result, text)
    sasl: list[tuple[str, bool, list[dict], str]] = field(default_factory=list)  # (mechanism, sasl_ir, challenge_json, result)
    outcome: str = ""


TABLES = [
    Table("imap-exchange-xoauth2-examine", Protocol.IMAP, [
        (S, f"* OK The Microsoft Exchange IMAP4 service is ready. [{EXO_BRACKET}]"),
        (C, "A1 CAPABILITY"),
        (S, "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+"),
        (S, "A1 OK CAPABILITY completed."),
        (C, f"A2 AUTHENTICATE XOAUTH2 {XOAUTH2}"),
        (S, "A2 OK AUTHENTICATE completed."),
        (C, "A3 EXAMINE INBOX"),
        (S, "* 3 EXISTS"),
        (S, "A3 OK [READ-ONLY] EXAMINE completed."),
    ], {"server_family": "exchange", "frontend_name": EXO_FRONTEND, "mechanism": "XOAUTH2", "auth_result": "OK",
        "auth_text": "OK AUTHENTICATE completed.", "capabilities_post_tls": None},
        [("CAPABILITY", "OK", "CAPABILITY completed."), ("EXAMINE", "OK", "[READ-ONLY] EXAMINE completed.")],
        [("XOAUTH2", True, [], "OK")], "authenticated_mailbox_reachable"),
    Table("imap-gmail-error-challenge", Protocol.IMAP, [
        (S, "* OK Gimap ready for requests from 203.0.113.9 k1mb"),
        (C, "A1 AUTHENTICATE XOAUTH2"),
        (S, "+ "),
        (C, XOAUTH2),
        (S, f"+ {GMAIL_CHALLENGE}"),
        (C, ""),
        (S, "A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"),
    ], {"server_family": "gmail", "auth_result": "NO", "auth_text": "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"},
        [], [("XOAUTH2", False, [GMAIL_JSON], "NO")], "authentication_failed"),
    Table("imap-not-connected-bye", Protocol.IMAP, [
        (S, "* OK The Microsoft Exchange IMAP4 service is ready."),
        (C, f"A1 AUTHENTICATE XOAUTH2 {XOAUTH2}"),
        (S, "A1 OK AUTHENTICATE completed."),
        (C, "A2 EXAMINE INBOX"),
        (S, "A2 BAD User is authenticated but not connected."),
        (S, "* BYE Connection closed. 14"),
    ], {"auth_result": "OK", "untagged_bye": "* BYE Connection closed. 14"},
        [("EXAMINE", "BAD", "User is authenticated but not connected.")], [("XOAUTH2", True, [], "OK")],
        "authenticated_but_mailbox_refused"),
    Table("pop3-exchange-two-step-stat", Protocol.POP3, [
        (S, f"+OK The Microsoft Exchange POP3 service is ready. [{EXO_BRACKET}]"),
        (C, "CAPA"),
        (S, "+OK"), (S, "TOP"), (S, "UIDL"), (S, "SASL PLAIN XOAUTH2"), (S, "USER"), (S, "."),
        (C, "AUTH XOAUTH2"),
        (S, "+ "),
        (C, XOAUTH2),
        (S, "+OK User successfully authenticated."),
        (C, "STAT"),
        (S, "+OK 3 3412"),
        (C, "QUIT"),
        (S, "+OK Microsoft Exchange Server POP3 server signing off."),
    ], {"server_family": "exchange", "frontend_name": EXO_FRONTEND, "auth_result": "OK",
        "capabilities_pre_tls": ("TOP", "UIDL", "SASL", "AUTH=PLAIN", "AUTH=XOAUTH2", "USER")},
        [("CAPA", "OK", "+OK"), ("STAT", "OK", "+OK 3 3412"), ("QUIT", "OK", "+OK Microsoft Exchange Server POP3 server signing off.")],
        [("XOAUTH2", False, [], "OK")], "authenticated_mailbox_reachable"),
    Table("pop3-exchange-one-line-rejected", Protocol.POP3, [
        (S, "+OK The Microsoft Exchange POP3 service is ready."),
        (C, f"AUTH XOAUTH2 {XOAUTH2}"),
        (S, "-ERR Protocol error. Connection is closed. 10"),
    ], {"auth_result": "NO", "auth_text": "-ERR Protocol error. Connection is closed. 10"}, [],
        [("XOAUTH2", True, [], "NO")], "authentication_failed"),
    Table("pop3-dovecot-stls-expired", Protocol.POP3, [
        (S, "+OK Dovecot (Debian) ready."),
        (C, "CAPA"), (S, "+OK"), (S, "STLS"), (S, "USER"), (S, "SASL PLAIN XOAUTH2"), (S, "."),
        (C, "STLS"), (S, "+OK Begin TLS negotiation now."),
        (C, "CAPA"), (S, "+OK"), (S, "USER"), (S, "SASL PLAIN XOAUTH2 OAUTHBEARER"), (S, "."),
        (C, f"AUTH XOAUTH2 {XOAUTH2}"),
        (S, f"+ {DOVECOT_CHALLENGE}"),
        (C, ""),
        (S, "-ERR [AUTH] Authentication failed."),
    ], {"server_family": "dovecot", "security": "starttls", "auth_result": "NO", "auth_text": "-ERR [AUTH] Authentication failed.",
        "capabilities_pre_tls": ("STLS", "USER", "SASL", "AUTH=PLAIN", "AUTH=XOAUTH2"),
        "capabilities_post_tls": ("USER", "SASL", "AUTH=PLAIN", "AUTH=XOAUTH2", "AUTH=OAUTHBEARER")},
        [("CAPA", "OK", "+OK"), ("STLS", "OK", "+OK Begin TLS negotiation now."), ("CAPA", "OK", "+OK")],
        [("XOAUTH2", True, [DOVECOT_JSON], "NO")], "authentication_failed"),
    Table("pop3-user-pass", Protocol.POP3, [
        (S, "+OK Gpop ready for requests from 203.0.113.9 a1"),
        (C, f"USER {USER}"), (S, "+OK send PASS"),
        (C, "PASS Winter2026!Pass"), (S, "-ERR [AUTH] Application-specific password required"),
    ], {"server_family": "gmail", "login_used": True, "mechanism": "USER/PASS", "auth_result": "NO",
        "auth_text": "-ERR [AUTH] Application-specific password required"},
        [("USER", "OK", "+OK send PASS"), ("PASS", "NO", "-ERR [AUTH] Application-specific password required")], [],
        "authentication_failed"),
    Table("smtp-exchange-starttls-disabled-tenant", Protocol.SMTP, [
        (S, "220 BN9PR03CA0123.outlook.office365.com Microsoft ESMTP MAIL Service ready at Tue, 1 Dec 2026 10:00:00 +0000"),
        (C, "EHLO [127.0.0.1]"),
        (S, "250-BN9PR03CA0123.outlook.office365.com Hello [203.0.113.9]"), (S, "250-SIZE 157286400"), (S, "250-STARTTLS"),
        (S, "250 SMTPUTF8"),
        (C, "STARTTLS"), (S, "220 2.0.0 SMTP server ready"),
        (C, "EHLO [127.0.0.1]"),
        (S, "250-BN9PR03CA0123.outlook.office365.com Hello [203.0.113.9]"), (S, "250-AUTH LOGIN XOAUTH2"), (S, "250 SMTPUTF8"),
        (C, f"AUTH XOAUTH2 {XOAUTH2}"),
        (S, "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit "
            "https://aka.ms/smtp_auth_disabled for more information. [MN2PR05CA0004.namprd05.prod.outlook.com]"),
    ], {"server_family": "exchange", "frontend_name": "BN9PR03CA0123.outlook.office365.com", "security": "starttls",
        "capabilities_pre_tls": ("SIZE", "STARTTLS", "SMTPUTF8"),
        "capabilities_post_tls": ("AUTH", "AUTH=LOGIN", "AUTH=XOAUTH2", "SMTPUTF8"), "auth_result": "NO",
        "auth_text": "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit "
                     "https://aka.ms/smtp_auth_disabled for more information. [MN2PR05CA0004.namprd05.prod.outlook.com]"},
        [("EHLO", "OK", "250 BN9PR03CA0123.outlook.office365.com Hello [203.0.113.9] SIZE 157286400 STARTTLS SMTPUTF8"),
         ("STARTTLS", "OK", "220 2.0.0 SMTP server ready"),
         ("EHLO", "OK", "250 BN9PR03CA0123.outlook.office365.com Hello [203.0.113.9] AUTH LOGIN XOAUTH2 SMTPUTF8")],
        [("XOAUTH2", True, [], "NO")], "authentication_failed"),
    Table("smtp-gmail-334-json-multiline-535", Protocol.SMTP, [
        (S, "220 smtp.gmail.com ESMTP d9443c01a7336-2a3e3c4f1sm1234567 - gsmtp"),
        (C, f"AUTH XOAUTH2 {XOAUTH2}"),
        (S, f"334 {GMAIL_CHALLENGE}"),
        (C, ""),
        (S, "535-5.7.8 Username and Password not accepted. For more information, go to"),
        (S, "535 5.7.8  https://support.google.com/mail/?p=BadCredentials d9443c01a7336-2a3e3c4f1sm1234567 - gsmtp"),
    ], {"server_family": "gmail", "auth_result": "NO",
        "auth_text": "535 5.7.8 Username and Password not accepted. For more information, go to 5.7.8  "
                     "https://support.google.com/mail/?p=BadCredentials d9443c01a7336-2a3e3c4f1sm1234567 - gsmtp"},
        [], [("XOAUTH2", True, [GMAIL_JSON], "NO")], "authentication_failed"),
    Table("smtp-send-as-refused-at-rcpt", Protocol.SMTP, [
        (S, "220 BN9PR03CA0123.outlook.office365.com Microsoft ESMTP MAIL Service ready"),
        (C, f"AUTH XOAUTH2 {XOAUTH2}"), (S, "235 2.7.0 Authentication successful"),
        (C, f"MAIL FROM:<{USER}>"), (S, "250 2.1.0 Sender OK"),
        (C, f"RCPT TO:<{USER}>"), (S, "550 5.7.60 SMTP; Client does not have permissions to send as this sender"),
        (C, "RSET"), (S, "250 2.0.0 Resetting"),
    ], {"auth_result": "OK", "auth_text": "235 2.7.0 Authentication successful"},
        [("MAIL FROM", "OK", "250 2.1.0 Sender OK"),
         ("RCPT TO", "NO", "550 5.7.60 SMTP; Client does not have permissions to send as this sender"),
         ("RSET", "OK", "250 2.0.0 Resetting")], [("XOAUTH2", True, [], "OK")], "authenticated_but_mailbox_refused"),
    Table("smtp-auth-login", Protocol.SMTP, [
        (S, "220 smtp.office365.com Microsoft ESMTP MAIL Service ready"),
        (C, "AUTH LOGIN"), (S, "334 VXNlcm5hbWU6"),
        (C, base64.b64encode(USER.encode()).decode()), (S, "334 UGFzc3dvcmQ6"),
        (C, base64.b64encode(b"Winter2026!Pass").decode()),
        (S, "535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [BN9PR03CA0123.namprd03.prod.outlook.com]"),
    ], {"mechanism": "LOGIN", "login_used": False, "auth_result": "NO"}, [], [("LOGIN", False, [], "NO")], "authentication_failed"),
]  # fmt: skip


def live(table: Table) -> SessionRecord:
    record = SessionRecord()
    record.update_evidence(protocol=table.protocol.value)
    recorder = WireRecorder(record, conversation_for(table.protocol, record.redactor))
    for direction, text in table.lines:
        data = text.encode() + b"\r\n"
        for i in range(0, len(data), 7):  # TCP delivers what it likes
            recorder.feed(direction, data[i : i + 7])
    return record


def imported(table: Table) -> SessionRecord:
    channel = Channel(table.protocol.value)
    items = [LogItem(ItemKind.WIRE, text, direction=d, channel=channel, lineno=i) for i, (d, text) in enumerate(table.lines)]
    record = SessionRecord()
    replay(ImportedSession(1, "generic", items=items), record)
    return record


@pytest.mark.parametrize("route", [live, imported])
@pytest.mark.parametrize("table", TABLES, ids=[t.id for t in TABLES])
def test_both_routes_establish_the_same_evidence(table: Table, route) -> None:  # noqa: ANN001
    record = route(table)
    evidence = record.evidence
    for name, value in table.evidence.items():
        assert getattr(evidence, name) == value, name
    assert [(c.command, c.result, c.text) for c in evidence.commands if c.command in {n for n, _, _ in table.commands}] == table.commands
    assert [(x.mechanism, x.sasl_ir, x.challenge_json, x.result) for x in evidence.sasl] == table.sasl
    assert str(decide_outcome(evidence, partial=route is imported).kind) == table.outcome
    stored = "\n".join(line.text for line in record.lines) + repr(evidence)
    assert TOKEN not in stored and XOAUTH2 not in stored and "Winter2026!Pass" not in stored


@pytest.mark.parametrize("table", TABLES, ids=[t.id for t in TABLES])
def test_the_transcripts_agree_line_for_line(table: Table) -> None:
    """What each route stores for a line is the same text (the log route only adds its origin note)."""
    live_lines = [(line.direction, line.text) for line in live(table).lines]
    imported_lines = [(line.direction, line.text) for line in imported(table).lines if line.direction != Direction.INFO]
    assert live_lines == imported_lines
