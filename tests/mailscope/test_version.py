"""The version a report names is `mailscope.__version__`, read without importlib.metadata: it must be the installed
package's version, which pyproject.toml takes from the same attribute."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from mailscope import __version__
from mailscope.record import SessionRecord
from mailscope.report import build_report
from mailscope.settings import CheckSettings

ROOT = Path(__file__).resolve().parents[2]


def test_the_report_names_the_installed_version() -> None:
    report = build_report(SessionRecord(CheckSettings(host="imap.example.test", port=993)))
    assert report["tool"] == {"name": "mailscope", "version": metadata.version("mailscope")}
    assert __version__ == metadata.version("mailscope")


def test_pyproject_takes_the_version_from_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mailscope.__version__"}
