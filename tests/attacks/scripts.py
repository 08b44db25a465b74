"""The hostile IMAP, POP3 and SMTP servers, as data: each `Hostile` is a server script (servers.py) plus what mailscope
must make of it. Scripts use the placeholders of `servers.token_forms` (`{token}`, `{token_hex}`, ...) and reply
callables get the same values, so one script echoes whichever secret the attack signs in with: the token, or the
`password` (IMAP LOGIN, POP3 USER/PASS, SMTP AUTH LOGIN). `required` is the diagnosis every run must give (a flood is
read, not "the server closed the connection"); `fast` puts the attack in the CI slice (one of each kind is)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from . import payloads as p
from .servers import SPLIT, STALL, ServerScript

LOOPS = "the server kept sending continuations"  # the diagnosis of a server that asks for SASL responses for ever
REFUSED = "authentication_failed"  # ... and of one whose burst of continuations still ends in its refusal
FAST_LOOP = ("--timeout", "1")  # a looping server (or a stalled handshake) is told from a slow one when the step's time is up
REACHED = "authenticated_mailbox_reachable"  # the outcome once every hostile line was read and the sign-in passed
CLOSED = "closed the connection"  # the false verdict a client-side reading failure used to give
PARSER = "client_parser_error"  # mailscope or its library could not read the server: must not be a hostile JSON's doing
GARBAGE = bytes(range(256)).decode("utf-8", "surrogateescape") * 4  # every byte value, as the wire carries them


@dataclass(frozen=True)
class Hostile:
    name: str
    script: ServerScript
    password: str = ""  # sign in with this password instead of the token
    security: str = "plain"
    options: tuple[str, ...] = ()  # more `mailscope check` options
    required: tuple[str, ...] = ()  # in every run's output: the right diagnosis
    forbidden: tuple[str, ...] = ()
    expect_exit: int | tuple[int, ...] = (1, 3)  # a failed check: its cause found (1), or only candidates (3; README)
    timeout: float = 30
    fast: bool = True


def _json_challenge(prefix: str, depth: int = 0) -> Callable[[dict[str, str]], list[str]]:
    """Gmail's base64 JSON error challenge echoing the secret, with control sequences (payloads.json_challenge)."""
    return lambda values: [prefix + p.json_challenge(values["token"], depth=depth)]


def _echoes(prefix: str) -> Callable[[dict[str, str]], list[str]]:
    """The secret echoed in every spelling, one line of them split across two writes in the middle."""

    def echoes(values: dict[str, str]) -> list[str]:
        token = values["token"]
        return [prefix + line for line in p.echoes(token)] + [f"{prefix}split {token[:20]}{SPLIT}{token[20:]} end"]

    return echoes


def _endless(first: str, line: str) -> Callable[[dict[str, str]], Iterator[str]]:
    """An answer that never ends: `first`, then `line` (formatted with a counter) for ever."""
    return lambda values: itertools.chain([first], (line.format(i) for i in itertools.count()))


# -- IMAP ------------------------------------------------------------------------------------------------
CAPS = "* CAPABILITY IMAP4rev1 AUTH=XOAUTH2 AUTH=PLAIN AUTH=LOGIN SASL-IR"
IMAP_CAPS = {"CAPABILITY": [CAPS, "{tag} OK done"]}
IMAP_ECHOES = _echoes("* OK ")


def _imap_flood(count: int) -> Callable[[dict[str, str]], list[str]]:
    return lambda values: [f"* {i} EXISTS" for i in range(count)] + [f"{values['tag']} OK [READ-ONLY] EXAMINE completed."]


def _imap_controls(values: dict[str, str]) -> list[str]:
    return [f"* OK {seq}" for seq in p.HOSTILE] + [f"{values['tag']} NO [AUTHENTICATIONFAILED] {p.OSC52}{p.CSI_CLEAR}"]


IMAP = [
    Hostile("greeting and capabilities full of control sequences", ServerScript(
        "imap", f"* OK {p.ALL_CONTROLS} ready",
        {"CAPABILITY": [f"{CAPS} X-{p.OSC0}", "{tag} OK " + p.CSI_CLEAR], "AUTHENTICATE": [_imap_controls]})),
    Hostile("the token echoed in every spelling, then refused", ServerScript(
        "imap", "* OK ready", {**IMAP_CAPS, "AUTHENTICATE": [IMAP_ECHOES, "{tag} NO [AUTHENTICATIONFAILED] bad token {token_hex}"]})),
    Hostile("the token inside a base64 JSON error challenge with control sequences", ServerScript(
        "imap", "* OK ready", {**IMAP_CAPS, "AUTHENTICATE": [_json_challenge("+ ")],
                               "SASL": ["{tag} NO [AUTHENTICATIONFAILED] Invalid credentials"]})),
    Hostile("a challenge of 3,000 nested JSON arrays", ServerScript(
        "imap", "* OK ready", {**IMAP_CAPS, "AUTHENTICATE": [_json_challenge("+ ", 3000)], "SASL": ["{tag} NO [AUTHENTICATIONFAILED] no"]}),
        forbidden=(CLOSED, PARSER), fast=False),
    Hostile("authenticated, then the mailbox answers with echoes and controls", ServerScript(
        "imap", "* OK ready", {**IMAP_CAPS, "AUTHENTICATE": ["{tag} OK AUTHENTICATE completed."],
                               "EXAMINE": [IMAP_ECHOES, "{tag} NO " + p.OSC0 + " {token_b64}"],
                               "*": ["* BYE " + p.OSC52, "{tag} OK done"]}), fast=False),
    Hostile("5,000 untagged lines in one write", ServerScript(
        "imap", "* OK ready", {**IMAP_CAPS, "AUTHENTICATE": ["{tag} OK AUTHENTICATE completed."], "EXAMINE": [_imap_flood(5000)]}),
        required=(REACHED,), forbidden=(CLOSED,), expect_exit=0),
    Hostile("untagged lines without end", ServerScript(
        "imap", "* OK ready", {**IMAP_CAPS, "AUTHENTICATE": ["{tag} OK AUTHENTICATE completed."],
                               "EXAMINE": [_endless("* 1 EXISTS", "* {} EXPUNGE " + "x" * 100)]}), forbidden=(CLOSED,), fast=False),
    Hostile("'+' for ever: every response gets another continuation", ServerScript(
        "imap", "* OK ready", {**IMAP_CAPS, "AUTHENTICATE": ["+ "], "SASL": ["+ "]}), options=FAST_LOOP, required=(LOOPS,), fast=False),
    Hostile("a password echoed back after LOGIN", ServerScript(
        "imap", "* OK ready", {"CAPABILITY": ["* CAPABILITY IMAP4rev1 AUTH=PLAIN", "{tag} OK done"],
                               "LOGIN": [IMAP_ECHOES, "{tag} NO [AUTHENTICATIONFAILED] {token}"]}),
        password=p.PASSWORD),
]  # fmt: skip


# -- POP3 ------------------------------------------------------------------------------------------------
POP3_CAPA = ["+OK Capability list follows", "TOP", "UIDL", "SASL XOAUTH2 OAUTHBEARER PLAIN", "USER", "."]
POP3_OK = {"CAPA": POP3_CAPA, "AUTH": ["+OK User successfully authenticated."], "STAT": ["+OK 3 1024"], "*": ["+OK done"]}


def _pop3_flood(count: int) -> Callable[[dict[str, str]], list[str]]:
    return lambda values: ["+OK Capability list follows", *(f"X-CAPABILITY-{i}" for i in range(count)), *POP3_CAPA[1:]]


POP3 = [
    Hostile("greeting, CAPA and error texts full of control sequences", ServerScript(
        "pop3", f"+OK {p.ALL_CONTROLS} ready",
        {"CAPA": ["+OK " + p.OSC0, f"X-{p.OSC0}", f"IMPLEMENTATION {p.OSC52}{p.DCS}", "SASL XOAUTH2 PLAIN", f"{p.C1_CSI}{p.BIDI}", "."],
         "AUTH": [*(f"{seq} stray line" for seq in p.HOSTILE), f"-ERR [AUTH] {p.OSC52}{p.CSI_CLEAR}"]})),
    Hostile("the token echoed in every spelling (one split across writes), then refused", ServerScript(
        "pop3", "+OK ready", {**POP3_OK, "AUTH": [_echoes(""), "-ERR [AUTH] bad token {token_hex} {token_utf16}"]})),
    Hostile("the token inside a base64 JSON error challenge with control sequences", ServerScript(
        "pop3", "+OK ready", {**POP3_OK, "AUTH": [_json_challenge("+ ")], "SASL": ["-ERR [AUTH] Authentication failed."]}), fast=False),
    Hostile("a challenge of 3,000 nested JSON arrays", ServerScript(
        "pop3", "+OK ready", {**POP3_OK, "AUTH": [_json_challenge("+ ", 3000)], "SASL": ["-ERR [AUTH] Authentication failed."]}),
        forbidden=(CLOSED, PARSER)),
    Hostile("5,000 CAPA lines in one write, SASL after them", ServerScript("pop3", "+OK ready", {**POP3_OK, "CAPA": [_pop3_flood(5000)]}),
            required=(REACHED,), forbidden=(CLOSED,), expect_exit=0),
    Hostile("10,000 '+' continuations in one write", ServerScript(
        "pop3", "+OK ready", {**POP3_OK, "AUTH": ["+ "] * 10_000 + ["-ERR [AUTH] no"]}), forbidden=(CLOSED,), required=(REFUSED,),
        fast=False),
    Hostile("'+' for ever: every response gets another continuation", ServerScript(
        "pop3", "+OK ready", {**POP3_OK, "AUTH": ["+ "], "SASL": ["+ "]}), forbidden=(CLOSED,), options=FAST_LOOP, required=(LOOPS,)),
    Hostile("a password echoed back after PASS", ServerScript(
        "pop3", "+OK ready", {**POP3_OK, "USER": ["+OK send PASS"], "PASS": [_echoes(""), "-ERR [AUTH] your password {token}"]}),
        password=p.PASSWORD),
    Hostile("STLS accepted, then the TLS handshake stalls", ServerScript(
        "pop3", "+OK ready", {**POP3_OK, "CAPA": ["+OK", "STLS", *POP3_CAPA[1:]], "STLS": ["+OK Begin TLS negotiation now.", STALL]}),
        security="starttls", options=FAST_LOOP, required=("tls_handshake_failed",), forbidden=(CLOSED,)),
    Hostile("binary garbage for a greeting", ServerScript("pop3", GARBAGE, POP3_OK),
            required=("unexpected_greeting",)),
    Hostile("a 1 MiB line inside the CAPA list", ServerScript(
        "pop3", "+OK ready", {**POP3_OK, "CAPA": ["+OK", "X-" + "A" * (1 << 20), *POP3_CAPA[1:]]}),
        required=(REACHED,), forbidden=(CLOSED,), expect_exit=0, fast=False),
    Hostile("a CAPA list without end", ServerScript("pop3", "+OK ready", {**POP3_OK, "CAPA": [_endless("+OK", "X-CAP-{} " + "x" * 100)]}),
            forbidden=(CLOSED,), fast=False),
]  # fmt: skip


# -- SMTP ------------------------------------------------------------------------------------------------
SMTP_EHLO = ["250-mx.contoso.com Hello [127.0.0.1]", "250-SIZE 157286400", "250-PIPELINING", "250-AUTH LOGIN PLAIN XOAUTH2 OAUTHBEARER",
             "250 SMTPUTF8"]  # fmt: skip
SMTP_OK = {"EHLO": SMTP_EHLO, "AUTH": ["235 2.7.0 Authentication successful"], "QUIT": ["221 2.0.0 Bye"], "*": ["250 2.1.0 OK"]}
GREETING = "220 mx.contoso.com ESMTP ready"


def _smtp_flood(count: int) -> Callable[[dict[str, str]], list[str]]:
    return lambda values: [SMTP_EHLO[0], *(f"250-X-EXTENSION-{i}" for i in range(count)), *SMTP_EHLO[1:]]


SMTP = [
    Hostile("greeting, EHLO and error texts full of control sequences", ServerScript(
        "smtp", f"220 {p.ALL_CONTROLS} ESMTP",
        {**SMTP_OK, "EHLO": [f"250-mx {p.OSC0}", f"250-X-{p.OSC52}", f"250-{p.DCS}{p.C1_CSI}", *SMTP_EHLO[3:4],
                             f"250 {p.CSI_CLEAR}{p.BIDI}"],
         "AUTH": [f"535-5.7.3 {p.OSC52}", f"535 5.7.3 Authentication unsuccessful {p.C1_CSI}{p.BIDI}"]})),
    Hostile("the token echoed in every spelling in a multi-line 535 (one split across writes)", ServerScript(
        "smtp", GREETING, {**SMTP_OK, "AUTH": [_echoes("535-5.7.3 "), "535 5.7.3 bad token {token_hex}"]})),
    Hostile("the token inside a base64 JSON 334 error challenge with control sequences", ServerScript(
        "smtp", GREETING, {**SMTP_OK, "AUTH": [_json_challenge("334 ")],
                           "SASL": ["535-5.7.8 Username and Password not accepted. " + p.OSC0, "535 5.7.8 https://support.google.com"]}),
        fast=False),
    Hostile("a 334 challenge of 3,000 nested JSON arrays", ServerScript(
        "smtp", GREETING, {**SMTP_OK, "AUTH": [_json_challenge("334 ", 3000)], "SASL": ["535 5.7.8 Username and Password not accepted."]}),
        forbidden=(CLOSED, PARSER), fast=False),
    # SMTP replies have a size (aiosmtplib: 32 KiB); beyond it the reply is a protocol error, whatever it lists
    Hostile("5,000 EHLO lines in one write, AUTH after them", ServerScript("smtp", GREETING, {**SMTP_OK, "EHLO": [_smtp_flood(5000)]}),
            required=("protocol_error",), forbidden=(CLOSED, "no_oauth_mechanism_before_starttls"), fast=False),
    Hostile("10,000 334 continuations in one write", ServerScript(
        "smtp", GREETING, {**SMTP_OK, "AUTH": ["334 "] * 10_000 + ["535 5.7.3 no"]}), forbidden=(CLOSED,), required=(REFUSED,), fast=False),
    Hostile("334 for ever: every response gets another continuation", ServerScript(
        "smtp", GREETING, {**SMTP_OK, "AUTH": ["334 "], "SASL": ["334 "]}), forbidden=(CLOSED,), options=FAST_LOOP, required=(LOOPS,),
        fast=False),
    Hostile("AUTH LOGIN (Postfix prompts) and the short password echoed back", ServerScript(
        "smtp", GREETING, {**SMTP_OK, "AUTH": ["334 UGFzc3dvcmQ6"],
                           "SASL": [_echoes("535-5.7.8 "), "535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6"]}),
        password=p.SHORT_PASSWORD, required=("334 UGFzc3dvcmQ6",), forbidden=(p.SHORT_PASSWORD,)),
    Hostile("AUTH LOGIN without initial response (Exchange prompts) and the password echoed", ServerScript(
        "smtp", GREETING, {**SMTP_OK, "AUTH": ["334 UGFzc3dvcmQ6"], "SASL": ["535 5.7.3 Authentication unsuccessful {token}"]},
        continuation="334 VXNlcm5hbWU6"),
        password=p.SHORT_PASSWORD, options=("--sasl-ir", "no"), required=("334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6"),
        forbidden=(p.SHORT_PASSWORD,),
        fast=False),
    Hostile("a multi-line EHLO reply without end",
            ServerScript("smtp", GREETING, {**SMTP_OK, "EHLO": [_endless("250-mx", "250-X-{} " + "x" * 100)]}),
            forbidden=(CLOSED,), fast=False),
    Hostile("STARTTLS accepted, then the TLS handshake stalls", ServerScript(
        "smtp", GREETING, {**SMTP_OK, "EHLO": [*SMTP_EHLO[:-1], "250 STARTTLS"], "STARTTLS": ["220 2.0.0 Ready to start TLS", STALL]}),
        security="starttls", options=FAST_LOOP, required=("tls_handshake_failed",), forbidden=(CLOSED,), fast=False),
    Hostile("binary garbage for a greeting", ServerScript("smtp", GARBAGE, SMTP_OK),
            required=("unexpected_greeting",), fast=False),
    Hostile("a 1 MiB line inside the EHLO reply", ServerScript(
        "smtp", GREETING, {**SMTP_OK, "EHLO": [SMTP_EHLO[0], "250-X-" + "A" * (1 << 20), *SMTP_EHLO[1:]]}), forbidden=(CLOSED,),
        fast=False),
]  # fmt: skip
