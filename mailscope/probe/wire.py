"""WireRecorder: raw chunks from the tap → redacted transcript lines in the SessionRecord.

It knows just enough IMAP to redact *structurally* before anything is stored: the AUTHENTICATE
argument and every client line sent while an AUTHENTICATE is pending become a description of the
SASL structure (`<SASL XOAUTH2 user=alice@x ^A auth=Bearer <jwt 1532 chars sha256:…> ^A^A>`), and a
LOGIN password becomes `<password N chars sha256:…>`. `record.add_line` then applies the catch-all
and control escaping on top. It also notes the facts the probe needs later: the greeting, the line
numbers of each tag's command and tagged response, SASL challenges and untagged BYEs.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from mailscope import sasl
from mailscope.events import Direction
from mailscope.evidence import SaslExchange
from mailscope.probe.lines import LineAssembler
from mailscope.record import SessionRecord
from mailscope.redact import describe_secret

_AUTHENTICATE_RE = re.compile(rb"^(?P<tag>\S+) AUTHENTICATE (?P<mech>\S+)(?: (?P<ir>\S*))?\s*$", re.IGNORECASE)
_LOGIN_RE = re.compile(rb'^(?P<tag>\S+) LOGIN (?P<user>"(?:[^"\\]|\\.)*"|\S+) (?P<password>.*)$', re.IGNORECASE)
_COMMAND_RE = re.compile(rb"^(?P<tag>[^\s+*]+) (?P<name>[A-Za-z]+)")
_TAGGED_RE = re.compile(rb"^(?P<tag>[^\s+*]+) (?P<result>OK|NO|BAD)\b ?(?P<text>.*)$", re.IGNORECASE)
_BYE_RE = re.compile(rb"^\* BYE\b", re.IGNORECASE)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


@dataclass(slots=True)
class _PendingAuth:
    tag: str
    mechanism: str
    responses: int = 0  # client lines sent after the command line
    last_challenge: str = ""


@dataclass(slots=True)
class TaggedResult:
    result: str  # OK | NO | BAD (upper case)
    text: str  # redacted response text after the result word
    seq: int


@dataclass(slots=True)
class WireRecorder:
    record: SessionRecord
    assembler: LineAssembler = field(default_factory=LineAssembler)
    greeting: str | None = None  # redacted
    greeting_raw: bytes | None = None
    greeting_seq: int | None = None
    greeted: asyncio.Event = field(default_factory=asyncio.Event)
    command_seq: dict[str, int] = field(default_factory=dict)  # tag -> seq of the client's command line
    results: dict[str, TaggedResult] = field(default_factory=dict)  # tag -> tagged response
    sasl: SaslExchange | None = None  # the probe attaches the exchange it is about to run
    bytes_in: int = 0
    bytes_out: int = 0
    _auth: _PendingAuth | None = None
    _logout_tags: set[str] = field(default_factory=set)

    # -- tap interface ------------------------------------------------------------------------
    def feed(self, direction: Direction, data: bytes) -> None:
        if direction is Direction.CLIENT:
            self.bytes_out += len(data)
        else:
            self.bytes_in += len(data)
        for line in self.assembler.feed(direction, data):
            self._line(direction, line)

    def pending_server_bytes(self) -> bytes:
        return self.assembler.pending(Direction.SERVER)

    def close(self) -> None:
        """Connection over: store what is left without a line end, marked as such."""
        for direction in (Direction.CLIENT, Direction.SERVER):
            rest = self.assembler.flush(direction)
            if rest:
                self._line(direction, rest, incomplete=True)

    # -- lines ----------------------------------------------------------------------------------
    def _line(self, direction: Direction, raw: bytes, *, incomplete: bool = False) -> None:
        is_sasl_response = direction is Direction.CLIENT and self._auth is not None
        if direction is Direction.CLIENT:
            text, annotations = self._client_line(raw)
        else:
            text, annotations = self._server_line_text(raw)
        if incomplete:
            annotations += ("incomplete line: the connection ended before CRLF",)
        line = self.record.add_line(direction, text, nbytes=len(raw), annotations=annotations)
        if direction is Direction.SERVER:
            self._after_server_line(raw, line.seq)
            return
        command = _COMMAND_RE.match(raw)
        if command and not is_sasl_response:
            tag = _text(command.group("tag"))
            self.command_seq[tag] = line.seq
            if command.group("name").upper() == b"LOGOUT":
                self._logout_tags.add(tag)
            if self._auth is not None and self.sasl is not None:
                self.sasl.command_seq = line.seq

    def _client_line(self, raw: bytes) -> tuple[str, tuple[str, ...]]:
        if self._auth is not None:
            return self._sasl_response(raw)
        auth = _AUTHENTICATE_RE.match(raw)
        if auth:
            tag, mech = _text(auth.group("tag")), _text(auth.group("mech")).upper()
            self._auth = _PendingAuth(tag, mech)
            if auth.group("ir") is None:
                return f"{tag} AUTHENTICATE {mech}", ()
            initial = _text(auth.group("ir"))
            if initial == "=":
                return f"{tag} AUTHENTICATE {mech} =", ("empty initial response",)
            described = self.record.redactor.describe_sasl(initial, mech)
            return f"{tag} AUTHENTICATE {mech} {described}", (f"SASL {mech} initial response",)
        login = _LOGIN_RE.match(raw)
        if login:
            password = _unquote(_text(login.group("password")))
            described = describe_secret(password, "password")
            return f"{_text(login.group('tag'))} LOGIN {_text(login.group('user'))} {described}", ("LOGIN password redacted",)
        return _text(raw), ()

    def _sasl_response(self, raw: bytes) -> tuple[str, tuple[str, ...]]:
        auth = self._auth
        assert auth is not None
        auth.responses += 1
        value = _text(raw).strip()
        if value == "":
            note = "empty response: acknowledges the error challenge" if auth.last_challenge else "empty response"
            return "", (note,)
        if value == "*":
            return "*", ("client cancels the authentication",)
        if value == "AQ==" and auth.mechanism == "OAUTHBEARER":
            return "AQ==", ("%x01: acknowledges the error challenge (RFC 7628)",)
        return self.record.redactor.describe_sasl(value, auth.mechanism), (f"SASL {auth.mechanism} response",)

    def _server_line_text(self, raw: bytes) -> tuple[str, tuple[str, ...]]:
        text = _text(raw)
        if self._auth is not None and raw.startswith(b"+"):
            challenge = text[1:].strip()
            if not challenge:
                return text, ("SASL continuation: the server waits for the client's response",)
            decoded, parsed = sasl.decode_challenge(challenge)
            self._auth.last_challenge = decoded
            if self.sasl is not None:
                self.sasl.challenges.append(self.record.redactor.redact(decoded))
                if parsed is not None:
                    self.sasl.challenge_json.append(self._redact_json(parsed))
                self.record.evidence_touched("sasl")
            return text, (f"SASL challenge, decoded: {decoded}",)  # add_line redacts annotations
        return text, ()

    def _redact_json(self, value: Any) -> Any:
        """Challenge JSON is server text: a server may echo the token in it."""
        if isinstance(value, str):
            return self.record.redactor.redact(value)
        if isinstance(value, dict):
            return {self.record.redactor.redact(str(k)): self._redact_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redact_json(v) for v in value]
        return value

    def _after_server_line(self, raw: bytes, seq: int) -> None:
        if self.greeting is None:
            self.greeting_raw, self.greeting_seq = raw, seq
            self.greeting = self.record.lines[-1].text
            self.greeted.set()
            return
        tagged = _TAGGED_RE.match(raw)
        if tagged:
            tag = _text(tagged.group("tag"))
            result = TaggedResult(_text(tagged.group("result")).upper(), self.record.redactor.redact(_text(tagged.group("text"))), seq)
            self.results[tag] = result
            if self._auth is not None and self._auth.tag == tag:
                self._auth = None
                if self.sasl is not None:
                    self.sasl.result, self.sasl.result_text, self.sasl.result_seq = (
                        result.result,
                        f"{result.result} {result.text}".strip(),
                        seq,
                    )
            return
        if _BYE_RE.match(raw) and not self._logout_tags:
            self.record.update_evidence(untagged_bye=self.record.lines[-1].text, bye_seq=seq)
