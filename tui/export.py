"""Export the session as the engine's redacted report (Markdown and JSON, mailscope/report.py's schema)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from mailscope.record import SessionRecord


def write_report(record: SessionRecord, directory: Path, stem: str, generated_at: datetime | None = None) -> list[Path]:
    from mailscope.report import report_json, report_markdown

    directory.mkdir(parents=True, exist_ok=True)
    md, js = directory / f"{stem}.md", directory / f"{stem}.json"
    _write_private(md, report_markdown(record, generated_at=generated_at))
    _write_private(js, report_json(record, generated_at=generated_at))
    return [md, js]


def _write_private(path: Path, text: str) -> None:
    """0600, as an audit's records: a report names mailboxes and holds their (redacted) transcripts. Never through a
    symlink left under the report's name, and never blocking on a FIFO (mailscope.localfile refuses it)."""
    from mailscope.localfile import open_output

    fd = open_output(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
