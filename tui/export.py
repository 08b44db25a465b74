"""Export the session as the engine's redacted report (Markdown and JSON, mailscope/report.py's schema).
In presenter mode the export follows the screen: identifiers are masked in both files."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from mailscope.record import SessionRecord

PRESENTER_NOTE = "> Exported in presenter mode: user names, tenant domains and ids are masked.\n\n"


def write_report(record: SessionRecord, directory: Path, stem: str, generated_at: datetime | None = None,
                 *, mask: Callable[[str], str] | None = None) -> list[Path]:
    """Write `<stem>.md` and `<stem>.json`; returns their absolute paths. `mask` (presenter mode) swaps identifiers
    for `<user:1a2b>`-style tags in the Markdown and in every string of the JSON (not in its escaped text)."""
    from mailscope.report import report_json, report_markdown

    directory = directory.expanduser().absolute()
    directory.mkdir(parents=True, exist_ok=True)
    markdown = report_markdown(record, generated_at=generated_at)
    js = report_json(record, generated_at=generated_at)
    if mask is not None:
        markdown, js = PRESENTER_NOTE + mask(markdown), json.dumps(_masked(json.loads(js), mask), indent=2, ensure_ascii=False)
    md_path, js_path = directory / f"{stem}.md", directory / f"{stem}.json"
    _write_private(md_path, markdown)
    _write_private(js_path, js)
    return [md_path, js_path]


def _write_private(path: Path, text: str) -> None:
    """0600, as an audit's records: a report names mailboxes and holds their (redacted) transcripts. Never through a
    symlink left under the report's name, and never blocking on a FIFO (mailscope.localfile refuses it)."""
    from mailscope.localfile import open_output

    fd = open_output(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _masked(value: Any, mask: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {key: _masked(item, mask) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, mask) for item in value]
    return value
