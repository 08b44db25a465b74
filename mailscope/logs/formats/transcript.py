"""A plain transcript: `C: ...` / `S: ...` lines (also `client:` / `server:`), as people paste into issues and as
RFCs print examples. An optional timestamp may precede the marker, bare or in brackets."""

from __future__ import annotations

import re

from mailscope.events import Direction
from mailscope.logs import common
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.model import LogItem
from mailscope.patterns import lazy

_LINE = lazy(r"^(?:\[(?P<bracket>[^\]]*)\]\s*)?(?P<side>C|S|client|server)(?::\s?|\s?>\s|\s?<\s)(?P<text>.*)$", re.IGNORECASE)


class Parser(_Base):
    name = "transcript"
    markers = (b"C:", b"S:", b"client:", b"server:", b"AADSTS", b"xception", b"Connected to")
    signature = re.compile(r"^\s*(?:\S+\s+)?(?:C|S): ")

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        match = _LINE().match(rest)
        if not match:
            return common.evidence_items(rest, stream="", wall_time=wall_time, lineno=lineno)
        direction = Direction.CLIENT if match.group("side")[0].lower() == "c" else Direction.SERVER
        wall_time = wall_time or common.whole_timestamp(match.group("bracket") or "")
        item = self.wire(match.group("text"), stream="", wall_time=wall_time, lineno=lineno, direction=direction)
        return [item] if item else []
