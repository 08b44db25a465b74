"""The parser contract, and the generic parser the product-specific ones build on.

A parser is sans-IO: `feed(lineno, text)` takes one log line (already capped and decoded) and returns
the items it found; it keeps only small per-stream state.
"""

from __future__ import annotations

import re
from typing import ClassVar

from mailscope.events import Channel, Direction
from mailscope.logs import common
from mailscope.logs.model import ItemKind, LogItem
from mailscope.protocols import DEFAULT_PORTS

_CAPA_LINE = re.compile(r"[A-Z][A-Z0-9-]*(?: [A-Za-z0-9._-]+)*")  # "SASL PLAIN XOAUTH2", "TOP", "IMPLEMENTATION x"

MAX_PREFIXES = 256

MAIL_MARKERS: tuple[bytes, ...] = (
    b"IMAP", b"POP3", b"SMTP", b"AUTH", b"LOGIN", b"CAPA", b"* ", b"+ ", b" OK", b" NO ", b" BAD", b"+OK", b"-ERR",
    b"EHLO", b"STARTTLS", b" 5.7.", b"334 ", b"235 ", b"AADSTS", b"invalid_grant", b"xception", b"SASL",
    b"SELECT", b"EXAMINE", b"LOGOUT",  # the mailbox check after the sign-in (and its end): a prefixed `A2 EXAMINE INBOX` has no other
    # what a pasted fragment holds without any of those: a reply line's own start, an error object, a client's complaint
    b"5.7.", b"5.5.", b"4.7.", b"NO ", b"BAD ", b"rror", b"uthenticat", b"echanism", b"xoauth2", b"oauthbearer", b"Lookup failed",
    b"Enabled", b"authenticated but not connected",
)  # fmt: skip


class StreamState(dict):  # type: ignore[type-arg]
    """Per-connection parser state, bounded: a log with a million connection ids keeps only the latest ones."""

    LIMIT = 4096

    def __setitem__(self, key: object, value: object) -> None:
        super().__setitem__(key, value)
        if len(self) > self.LIMIT:
            del self[next(iter(self))]


class Parser:
    """Base: a line either is a protocol line inside some product prefix, or carries evidence."""

    name: ClassVar[str] = "generic"
    client_software: ClassVar[str | None] = None
    markers: ClassVar[tuple[bytes, ...] | None] = MAIL_MARKERS  # a line without any of these is skipped
    signature: ClassVar[re.Pattern[str] | None] = None  # lines that prove this format (detection)

    def __init__(self) -> None:
        self.channels: dict[str, Channel] = StreamState()
        self._prefixes: dict[str, str] = {}  # learned product prefix -> stream key (at most MAX_PREFIXES)
        self._last_stream = ""
        self._pending_multiline: dict[str, bool] = StreamState()  # stream -> a POP3 multi-line command was sent
        self._multiline: dict[str, bool] = StreamState()  # stream -> inside such an answer (until ".")

    def feed(self, lineno: int, text: str) -> list[LogItem]:
        wall_time, rest = common.split_timestamp(text)
        if common.looks_like_stack_frame(rest):
            return []
        return self.parse(lineno, wall_time, rest)

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        stream = self._last_stream
        if self._multiline.get(stream):  # the body of a POP3 multi-line answer (CAPA): bare words up to "."
            text = rest[len(stream) :].strip() if stream and rest.startswith(stream) else rest.strip()
            if wall_time is None and (text == "." or _CAPA_LINE.fullmatch(text)):
                self._multiline[stream] = text != "."
                item = self.wire(text, stream=stream, wall_time=wall_time, lineno=lineno, direction=Direction.SERVER)
                return [item] if item else []
            self._multiline[stream] = False  # anything else ends it (the "." may have been filtered out)
        evidence = common.evidence_items(rest, stream=self._last_stream, wall_time=wall_time, lineno=lineno)
        if evidence:
            return evidence
        stream, wire = self.find_wire(rest)
        if wire is not None:
            item = self.wire(wire, stream=stream, wall_time=wall_time, lineno=lineno)
            if item is not None:
                return [item]
        return []

    def flush(self) -> list[LogItem]:
        """Items still held back when the log ends."""
        return []

    # -- helpers for subclasses -----------------------------------------------------------
    def find_wire(self, rest: str) -> tuple[str, str | None]:
        """(stream, protocol text) for a line holding a protocol line after a product prefix."""
        if common.WIRE_LINE.fullmatch(rest):  # a bare protocol line (no product prefix)
            self._last_stream = ""
            return "", rest
        for prefix, stream in self._prefixes.items():
            if rest.startswith(prefix):
                candidate = rest[len(prefix) :].lstrip()
                if common.WIRE_LINE.fullmatch(candidate):
                    self._last_stream = stream
                    return stream, candidate
        match = common.WIRE_IN_LINE.search(rest)
        if not match:
            return self._last_stream, None
        prefix = rest[: match.start(1)].rstrip()
        if prefix and len(self._prefixes) < MAX_PREFIXES:
            self._prefixes.setdefault(prefix, self.stream_of(prefix))
        stream = self._prefixes.get(prefix, "")
        self._last_stream = stream
        return stream, match.group(1)

    def stream_of(self, prefix: str) -> str:
        """The connection a learned product prefix stands for (the generic parser drops level words and direction marks)."""
        return prefix

    def wire(
        self,
        text: str,
        *,
        stream: str,
        wall_time: str | None,
        lineno: int,
        direction: Direction | None = None,
        annotations: tuple[str, ...] = (),
    ) -> LogItem | None:
        channel = self.channels.get(stream)
        if channel is None:
            channel = common.protocol_of(text) or Channel.IMAP
            self.channels[stream] = channel
        direction = direction or common.classify(text, channel)
        if direction is None:
            return None
        if channel is Channel.POP3:
            self._track_pop3_multiline(stream, text, direction)
        return LogItem(
            ItemKind.WIRE, text, direction=direction, channel=channel, stream=stream, wall_time=wall_time, lineno=lineno,
            annotations=annotations,
        )  # fmt: skip

    def _track_pop3_multiline(self, stream: str, text: str, direction: Direction) -> None:
        if direction is Direction.CLIENT:
            self._pending_multiline[stream] = text.split(" ")[0].upper() in ("CAPA", "LIST", "UIDL", "RETR", "TOP") and " " not in text
        elif self._pending_multiline.pop(stream, False) and text.startswith("+OK"):
            self._multiline[stream] = True

    def payload_lines(self, payload: str, direction: Direction, *, stream: str, wall_time: str | None, lineno: int) -> list[LogItem]:
        """Wire items for a logged write/read that may hold several CRLF lines. A client's empty line (the answer
        to a SASL error challenge) is evidence and is kept."""
        lines = [line for line in payload.replace("\r\n", "\n").split("\n") if line]
        if not lines and direction is Direction.CLIENT:
            lines = [""]
        items = [self.wire(line, stream=stream, wall_time=wall_time, lineno=lineno, direction=direction) for line in lines]
        return [item for item in items if item is not None]

    def connect(self, stream: str, *, wall_time: str | None, lineno: int, text: str = "", **facts: str) -> LogItem:
        protocol = facts.get("protocol")
        if protocol:
            self.channels[stream] = Channel(protocol)
        else:
            self.channels.pop(stream, None)
        if self.client_software:
            facts.setdefault("client_software", self.client_software)
        return LogItem(ItemKind.CONNECT, text, stream=stream, wall_time=wall_time, lineno=lineno, facts=facts)


_CHANNELS = {
    "imaps": ("imap", "tls"), "imap": ("imap", "starttls"), "pop3s": ("pop3", "tls"), "pop3": ("pop3", "starttls"),
    "pops": ("pop3", "tls"), "pop": ("pop3", "starttls"), "smtps": ("smtp", "tls"), "smtp": ("smtp", "starttls"),
}  # fmt: skip
for (_protocol, _security), _port in DEFAULT_PORTS.items():  # well-known ports, from the one table (143: starttls before plain)
    _CHANNELS.setdefault(str(_port), (_protocol.value, _security.value))


def channel_for(scheme_or_port: str) -> tuple[str, str]:
    """(protocol, security) from a URL scheme ("imaps") or a well-known port ("993")."""
    return _CHANNELS.get(scheme_or_port.lower(), ("", ""))
