"""Fast startup: opening the console imports neither the heavy sign-in libraries nor the lab or the probe;
they load inside the session that needs them (figures: benchmarks/first_paint.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"msal", "google", "aioimaplib", "requests", "jwt", "cryptography", "mailscope.lab", "mailscope.probe", "mailscope.redact"}


def test_opening_the_console_imports_no_heavy_module():
    script = (
        "import sys, tui.cli, tui.console, tui.app\n"
        f"heavy = {sorted(HEAVY)!r}\n"
        "print(sorted(m for m in sys.modules if any(m == h or m.startswith(h + '.') for h in heavy)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
