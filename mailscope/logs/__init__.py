"""Log import: find the mail sessions in a client's debug log and rebuild them as the events a live session
produces, so the same redaction and diagnosis apply.

    from mailscope.logs import LogScan, replay
    scan = LogScan(open(path, "rb"))            # or LogScan(list_of_lines) / scan(lines) for pasted text
    for session in scan.sessions():             # ImportedSession, streamed: memory stays bounded
        record = SessionRecord(diagnoser=...)
        outcome = replay(session, record)       # lines via record.add_line (redacted), evidence, finish()
    scan.format, scan.notes                     # detected format; over-long lines, binary data, ...

Parsers are sans-IO, one module per format under `mailscope.logs.formats`.
"""

from __future__ import annotations

from mailscope.logs.detect import FORMATS, detect_format
from mailscope.logs.model import ImportedSession, ItemKind, LogItem
from mailscope.logs.replay import replay
from mailscope.logs.scan import LogScan, scan
from mailscope.logs.summary import LogSummary, SessionRow

__all__ = ["FORMATS", "ImportedSession", "ItemKind", "LogItem", "LogScan", "LogSummary", "SessionRow", "detect_format", "replay", "scan"]
