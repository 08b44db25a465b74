"""Export the session as the engine's redacted report (Markdown and JSON, mailscope/report.py's schema).
In presenter mode the export follows the screen: identifiers are masked in both files."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from mailscope.record import SessionRecord

PRESENTER_NOTE = "> Exported in presenter mode: user names, tenant domains and ids are masked.\n\n"


def write_report(record: SessionRecord, directory: Path, stem: str, generated_at: datetime | None = None,
                 *, mask: Callable[[str], str] | None = None) -> list[Path]:
    """Write `<stem>.md` for a ticket and `<stem>.json`, the case file (`mailscope --open` / `logs` / `diff` reopen it), both
    0600; returns their absolute paths. `mask` (presenter mode) swaps identifiers for `<user:1a2b>`-style tags in the
    Markdown and in every string of the JSON (not in its escaped text)."""
    from mailscope.localfile import write_private
    from mailscope.report import report_json, report_markdown

    directory = directory.expanduser().absolute()
    directory.mkdir(parents=True, exist_ok=True)
    markdown = report_markdown(record, generated_at=generated_at)
    js = report_json(record, generated_at=generated_at)  # the case file's format
    if mask is not None:
        markdown, js = PRESENTER_NOTE + mask(markdown), json.dumps(_masked(json.loads(js), mask), indent=2, ensure_ascii=False)
    md_path, js_path = directory / f"{stem}.md", directory / f"{stem}.json"
    write_private(str(md_path), markdown)
    write_private(str(js_path), js)
    return [md_path, js_path]


def _masked(value: Any, mask: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {key: _masked(item, mask) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, mask) for item in value]
    return value
