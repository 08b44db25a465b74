"""IMAP4rev1 (RFC 3501) as mailscope reads it: tags, commands, tagged and untagged responses, continuations,
capability lists, the LOGIN command and AUTHENTICATE with SASL-IR (RFC 4959) or the continuation form.

The one home of IMAP's grammar: the live probe, the log replayer, log-line classification and explain mode use
`parse_command`, `parse_tagged` and `line_direction`; `ImapConversation` turns a session's lines into evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailscope.events import Direction
from mailscope.evidence import CommandResult, SessionEvidence
from mailscope.patterns import lazy
from mailscope.protocols.conversation import Conversation, Fed, MailboxCheck, Redacting, first_answer
from mailscope.protocols.mechanism import offered_mechanisms
from mailscope.protocols.servers import reply_family
from mailscope.settings import Protocol

# RFC 3501: tag = 1*<any ASTRING-CHAR except "+">; no space, no control, none of ( ) { % * " \
TAG = r"[^\x00-\x20\x7f(){%*\"\\+]+"
COMMANDS = frozenset([
    "CAPABILITY", "AUTHENTICATE", "LOGIN", "LOGOUT", "STARTTLS", "SELECT", "EXAMINE", "LIST", "LSUB", "NAMESPACE", "ID",
    "NOOP", "STATUS", "FETCH", "UID", "SEARCH", "IDLE", "ENABLE", "APPEND", "CLOSE", "EXPUNGE", "STORE", "COPY", "MOVE",
    "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "GETQUOTAROOT", "COMPRESS", "XLIST", "UNSELECT", "CHECK",
])  # fmt: skip
MAILBOX_COMMANDS = ("EXAMINE", "SELECT")  # their OK proves the mailbox is reachable
_LOG_MAILBOX_COMMANDS = ("STATUS", "LIST", "NAMESPACE", "NOOP")  # a log without EXAMINE: these answered after auth

_COMMAND_RE = lazy(rf"^(?P<tag>{TAG}) (?P<name>[A-Za-z]+)(?: (?P<args>.*))?$")
_TAGGED_RE = lazy(rf"^(?P<tag>{TAG}) (?P<status>OK|NO|BAD)\b ?(?P<text>.*)$", re.IGNORECASE)
_SERVER_RE = lazy(rf"^(?:\* |\*$|\+ |\+$|{TAG} (?:OK|NO|BAD)\b)", re.IGNORECASE)
_LOGIN_ARGS_RE = lazy(r'^(?P<user>"(?:[^"\\]|\\.)*"|\S+) (?P<password>.*)$')
_CAPS_CODE_RE = lazy(r"\[CAPABILITY (?P<caps>[^\]]*)\]", re.IGNORECASE)
_UNTAGGED_CAPS_RE = lazy(r"^\* CAPABILITY\b ?(?P<caps>.*)$", re.IGNORECASE)
_BYE_RE = lazy(r"^\* BYE\b", re.IGNORECASE)
# A log may not show the LOGIN/AUTHENTICATE command (Thunderbird hides it, a pasted line has none); its answer still says
# what happened: Exchange's `AUTHENTICATE failed.`, Gmail's `[AUTHENTICATIONFAILED] Invalid credentials (Failure)` and
# `[ALERT] …`, `Invalid SASL argument.`, `Lookup failed`, a success that names the user (`… authenticated (Success)`).
_AUTH_ANSWER_RE = lazy(
    r"^(?:OK|NO|BAD) (?:\[CAPABILITY [^\]]*\] )?(?:\[(?:AUTHENTICATIONFAILED|AUTHORIZATIONFAILED|ALERT|WEBALERT\b[^\]]*)\]|"
    r"(?:AUTHENTICATE|LOGIN) (?:completed|failed)|\S+ authenticated \(Success\)|Logged in\b|Invalid SASL argument|"
    r"Client aborted AUTHENTICATE|Lookup failed|Invalid credentials|Authentication (?:failed|successful)|.*\bLogin failed\b)",
    re.IGNORECASE,
)
_LOGIN_ANSWER_RE = lazy(r"^(?:OK|NO|BAD) LOGIN (?:completed|failed)", re.IGNORECASE)
_UNTAGGED_REFUSAL_RE = lazy(r"^\* (?:NO|BAD) \[[A-Z]")  # `* NO [WEBALERT https://…] Web login required.`
_RESPONSE_CODE_RE = lazy(r"^(?:OK|NO|BAD) \[[A-Z][A-Z0-9-]*[\] ]")
_TAGLESS_RE = lazy(r"^(?P<status>OK|NO|BAD) (?P<text>.*)$", re.IGNORECASE)  # a client library's exception drops the tag


@dataclass(frozen=True, slots=True)
class Command:
    """A client command line: tag, upper-case name, arguments."""
    tag: str
    name: str  # upper case
    args: str


@dataclass(frozen=True, slots=True)
class Tagged:
    """A tagged server answer: which command it ends and how (OK, NO, BAD)."""
    tag: str
    status: str  # OK | NO | BAD
    text: str  # after the status word


def parse_command(text: str) -> Command | None:
    match = _COMMAND_RE().match(text)
    if not match:
        return None
    tag, name, args = match.groups()  # one call for the three groups: every client line of a session is parsed
    return Command(tag, name.upper(), (args or "").strip())


def parse_tagged(text: str) -> Tagged | None:
    match = _TAGGED_RE().match(text)
    if not match:
        return None
    tag, status, rest = match.groups()
    return Tagged(tag, status.upper(), rest)


def line_direction(text: str) -> Direction | None:
    """Which side sent a bare IMAP line (logs such as JavaMail's do not mark it)."""
    if _SERVER_RE().match(text):
        return Direction.SERVER
    command = parse_command(text)
    return Direction.CLIENT if command is not None and command.name in COMMANDS else None


def stands_alone(text: str) -> bool:
    """A server line that is evidence without the session around it (a pasted fragment): a NO or BAD, an answer to
    the credential, a BYE, an error challenge, a capability list."""
    status = status_of(text)
    if status is not None:
        tagged = parse_tagged(text)
        answer = f"{status} {tagged.text}" if tagged else text
        if _AUTH_ANSWER_RE().match(answer) or capabilities_in(text) is not None:
            return True
        # Any NO or BAD a server wrote ("Job2 NO entries" in ordinary log text is none): a response code, or words only
        # a known server family uses.
        return status != "OK" and (_RESPONSE_CODE_RE().match(answer) is not None or reply_family(answer) != "unknown")
    return bool(_BYE_RE().match(text) or _UNTAGGED_CAPS_RE().match(text) or _UNTAGGED_REFUSAL_RE().match(text)
                or (text.startswith("+ ") and len(text) > 6))


def untagged_capabilities(text: str) -> tuple[str, ...] | None:
    """The capability list of an untagged `* CAPABILITY` line."""
    untagged = _UNTAGGED_CAPS_RE().match(text)
    return tuple(untagged.group("caps").split()) if untagged else None


def capabilities_in(text: str) -> tuple[str, ...] | None:
    """The capability list an untagged `* CAPABILITY` line or a `[CAPABILITY ...]` response code carries."""
    # Each pattern needs its character (a leading `*`, a `[`): most lines have neither, and every tagged answer is asked.
    if text[:1] == "*" and (caps := untagged_capabilities(text)) is not None:
        return caps
    code = _CAPS_CODE_RE().search(text) if "[" in text else None
    return tuple(code.group("caps").split()) if code else None


def mailbox_check(evidence: SessionEvidence, *, partial: bool = False) -> MailboxCheck:
    """The post-auth check: EXAMINE (or SELECT) INBOX answered OK. A log may show other mailbox commands instead."""
    command = first_answer(evidence, MAILBOX_COMMANDS)
    if command is not None:
        if command.result == "OK":
            return MailboxCheck(True, "INBOX examined", command)
        return MailboxCheck(False, f"{command.command} INBOX answered {command.result} {command.text}".strip(), command)
    other = first_answer(evidence, _LOG_MAILBOX_COMMANDS, ok=True) if partial else None
    if other is not None:
        return MailboxCheck(True, f"{other.command} answered", other)
    return MailboxCheck(None, "EXAMINE INBOX was not answered")


def status_of(text: str) -> str | None:
    """OK | NO | BAD of a tagged answer, or of one quoted without its tag (`NO [AUTHENTICATIONFAILED] …`)."""
    tagged = parse_tagged(text)
    if tagged is not None:
        return tagged.status
    tagless = _TAGLESS_RE().match(text)
    return tagless.group("status").upper() if tagless else None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


class ImapConversation(Conversation):
    protocol = Protocol.IMAP
    commands = COMMANDS

    def __init__(self, redactor: Redacting, *, partial: bool = False) -> None:
        super().__init__(redactor, partial=partial)
        self.pending: dict[str, str] = {}  # tag -> command name, until its tagged answer
        self.results: dict[str, CommandResult] = {}  # tag -> its command's answer: the live driver reads them
        self._logout_tags: set[str] = set()
        self._auth_caps: tuple[str, ...] | None = None
        self._listed_mechanisms = False  # a capability list with AUTH= entries was seen

    # -- client --------------------------------------------------------------------------------------
    def _client(self, raw: str, seq: int) -> Fed:
        fed = Fed(raw)
        if self._is_sasl_response(raw):
            self._sasl_response(fed, raw)
            return fed
        command = parse_command(raw)
        if command is None:
            return fed
        if command.name == "AUTHENTICATE":
            mechanism, _, initial = command.args.partition(" ")
            shown = self._start_auth(fed, command.tag, mechanism, initial.strip() or None, seq)
            fed.text = f"{command.tag} AUTHENTICATE {mechanism.upper()}{shown}"
            return fed
        if command.name == "LOGIN":
            login = _LOGIN_ARGS_RE().match(command.args)
            if login:
                password = self._password(_unquote(login.group("password")))
                fed.text = f"{command.tag} LOGIN {login.group('user')} {password}"
                fed.annotations += ("LOGIN password redacted",)
            self._password_login(fed, "LOGIN")
        elif command.name == "LOGOUT":
            self._logout_tags.add(command.tag)
        self.pending[command.tag] = command.name
        return fed

    # -- server --------------------------------------------------------------------------------------
    def _server(self, raw: str, seq: int) -> Fed:
        fed = Fed(raw)
        if self._may_be_greeting(raw):
            greeting = self._greet(fed, raw, seq)
            caps = capabilities_in(raw)
            if caps is not None:
                self._store_caps(fed, caps)
            if greeting.status == "REFUSED":
                fed.changes.update(untagged_bye=raw, bye_seq=seq)
            return fed
        if raw.startswith("+"):
            if self.auth is None and self.partial and self.auth_status is None:
                self._implied_auth(fed, raw[1:].strip(), seq)
            if self.auth is not None:
                self._challenge(fed, raw[1:].strip(), seq)
            return fed
        if raw.startswith("*"):
            caps = untagged_capabilities(raw)  # a `*` line's list: `capabilities_in` would look for a response code too
            if caps is not None and self.auth is not None:
                self._auth_caps = caps  # sent with the AUTHENTICATE answer: the post-auth list, if the answer is OK
            elif caps is not None:
                self._store_caps(fed, caps)
            elif _BYE_RE().match(raw) and not self._logout_tags:
                fed.changes.update(untagged_bye=raw, bye_seq=seq)
            return fed
        tagged = parse_tagged(raw)
        if tagged is None and self.partial and (tagless := _TAGLESS_RE().match(raw)):
            tagged = Tagged("", tagless.group("status").upper(), tagless.group("text"))
        if tagged is not None:
            self._tagged(fed, tagged, seq)
        return fed

    def _store_caps(self, fed: Fed, caps: tuple[str, ...]) -> None:
        """A log that hides the sign-in still shows its effect: a list without AUTH= after one with it is the
        post-auth list (Gmail's tagged OK after sign-in carries one), never the mechanisms offered before it."""
        offered = bool(offered_mechanisms(caps))
        field = self._caps_field()
        if self.partial and not offered and self._listed_mechanisms and field != "capabilities_post_auth":
            field = "capabilities_post_auth"
        self._listed_mechanisms = self._listed_mechanisms or offered
        fed.changes[field] = caps

    def _tagged(self, fed: Fed, tagged: Tagged, seq: int) -> None:
        answer = f"{tagged.status} {tagged.text}".strip()
        caps = capabilities_in(tagged.text)
        if self.auth is not None and (self.auth.key == tagged.tag or not self.auth.key or not tagged.tag):
            self._auth_result(fed, tagged.status, answer, seq)  # a tag the log did not show (or dropped) answers it too
            caps, self._auth_caps = caps or self._auth_caps, None
            if caps is not None and self.authenticated:
                fed.changes["capabilities_post_auth"] = caps
            return
        name = self.pending.pop(tagged.tag, None)
        if name is None and self.partial and self.auth_status is None and _AUTH_ANSWER_RE().match(answer):
            self._answered(fed, tagged.status, answer, seq)  # the LOGIN/AUTHENTICATE command was not logged
            if _LOGIN_ANSWER_RE().match(answer):
                fed.changes.update(login_used=True, mechanism="LOGIN", mechanism_reason="the server's answer names the LOGIN command")
            if caps is not None and self.authenticated:
                fed.changes["capabilities_post_auth"] = caps
            return
        if name == "LOGIN":
            self._answered(fed, tagged.status, answer, seq)
        elif name == "STARTTLS" and tagged.status == "OK":
            self._tls_started(fed)
        if caps is not None:
            self._store_caps(fed, caps)
        self.results[tagged.tag] = self._command(fed, name or "?", tagged.status, tagged.text, seq)
