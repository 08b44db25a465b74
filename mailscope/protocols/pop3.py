"""POP3 (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034) as mailscope reads it: `+OK`/`-ERR` status
lines, multi-line answers ending in `.`, `+ ` continuations during AUTH, USER/PASS.

Exchange Online accepts AUTH XOAUTH2 only in the two-step form (`AUTH XOAUTH2`, `+`, the response) and answers
the one-line form with `-ERR Protocol error. Connection is closed. 10`; Dovecot accepts both.
"""

from __future__ import annotations

import re
from collections import deque

from mailscope.events import Direction
from mailscope.evidence import SessionEvidence
from mailscope.patterns import lazy
from mailscope.protocols.conversation import Conversation, Fed, MailboxCheck, Redacting, Reply, first_answer
from mailscope.protocols.mechanism import capability_keywords, keeps_capability_line
from mailscope.settings import Protocol

COMMANDS = frozenset(
    ["USER", "PASS", "AUTH", "CAPA", "STAT", "LIST", "UIDL", "RETR", "TOP", "QUIT", "STLS", "APOP", "DELE", "NOOP", "RSET"]
)
_STATUS_RE = lazy(r"^(?:\+OK|-ERR)\b")
_WORD_RE = lazy(r"^([A-Za-z]+)\b")
# A log may not show USER/PASS or AUTH (a pasted line has none); these answers still say the credential was judged.
_AUTH_ANSWER_RE = lazy(
    r"^(?:\+OK|-ERR)\b.*(?:authenticat|logon failure|logged in|\[AUTH\]|\[SYS/PERM\]|password|"
    r"Protocol error\. Connection is closed\. 10)", re.IGNORECASE)


def status_of(text: str) -> str | None:
    """OK for `+OK`, NO for `-ERR` (POP3 has no BAD), None for anything else."""
    if text.startswith("+OK") and _STATUS_RE().match(text):
        return "OK"
    if text.startswith("-ERR") and _STATUS_RE().match(text):
        return "NO"
    return None


def line_direction(text: str) -> Direction | None:
    if _STATUS_RE().match(text) or text.startswith("+ ") or text == "+":
        return Direction.SERVER
    word = _WORD_RE().match(text)
    return Direction.CLIENT if word and word.group(1).upper() in COMMANDS else None


def stands_alone(text: str) -> bool:
    """A server line that is evidence without the session around it: a refusal, an answer to the credential, a
    SASL continuation with content."""
    return text.startswith("-ERR") or bool(_AUTH_ANSWER_RE().match(text)) or (text.startswith("+ ") and len(text) > 6)


def mailbox_check(evidence: SessionEvidence, *, partial: bool = False) -> MailboxCheck:
    """The post-auth check: STAT answered +OK. A log may show LIST or UIDL instead."""
    stat = first_answer(evidence, ("STAT",))
    if stat is not None:
        return MailboxCheck(stat.result == "OK", f"STAT answered {stat.text}", stat)
    other = first_answer(evidence, ("LIST", "UIDL", "NOOP"), ok=True) if partial else None
    if other is not None:
        return MailboxCheck(True, f"{other.command} answered {other.text}", other)
    return MailboxCheck(None, "STAT was not answered")


def _multi_line(verb: str, args: str) -> bool:
    """Commands whose +OK is followed by lines up to a lone `.`."""
    return verb in ("CAPA", "RETR", "TOP") or (verb in ("LIST", "UIDL", "AUTH") and not args)


class Pop3Conversation(Conversation):
    protocol = Protocol.POP3
    commands = COMMANDS

    def __init__(self, redactor: Redacting, *, partial: bool = False) -> None:
        super().__init__(redactor, partial=partial)
        self.pending: deque[tuple[str, str]] = deque()  # (verb, args) awaiting their status line
        self._listing: tuple[str, str, int] | None = None  # (verb, status line, seq) while a multi-line answer runs
        self._lines: list[str] = []

    # -- client --------------------------------------------------------------------------------------
    def _client(self, raw: str, seq: int) -> Fed:
        fed = Fed(raw)
        if self._listing is not None and self.partial:  # the client spoke: the list is over even if its "." was not logged
            self._end_listing(fed)
        if self._is_sasl_response(raw):
            self._sasl_response(fed, raw)
            return fed
        verb, _, args = raw.partition(" ")
        verb = verb.upper()
        if verb == "AUTH" and args.strip():
            mechanism, _, initial = args.strip().partition(" ")
            shown = self._start_auth(fed, "", mechanism, initial.strip() or None, seq)
            fed.text = f"AUTH {mechanism.upper()}{shown}"
            return fed
        if verb == "PASS" and args:
            fed.text = f"PASS {self._password(args)}"
            fed.annotations += ("password redacted (POP3 PASS)",)
        if verb in ("USER", "PASS"):
            self._password_login(fed, "USER/PASS")
        if verb in COMMANDS:
            self.pending.append((verb, args.strip()))
        return fed

    # -- server --------------------------------------------------------------------------------------
    def _server(self, raw: str, seq: int) -> Fed:
        fed = Fed(raw)
        if self._may_be_greeting(raw):
            self._greet(fed, raw, seq)
            return fed
        status = status_of(raw)
        if self._listing is not None:
            if status is not None and self.partial:  # a log that dropped the "."
                self._end_listing(fed)
            else:
                if raw == ".":
                    self._end_listing(fed)
                elif keeps_capability_line(len(self._lines), raw, "SASL"):
                    self._lines.append(raw[1:] if raw.startswith("..") else raw)  # byte-stuffing (RFC 1939 §3)
                return fed
        continuation = raw.startswith("+ ") or raw == "+"
        if continuation and self.auth is None and self.partial and self.auth_status is None:
            self._implied_auth(fed, raw[1:].strip(), seq)
        if self.auth is not None and continuation:
            self._challenge(fed, raw[1:].strip(), seq)
            return fed
        if status is None:
            return fed
        if self.auth is not None:
            self._auth_result(fed, status, raw, seq)
            fed.reply = Reply(status, raw, seq)
            return fed
        verb, args = self.pending.popleft() if self.pending else ("?", "")
        if verb == "?" and self.partial and self.auth_status is None and _AUTH_ANSWER_RE().match(raw):
            self._answered(fed, status, raw, seq)  # USER/PASS or AUTH was not logged
            return fed
        if verb == "PASS":
            self._answered(fed, status, raw, seq)
        elif verb == "STLS" and status == "OK":
            self._tls_started(fed)
        self._command(fed, verb, status, raw, seq)
        if status == "OK" and _multi_line(verb, args):
            self._listing, self._lines = (verb, raw, seq), []
        else:
            fed.reply = Reply(status, raw, seq)
        return fed

    def _end_listing(self, fed: Fed) -> None:
        assert self._listing is not None
        verb, status_line, seq = self._listing
        self._listing = None
        if verb == "CAPA":
            fed.changes[self._caps_field()] = capability_keywords(self._lines, "SASL")
        fed.reply = Reply("OK", status_line, seq)
