"""`curl -v` against imap(s)://, pop3(s)://, smtp(s)://. `* ` lines are curl's own (`*   Trying 1.2.3.4:993...`,
`* Connected to outlook.office365.com (1.2.3.4) port 993`, `* SSL connection using TLSv1.3 / ...`), `< ` is the server,
`> ` the client; `{ [5 bytes data]` / `} [5 bytes data]` are the sizes of TLS records and body data, never protocol text.
curl prints the AUTHENTICATE initial response (the token) verbatim: redaction removes it.
With `--trace-time` every line starts with the local time of day (`10:00:01.123456 `).

`curl --trace-ascii FILE` (src/tool_cb_dbg.c, `tool_debug_cb` and `dump`): `== Info: text` for what `-v` prints as
`* text`; a block header `=> Send header, 42 bytes (0x2a)` / `<= Recv header, ...` (the protocol lines; `Send data`,
`Recv data` and `... SSL data` are bodies and TLS records) followed by rows `0000: text`, each at most 64 bytes, a row
ending where the data had CRLF (the next row's offset then skips those two bytes) or at 64 bytes (the next row continues
the same protocol line). Bytes outside 0x20-0x7E print as `.`. Newer curl may put `[0-x] ` (transfer and connection
ids) after the time.
"""

from __future__ import annotations

import re

from mailscope.events import Direction
from mailscope.logs import common
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.formats.base import channel_for
from mailscope.logs.model import ItemKind, LogItem
from mailscope.patterns import lazy

_CONNECTED = lazy(r"^\* Connected to (?P<host>\S+) \([^)]*\) port (?P<port>\d+)")
_WIRE = lazy(r"^(?P<arrow>[<>]) (?P<text>.*)$")
_UPGRADE = lazy(r"(?:^|\s)(?:STARTTLS|STLS)\s*$", re.IGNORECASE)
_IDS = r"(?:\[\d+-(?:x|\d+)\] )?"
_TRACE_INFO = lazy(rf"^{_IDS}== Info: (?P<text>.*)$")
_TRACE_BLOCK = lazy(rf"^{_IDS}(?P<arrow><=|=>) (?P<what>Send|Recv) (?P<kind>header|data|SSL data), (?P<size>\d+) bytes")
_TRACE_ROW = lazy(r"^(?P<offset>[0-9a-f]{4,}): (?P<text>.*)$")


class Parser(_Base):
    name = "curl"
    client_software = "curl"
    markers = (b"* ", b"< ", b"> ", b"AADSTS", b": ")  # trace rows (`0040: ...`) and `== Info:` hold ": "
    signature = re.compile(
        r"^(?:\d\d:\d\d:\d\d\.\d{6} )?(?:\*|(?:\[\d+-(?:x|\d+)\] )?== Info:)"
        r"(?:\s+Trying \S+| Connected to \S+ \(| (?:SSL|TLS) connection using)"
    )

    def __init__(self) -> None:
        super().__init__()
        self._upgrading = False  # the client sent STARTTLS/STLS on this connection: its TLS is an upgrade
        self._block: tuple[Direction | None, int, str | None] | None = None  # open trace block: direction (None: not
        # protocol text), size, its time
        self._row_end = 0  # offset just past the last row's bytes in the open block
        self._line = ""  # the protocol line the rows so far hold, not yet ended

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        if self._block is not None:
            row = _TRACE_ROW().match(rest) if wall_time is None else None
            if row is not None:
                return self._row(int(row.group("offset"), 16), row.group("text"), lineno)
            items = self._end_block(lineno)
            return items + self.parse(lineno, wall_time, rest)
        if match := _TRACE_BLOCK().match(rest):
            protocol_text = match.group("kind") == "header"
            direction = (Direction.SERVER if match.group("what") == "Recv" else Direction.CLIENT) if protocol_text else None
            self._block, self._row_end, self._line = (direction, int(match.group("size")), wall_time), 0, ""
            return []
        if match := _TRACE_INFO().match(rest):
            return self.parse(lineno, wall_time, "* " + match.group("text"))
        if match := _CONNECTED().match(rest):
            self._upgrading = False
            # `curl -v` never prints the URL: a well-known port says the protocol, else the server's greeting will
            protocol, security = channel_for(match.group("port"))
            if security == "starttls" and protocol != "smtp":
                security = "plain"
            facts = {"host": match.group("host"), "port": match.group("port"), "protocol": protocol, "security": security}
            return [self.connect("", wall_time=wall_time, lineno=lineno, text=rest[2:], **{k: v for k, v in facts.items() if v})]
        if match := _WIRE().match(rest):
            direction = Direction.SERVER if match.group("arrow") == "<" else Direction.CLIENT
            self._upgrading |= direction is Direction.CLIENT and _UPGRADE().search(match.group("text")) is not None
            item = self.wire(match.group("text"), stream="", wall_time=wall_time, lineno=lineno, direction=direction)
            return [item] if item else []
        if rest.startswith("* "):
            message = rest[2:].strip()
            if message.startswith(("Closing connection", "Connection #")) and ("left intact" in message or "Closing" in message):
                return [LogItem(ItemKind.CLOSE, message, wall_time=wall_time, lineno=lineno)]
            if message.startswith(("SSL connection using", "TLS connection using")) and not self._upgrading:
                # curl's TLS backends (lib/vtls/openssl.c, gtls.c: infof "SSL connection using"): TLS from the start unless
                # a STARTTLS came first
                return [LogItem(ItemKind.NOTE, f"curl: {message}", wall_time=wall_time, lineno=lineno, facts={"security": "tls"})]
            if message.startswith(("SSL connection using", "TLS connection using", "Server certificate", "STARTTLS")):
                return [LogItem(ItemKind.NOTE, f"curl: {message}", wall_time=wall_time, lineno=lineno)]
            # "No known authentication mechanisms supported!": curl gives up before signing in
            return common.evidence_items(message, stream="", wall_time=wall_time, lineno=lineno)
        return common.evidence_items(rest, stream="", wall_time=wall_time, lineno=lineno)

    def flush(self) -> list[LogItem]:
        return self._end_block(0) if self._block is not None else []

    # -- --trace-ascii rows ------------------------------------------------------------------------------------
    def _row(self, offset: int, text: str, lineno: int) -> list[LogItem]:
        """One dump row: it continues the line of the row before (no CRLF between) or starts the next one."""
        direction, size, wall_time = self._block or (None, 0, None)
        items: list[LogItem] = []
        if offset != self._row_end and self._line:  # the row before ended at a CRLF (offset = its end + 2)
            items += self._emit(direction, wall_time, lineno)
        self._line += text
        self._row_end = offset + len(text)
        if self._row_end >= size - 2:  # the block's last row: its data ends here, with or without CRLF
            items += self._end_block(lineno)
        return items

    def _end_block(self, lineno: int) -> list[LogItem]:
        direction, _, wall_time = self._block or (None, 0, None)
        items = self._emit(direction, wall_time, lineno)
        self._block = None
        return items

    def _emit(self, direction: Direction | None, wall_time: str | None, lineno: int) -> list[LogItem]:
        line, self._line = self._line, ""
        if direction is None or not line:
            return []
        self._upgrading |= direction is Direction.CLIENT and _UPGRADE().search(line) is not None
        item = self.wire(line, stream="", wall_time=wall_time, lineno=lineno, direction=direction)
        return [item] if item else []
