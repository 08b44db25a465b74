"""Greeting facts (server family, Exchange front-end name) and the mechanism choice with its reason."""

from __future__ import annotations

import base64

import pytest

from mailscope.protocols.mechanism import choose_mechanism
from mailscope.protocols.servers import parse_greeting
from mailscope.settings import Mechanism

EXCHANGE_CAPS = ("IMAP4", "IMAP4rev1", "AUTH=PLAIN", "AUTH=XOAUTH2", "SASL-IR", "UIDPLUS", "MOVE", "ID", "UNSELECT", "CHILDREN", "IDLE")
GMAIL_CAPS = ("IMAP4rev1", "UNSELECT", "SASL-IR", "AUTH=XOAUTH2", "AUTH=PLAIN", "AUTH=PLAIN-CLIENTTOKEN", "AUTH=OAUTHBEARER", "AUTH=XOAUTH")


def _exchange_greeting(frontend: str) -> str:
    return f"* OK The Microsoft Exchange IMAP4 service is ready. [{base64.b64encode(frontend.encode('utf-16-le')).decode()}]"


@pytest.mark.parametrize("frontend", ["MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM", "ZQ0PR01CA0010.CHNPR01.prod.partner.outlook.cn"])
def test_exchange_frontend_name_is_decoded(frontend: str) -> None:
    greeting = parse_greeting(_exchange_greeting(frontend))
    assert (greeting.status, greeting.family, greeting.frontend_name) == ("OK", "exchange", frontend)


def test_other_families_and_statuses() -> None:
    assert parse_greeting("* OK Gimap ready for requests from 203.0.113.9 k1mb").family == "gmail"
    assert parse_greeting("* OK [CAPABILITY IMAP4rev1] Dovecot (Debian) ready.").family == "dovecot"
    assert parse_greeting("* BYE Too many connections").status == "REFUSED"
    assert parse_greeting("* PREAUTH welcome").status == "PREAUTH"
    garbage = parse_greeting("HTTP/1.1 400 Bad Request")
    assert (garbage.status, garbage.family, garbage.frontend_name) == ("", "unknown", None)
    assert parse_greeting("* OK The Microsoft Exchange IMAP4 service is ready. [not base64!]").frontend_name is None


def test_a_remembered_greeting_reads_as_a_fresh_parse() -> None:
    from mailscope.settings import Protocol

    texts = [_exchange_greeting("MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM"), "* BYE Too many connections", "+OK Dovecot ready.", "-ERR busy"]
    for text in texts:
        for protocol in Protocol:
            fresh = parse_greeting.__wrapped__(text, protocol)
            assert parse_greeting(text, protocol) == fresh and parse_greeting(text, protocol) == fresh  # first and repeated call
    assert parse_greeting("+OK Dovecot ready.", Protocol.POP3).status == "OK"
    assert parse_greeting("+OK Dovecot ready.", Protocol.IMAP).status == ""  # the protocol is part of what is remembered


def test_auto_prefers_xoauth2_and_says_why() -> None:
    gmail = choose_mechanism(Mechanism.AUTO, GMAIL_CAPS, is_password=False)
    assert gmail.mechanism == "XOAUTH2" and gmail.sasl_ir and "OAUTHBEARER also offered" in gmail.reason
    only_bearer = choose_mechanism(Mechanism.AUTO, ("IMAP4rev1", "AUTH=OAUTHBEARER"), is_password=False)
    assert only_bearer.mechanism == "OAUTHBEARER" and not only_bearer.sasl_ir and "no SASL-IR" in only_bearer.reason
    assert choose_mechanism(Mechanism.AUTO, ("IMAP4rev1", "STARTTLS", "LOGINDISABLED"), is_password=False) is None


def test_password_auto_and_explicit_choices() -> None:
    assert choose_mechanism(Mechanism.AUTO, EXCHANGE_CAPS, is_password=True).mechanism == "PLAIN"
    assert choose_mechanism(Mechanism.AUTO, ("IMAP4rev1",), is_password=True).mechanism == "LOGIN"
    assert choose_mechanism(Mechanism.AUTO, ("IMAP4rev1", "LOGINDISABLED"), is_password=True) is None
    login = choose_mechanism(Mechanism.LOGIN, EXCHANGE_CAPS, is_password=True)
    assert login.mechanism == "LOGIN" and "IMAP LOGIN command" in login.reason
    bearer = choose_mechanism(Mechanism.OAUTHBEARER, EXCHANGE_CAPS, is_password=False)
    assert bearer.mechanism == "OAUTHBEARER" and "NOT advertised" in bearer.reason  # tried anyway: the NO is evidence
