"""Plain-words explanations of protocol lines, for training ("explain mode") and reports.

Pure functions over already redacted `TranscriptLine`s: no I/O, no UI. Each explainer recognises one
kind of IMAP/POP3/SMTP line and says what it means to someone who has never read an RFC.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mailscope.events import Channel, Direction, TranscriptLine

_TAG = r"(?P<tag>[A-Za-z0-9.]+)"
_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _mechanisms(caps: str) -> str:
    mechs = [word[5:] for word in caps.split() if word.upper().startswith("AUTH=")]
    if not mechs:
        return "the server lists what it can do; it advertises no SASL mechanism here (often: log in only after STARTTLS)"
    extra = " It accepts the initial response on the command line (SASL-IR)." if "SASL-IR" in caps.upper() else ""
    return f"the server lists what it can do and the SASL mechanisms it accepts: {', '.join(mechs)}.{extra}"


def _authenticate(m: re.Match[str]) -> str:
    mech = m.group("mech").upper()
    kind = {
        "XOAUTH2": "an OAuth2 bearer token (Google/Microsoft XOAUTH2)",
        "OAUTHBEARER": "an OAuth2 bearer token (RFC 7628 OAUTHBEARER)",
        "PLAIN": "a user name and PASSWORD (basic auth)",
        "LOGIN": "a user name and PASSWORD (basic auth, LOGIN)",
    }.get(mech, f"the {mech} mechanism")
    inline = " The credential follows on the same line (SASL-IR), shown redacted." if m.group("rest") else ""
    return f"the client asks to sign in with {kind}.{inline}"


def _tagged(m: re.Match[str]) -> str:
    status, text = m.group("status").upper(), m.group("text")
    low = text.lower()
    if status == "OK":
        if "authenticate" in low or "authenticated" in low or "logged in" in low:
            return "the server accepts the sign-in: authentication succeeded"
        return "the server completed the command"
    if "authenticate failed" in low or "authenticationfailed" in low or "login failed" in low or "invalid credentials" in low:
        return ("the server refuses the sign-in. Exchange gives this same answer for a wrong scope, audience, user, "
                "an expired token or basic auth being off: the token and settings tell why")
    if "not connected" in low:
        return "the sign-in worked, but the server will not open the mailbox (permission, licence or mailbox problem)"
    if status == "BAD":
        return "the server could not understand or will not run the command (BAD)"
    return "the server refuses the command (NO)"


_IMAP_SERVER: list[_Rule] = [
    (re.compile(r"^\* OK .*Microsoft Exchange", re.I),
     lambda m: "greeting from Microsoft Exchange; the bracketed base64 names the front-end server that answered"),
    (re.compile(r"^\* OK Gimap", re.I), lambda m: "greeting from Gmail's IMAP service"),
    (re.compile(r"^\* OK\b.*\[CAPABILITY (?P<caps>[^\]]*)\]", re.I), lambda m: "greeting; " + _mechanisms(m.group("caps"))),
    (re.compile(r"^\* OK\b", re.I), lambda m: "the server is ready (greeting or status update)"),
    (re.compile(r"^\* PREAUTH\b", re.I), lambda m: "the server says you are already signed in (pre-authenticated)"),
    (re.compile(r"^\* BYE\b", re.I), lambda m: "the server is closing the connection"),
    (re.compile(r"^\* CAPABILITY (?P<caps>.*)", re.I), lambda m: _mechanisms(m.group("caps"))),
    (re.compile(r"^\* (LIST|LSUB) ", re.I), lambda m: "one mailbox folder from the folder list"),
    (re.compile(r"^\* NAMESPACE ", re.I), lambda m: "how mailbox names are laid out (personal, shared, other users)"),
    (re.compile(r"^\* \d+ EXISTS", re.I), lambda m: "how many messages the opened mailbox holds: the mailbox is reachable"),
    (re.compile(r"^\* \d+ RECENT", re.I), lambda m: "how many messages are new since the last session"),
    (re.compile(r"^\* (FLAGS|OK \[)", re.I), lambda m: "details about the opened mailbox"),
    (re.compile(r"^\+ ?(?P<rest>.*)$"), lambda m: (
        "the server refuses the token and explains why in a base64 JSON challenge (Gmail); the client must answer "
        "with an empty line" if m.group("rest").strip().startswith(("eyJ", "{"))
        else "the server waits for the client to continue (SASL continuation)")),
    (re.compile(rf"^{_TAG} (?P<status>OK|NO|BAD)\b ?(?P<text>.*)$", re.I), _tagged),
]

_IMAP_CLIENT: list[_Rule] = [
    (re.compile(rf"^{_TAG} CAPABILITY\b", re.I), lambda m: "the client asks what the server can do"),
    (re.compile(rf"^{_TAG} STARTTLS\b", re.I), lambda m: "the client asks to switch the connection to TLS"),
    (re.compile(rf"^{_TAG} AUTHENTICATE (?P<mech>\S+) ?(?P<rest>.*)$", re.I), _authenticate),
    (re.compile(rf"^{_TAG} LOGIN\b", re.I),
     lambda m: "the client signs in with a user name and PASSWORD (IMAP LOGIN: basic auth, refused by Microsoft 365)"),
    (re.compile(rf"^{_TAG} (EXAMINE|SELECT) ", re.I), lambda m: "the client opens a mailbox to prove the account can reach it"),
    (re.compile(rf"^{_TAG} NAMESPACE\b", re.I), lambda m: "the client asks how mailbox names are laid out"),
    (re.compile(rf"^{_TAG} LIST ", re.I), lambda m: "the client asks for the folder list"),
    (re.compile(rf"^{_TAG} LOGOUT\b", re.I), lambda m: "the client says goodbye"),
    (re.compile(rf"^{_TAG} ID\b", re.I), lambda m: "the client tells the server which program it is"),
    (re.compile(r"^$"), lambda m: "the client answers the challenge with an empty line, so the server sends its final answer"),
    (re.compile(r"^\S+$"), lambda m: "the client sends its SASL response (shown redacted)"),
]

_SMTP: list[_Rule] = [
    (re.compile(r"^220[ -]"), lambda m: "the SMTP server greets the client"),
    (re.compile(r"^(EHLO|HELO)\b", re.I), lambda m: "the client introduces itself and asks for the server's extensions"),
    (re.compile(r"^250[ -]AUTH (?P<caps>.*)", re.I), lambda m: "the server lists the SASL mechanisms it accepts: " + m.group("caps")),
    (re.compile(r"^AUTH (?P<mech>\S+) ?(?P<rest>.*)$", re.I), _authenticate),
    (re.compile(r"^235\b"), lambda m: "the server accepts the sign-in"),
    (re.compile(r"^334 ?(?P<rest>.*)$"), lambda m: (
        "the server refuses the token and explains why in a base64 JSON challenge" if m.group("rest").startswith("eyJ")
        else "the server waits for the next SASL step")),
    (re.compile(r"^535\b"), lambda m: "the server refuses the sign-in (535)"),
    (re.compile(r"^5\d\d\b"), lambda m: "the server refuses the command (permanent error)"),
    (re.compile(r"^250\b"), lambda m: "the server accepts the command"),
]

_POP3: list[_Rule] = [
    (re.compile(r"^\+OK .*ready", re.I), lambda m: "the POP3 server greets the client"),
    (re.compile(r"^\+OK .*authenticated", re.I), lambda m: "the server accepts the sign-in"),
    (re.compile(r"^AUTH (?P<mech>\S+) ?(?P<rest>.*)$", re.I), _authenticate),
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
        rules = _IMAP_SERVER if line.direction is Direction.SERVER else _IMAP_CLIENT
    for pattern, say in rules:
        m = pattern.search(text)
        if m:
            return say(m)
    return ""
