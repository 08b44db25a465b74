"""Export the session as the engine's redacted report (Markdown and JSON, mailscope/report.py's schema)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from mailscope.record import SessionRecord


def write_report(record: SessionRecord, directory: Path, stem: str, generated_at: datetime | None = None) -> list[Path]:
    """The Markdown for a ticket and the JSON case file (`mailscope logs FILE` / `mailscope diff` reopen it), both 0600."""
    from mailscope.casefile import save_case
    from mailscope.localfile import write_private
    from mailscope.report import report_markdown

    directory.mkdir(parents=True, exist_ok=True)
    md, js = directory / f"{stem}.md", directory / f"{stem}.json"
    write_private(str(md), report_markdown(record, generated_at=generated_at))
    save_case(record, str(js), generated_at=generated_at)
    return [md, js]
