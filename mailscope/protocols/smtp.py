"""SMTP submission (RFC 5321, STARTTLS RFC 3207, AUTH RFC 4954) as mailscope reads it: three-digit replies, multi-line
replies (`250-...` then `250 ...`), EHLO keywords, `334` continuations, AUTH with or without an initial response,
DATA and its message lines.

A multi-line reply is one reply: its text is the lines joined with single spaces, the reply code kept once
(`535 5.7.139 Authentication unsuccessful, ...`, `534 5.7.9 Application-specific password required. ...`).
"""

from __future__ import annotations

import re
from collections import deque

from mailscope.events import Direction
from mailscope.evidence import SessionEvidence
from mailscope.patterns import lazy
from mailscope.protocols.conversation import Conversation, Fed, MailboxCheck, Redacting, first_answer
from mailscope.protocols.mechanism import capability_keywords, keeps_capability_line
from mailscope.settings import Protocol

COMMANDS = frozenset(["EHLO", "HELO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT", "STARTTLS", "RSET", "NOOP", "VRFY", "BDAT"])
POST_AUTH_CHECK = ("MAIL FROM", "RCPT TO")  # both 2xx: the server lets this user send as this address
_REPLY_RE = lazy(r"^(?P<code>\d{3})(?P<more>[ -]|$)(?P<text>.*)$", re.DOTALL)
_WORD_RE = lazy(r"^([A-Za-z]+)\b")
_BAD_CODES = ("500", "501", "504")  # syntax error, bad argument, unknown mechanism
# Replies only AUTH gets (RFC 4954: 235, 334, 454, 534, 535, 538), and syntax errors that name the AUTH data: a log
# that does not show the AUTH command (a pasted reply) still shows what the server made of the credential.
_AUTH_CODES = ("235", "454", "534", "535", "538")
_AUTH_TEXT_RE = lazy(r"XOAUTH2|OAUTHBEARER|auth(?:entication)? data|Cannot Decode response|authentication", re.IGNORECASE)


def status_of(code: str) -> str:
    """2xx and 3xx (354, 334) OK; 500/501/504 BAD; other 4xx/5xx NO."""
    if code.startswith(("2", "3")):
        return "OK"
    return "BAD" if code in _BAD_CODES else "NO"


def is_reply(text: str) -> bool:
    return bool(_REPLY_RE().match(text))



def stands_alone(text: str) -> bool:
    """A reply that is evidence without the session around it: a refusal (4xx/5xx), AUTH's answer (235) or a SASL
    continuation with content (334 <base64>)."""
    reply = _REPLY_RE().match(text)
    if reply is None:
        return False
    code = reply.group("code")
    return code[0] in "45" or code == "235" or (code == "334" and bool(reply.group("text").strip()))


def line_direction(text: str) -> Direction | None:
    if is_reply(text):
        return Direction.SERVER
    word = _WORD_RE().match(text)
    return Direction.CLIENT if word and word.group(1).upper() in COMMANDS else None


def command_name(text: str) -> str:
    """`MAIL FROM` and `RCPT TO` by their two words, everything else by its verb, upper case."""
    upper = text.upper()
    for name in ("MAIL FROM", "RCPT TO"):
        if upper.startswith(name):
            return name
    return upper.split(" ", 1)[0] if upper else ""


def mailbox_check(evidence: SessionEvidence, *, partial: bool = False) -> MailboxCheck:
    """The post-auth check: MAIL FROM and RCPT TO both accepted (2xx): the server lets this user send as this address."""
    answers = {name: first_answer(evidence, (name,)) for name in POST_AUTH_CHECK}
    refused = next((c for c in answers.values() if c is not None and c.result != "OK"), None)
    if refused is not None:
        return MailboxCheck(False, f"{refused.command} answered {refused.text}", refused)
    rcpt = answers["RCPT TO"]
    if rcpt is not None and answers["MAIL FROM"] is not None:
        return MailboxCheck(True, f"MAIL FROM and RCPT TO accepted ({rcpt.text})", rcpt)
    missing = "MAIL FROM" if answers["MAIL FROM"] is None else "RCPT TO"
    return MailboxCheck(None, f"{missing} was not answered")


class SmtpConversation(Conversation):
    protocol = Protocol.SMTP
    commands = COMMANDS


    def __init__(self, redactor: Redacting, *, partial: bool = False) -> None:
        super().__init__(redactor, partial=partial)
        self.pending: deque[str] = deque()  # command names awaiting their reply
        self._parts: list[str] = []  # the lines of a multi-line reply so far (code removed)
        self._pending_reply: tuple[str, int] | None = None  # its code and the transcript line of its latest part
        self._message = False  # the client is sending the message after DATA's 354

    # -- client --------------------------------------------------------------------------------------
    def _client(self, raw: str, seq: int) -> Fed:
        fed = Fed(raw)
        if self._message:
            if raw == ".":
                self._message = False
                self.pending.append("DATA")
            return fed
        if self._is_sasl_response(raw):
            self._sasl_response(fed, raw)
            return fed
        name = command_name(raw)
        if name == "AUTH":
            _, _, rest = raw.partition(" ")
            mechanism, _, initial = rest.strip().partition(" ")
            if mechanism:
                shown = self._start_auth(fed, "", mechanism, initial.strip() or None, seq)
                fed.text = f"AUTH {mechanism.upper()}{shown}"
                return fed
        if name in COMMANDS or name in POST_AUTH_CHECK:
            self.pending.append(name)
        return fed

    # -- server --------------------------------------------------------------------------------------
    def _server(self, raw: str, seq: int) -> Fed:
        fed = Fed(raw)
        reply = _REPLY_RE().match(raw)
        if reply is None:
            if self._may_be_greeting(raw):  # live: not SMTP at all, but what the server said first
                self._greet(fed, raw, seq)
            return fed
        code, text = reply.group("code"), reply.group("text").strip()
        if self._message:  # a reply while the message runs: its "." was not logged
            self._message = False
            self.pending.appendleft("DATA")
        if reply.group("more") == "-":
            if keeps_capability_line(len(self._parts), text, "AUTH"):
                self._parts.append(text)
            self._pending_reply = (code, seq)
            return fed
        parts, self._parts, self._pending_reply = [*self._parts, text], [], None
        return self._reply(fed, code, parts, raw, seq)

    def close(self) -> Fed | None:
        """A log (a pasted fragment) that ends inside a multi-line reply (`535-5.7.8 Username and Password not accepted.`
        without its last line): what was shown is the reply."""
        if not self._parts or self._pending_reply is None or not self.partial:
            return None
        code, seq = self._pending_reply
        parts, self._parts, self._pending_reply = self._parts, [], None
        return self._reply(Fed(""), code, parts, "", seq)

    def _reply(self, fed: Fed, code: str, parts: list[str], raw: str, seq: int) -> Fed:
        """A complete reply (the lines of a multi-line one joined) in the conversation's state."""
        text = parts[-1]
        full = " ".join([code, *(p for p in parts if p)])
        if raw and self._may_be_greeting(raw):
            self._greet(fed, full, seq)
            return fed
        status = status_of(code)
        if code == "334" and self.auth is None and self.partial and self.auth_status is None:
            self._implied_auth(fed, text, seq)
        if self.auth is not None:
            if code == "334":
                self._challenge(fed, text, seq)
            else:
                self._auth_result(fed, status, full, seq)
            return fed
        name = self.pending.popleft() if self.pending else ""
        if not name and self.partial and self.auth_status is None and (
            code in _AUTH_CODES or (code.startswith("5") and _AUTH_TEXT_RE().search(full))
        ):
            self._answered(fed, status, full, seq)  # the AUTH command was not logged
            return fed
        if not name and self.partial and code == "250" and len(parts) > 1:
            name = "EHLO"  # a log that shows the extensions but not the EHLO command
        if name == "AUTH":  # an AUTH whose mechanism the log did not show (Postfix logs only the refusal): its answer
            self._answered(fed, status, full, seq)
        if name in ("EHLO", "HELO") and status == "OK":
            fed.changes[self._caps_field()] = capability_keywords(parts[1:], "AUTH")  # the first line echoes the greeting
        elif name == "STARTTLS" and code == "220":
            self._tls_started(fed)
        elif name == "DATA" and code == "354":
            self._message = True
            return fed
        self._command(fed, name or "?", status, full, seq)
        return fed
