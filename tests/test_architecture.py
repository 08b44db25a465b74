"""The dependency rule, enforced (as harlequin does): the engine never imports the UI, providers never
import the UI, and importing the whole engine pulls in neither Textual nor Rich."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UI_PACKAGES = {"textual", "rich", "widgets", "tui"}


def _imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _offenders(package: str, forbidden: set[str]) -> dict[str, set[str]]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imported_top_levels(path) & forbidden
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_engine_imports_no_ui_and_no_providers() -> None:
    assert _offenders("mailscope", UI_PACKAGES | {"providers"}) == {}


def test_providers_import_no_ui() -> None:
    assert _offenders("providers", UI_PACKAGES) == {}


def test_widgets_do_not_import_the_app() -> None:
    assert _offenders("widgets", {"tui"}) == {}


def test_importing_every_engine_and_provider_module_loads_no_textual() -> None:
    modules = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for package in ("mailscope", "providers")
        for path in sorted((ROOT / package).rglob("*.py"))
    ]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'textual', 'rich'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _importers(package: str, forbidden: tuple[str, ...]) -> dict[str, set[str]]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = {name for name in _imported_modules(path) if name.split(".")[0] in forbidden or name.startswith(forbidden)}
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_the_protocol_layer_does_no_io() -> None:
    """mailscope.protocols is sans-IO: no event loop, no client library, no session record."""
    assert _importers("mailscope/protocols", ("asyncio", "aioimaplib", "aiosmtplib", "socket", "ssl", "mailscope.record")) == {}


def test_probe_and_log_import_never_import_each_other() -> None:
    """Both feed mailscope.protocols; neither knows the other."""
    assert _importers("mailscope/probe", ("mailscope.logs",)) == {}
    assert _importers("mailscope/logs", ("mailscope.probe",)) == {}
