"""The real console in a tmux pane, replaying a hostile log through its `--log` option. tmux is set up to obey what
an attacker would send (`set-clipboard on`: OSC 52 writes the tmux buffer; pane titles follow OSC 0/2), with a known
pane title and buffer first: after the replay, the token pane and the diagnosis are shown and a fix is copied (`y`),
the title must be the same, the buffer must hold no control sequence nor the attacker's command, and the screen
must still show the console (not cleared)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from .oracle import MAILSCOPE, RAW_CONTROL, Run
from .payloads import OSC52_PAYLOAD

TITLE = "attack-pane-title"
BUFFER = "attack-buffer-before"


class Tmux:
    def __init__(self) -> None:
        tmux = shutil.which("tmux")
        assert tmux, "tmux is not installed (tests/run.sh installs it)"
        self.base = [tmux, "-L", f"ms-attack-{uuid.uuid4().hex[:8]}", "-f", "/dev/null"]

    def __call__(self, *args: str, check: bool = True) -> str:
        return subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=10, check=check).stdout

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self("capture-pane", "-t", "attack", "-p")
            if text in screen or time.monotonic() > deadline:
                return screen
            time.sleep(0.2)


def replay_in_tmux(log: Path, tmp: Path, *, timeout: float) -> Run:
    tmux = Tmux()
    command = f"{MAILSCOPE} --log {log}"
    run = Run([str(MAILSCOPE), "--log", str(log)])
    start = time.monotonic()
    env = ["-e", "TERM=xterm-256color", "-e", "LANG=C.UTF-8", "-e", f"HOME={tmp}", "-e", f"PATH={os.environ.get('PATH', '')}"]
    try:
        tmux("new-session", "-d", "-s", "attack", "-x", "140", "-y", "40", *env, f"cd {tmp} && {command}; sleep 60")
        tmux("set-option", "-g", "set-clipboard", "on")
        tmux("set-option", "-g", "allow-rename", "on")
        tmux("select-pane", "-t", "attack", "-T", TITLE)
        tmux("set-buffer", BUFFER)
        if "press r" not in tmux.wait_for("press r", 30):
            run.failures.append("the console did not start")
        tmux("send-keys", "-t", "attack", "r")
        if "finding(s)" not in tmux.wait_for("finding(s)", 30):
            run.failures.append("the replay showed no diagnosis")
        tmux("send-keys", "-t", "attack", "t")  # the token pane: every claim shown
        time.sleep(1.0)
        token_screen = tmux("capture-pane", "-t", "attack", "-p", "-e")
        tmux("send-keys", "-t", "attack", "Escape")
        time.sleep(0.5)
        tmux("send-keys", "-t", "attack", "f")
        tmux("send-keys", "-t", "attack", "y")  # copy the top finding's fix: it may quote claim text
        time.sleep(1.0)
        screen = tmux("capture-pane", "-t", "attack", "-p")
        run.max_rss_mb = _peak_rss_mb(int(tmux("display-message", "-p", "-t", "attack", "#{pane_pid}").strip() or 0))
        title = tmux("display-message", "-p", "-t", "attack", "#{pane_title}").strip()
        buffers = tmux("list-buffers", "-F", "#{buffer_name}", check=False).split()
        contents = [tmux("show-buffer", "-b", name, check=False) for name in buffers]
        run.extra_outputs = {"screen": screen, "token pane": _plain(token_screen), "pane title": title}
        if title != TITLE:
            run.failures.append(f"the pane title changed to {title!r}")
        for content in contents:
            if RAW_CONTROL.search(content) or "\x1b" in content:
                run.failures.append(f"a tmux buffer holds a control sequence: {content[:80]!r}")
            if OSC52_PAYLOAD in content:
                run.failures.append("the attacker's command reached the tmux buffer (clipboard)")
        if not screen.strip() or "Diagnosis" not in screen and "Transcript" not in screen:
            run.failures.append("the screen no longer shows the console (cleared?)")
    finally:
        tmux("kill-server", check=False)
        run.seconds = time.monotonic() - start
        run.returncode = 0
    return run


def _peak_rss_mb(pane_pid: int) -> float:
    """The largest VmHWM among the pane shell's descendants (the console's Python process)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    peak, todo = 0, list(children.get(pane_pid, []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if "VmHWM:" in status:
            peak = max(peak, int(status.split("VmHWM:", 1)[1].split()[0]))
    return peak / 1024


def _plain(screen: str) -> str:
    """capture-pane -e output without tmux's own SGR colour codes (the oracle looks for anything else)."""
    import re

    return re.sub(r"\x1b\[[0-9;:]*m", "", screen)
