"""Log import: find the mail sessions in a client's debug log and rebuild them as the events a live session
produces, so the same redaction and diagnosis apply.

    from mailscope.logs import LogScan, replay
    with open(path, "rb") as stream:            # keep it open while iterating; pasted text: LogScan(text.splitlines())
        scan = LogScan(stream)                  # format="auto" (or a name from FORMATS), full_scan=None
        for session in scan.sessions():         # ImportedSession, streamed in the order sessions end: memory bounded
            session.label()                     # one safe line for a picker
            record = SessionRecord(diagnoser=make_diagnoser(provider_rules()))
            outcome = replay(session, record)   # same events as a live session: add_line (redacted), evidence, finish()
    scan.format, scan.notes                     # detected format; over-long lines, binary data, anchored read...

`LogSummary` folds many sessions into one finding per id with count/first_seen/last_seen (the CLI uses it).

Parsers are sans-IO, one module per format under `mailscope.logs.formats`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailscope.logs.detect import FORMATS, detect_format
    from mailscope.logs.model import ImportedSession, ItemKind, LogItem
    from mailscope.logs.replayer import replay
    from mailscope.logs.scanner import LogScan
    from mailscope.logs.summary import LogSummary, SessionRow

# Loaded on first use: `mailscope` builds its argument parser from every command module, and the format list
# must not drag the session record (asyncio) into `mailscope check`'s start-up.
_EXPORTS = {
    "FORMATS": "detect", "detect_format": "detect", "ImportedSession": "model", "ItemKind": "model", "LogItem": "model",
    "replay": "replayer", "LogScan": "scanner", "LogSummary": "summary", "SessionRow": "summary",
}  # fmt: skip
__all__ = [
    "FORMATS", "ImportedSession", "ItemKind", "LogItem", "LogScan", "LogSummary", "SessionRow", "detect_format", "replay",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mailscope.logs' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mailscope.logs.{module}"), name)
