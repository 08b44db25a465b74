"""Export the session as the engine's redacted report (Markdown and JSON)."""

from __future__ import annotations

from pathlib import Path

from mailscope.record import SessionRecord


def write_report(record: SessionRecord, directory: Path, stem: str) -> list[Path]:
    from mailscope import report

    directory.mkdir(parents=True, exist_ok=True)
    md, js = directory / f"{stem}.md", directory / f"{stem}.json"
    md.write_text(report.to_markdown(record), encoding="utf-8")
    js.write_text(report.to_json(record), encoding="utf-8")
    return [md, js]
