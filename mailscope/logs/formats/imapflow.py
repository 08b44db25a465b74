"""Node.js IMAP clients. imapflow logs pino JSON lines: `{"src":"s","msg":"* OK ...","cid":"..."}` for wire lines
(`src` `s` server, `c` client), plus connection records carrying host/port/secure. node-imap's `debug` callback
prints `[connection] Connected to host`, `<= '* OK ...'` and `=> 'A1 LOGIN ...'`."""

from __future__ import annotations

import datetime as dt
import json
import re

from mailscope.events import Direction
from mailscope.logs import common
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.model import ItemKind, LogItem
from mailscope.patterns import lazy

_NODE_IMAP = lazy(r"^(?P<arrow><=|=>) (?P<quoted>'.*'|\".*\")\s*$")


def _js_unquote(text: str) -> str:
    body = text[1:-1]
    return body.replace("\\r", "\r").replace("\\n", "\n").replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")


class Parser(_Base):
    name = "imapflow"
    client_software = "imapflow"
    markers = (b'"src"', b'"cid"', b'"msg"', b"<= ", b"=> ", b"[connection]", b"AADSTS", b"xception")
    signature = re.compile(r'^\{.*"(?:src|cid)"\s*:|^\[connection\] |^(?:<=|=>) [\'"]')

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        if rest.startswith("{"):
            return self._json(lineno, wall_time, rest)
        if rest.startswith("[connection] Connected to host"):
            return [self.connect("", wall_time=wall_time, lineno=lineno, text=rest, client_software="node-imap", protocol="imap")]
        match = _NODE_IMAP().match(rest)
        if match:
            direction = Direction.SERVER if match.group("arrow") == "<=" else Direction.CLIENT
            return self.payload_lines(_js_unquote(match.group("quoted")), direction, stream="", wall_time=wall_time, lineno=lineno)
        return common.evidence_items(rest, stream="", wall_time=wall_time, lineno=lineno)

    def _json(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        try:
            record = json.loads(rest)
        except (ValueError, RecursionError):
            return []
        if not isinstance(record, dict):
            return []
        stream = str(record.get("cid", ""))
        msg = record.get("msg")
        msg = msg if isinstance(msg, str) else ""
        when = record.get("time")
        if isinstance(when, int | float) and when > 1e11:
            wall_time = dt.datetime.fromtimestamp(when / 1000, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        elif isinstance(when, str):
            wall_time = when
        src = record.get("src")
        if src in ("s", "c"):
            direction = Direction.SERVER if src == "s" else Direction.CLIENT
            return self.payload_lines(msg, direction, stream=stream, wall_time=wall_time, lineno=lineno)
        host, port = record.get("host"), record.get("port")
        if host and ("connection" in msg.lower() or "connect" in msg.lower()):
            facts = {"host": str(host), "protocol": "imap"}
            if port:
                facts["port"] = str(port)
            if "secure" in record:
                facts["security"] = "tls" if record.get("secure") else "plain"
            return [self.connect(stream, wall_time=wall_time, lineno=lineno, text=msg, **facts)]
        err = record.get("err")
        text = msg + (" " + json.dumps(err) if err else "")
        items = common.evidence_items(text, stream=stream, wall_time=wall_time, lineno=lineno)
        if not items and msg.lower().startswith(("authentication failed", "failed to authenticate")):
            summary = f"imapflow: {common.cut(text, 300)}"  # never cut inside a word: a token's half escapes redaction
            items.append(LogItem(ItemKind.EXCEPTION, summary, stream=stream, wall_time=wall_time, lineno=lineno))
        if not items and msg.lower().startswith("connection closed"):
            items.append(LogItem(ItemKind.CLOSE, msg, stream=stream, wall_time=wall_time, lineno=lineno))
        return items
