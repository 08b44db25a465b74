"""The base of every protocol conversation (sans-IO, like h11).

A Conversation is fed one line at a time, in wire order, by whoever has the lines: the live probe's wire tap or
the log replayer. For each line it returns a `Fed`: the text to store (structurally redacted: SASL payloads
described, passwords replaced), annotations, and what the line proves (evidence changes, a new SASL exchange, a
command's answer). It never does I/O and never touches a SessionRecord; it is handed a redactor for the texts it
puts into evidence objects the record cannot see into.

`partial=True` marks lines seen in part, as a client's debug log shows them: the session may begin mid-way, the
log may drop the continuation request or a list's end, and hide commands whose answers still say what happened. A
pasted fragment is the extreme case: one server line, with no greeting and no command before it, still says what it
answers (an IMAP `NO AUTHENTICATE failed.`, a POP3 `-ERR Authentication failure…`, an SMTP `535 …`, an error
challenge); an IMAP answer whose tag a client library's exception dropped (`NO [AUTHENTICATIONFAILED] …`) too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from mailscope import sasl
from mailscope.events import Direction
from mailscope.evidence import CommandResult, SaslExchange, SessionEvidence
from mailscope.patterns import lazy
from mailscope.protocols.servers import EXCHANGE_NOT_CONNECTED, Greeting, challenge_family, frontend_name, parse_greeting, reply_family
from mailscope.redact import describe_secret
from mailscope.settings import Protocol as MailProtocol

MAX_SASL_ROUNDS = 8  # continuations answered per AUTH attempt; a server asking for more is looping
SASL_LOOP = f"the server kept sending continuations after {MAX_SASL_ROUNDS} answers and the client's cancel: authentication abandoned"
_ERROR_CHALLENGE_ANSWER = {"XOAUTH2": "", "OAUTHBEARER": "AQ=="}  # Google: an empty line; RFC 7628: %x01; others: cancel
_SASL_RESPONSE_RE = lazy(r"^(?:[A-Za-z0-9+/]*={0,2}|\*)$")
# What clients print instead of the SASL response (MailKit `********`, emailjs `"(* value hidden *)"`, `[redacted]`,
# `<token>`, email-oauth2-proxy `[[ Credentials removed from proxy log ]]`): the log hides the payload, which is no
# evidence of its format.
_MASKED_RE = lazy(
    r"^[\"']?(?:\*{3,}|\(\* value hidden \*\)|\[\[[^\]]{0,60}\]\]|\[[^\]]{0,40}\]|<[^>]{0,40}>|x{4,}|\.{3}|…)[\"']?$", re.IGNORECASE
)
HIDDEN_PAYLOAD = "(hidden in the client's log)"
CUT_BY_LOG = 500  # base64 characters: a longer response without its ^A^A end was cut by the log, not built so


class Redacting(Protocol):
    """What a conversation needs of the session's redactor (mailscope.redact.Redactor)."""

    def redact(self, text: str) -> str: ...

    def describe_sasl(self, b64_text: str, mechanism: str | None = None, parsed: sasl.SaslPayload | None = None) -> str: ...

    def learn(self, value: str, kind: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class MailboxCheck:
    """The post-auth check that says the mailbox is reachable: passed (True), refused (False) or not answered (None)."""

    reached: bool | None
    reason: str  # in words, for the outcome's summary
    command: CommandResult | None = None  # the answer that decided it


def first_answer(evidence: SessionEvidence, names: tuple[str, ...], *, ok: bool = False) -> CommandResult | None:
    """The first command among `names` (only accepted ones with `ok`)."""
    return next((c for c in evidence.commands if c.command in names and (not ok or c.result == "OK")), None)


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete answer to the pending command, for a driver that reads replies through the conversation (POP3)."""

    status: str  # "OK" | "NO" | "BAD" | "CONTINUE" (a SASL continuation)
    text: str  # the status line as on the wire, not yet redacted
    seq: int


@dataclass(slots=True)
class Fed:
    """What one line means."""

    text: str  # the line as it may be stored (the record adds the catch-all redaction and control escaping)
    annotations: tuple[str, ...] = ()
    changes: dict[str, object] = field(default_factory=dict)  # SessionEvidence fields to set
    sasl: SaslExchange | None = None  # an authentication attempt starts: append it to evidence.sasl
    sasl_touched: SaslExchange | None = None  # the exchange this line changed in place (challenge, response, result)
    command: CommandResult | None = None  # a command's answer: append it to evidence.commands
    greeting: Greeting | None = None  # this line completed the server's greeting
    reply: Reply | None = None


class SaslAnswers:
    """A client's answers to the continuations of one AUTH attempt (every live driver uses it): its own responses first
    (the initial response when it was not on the command line, LOGIN's password), then the acknowledgement an error
    challenge needs (XOAUTH2: an empty line, so Gmail sends its final answer; OAUTHBEARER: `AQ==`; others: `*`). A
    server that keeps asking gets one `*` after MAX_SASL_ROUNDS, then no answer at all (None): the driver reports SASL_LOOP."""

    def __init__(self, mechanism: str, responses: list[str]) -> None:
        self.mechanism = mechanism
        self.responses = list(responses)
        self.rounds = 0

    def next(self) -> str | None:
        self.rounds += 1
        if self.rounds > MAX_SASL_ROUNDS:
            return "*" if self.rounds == MAX_SASL_ROUNDS + 1 else None
        if self.responses:
            return self.responses.pop(0)
        return _ERROR_CHALLENGE_ANSWER.get(self.mechanism, "*")


def redact_json(value: Any, redactor: Redacting) -> Any:
    """Challenge JSON is server text: a server may echo the token at any depth."""
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {redactor.redact(str(k)): redact_json(v, redactor) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(v, redactor) for v in value]
    return value


@dataclass(slots=True)
class _Auth:
    """One pending authentication attempt."""

    key: str  # the IMAP tag; "" for POP3 and SMTP
    exchange: SaslExchange
    responses: int = 0  # client responses so far (the initial response included)
    awaiting: bool = False  # a continuation arrived and the client has not answered it yet
    last_challenge: str = ""
    login_user: str = ""  # SASL LOGIN: the user name sent first


class Conversation:
    """Shared machinery: greeting, SASL dialogue, evidence helpers. Subclasses know their protocol's grammar."""

    protocol: MailProtocol
    commands: frozenset[str] = frozenset()  # the protocol's command words (a lone one is no SASL response)

    def __init__(self, redactor: Redacting, *, partial: bool = False) -> None:
        self.redactor = redactor
        self.partial = partial
        self.upgraded = False  # the server accepted STARTTLS/STLS
        self.auth_status: str | None = None  # the server's answer to the credential: OK | NO | BAD
        self.greeted = False
        self.client_spoke = False
        self.auth: _Auth | None = None
        self.family = "unknown"  # the server family, from the greeting or (a log without one) the server's own words
        self.frontend: str | None = None

    # -- the one entry point ---------------------------------------------------------------------
    def feed(self, direction: Direction, raw: str, seq: int) -> Fed:
        """One line (CRLF removed) in wire order; `seq` is the transcript line it becomes."""
        if direction is Direction.CLIENT:
            self.client_spoke = True
            return self._client(raw, seq)
        if direction is Direction.SERVER:
            fed = self._server(raw, seq)
            self._identify(fed, raw)
            return fed
        return Fed(raw)

    def close(self) -> Fed | None:
        """The lines end (a log's last line): what a half-finished answer already says, if anything (SMTP's multi-line
        reply without its last line)."""
        return None

    def conclude_auth(self, status: str, text: str) -> Fed | None:
        """A log said how the authentication ended without showing the server's reply (JavaMail's `AUTH XOAUTH2
        succeeded`): settle the pending attempt with that verdict."""
        if self.auth is None:
            return None
        fed = Fed("")
        self._auth_result(fed, status, text, None)
        return fed

    def _client(self, raw: str, seq: int) -> Fed:
        raise NotImplementedError

    def _server(self, raw: str, seq: int) -> Fed:
        raise NotImplementedError

    def _identify(self, fed: Fed, text: str, family: str = "") -> None:
        """Which server answers, when the greeting did not say (a fragment has none): its replies' own words, or Gmail's
        error challenge; and Exchange's front end when a refusal is stamped with it."""
        if self.family == "unknown":
            family = family or reply_family(text)
            if family != "unknown":
                self.family = family
                fed.changes["server_family"] = family
        if self.family == "exchange" and self.frontend is None and (name := frontend_name(text)):
            self.frontend = name
            fed.changes["frontend_name"] = name

    # -- greeting ----------------------------------------------------------------------------------
    def _may_be_greeting(self, raw: str) -> bool:
        """Live: the first server line is the greeting, whatever it is. A log may begin mid-session: only a
        greeting-shaped line before the client spoke counts."""
        if self.greeted:
            return False
        if not self.partial:
            return True
        # A log shows refusals mid-session far more often than at connect: only a welcome counts as its greeting.
        return not self.client_spoke and parse_greeting(raw, self.protocol).status in ("OK", "PREAUTH")

    def _greet(self, fed: Fed, text: str, seq: int) -> Greeting:
        self.greeted = True
        greeting = parse_greeting(text, self.protocol)
        fed.greeting = greeting
        self.family, self.frontend = greeting.family, greeting.frontend_name
        fed.changes.update(greeting=text, greeting_seq=seq, server_family=greeting.family)
        if greeting.frontend_name:
            fed.changes["frontend_name"] = greeting.frontend_name
        return greeting

    # -- capabilities --------------------------------------------------------------------------------
    def _caps_field(self) -> str:
        """Which list a capability answer is: after authentication, re-read after STARTTLS, or the first one
        (on implicit TLS the only one, as docs/report-schema.md says)."""
        if self.authenticated:
            return "capabilities_post_auth"
        if self.upgraded:
            return "capabilities_post_tls"
        return "capabilities_pre_tls"

    def _tls_started(self, fed: Fed) -> None:
        self.upgraded = True
        fed.changes["security"] = "starttls"

    # -- SASL dialogue -------------------------------------------------------------------------------
    def _start_auth(
        self, fed: Fed, key: str, mechanism: str, initial: str | None, seq: int, *,
        reason: str = "the log shows the client's AUTHENTICATE command",
    ) -> str:
        """An AUTHENTICATE/AUTH command: the exchange starts; returns the argument as it may be shown."""
        mechanism = mechanism.upper()
        exchange = SaslExchange(mechanism=mechanism, sasl_ir=initial is not None, command_seq=seq)
        self.auth = _Auth(key, exchange)
        fed.sasl = exchange
        fed.changes["mechanism"] = mechanism
        if self.partial:
            fed.changes["mechanism_reason"] = reason
        if initial is None:
            return ""
        if initial == "=":
            fed.annotations += ("empty initial response",)
            return " ="
        shown = self._sasl_payload(initial)
        fed.annotations += (f"SASL {mechanism} initial response",)
        return f" {shown}"

    def _is_sasl_response(self, raw: str) -> bool:
        """A client line while an authentication is pending: a response after a continuation, or (a log that
        dropped the `+`) a lone base64 word that is no command."""
        if self.auth is None:
            return False
        value = raw.strip()
        if self.auth.awaiting:
            return True
        return bool(value) and " " not in value and value.upper() not in self.commands and bool(_SASL_RESPONSE_RE().match(value))

    def _sasl_response(self, fed: Fed, raw: str) -> None:
        auth = self.auth
        assert auth is not None
        auth.awaiting = False
        value = raw.strip()
        fed.sasl_touched = auth.exchange
        if value == "":
            fed.text = ""
            fed.annotations += ("empty response: acknowledges the error challenge" if auth.last_challenge else "empty response",)
            return
        if value == "*":
            fed.text = "*"
            fed.annotations += ("client cancels the authentication",)
            return
        if value == "AQ==" and auth.exchange.mechanism == "OAUTHBEARER":
            fed.text = "AQ=="
            fed.annotations += ("%x01: acknowledges the error challenge (RFC 7628)",)
            return
        fed.text = self._sasl_payload(value)
        fed.annotations += (f"SASL {auth.exchange.mechanism} response",)

    def _sasl_payload(self, value: str) -> str:
        """One client SASL payload as it may be shown; the exchange records its structure and defects."""
        auth = self.auth
        assert auth is not None
        exchange = auth.exchange
        auth.responses += 1
        if self.partial and _MASKED_RE().match(value.strip()):
            exchange.client_payload = exchange.client_payload or HIDDEN_PAYLOAD
            return value
        if exchange.mechanism == "LOGIN":
            return self._login_payload(value)
        parsed = sasl.parse_response(value, exchange.mechanism)
        head = _cut_head(value, parsed, exchange.mechanism) if self.partial and len(value) >= CUT_BY_LOG else None
        described = self.redactor.describe_sasl(head or value, exchange.mechanism, None if head is not None else parsed)
        if not exchange.client_payload:
            exchange.client_payload = described
            exchange.response_length = len(value)
            if head is not None:
                exchange.client_payload += " (cut short in the log: its format cannot be judged)"  # neomutt keeps ~1 KB
            else:
                exchange.defects = [self.redactor.redact(d) for d in parsed.defects]
        return described

    def _login_payload(self, value: str) -> str:
        """SASL LOGIN sends the user name, then the password, each base64 on its own line."""
        auth = self.auth
        assert auth is not None
        decoded = (sasl.b64decode_strict(value) or b"").decode("utf-8", "backslashreplace")
        if auth.responses == 1 and "password" not in auth.last_challenge.lower():
            auth.login_user = decoded
            auth.exchange.client_payload = f"user={self.redactor.redact(decoded)}"
            return f"<SASL LOGIN user={decoded}>"
        password = self._password(decoded or value)
        auth.exchange.client_payload = f"user={self.redactor.redact(auth.login_user)} password={password}"
        return password

    def _challenge(self, fed: Fed, payload: str, seq: int) -> None:
        """A continuation during authentication: the server asks for the (next) response, or reports an error."""
        auth = self.auth
        assert auth is not None
        auth.awaiting = True
        fed.reply = Reply("CONTINUE", payload, seq)
        if not payload:
            fed.annotations += ("SASL continuation: the server waits for the client's response",)
            return
        decoded, parsed = sasl.decode_challenge(payload)
        auth.last_challenge = decoded
        auth.exchange.challenges.append(self.redactor.redact(decoded))
        if parsed is not None:
            auth.exchange.challenge_json.append(redact_json(parsed, self.redactor))
            self._identify(fed, "", challenge_family(parsed))
        fed.sasl_touched = auth.exchange
        fed.annotations += (f"SASL challenge, decoded: {decoded}",)  # the record redacts annotations

    def _implied_auth(self, fed: Fed, payload: str, seq: int) -> None:
        """A log that begins with a SASL continuation (a pasted error challenge) shows an authentication whose command it
        does not show: an error challenge in JSON answers only XOAUTH2 (Gmail's carries `schemes`) or OAUTHBEARER."""
        decoded, parsed = sasl.decode_challenge(payload)
        if parsed is not None:
            mechanism = "XOAUTH2" if "schemes" in parsed or challenge_family(parsed) == "gmail" else "OAUTHBEARER"
            why = f"inferred: the log shows the server's {mechanism} error challenge, not the client's command"
        elif decoded.rstrip(":").lower() in ("username", "password"):
            mechanism, why = "LOGIN", "inferred: the log shows the server's LOGIN prompt, not the client's command"
        else:
            return
        self._start_auth(fed, "", mechanism, None, seq, reason=why)

    def _auth_result(self, fed: Fed, status: str, text: str, seq: int | None) -> None:
        auth = self.auth
        assert auth is not None
        self.auth = None
        exchange = auth.exchange
        exchange.result, exchange.result_text, exchange.result_seq = status, self.redactor.redact(text), seq
        fed.sasl_touched = exchange
        self._answered(fed, status, text, seq)

    def _answered(self, fed: Fed, status: str, text: str, seq: int | None = None) -> None:
        """The server answered the credential (AUTH, IMAP LOGIN, POP3 PASS)."""
        fed.changes.update(auth_result=status, auth_text=text, auth_seq=seq)
        self.auth_status = status

    @property
    def authenticated(self) -> bool:
        return self.auth_status == "OK"

    # -- commands ------------------------------------------------------------------------------------
    def _command(self, fed: Fed, name: str, status: str | None, text: str, seq: int) -> CommandResult:
        fed.command = CommandResult(name, status, self.redactor.redact(text), seq)
        if self.partial and self.auth_status is None and EXCHANGE_NOT_CONNECTED in text.lower():
            self._answered(fed, "OK", "")  # the log hid the sign-in; Exchange's answer says it was accepted
        return fed.command

    def _password(self, value: str) -> str:
        """A password the client sent, described; the redactor learns it, so an echo of it later (a server or a log
        repeating it) is redacted too."""
        self.redactor.learn(value, "password")
        return describe_secret(value, "password")

    def _password_login(self, fed: Fed, how: str) -> None:
        """A password login command (IMAP LOGIN, POP3 USER/PASS) was sent."""
        fed.changes.update(login_used=True, mechanism=how)
        if self.partial:
            fed.changes["mechanism_reason"] = {
                "LOGIN": "the log shows the IMAP LOGIN command",
                "USER/PASS": "the log shows POP3 USER/PASS",
            }[how]


def _cut_head(value: str, parsed: sasl.SaslPayload, mechanism: str) -> str | None:
    """The part of a long response a log kept, when the log cut it: no ^A^A end, or base64 whose last group is incomplete
    (it would read as a raw token) while its whole groups start a well-built string. None when it is whole."""
    if "missing_terminator" in parsed.codes:
        return value
    whole = value.strip()[: len(value.strip()) // 4 * 4]
    head = sasl.b64decode_strict(whole)
    return whole if head is not None and "missing_terminator" in sasl.parse_payload(head, mechanism).codes else None
