"""Fallback for logs of unknown products, and the fragment importer: a pasted excerpt, a lone line, lines with a
timestamp, a log level (`DEBUG:`, `[INFO]`) or a direction mark (`C:`, `S:`, `>`, `<=`, `CLIENT -> SERVER:`), a
Python or JavaScript string repr of a line, a server answer quoted in an exception message, a token endpoint's JSON
error body. Protocol lines are recognised by their shape through `mailscope.protocols` (an SMTP `NNN ` reply, POP3
`+OK`/`-ERR`, IMAP `* `/tagged answers, a `+ <base64>` continuation) and the protocol is inferred from them; the
conversations read such lines in their `partial` mode, where no greeting is needed (mailscope.protocols.conversation).
"""

from __future__ import annotations

import re

from mailscope.events import Channel, Direction
from mailscope.logs import common
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.model import ItemKind, LogItem
from mailscope.patterns import lazy
from mailscope.protocols import imap

# A log level before the text (`DEBUG:`, `[INFO]`, `<7>`, `level=debug`), as loggers print it.
_LEVELS = r"(?:TRACE|DEBUG|FINE(?:R|ST)?|INFO|NOTICE|WARN(?:ING)?|ERROR|ERR|SEVERE|CRIT(?:ICAL)?|FATAL|VERBOSE)"
_LEVEL = lazy(rf"^\s*(?:\[{_LEVELS}\]|<\d>|level={_LEVELS}|{_LEVELS}\b)\s*:?\s*", re.IGNORECASE)
# A direction mark before the protocol text: transcripts (`C:`/`S:`), curl and MailKit-like arrows, PHPMailer
# (`CLIENT -> SERVER:`), node-imap (`=>`/`<=`), proxies (`-->`/`<--`).
_MARKS = (
    (Direction.CLIENT, r"C:|C->S:?|CLIENT:|CLIENT -> SERVER:|client:|=>|-->|>>|>|send:|sent:|write:"),
    (Direction.SERVER, r"S:|S->C:?|SERVER:|SERVER -> CLIENT:|server:|<=|<--|<<|<|reply:|recv:|received:|read:"),
)
_MARK = lazy("|".join(rf"(?P<{d.value}>(?:{pattern}))" for d, pattern in _MARKS))
_START_MARK = lazy(rf"^(?:{_MARK().pattern})(?:\s+|$)")
_END_MARK = lazy(rf"(?:^|\s)(?:{_MARK().pattern})\s*$")
_SASL_RESPONSE = lazy(r"^(?:[A-Za-z0-9+/]{4,}={0,2}|\*|=|)$")  # what a client sends after a continuation
_BRACKETED = lazy(r"^\[([^\]]{8,40})\]\s*")  # `[2026-11-28 10:00:01] ...`
_LITERAL = lazy(r"^b?(?:'.*'|\".*\")$")
# Exchange's and Gmail's refusal texts alone on a line.
_BARE_ANSWER = lazy(r"(?:AUTHENTICATE|LOGIN) failed\.|\[AUTHENTICATIONFAILED\] Invalid credentials \(Failure\)")
# A continuation after a prefix the product-prefix search does not know (a fragment's only line).
_CONTINUATION = lazy(r"(?:^|\s)(\+ [A-Za-z0-9+/]{16,}={0,2})$")


class Parser(_Base):
    name = "generic"

    def __init__(self) -> None:
        super().__init__()
        self._prefix_direction: Direction | None = None  # the mark that ended the prefix of the wire line just found

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        where = {"wall_time": wall_time, "lineno": lineno}
        if self._multiline.get(self._last_stream):
            return super().parse(lineno, wall_time, rest)
        rest = _LEVEL().sub("", rest, count=1)
        if wall_time is None:  # the level came before the time, or the time is in brackets
            bracket = _BRACKETED().match(rest)
            if bracket and (stamp := common.whole_timestamp(bracket.group(1))):
                wall_time, rest = stamp, rest[bracket.end() :]
                rest = _LEVEL().sub("", rest, count=1)
            else:
                wall_time, rest = common.split_timestamp(rest)
            where["wall_time"] = wall_time
        mark = _START_MARK().match(rest)
        if mark is not None:
            return self._marked(_direction(mark), rest[mark.end() :], **where)
        quoting = common.quoted_in_error(rest)
        if quoting is not None:  # the client's error line quotes the server: not the wire, nor another connection
            return [LogItem(ItemKind.EXCEPTION, common.cut(rest.strip(), 300), stream=self._last_stream, facts=quoting[1], **where)]
        items = super().parse(lineno, wall_time, rest)
        if items:
            return items
        return self._fragment(rest, **where)

    def stream_of(self, prefix: str) -> str:
        """A product's prefix keys its connection; a level word or a direction mark in it does not."""
        prefix = _LEVEL().sub("", prefix, count=1)
        return _END_MARK().sub("", prefix).strip(" :-")

    def wire(self, text: str, *, stream: str, wall_time: str | None, lineno: int, direction: Direction | None = None,
             annotations: tuple[str, ...] = ()) -> LogItem | None:  # fmt: skip
        prefix_mark = self._prefix_direction
        self._prefix_direction = None
        return super().wire(text, stream=stream, wall_time=wall_time, lineno=lineno, direction=direction or prefix_mark,
                            annotations=annotations)  # fmt: skip

    def find_wire(self, rest: str) -> tuple[str, str | None]:
        stream, wire = super().find_wire(rest)
        self._prefix_direction = None
        if wire is not None:
            end = _END_MARK().search(rest[: len(rest) - len(wire)])
            self._prefix_direction = _direction(end) if end else None
        return stream, wire

    # -- fragment shapes ------------------------------------------------------------------------------------
    def _marked(self, direction: Direction, body: str, *, wall_time: str | None, lineno: int) -> list[LogItem]:
        """A line its writer marked with a direction: the rest is the protocol text (a SASL response included), or a
        string repr of it."""
        body = body.rstrip("\r\n")
        if _LITERAL().match(body.strip()):
            payload = common.python_literal(body.strip())
            if payload is not None:
                return self.payload_lines(payload, direction, stream="", wall_time=wall_time, lineno=lineno)
        evidence = common.evidence_items(body, stream="", wall_time=wall_time, lineno=lineno)
        if evidence:
            return evidence
        protocol = common.protocol_of(body) or self.channels.get("") or Channel.IMAP
        if not (common.WIRE_LINE.fullmatch(body) or common.classify(body, protocol) or _SASL_RESPONSE().match(body.strip())):
            return []  # a marked line that is no protocol text (a client's own message)
        item = self.wire(body, stream="", wall_time=wall_time, lineno=lineno, direction=direction)
        return [item] if item else []

    def _fragment(self, rest: str, *, wall_time: str | None, lineno: int) -> list[LogItem]:
        """What the product-prefix search does not find: a string repr, an IMAP answer without its tag (that is evidence on
        its own, as the protocol layer says), a continuation."""
        text = rest.strip()
        literal = re.search(r"(?:^|\s)(b?(?:'[^']*'|\"[^\"]*\"))$", text)
        if literal is not None:
            payload = common.python_literal(literal.group(1))
            if payload is not None and payload.strip() and common.WIRE_LINE.fullmatch(payload.strip().splitlines()[0]):
                lines = self.payload_lines(payload, _shape_direction(payload), stream="", wall_time=wall_time, lineno=lineno)
                if lines:
                    return lines
        if imap.status_of(text) is not None and imap.stands_alone(text):  # an IMAP answer whose tag was cut off
            item = self.wire(text, stream="", wall_time=wall_time, lineno=lineno, direction=Direction.SERVER)
            return [item] if item else []
        if _BARE_ANSWER().fullmatch(text):  # even its status: Ruby's Net::IMAP::NoResponseError prints only the text
            item = self.wire(f"NO {text}", stream="", wall_time=wall_time, lineno=lineno, direction=Direction.SERVER,
                             annotations=("an IMAP refusal's text without its tag and status",))
            return [item] if item else []
        continuation = _CONTINUATION().search(text)
        if continuation is not None:
            item = self.wire(continuation.group(1), stream="", wall_time=wall_time, lineno=lineno, direction=Direction.SERVER)
            return [item] if item else []
        return []


def _direction(match: re.Match[str]) -> Direction:
    return Direction.CLIENT if match.group(Direction.CLIENT.value) is not None else Direction.SERVER


def _shape_direction(payload: str) -> Direction:
    first = payload.strip().splitlines()[0]
    return common.classify(first, common.protocol_of(first) or Channel.IMAP) or Direction.SERVER
