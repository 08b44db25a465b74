"""Export the session as the engine's redacted report (Markdown and JSON, mailscope/report.py's schema)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from mailscope.record import SessionRecord


def write_report(record: SessionRecord, directory: Path, stem: str, generated_at: datetime | None = None) -> list[Path]:
    from mailscope.report import report_json, report_markdown

    directory.mkdir(parents=True, exist_ok=True)
    md, js = directory / f"{stem}.md", directory / f"{stem}.json"
    md.write_text(report_markdown(record, generated_at=generated_at), encoding="utf-8")
    js.write_text(report_json(record, generated_at=generated_at), encoding="utf-8")
    return [md, js]
