"""The console's report export: 0600 like an audit's records (a report names mailboxes), never written through a
symlink left under its name, never blocked by a FIFO there."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mailscope.record import SessionRecord
from tui.export import write_report


def test_reports_are_private_files(tmp_path: Path) -> None:
    md, js = write_report(SessionRecord(), tmp_path / "reports", "r")
    assert md.read_text().startswith("#") and '"schema"' in js.read_text()
    assert {path.stat().st_mode & 0o777 for path in (md, js)} == {0o600}


def test_a_symlink_or_a_fifo_under_the_report_name_is_refused_at_once(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (tmp_path / "linked.md").symlink_to(victim)
    os.mkfifo(tmp_path / "piped.md")
    start = time.monotonic()
    for stem in ("linked", "piped"):
        with pytest.raises(OSError):
            write_report(SessionRecord(), tmp_path, stem)
    assert time.monotonic() - start < 1 and victim.read_text() == "keep me"
