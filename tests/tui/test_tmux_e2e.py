"""End to end in a real terminal: `mailscope` in a tmux pane, the seed lab scenario run with a keystroke,
the finding read back from `capture-pane` (textual.md §3). Fails, never skips, when tmux is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.tmux

MAILSCOPE = Path(sys.executable).with_name("mailscope")


class Pane:
    def __init__(self, command: str, tmp: Path, width: int = 120, height: int = 36) -> None:
        tmux = shutil.which("tmux")
        assert tmux, "tmux is not installed: the end-to-end test needs it (apt-get install tmux); tests/run.sh installs it"
        self.tmux = [tmux, "-L", f"ms-e2e-{uuid.uuid4().hex[:8]}", "-f", "/dev/null"]
        self.target = "e2e"
        env = ["-e", "TERM=xterm-256color", "-e", "COLORTERM=truecolor", "-e", "LANG=C.UTF-8", "-e", f"HOME={tmp}",
               "-e", f"PATH={os.environ.get('PATH', '')}"]
        self._run("new-session", "-d", "-s", self.target, "-x", str(width), "-y", str(height), *env,
                  f"cd {tmp} && {command}; echo EXIT=$?; sleep 30")

    def _run(self, *args: str) -> str:
        return subprocess.run([*self.tmux, *args], capture_output=True, text=True, timeout=10, check=True).stdout

    def screen(self) -> str:
        return self._run("capture-pane", "-t", self.target, "-p")

    def keys(self, *keys: str) -> None:
        self._run("send-keys", "-t", self.target, *keys)

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear within {timeout}s; the screen was:\n{screen}")
            time.sleep(0.1)

    def resize(self, width: int, height: int) -> None:
        self._run("resize-window", "-t", self.target, "-x", str(width), "-y", str(height))

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def pane(tmp_path):
    assert MAILSCOPE.exists(), f"{MAILSCOPE} missing: install the package (pip install -e .) so the console script exists"
    pane = Pane(str(MAILSCOPE), tmp_path)
    yield pane
    pane.close()


def test_seed_scenario_diagnosed_in_a_real_terminal(pane, tmp_path):
    pane.wait_for("press r to run", 30)
    assert "lab: ms-seed-plain" in pane.screen()
    pane.keys("r")
    pane.wait_for("basic_auth_mechanism_used_when_disabled", 60)
    screen = pane.wait_for("NO AUTHENTICATE failed.", 10)
    assert "AUTHENTICATE PLAIN" in screen
    pane.keys("e")  # explain mode, for trainers
    pane.wait_for("the client says goodbye", 10)
    pane.resize(80, 24)  # still readable on a small terminal
    deadline = time.monotonic() + 10
    while max(len(line) for line in pane.screen().splitlines()) > 80 and time.monotonic() < deadline:
        time.sleep(0.1)
    screen = pane.wait_for("basic_auth_mechanism_used_when_disabled", 10)
    assert max(len(line) for line in screen.splitlines()) <= 80 and "Diagnosis" in screen
    pane.keys("C-s")  # export the redacted report from the keyboard
    pane.wait_for("Wrote", 10)
    reports = sorted(tmp_path.glob("mailscope-report-*.json"))
    assert reports, "ctrl+s wrote no report"
    assert "basic_auth_mechanism_used_when_disabled" in reports[0].read_text()
    pane.keys("q")
    pane.wait_for("EXIT=0", 15)
