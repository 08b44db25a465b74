"""`mailscope` (the console) checks its options before the UI starts, as the headless commands do: exit 2 and one
clear line, at once. `mailscope --help` lists the console's options next to the subcommands."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

MAILSCOPE = Path(sys.executable).with_name("mailscope")
SEED_LOG = Path(__file__).resolve().parents[1] / "mailscope" / "logs" / "samples" / "jira_seed.log"


def console(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(MAILSCOPE.parent), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return subprocess.run([str(MAILSCOPE), *args], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, env=env)


@pytest.mark.parametrize(("args", "message"), [
    (["--scenario", "nosuch"], "--scenario nosuch: no such lab scenario; `mailscope lab list` shows all"),
    (["--scenario", "ms-seed"], "did you mean"),
    (["--log", "/nonexistent/mail.log"], "--log /nonexistent/mail.log: no such file"),
    (["--log", "/tmp"], "--log /tmp: a directory, not a log file"),
    (["--log", "BINARY"], "no mail session found in it (this input is mostly binary data, not a text log)"),
    (["--log", str(SEED_LOG), "--log-session", "99"], "--log-session 99: jira_seed.log has 2 session(s) (1-2)"),
    (["--log-session", "2"], "--log-session needs --log FILE"),
    (["--refresh-hz", "0"], "argument --refresh-hz: 0 is out of range"),
    (["--refresh-hz", "fast"], "argument --refresh-hz: 'fast' is not a number"),
    (["--profile", "nosuch"], "--profile nosuch: no profile 'nosuch'"),
    (["--scenario", "ms-healthy", "--log", str(SEED_LOG)], "not allowed with argument"),
    (["--export-dir", "FILE"], "exists and is not a directory"),
])
def test_bad_options_exit_2_at_once_with_a_clear_line(args, message, tmp_path):
    binary = tmp_path / "core.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    afile = tmp_path / "afile"
    afile.write_text("x")
    args = [str(binary) if a == "BINARY" else str(afile) if a == "FILE" else a for a in args]
    started = time.monotonic()
    result = console(*args, tmp_path=tmp_path)
    assert result.returncode == 2, result
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "\x1b[" not in result.stderr + result.stdout  # no UI was drawn
    assert time.monotonic() - started < 15


def test_help_lists_the_console_options_and_the_subcommands(tmp_path):
    result = console("--help", tmp_path=tmp_path)
    assert result.returncode == 0
    for option in ("--scenario", "--profile", "--log", "--log-session", "--run", "--light", "--presenter", "--refresh-hz",
                   "--export-dir", "check", "lab", "logs"):
        assert option in result.stdout, option


def test_a_keymap_naming_an_unknown_binding_is_a_usage_error(tmp_path):
    keymap = tmp_path / "config" / "mailscope" / "keymap.toml"
    keymap.parent.mkdir(parents=True)
    keymap.write_text('run = "ctrl+r"\ntranscript_down = "n"\nrnu = "x"\n')
    result = console(tmp_path=tmp_path)
    assert result.returncode == 2 and "unknown binding id 'rnu'" in result.stderr and "transcript_down" in result.stderr


def test_the_keymap_loads_command_and_transcript_ids(tmp_path):
    from tui.keys import load_keymap

    keymap = tmp_path / "keymap.toml"
    keymap.write_text('run = "ctrl+r, f5"\ntranscript_down = "n"\n')
    assert load_keymap(keymap) == {"run": "ctrl+r,f5", "transcript_down": "n"}
