"""The wire tap: every byte both ways, as TCP/TLS delivered it (plaintext under TLS), goes to a WireRecorder before
the client library sees it. The recorder assembles lines per direction and feeds each to the session's Conversation
through a `Transcript`, so the stored text is structurally redacted before the record's catch-all runs.

`TapTransport` wraps a transport so that every write is seen, whichever library writes (aioimaplib's commands,
literals and continuation answers alike).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from mailscope.events import Direction
from mailscope.protocols import Conversation, Fed
from mailscope.protocols.lines import LineAssembler
from mailscope.protocols.servers import Greeting
from mailscope.record import SessionRecord
from mailscope.transcript import Transcript

_INCOMPLETE = ("incomplete line: the connection ended before CRLF",)


class WireRecorder:
    def __init__(self, record: SessionRecord, conversation: Conversation, on_fed: Callable[[Fed], None] | None = None) -> None:
        self.record = record
        self.conversation = conversation
        self.transcript = Transcript(record, conversation)
        self.assembler = LineAssembler()
        self.on_fed = on_fed  # a driver that reads replies through the conversation (POP3)
        self.greeting: Greeting | None = None
        self.greeting_raw = ""
        self.greeting_seq: int | None = None
        self.greeted = asyncio.Event()
        self.bytes_in = 0
        self.bytes_out = 0

    def feed(self, direction: Direction, data: bytes) -> None:
        if direction is Direction.CLIENT:
            self.bytes_out += len(data)
        else:
            self.bytes_in += len(data)
        for line in self.assembler.feed(direction, data):
            self._line(direction, line)

    def pending_server_bytes(self) -> bytes:
        """Bytes received without a line end yet (for diagnosing a greeting that never completes)."""
        return self.assembler.pending(Direction.SERVER)

    def close(self) -> None:
        """Connection over: store what is left without a line end, marked as such; then let go of the driver's
        `on_fed` (it refers back to the session: kept, it would make a cycle only the collector could free)."""
        for direction in (Direction.CLIENT, Direction.SERVER):
            rest = self.assembler.flush(direction)
            if rest:
                self._line(direction, rest, incomplete=True)
        self.on_fed = None

    def _line(self, direction: Direction, raw: bytes, *, incomplete: bool = False) -> None:
        text = raw.decode("utf-8", "backslashreplace")
        line, fed = self.transcript.line(direction, text, nbytes=len(raw), annotations=_INCOMPLETE if incomplete else ())
        if fed.greeting is not None:
            self.greeting, self.greeting_raw, self.greeting_seq = fed.greeting, text, line.seq
            self.greeted.set()
        if self.on_fed is not None:
            self.on_fed(fed)


class TapTransport:
    """Delegates to the real transport; every write is fed to the recorder first."""

    def __init__(self, transport: asyncio.Transport, recorder: WireRecorder) -> None:
        self.raw = transport
        self._recorder = recorder

    def write(self, data: bytes) -> None:
        self._recorder.feed(Direction.CLIENT, bytes(data))
        self.raw.write(data)

    def writelines(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def __getattr__(self, name: str) -> object:
        return getattr(self.raw, name)
