"""emailjs-imap-client's default logger (`logLevel: LOG_LEVEL_DEBUG`).

Record shape, from the client's own code: src/logger.js `createDefaultLogger` prints
`[DEBUG][2026-12-04T01:34:09.797Z][1][alice@example.com][imap.example.com] message`: level, ISO time (UTC), a session
counter (one per client object: the stream key), the username and the host it was created with. src/imap.js logs
`S: <response>` (`_onData` path) and `C: <request>` (`_sendRequest`), both through the handler's `compiler(..., isLogging)`,
which prints a sensitive argument (the SASL initial response, the LOGIN password) as `"(* value hidden *)"` and a long
string as `"(* 29B string *)"`; src/client.js logs `Connecting to <host> : <port>`, `Logging in...` and
`Could not connect to server <error>` (after `Closing connection...`: the error still belongs to the session).
"""

from __future__ import annotations

import re

from mailscope.events import Direction
from mailscope.logs import common
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.formats.base import channel_for
from mailscope.logs.model import ItemKind, LogItem
from mailscope.patterns import lazy
from mailscope.protocols import imap

_RECORD = lazy(
    r"^\[(?P<level>DEBUG|INFO|WARN|ERROR)\]\[(?P<ts>\d{4}-\d\d-\d\dT[\d:.]+Z)\]\[(?P<session>\d+)\]\[(?P<user>[^\]]*)\]"
    r"\[(?P<host>[^\]]*)\] (?P<msg>.*)$"
)
_CONNECTING = lazy(r"^Connecting to (?P<host>\S+) : (?P<port>\d+)$")
_WIRE = lazy(r"^(?P<side>[SC]): (?P<text>.*)$")
_SHORTENED = lazy(r'"\(\* (?P<bytes>\d+)B string \*\)"')


class Parser(_Base):
    name = "emailjs"
    client_software = "emailjs-imap-client"
    markers = (b"][",)
    signature = re.compile(r"^\[(?:DEBUG|INFO|WARN|ERROR)\]\[\d{4}-\d\d-\d\dT[\d:.]+Z\]\[\d+\]\[[^\]]*\]\[[^\]]*\] ")

    def feed(self, lineno: int, text: str) -> list[LogItem]:
        record = _RECORD().match(text.rstrip("\r\n"))
        if record is None:
            return []  # the application's own output around the client's records
        stream, msg, user = record.group("session"), record.group("msg"), record.group("user")
        where = {"wall_time": record.group("ts"), "lineno": lineno}
        self._last_stream = stream
        if match := _CONNECTING().match(msg):
            protocol, security = channel_for(match.group("port"))
            facts = {"host": match.group("host"), "port": match.group("port"), "protocol": "imap", "user": user,
                     "security": security if protocol == "imap" and security == "tls" else ""}  # fmt: skip
            return [self.connect(stream, text=msg, **where, **{k: v for k, v in facts.items() if v})]
        if match := _WIRE().match(msg):
            direction = Direction.SERVER if match.group("side") == "S" else Direction.CLIENT
            text = match.group("text")
            annotations: tuple[str, ...] = ()
            if direction is Direction.CLIENT and user and _is_login(text):
                text, annotations = _login_user(text, user)
            item = self.wire(text, stream=stream, direction=direction, annotations=annotations, **where)
            return [item] if item else []
        if record.group("level") == "ERROR" or msg.startswith("Could not connect"):
            return common.evidence_items(msg, stream=stream, **where) or [
                LogItem(ItemKind.EXCEPTION, f"emailjs-imap-client: {common.cut(msg, 300)}", stream=stream, **where)
            ]
        return common.evidence_items(msg, stream=stream, **where)


def _is_login(text: str) -> bool:
    command = imap.parse_command(text)
    return command is not None and command.name == "LOGIN"


def _login_user(text: str, user: str) -> tuple[str, tuple[str, ...]]:
    """The LOGIN user the logger shortened to `"(* 29B string *)"`: the logger prefix's username when its length matches."""
    shortened = _SHORTENED().search(text)
    if shortened is None or int(shortened.group("bytes")) != len(user.encode()):
        return text, ()
    note = "LOGIN user shortened in the client's log, restored from its logger prefix (same length)"
    return text[: shortened.start()] + f'"{user}"' + text[shortened.end() :], (note,)
