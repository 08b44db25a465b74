"""`mailscope lab list [--json]` and `mailscope lab serve [SCENARIO]` (a real process, stopped with Ctrl-C)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time

from mailscope.lab.scenarios import SCENARIOS
from tui.commands import lab as lab_command

# The lab subcommand as the CLI dispatches it (tui.cli builds the same parser from add_parser/run).
SERVE = ("import sys, argparse; from tui.commands import lab; p = argparse.ArgumentParser(); "
         "lab.add_parser(p.add_subparsers(dest='command')); sys.exit(lab.run(p.parse_args(sys.argv[1:])))")


def run_lab(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="mailscope")
    lab_command.add_parser(parser.add_subparsers(dest="command"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = lab_command.run(parser.parse_args(["lab", *argv]))
    return code, out.getvalue()


def test_list_plain_and_json() -> None:
    code, text = run_lab("list")
    assert code == 0
    for s in SCENARIOS:
        assert s.id in text
    code, text = run_lab("list", "--json")
    listed = json.loads(text)
    assert code == 0 and [entry["id"] for entry in listed] == [s.id for s in SCENARIOS]
    seed = next(entry for entry in listed if entry["id"] == "ms-seed-plain")
    assert seed["failure_ids"] == ["basic_auth_mechanism_used_when_disabled"]
    assert seed["expected_finding"] == "basic_auth_mechanism_used_when_disabled" and seed["teaching"]


def start_serve(scenario_id: str) -> tuple[subprocess.Popen[str], str]:
    """`lab serve` in its own process; returns it with everything printed up to 'Ctrl-C stops the lab.'."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-c", SERVE, "lab", "serve", scenario_id], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=os.getcwd())
    lines: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            break
        lines.append(line)
        if "Ctrl-C stops the lab." in line:
            break
    return process, "".join(lines)


def stop_serve(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    assert process.wait(timeout=10) == 0
    assert time.monotonic() - started < 5
    return process.stderr.read()  # type: ignore[union-attr]


def test_serve_prints_endpoints_and_stops_on_ctrl_c() -> None:
    process, text = start_serve("ms-wrong-user")
    try:
        assert "lab scenario ms-wrong-user" in text
        assert "imap 127.0.0.1:" in text and "CA certificate" in text and "identity provider" in text
        assert "mailscope check --host 127.0.0.1 --port " in text and "--flow device_code" in text
        assert "--user bob@contoso.onmicrosoft.com" in text
        assert "Traceback" not in stop_serve(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_printed_check_line_reproduces_the_scenario() -> None:
    """The line `lab serve` prints, run as a user would (the real `mailscope` console script), gives the scenario's result."""
    process, text = start_serve("ms-seed-plain")
    try:
        line = next(row.strip() for row in text.splitlines() if "mailscope check " in row)
        result = subprocess.run(["bash", "-c", f"{line} --json"], capture_output=True, text=True, timeout=30)
        report = json.loads(result.stdout)
        assert result.returncode == 1
        assert report["outcome"]["kind"] == "authentication_failed"
        assert report["findings"][0]["id"] == "basic_auth_mechanism_used_when_disabled"
        log = stop_serve(process)
        assert "AUTHENTICATE PLAIN user=alice@contoso.onmicrosoft.com -> NO (basic authentication is disabled)" in log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_unknown_scenario_is_a_usage_error() -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code, _ = run_lab("serve", "no-such-scenario")
    assert code == 2 and "no-such-scenario" in err.getvalue()


def test_check_command_line_names_secrets_without_showing_them() -> None:
    import asyncio

    from mailscope.lab.session import LabSession

    async def line() -> tuple[str, str]:
        async with LabSession("ms-app-missing-role") as lab:
            secret = lab.world.secrets["daemon_secret"]  # type: ignore[union-attr]
            return lab_command.check_command_line(lab.settings), secret

    text, secret = asyncio.run(line())
    assert secret not in text
    assert 'LAB_CLIENT_SECRET="$(cat ' in text and "--client-secret-env LAB_CLIENT_SECRET" in text
    assert "--flow client_credentials" in text and "--scope https://outlook.office365.com/.default" in text
