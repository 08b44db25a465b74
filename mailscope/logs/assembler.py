"""Group a parser's items into sessions: a connect or a server greeting opens one, a close (or the next
connection on the same stream) ends it. Interleaved connections are kept apart by their stream key.

Memory stays bounded: at most MAX_OPEN sessions are open at once (the least recently active is closed
first) and each keeps at most MAX_ITEMS items (its first and latest ones).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mailscope.events import Channel, Direction
from mailscope.logs.common import stands_alone
from mailscope.logs.model import ImportedSession, ItemKind, LogItem

MAX_ITEMS = 2000
MAX_OPEN = 64

_IMAP_GREETING = re.compile(
    r"^\* (?:PREAUTH\b|OK(?! \[(?!CAPABILITY)[A-Z-]+)(?! Still here))",  # not BYE: it also ends sessions
    re.IGNORECASE,
)
_POP3_GREETING = re.compile(r"^\+OK\b.*(?:ready|POP3|<[^>]+@[^>]+>|Dovecot)", re.IGNORECASE)
_SMTP_GREETING = re.compile(r"^220[ -](?!2\.0\.0)(?!.*\b(?:ready to start tls|go ahead)\b)", re.IGNORECASE)


def is_greeting(item: LogItem) -> bool:
    if item.kind is not ItemKind.WIRE or item.direction is not Direction.SERVER:
        return False
    if item.channel is Channel.POP3:
        return bool(_POP3_GREETING.match(item.text))
    if item.channel is Channel.SMTP:
        return bool(_SMTP_GREETING.match(item.text))
    return bool(_IMAP_GREETING.match(item.text))


class Assembler:
    def __init__(self, format_name: str, *, max_items: int = MAX_ITEMS, max_open: int = MAX_OPEN) -> None:
        self.format = format_name
        self.max_items = max_items
        self.max_open = max_open
        self._open: dict[str, ImportedSession] = {}  # insertion order = least recently active first
        self._count = 0

    def feed(self, item: LogItem) -> Iterator[ImportedSession]:
        current = self._open.pop(item.stream, None)  # re-inserted below: keeps activity order
        starts_new = item.kind is ItemKind.CONNECT or (is_greeting(item) and current is not None and current.has_wire)
        if current is not None and starts_new and (current.has_wire or item.kind is ItemKind.CONNECT):
            yield from self._complete(current, truncated=False)
            current = None
        if current is None:
            current = ImportedSession(index=0, format=self.format, stream=item.stream)
            if len(self._open) >= self.max_open:
                oldest = next(iter(self._open))
                yield from self._complete(self._open.pop(oldest), truncated=True)
        current.add(item, self.max_items)
        if item.kind is ItemKind.CLOSE:
            yield from self._complete(current, truncated=False)
        else:
            self._open[item.stream] = current

    def finish(self) -> Iterator[ImportedSession]:
        for stream in list(self._open):
            yield from self._complete(self._open.pop(stream), truncated=True)

    def _complete(self, session: ImportedSession, *, truncated: bool) -> Iterator[ImportedSession]:
        session.truncated = truncated
        if _is_mail_session(session):
            self._count += 1
            session.index = self._count
            yield session


def _is_mail_session(session: ImportedSession) -> bool:
    """A connection, a greeting, a client command, an error the log quotes, or a server line that is evidence on its own
    (a pasted fragment: `A1 NO AUTHENTICATE failed.`, `535 5.7.3 …`, an error challenge): stray server-looking lines
    alone ("build 250 OK") do not make a session."""
    return any(
        item.kind in (ItemKind.CONNECT, ItemKind.EXCEPTION, ItemKind.TOKEN_ERROR)
        or (item.kind is ItemKind.WIRE and (item.direction is Direction.CLIENT or is_greeting(item)))
        or (item.kind is ItemKind.WIRE and item.direction is Direction.SERVER and stands_alone(item.text, item.channel))
        for item in session.items
    )
