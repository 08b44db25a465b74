"""Plain-words explanations of protocol lines, for training ("explain mode") and reports.

Pure functions over already redacted `TranscriptLine`s: no I/O, no UI. Each explainer recognises one
kind of IMAP/POP3/SMTP line and says what it means to someone who has never read an RFC; what a tag, a command or
a capability list is, mailscope.protocols says.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mailscope.events import Channel, Direction, TranscriptLine
from mailscope.protocols import imap
from mailscope.protocols.mechanism import mechanisms_listed
from mailscope.protocols.servers import EXCHANGE_NOT_CONNECTED, server_family

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _mechanisms(caps: tuple[str, ...]) -> str:
    mechs = mechanisms_listed(caps)
    if not mechs:
        return "the server lists what it can do; it advertises no SASL mechanism here (often: log in only after STARTTLS)"
    extra = " It accepts the initial response on the command line (SASL-IR)." if "SASL-IR" in {c.upper() for c in caps} else ""
    return f"the server lists what it can do and the SASL mechanisms it accepts: {', '.join(mechs)}.{extra}"


def _authenticate(mechanism: str, rest: str) -> str:
    mech = mechanism.upper()
    kind = {
        "XOAUTH2": "an OAuth2 bearer token (Google/Microsoft XOAUTH2)",
        "OAUTHBEARER": "an OAuth2 bearer token (RFC 7628 OAUTHBEARER)",
        "PLAIN": "a user name and PASSWORD (basic auth)",
        "LOGIN": "a user name and PASSWORD (basic auth, LOGIN)",
    }.get(mech, f"the {mech} mechanism")
    inline = " The credential follows on the same line (SASL-IR), shown redacted." if rest else ""
    return f"the client asks to sign in with {kind}.{inline}"


def _tagged(status: str, text: str) -> str:
    low = text.lower()
    if status == "OK":
        if "authenticate" in low or "authenticated" in low or "logged in" in low:
            return "the server accepts the sign-in: authentication succeeded"
        return "the server completed the command"
    if "authenticate failed" in low or "authenticationfailed" in low or "login failed" in low or "invalid credentials" in low:
        return (
            "the server refuses the sign-in. Exchange gives this same answer for a wrong scope, audience, user, "
            "an expired token or basic auth being off: the token and settings tell why"
        )
    if EXCHANGE_NOT_CONNECTED in low:
        return "the sign-in worked, but the server will not open the mailbox (permission, licence or mailbox problem)"
    if status == "BAD":
        return "the server could not understand or will not run the command (BAD)"
    return "the server refuses the command (NO)"


def _continuation(rest: str) -> str:
    if rest.strip().startswith(("eyJ", "{")):
        return "the server refuses the token and explains why in a base64 JSON challenge (Gmail); the client must answer with an empty line"
    return "the server waits for the client to continue (SASL continuation)"


_GREETINGS = {
    "exchange": "greeting from Microsoft Exchange; the bracketed base64 names the front-end server that answered",
    "gmail": "greeting from Gmail's IMAP service",
}
_UNTAGGED = {  # the word after "* " (or after "* <number> ")
    "PREAUTH": "the server says you are already signed in (pre-authenticated)",
    "BYE": "the server is closing the connection",
    "LIST": "one mailbox folder from the folder list",
    "LSUB": "one mailbox folder from the folder list",
    "NAMESPACE": "how mailbox names are laid out (personal, shared, other users)",
    "EXISTS": "how many messages the opened mailbox holds: the mailbox is reachable",
    "RECENT": "how many messages are new since the last session",
    "FLAGS": "details about the opened mailbox",
}
_IMAP_CLIENT = {
    "CAPABILITY": "the client asks what the server can do",
    "STARTTLS": "the client asks to switch the connection to TLS",
    "LOGIN": "the client signs in with a user name and PASSWORD (IMAP LOGIN: basic auth, refused by Microsoft 365)",
    "EXAMINE": "the client opens a mailbox to prove the account can reach it",
    "SELECT": "the client opens a mailbox to prove the account can reach it",
    "NAMESPACE": "the client asks how mailbox names are laid out",
    "LIST": "the client asks for the folder list",
    "LOGOUT": "the client says goodbye",
    "ID": "the client tells the server which program it is",
}


def _imap_server(text: str) -> str:
    tagged = imap.parse_tagged(text)
    if tagged is not None:
        return _tagged(tagged.status, tagged.text)
    if text.startswith("+"):
        return _continuation(text[1:])
    words = text.split()
    if len(words) < 2 or words[0] != "*":
        return ""
    word = words[1].upper()
    if word == "OK":
        family = server_family(text)
        if family in _GREETINGS:
            return _GREETINGS[family]
        caps = imap.capabilities_in(text)
        return "greeting; " + _mechanisms(caps) if caps is not None else "the server is ready (greeting or status update)"
    if word == "CAPABILITY":
        return _mechanisms(imap.capabilities_in(text) or ())
    if word.isdigit() and len(words) > 2:
        word = words[2].upper()
    return _UNTAGGED.get(word, "")


def _imap_client(text: str) -> str:
    if text == "":
        return "the client answers the challenge with an empty line, so the server sends its final answer"
    command = imap.parse_command(text)
    if command is not None and command.name == "AUTHENTICATE":
        mechanism, _, rest = command.args.partition(" ")
        return _authenticate(mechanism, rest)
    if command is not None and command.name in _IMAP_CLIENT and (command.args or command.name not in ("EXAMINE", "SELECT", "LIST")):
        return _IMAP_CLIENT[command.name]
    if " " not in text:
        return "the client sends its SASL response (shown redacted)"
    return ""


_SMTP: list[_Rule] = [
    (re.compile(r"^220[ -]"), lambda m: "the SMTP server greets the client"),
    (re.compile(r"^(EHLO|HELO)\b", re.I), lambda m: "the client introduces itself and asks for the server's extensions"),
    (re.compile(r"^250[ -]AUTH (?P<caps>.*)", re.I), lambda m: "the server lists the SASL mechanisms it accepts: " + m.group("caps")),
    (re.compile(r"^AUTH (?P<mech>\S+) ?(?P<rest>.*)$", re.I), lambda m: _authenticate(m.group("mech"), m.group("rest"))),
    (re.compile(r"^235\b"), lambda m: "the server accepts the sign-in"),
    (
        re.compile(r"^334 ?(?P<rest>.*)$"),
        lambda m: (
            "the server refuses the token and explains why in a base64 JSON challenge"
            if m.group("rest").startswith("eyJ")
            else "the server waits for the next SASL step"
        ),
    ),
    (re.compile(r"^535\b"), lambda m: "the server refuses the sign-in (535)"),
    (re.compile(r"^5\d\d\b"), lambda m: "the server refuses the command (permanent error)"),
    (re.compile(r"^250\b"), lambda m: "the server accepts the command"),
]

_POP3: list[_Rule] = [
    (re.compile(r"^\+OK .*ready", re.I), lambda m: "the POP3 server greets the client"),
    (re.compile(r"^\+OK .*authenticated", re.I), lambda m: "the server accepts the sign-in"),
    (re.compile(r"^AUTH (?P<mech>\S+) ?(?P<rest>.*)$", re.I), lambda m: _authenticate(m.group("mech"), m.group("rest"))),
    (re.compile(r"^(USER|PASS)\b", re.I), lambda m: "the client signs in with a user name and PASSWORD (basic auth)"),
    (re.compile(r"^-ERR\b"), lambda m: "the server refuses the command or the sign-in"),
    (re.compile(r"^\+OK\b"), lambda m: "the server accepts the command"),
    (re.compile(r"^\+ ?(?P<rest>.*)$"), lambda m: "the server waits for the next SASL step"),
]


def explain_line(line: TranscriptLine) -> str:
    """One sentence in plain words about what `line` means; "" when there is nothing useful to say."""
    if line.direction is Direction.INFO:
        return ""
    text = line.text.strip("\r\n")
    if line.channel is Channel.SMTP:
        rules = _SMTP
    elif line.channel is Channel.POP3:
        rules = _POP3
    elif line.channel is Channel.HTTP:
        return "traffic with the token endpoint (identity provider), summarised without secrets"
    else:
        return _imap_server(text) if line.direction is Direction.SERVER else _imap_client(text)
    for pattern, say in rules:
        m = pattern.search(text)
        if m:
            return say(m)
    return ""
