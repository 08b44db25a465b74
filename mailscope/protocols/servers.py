"""What a greeting says about the server (sans-IO): whether it welcomes the client, which family answers, and
Exchange's front-end name. The one home of these facts: the probe, the log replayer and the diagnosis ask here.

Exchange IMAP/POP3: `* OK The Microsoft Exchange IMAP4 service is ready. [TQBSADEAUAAyADYANAB…]`: the bracket holds
the front-end FQDN in base64 UTF-16LE, which shows region and cloud (`….PROD.OUTLOOK.COM`, `….prod.partner.outlook.cn`
for 21Vianet). Exchange SMTP names it in plain text: `220 BN9PR03CA0123.outlook.office365.com Microsoft ESMTP MAIL
Service ready at …`. Gmail: `* OK Gimap ready …`, `+OK Gpop ready …`, `220 smtp.gmail.com ESMTP … - gsmtp`.

A pasted fragment or a log excerpt shows no greeting: the server's own words name it too (`reply_family`): Exchange's
`NO AUTHENTICATE failed.`, `535 5.7.3 Authentication unsuccessful [SN4PR…PROD.OUTLOOK.COM …]`, its POP3 texts; Gmail's
`[AUTHENTICATIONFAILED] Invalid credentials (Failure)`, `- gsmtp`, `support.google.com` links, and an error challenge
whose JSON names `"scope":"https://mail.google.com/"` (`challenge_family`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from mailscope import sasl
from mailscope.patterns import lazy
from mailscope.settings import Protocol

# The text Exchange answers mailbox commands with when it accepted the token but cannot open the mailbox.
EXCHANGE_NOT_CONNECTED = "user is authenticated but not connected"

_FAMILIES = (
    ("exchange", lazy(r"microsoft exchange|microsoft esmtp|outlook\.office365\.(?:com|us)|outlook\.com\b|\.outlook\.cn\b", re.I)),
    ("gmail", lazy(r"\bgimap\b|\bgpop\b|\bgsmtp\b|\bmx\.google\.com\b|\bsmtp\.gmail\.com\b", re.I)),
    ("dovecot", lazy(r"\bdovecot\b", re.I)),
    ("postfix", lazy(r"\bpostfix\b", re.I)),
)
# Texts only one family writes (the lab's emulated servers copy them from failure-modes.md). Case matters where another
# server words the same thing differently (Dovecot: "Authentication failed.", Exchange: "AUTHENTICATE failed.").
_REPLY_FAMILIES = (
    ("exchange", lazy(
        r"\b(?:AUTHENTICATE|LOGIN) failed\.|User is authenticated but not connected|"
        r"Authentication failure: unknown user name or bad password|Protocol error\. Connection is closed\. 10|"
        r"\b5\.7\.(?:139 Authentication unsuccessful|3 Authentication unsuccessful|57 Client not authenticated|"
        r"60 SMTP; Client does not have|30 Basic authentication)|STOREDRV|SendAsDenied|Session invalidated - AccessTokenExpired|"
        r"5\.5\.124 Invalid XOAUTH2 auth data|aka\.ms/|\.prod\.outlook\.com\b|\.prod\.partner\.outlook\.cn\b|"
        r"\bCLIENTACCESSRULES\b|\bBACKENDAUTHENTICATE\b|^\* BYE Connection closed\. 14\b")),
    ("gmail", lazy(
        r"\bgsmtp\b|support\.google\.com/|accounts\.google\.com/|\[AUTHENTICATIONFAILED\] Invalid credentials \(Failure\)|"
        r"Invalid SASL argument|Client aborted AUTHENTICATE command|\[WEBALERT\b|\[SYS/PERM\]|\bX-GM-EXT-1\b|\bLookup failed\b|"
        r"Username and Password not accepted|Application-specific password required|Please log in via your web browser|"
        r"Web login required|Your account is not enabled for (?:IMAP|POP)|(?:IMAP|POP) access is disabled for your domain")),
)
GOOGLE_MAIL_SCOPE = "https://mail.google.com/"  # the only scope Gmail's error challenge names
_BRACKETS_RE = lazy(r"\[([A-Za-z0-9+/]{8,}={0,2})\]")
# A server name (its first label has digits: BN9PR03CA0123), not the public host name smtp.office365.com.
_SMTP_HOST_RE = lazy(
    r"^\d{3}[ -](?P<host>[A-Za-z-]*\d[A-Za-z0-9-]*\.[A-Za-z0-9.-]*(?:outlook\.com|office365\.com|office365\.us|outlook\.cn))\b", re.I
)
# Exchange stamps its refusals with the front end that answered: `535 5.7.3 Authentication unsuccessful [SN4PR0601CA0012.
# namprd06.prod.outlook.com 2024-05-01T10:00:00.000Z 08DC…]`.
_STAMP_RE = lazy(
    r"\[(?P<host>[A-Za-z0-9-]*\d[A-Za-z0-9-]*\.[A-Za-z0-9.-]*\.(?:prod\.outlook\.com|prod\.partner\.outlook\.cn))\b", re.I
)
_STATUS = {
    Protocol.IMAP: ((lazy(r"^\* (?:OK)\b", re.I), "OK"), (lazy(r"^\* PREAUTH\b", re.I), "PREAUTH"),
                    (lazy(r"^\* BYE\b", re.I), "REFUSED")),
    Protocol.POP3: ((lazy(r"^\+OK\b"), "OK"), (lazy(r"^-ERR\b"), "REFUSED")),
    Protocol.SMTP: ((lazy(r"^220(?:[ -]|$)"), "OK"), (lazy(r"^[45]\d\d(?:[ -]|$)"), "REFUSED")),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Greeting:
    """What a greeting says: whether the server welcomes the client, its family, Exchange's front end."""
    status: str  # "OK" | "PREAUTH" (IMAP) | "REFUSED" (IMAP BYE, POP3 -ERR, SMTP 4xx/5xx) | "" (not a greeting)
    family: str  # "exchange" | "gmail" | "dovecot" | "postfix" | "unknown"
    frontend_name: str | None


@functools.lru_cache(maxsize=64)
def parse_greeting(text: str, protocol: Protocol = Protocol.IMAP) -> Greeting:
    """Remembered: an audit's sessions meet the same few greetings again and again (family patterns, Exchange's base64
    front-end name decoded once per greeting, not per session)."""
    status = next((name for pattern, name in _STATUS[protocol] if pattern().match(text)), "")
    family = server_family(text)
    return Greeting(status, family, frontend_name(text) if family == "exchange" else None)


def server_family(text: str) -> str:
    """The server family a greeting (or any server banner) names; "unknown" when it names none."""
    return next((family for family, pattern in _FAMILIES if pattern().search(text)), "unknown")


def reply_family(text: str) -> str:
    """The family any server line names, greeting or not: a banner's words, else a reply only that family writes."""
    family = server_family(text)
    if family != "unknown":
        return family
    return next((family for family, pattern in _REPLY_FAMILIES if pattern().search(text)), "unknown")


def challenge_family(challenge: object) -> str:
    """Gmail's XOAUTH2 error challenge names the scope it requires: https://mail.google.com/."""
    scope = challenge.get("scope") if isinstance(challenge, dict) else None
    return "gmail" if isinstance(scope, str) and scope.rstrip("/") == GOOGLE_MAIL_SCOPE.rstrip("/") else "unknown"


def frontend_name(text: str) -> str | None:
    """Exchange's front-end FQDN: the bracketed base64 UTF-16LE name (IMAP, POP3), the host an SMTP greeting starts
    with, or the front end a refusal is stamped with; None when absent or not decodable."""
    for candidate in _BRACKETS_RE().findall(text):
        raw = sasl.b64decode_strict(candidate)
        if raw is None or len(raw) % 2:
            continue
        try:
            name = raw.decode("utf-16-le")
        except UnicodeDecodeError:
            continue
        if name and all(ch.isalnum() or ch in ".-_" for ch in name):
            return name
    smtp = _SMTP_HOST_RE().match(text) or _STAMP_RE().search(text)
    return smtp.group("host") if smtp else None
