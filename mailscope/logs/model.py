"""What a log parser produces: normalised log items, grouped into imported sessions.

Items still hold the raw log text (secrets included): they are redacted when replayed into a
`SessionRecord`, exactly like live traffic. Their repr never shows the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from mailscope.events import Channel, Direction


class ItemKind(StrEnum):
    CONNECT = "connect"  # a new connection starts; facts may carry host/port/security
    WIRE = "wire"  # one protocol line, with a direction
    FACT = "fact"  # host, user, password=<non-null>, advertised mechanisms, client software...
    EXCEPTION = "exception"  # "javax.mail.AuthenticationFailedException: AUTHENTICATE failed."
    TOKEN_ERROR = "token_error"  # "AADSTS70000: ..." / "invalid_grant" seen in the log
    NOTE = "note"  # a log line worth showing in the transcript ("TLSv1.2 handshake complete")
    CLOSE = "close"  # the connection ended


@dataclass(slots=True)
class LogItem:
    kind: ItemKind
    text: str = field(default="", repr=False)
    direction: Direction | None = None
    channel: Channel = Channel.IMAP
    stream: str = ""  # connection key for interleaved logs (thread, connection id, proxy pair)
    wall_time: str | None = None
    lineno: int | None = None
    facts: dict[str, str] = field(default_factory=dict, repr=False)
    annotations: tuple[str, ...] = ()


@dataclass(slots=True)
class ImportedSession:
    """One mail connection found in a log. `mailscope.logs.replay(session, record)` turns it into a live-like session."""

    index: int  # 1-based, in the order sessions end in the log
    format: str
    stream: str = ""
    items: list[LogItem] = field(default_factory=list, repr=False)
    first_line: int | None = None  # line number; a byte offset when position_unit is "byte"
    last_line: int | None = None
    position_unit: str = "line"  # "byte" for large logs read anchored (lines are not counted there)
    first_time: str | None = None
    last_time: str | None = None
    dropped_items: int = 0  # items over the per-session cap, dropped from the middle (at `dropped_at` in `items`)
    dropped_at: int = 0
    truncated: bool = False  # the log ended while this session was still open

    @property
    def host(self) -> str:
        return next((i.facts["host"] for i in self.items if "host" in i.facts), "")

    @property
    def user(self) -> str:
        return next((i.facts["user"] for i in self.items if "user" in i.facts), "")

    def add(self, item: LogItem, cap: int) -> None:
        """Keep `item`; past `cap` items the middle goes: the head (the greeting, usually the sign-in) stays, and so do the
        latest items (a sign-in after a flood of capability or listing lines)."""
        if len(self.items) >= cap:
            dropped = max(1, cap // 4)
            self.dropped_at = cap // 2
            del self.items[self.dropped_at : self.dropped_at + dropped]
            self.dropped_items += dropped
        self.items.append(item)
        if item.lineno is not None:
            self.first_line = item.lineno if self.first_line is None else self.first_line
            self.last_line = item.lineno
        if item.wall_time:
            self.first_time = self.first_time or item.wall_time
            self.last_time = item.wall_time

    def fingerprint(self) -> int:
        """Equal for sessions that replay to the same lines and evidence (positions aside, and times unless the session
        carries a token, whose expiry is judged at them): a failure repeated all day is replayed and diagnosed once."""
        from mailscope.logs.tokens import leaked_tokens  # tokens.py builds on this module

        times = tuple(i.wall_time for i in self.items) if leaked_tokens(self) else ()
        return hash(
            (self.format, self.truncated, self.dropped_items, times)
            + tuple((i.kind, i.direction, i.channel, i.text, tuple(sorted(i.facts.items())), i.annotations) for i in self.items)
        )

    def label(self) -> str:
        """One line for a session picker ("#2  line 10  imap outlook.office365.com  user@x  javamail"), secrets masked
        and control characters escaped like every other text shown to a terminal."""
        from mailscope.redact import Redactor  # the catch-all patterns: no secret is registered for a log

        where = self.first_time or (f"{self.position_unit} {self.first_line}" if self.first_line is not None else "")
        protocol = next((i.channel.value for i in self.items if i.kind is ItemKind.WIRE), "")
        parts = [f"#{self.index}", where, protocol, self.host, self.user, self.format]
        return Redactor().redact("  ".join(p for p in parts if p))

    @property
    def has_wire(self) -> bool:
        return any(i.kind is ItemKind.WIRE for i in self.items)
