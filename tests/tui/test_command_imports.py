"""Each headless command loads only what it uses: `check --help` no diagnosis, probe, UI or sign-in library; `logs`
reads its first byte before the diagnosis loads and never needs the event loop. Speed figures: benchmarks/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED_LOG = ROOT / "tests" / "mailscope" / "logs" / "samples" / "jira_seed.log"
UI_AND_SIGN_IN = ("textual", "widgets", "tui.app", "msal", "google", "requests", "jwt", "cryptography")
DIAGNOSIS = ("mailscope.diagnosis", "providers.rules_microsoft", "providers.rules_google", "providers.explain")

# Runs the command in-process, noting which modules were loaded when the log reader was first asked for a line.
SCRIPT = """
import contextlib, io, json, sys
import mailscope.logs.reader as reader
first = []
iterate = reader.LineReader.__iter__
def noting(self):
    first.append(sorted(sys.modules)) if not first else None
    return iterate(self)
reader.LineReader.__iter__ = noting
from tui.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps({"first_byte": first[0] if first else None, "end": sorted(sys.modules)}))
"""


def _loaded(*args: str) -> dict[str, list[str] | None]:
    result = subprocess.run([sys.executable, "-c", SCRIPT, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _among(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


def test_check_help_loads_no_diagnosis_probe_ui_or_sign_in_library() -> None:
    end = _loaded("check", "--help")["end"]
    assert end is not None
    assert _among(end, (*DIAGNOSIS, "mailscope.probe", "mailscope.lab", "aioimaplib", "aiosmtplib", *UI_AND_SIGN_IN)) == []
    assert _among(end, ("shutil", "lzma", "bz2")) == []  # argparse's way to the terminal width


def test_logs_reads_before_the_diagnosis_loads_and_never_loads_the_event_loop() -> None:
    loaded = _loaded("logs", str(SEED_LOG), "--json")
    first_byte, end = loaded["first_byte"], loaded["end"]
    assert first_byte is not None and end is not None
    assert _among(first_byte, (*DIAGNOSIS, "asyncio", *UI_AND_SIGN_IN)) == []
    assert _among(end, ("mailscope.diagnosis",)), "the log's sessions were diagnosed"
    assert _among(end, ("asyncio", "mailscope.probe", *UI_AND_SIGN_IN)) == []


def test_an_audit_without_a_profile_or_browser_loads_neither_toml_nor_webbrowser(tmp_path: Path) -> None:
    """A whole `mailscope audit` run (one mailbox, a static token, a port nobody listens on): its start-up pays for no
    profiles-file parser and no browser launcher, which only `--profile` and an interactive sign-in use."""
    sheet = tmp_path / "mailboxes.csv"
    sheet.write_text("user\na@example.net\n", encoding="utf-8")
    args = ("audit", str(sheet), "--host", "127.0.0.1", "--port", "1", "--token-env", "AUDIT_TEST_TOKEN", "--no-progress")
    script = SCRIPT.replace("import contextlib", "import os; os.environ['AUDIT_TEST_TOKEN'] = 'abc.def.ghi'\nimport contextlib")
    result = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    end = json.loads(result.stdout)["end"]
    assert _among(end, ("mailscope.diagnosis",)), "the mailbox was diagnosed"
    assert (tmp_path / "mailboxes.audit.jsonl").read_text(encoding="utf-8").count("\n") == 1
    assert _among(end, ("tomllib", "webbrowser")) == []
