"""`mailscope lab list [--json]`, `mailscope lab serve [SCENARIO]` (a real process, stopped with Ctrl-C, SIGTERM or SIGHUP) and
`mailscope lab token SCENARIO`."""

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
from pathlib import Path

import pytest

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


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_command_line(*argv: str) -> list[str]:
    return [sys.executable, "-c", SERVE, "lab", *argv]


def test_serve_with_fixed_ports_then_a_third_party_client_signs_in_with_lab_token() -> None:
    """`lab serve --idp-port --port exchange=...`, then `lab token` as a separate command, then Python's imaplib (not
    mailscope) signs in with SASL XOAUTH2 using that token: the lab is usable by any client."""
    import imaplib
    import ssl

    idp_port, imap_port = free_port(), free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(lab_command_line("serve", "ms-healthy", "--idp-port", str(idp_port), "--port", f"exchange={imap_port}"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines: list[str] = []
        while not lines or "Ctrl-C stops the lab." not in lines[-1]:
            lines.append(process.stdout.readline())  # type: ignore[union-attr]
            assert lines[-1], "lab serve ended early"
        text = "".join(lines)
        assert f"imap 127.0.0.1:{imap_port}" in text and f"https://127.0.0.1:{idp_port}/contoso.onmicrosoft.com/oauth2/v2.0/token" in text
        assert "mailscope lab token ms-healthy" in text and "Microsoft client id " in text
        ca_file = next(word for word in text.split() if word.endswith("ca.pem"))
        token = subprocess.run(lab_command_line("token", "ms-healthy"), capture_output=True, text=True, timeout=30, env=env)
        assert token.returncode == 0, token.stderr
        assert "LAB SECRET on stdout" in token.stderr and "The running lab accepts it" in token.stderr
        access_token = token.stdout.strip()
        assert access_token.count(".") == 2 and access_token not in token.stderr
        client = imaplib.IMAP4_SSL("127.0.0.1", imap_port, ssl_context=ssl.create_default_context(cafile=ca_file), timeout=10)
        typ, _ = client.authenticate("XOAUTH2", lambda _: f"user=alice@contoso.onmicrosoft.com\1auth=Bearer {access_token}\1\1".encode())
        assert typ == "OK"
        assert client.select("INBOX", readonly=True)[0] == "OK"
        client.logout()
        stop_serve(process)  # as a trainer would (Ctrl-C): the lab removes its directory and secrets
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_lab_token_without_a_running_lab_still_prints_the_scenarios_credential() -> None:
    token = subprocess.run(lab_command_line("token", "google-app-password-required"), capture_output=True, text=True, timeout=30)
    assert token.returncode == 0 and len(token.stdout.strip()) == 16  # the app password the client sends
    assert "no `mailscope lab serve google-app-password-required` is running" in token.stderr
    assert "the password its client sends" in token.stderr and token.stdout.strip() not in token.stderr


def test_lab_token_ignores_the_directory_of_a_killed_lab_even_when_its_pid_is_alive_again(tmp_path: Path) -> None:
    """A lab killed with SIGKILL leaves its directory; its pid may since name another live process (here this test's
    own). `lab token` must not take it for a running lab: only a pid file its `lab serve` holds locked counts."""
    stale = tmp_path / "mailscope-lab-google-app-password-required-k1lled_0"
    stale.mkdir(mode=0o700)
    (stale / "serve.toml").write_text('[profiles.left-behind]\nhost = "127.0.0.1"\n', encoding="utf-8")
    (stale / "serve.pid").write_text(f"{os.getpid()}\n", encoding="ascii")
    token = subprocess.run(lab_command_line("token", "google-app-password-required"), capture_output=True, text=True, timeout=30,
                           env={**os.environ, "TMPDIR": str(tmp_path)})
    assert token.returncode == 0 and len(token.stdout.strip()) == 16
    assert "no `mailscope lab serve google-app-password-required` is running" in token.stderr


def test_a_serving_lab_holds_its_pid_file_locked_until_it_stops() -> None:
    process, text = start_serve("google-healthy")
    try:
        directory = Path(next(word for word in text.split() if word.endswith("ca.pem"))).parents[1]
        assert lab_command.running_lab("google-healthy") == directory
        assert (directory / "serve.pid").read_text(encoding="ascii").strip() == str(process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert lab_command.running_lab("google-healthy") != directory


def test_lab_token_for_a_token_stage_failure_says_why_on_stderr_only() -> None:
    token = subprocess.run(lab_command_line("token", "ms-consent-missing"), capture_output=True, text=True, timeout=30)
    assert token.returncode == 1 and token.stdout == ""
    assert "the scenario's client gets no token" in token.stderr and "AADSTS65001" in token.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_serve_removes_its_secrets_directory_on_every_stop_signal(signum: int) -> None:
    process, text = start_serve("google-healthy")
    try:
        directory = Path(next(word for word in text.split() if word.endswith("ca.pem"))).parents[1]
        assert (directory / "serve.toml").is_file() and (directory / "google-client-secret").is_file()
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
        assert "lab stopped" in process.stderr.read()  # type: ignore[union-attr]
        assert not directory.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_port_options_are_checked() -> None:
    assert lab_command.requested_ports(("exchange", "gmail"), [("", 1), ("exchange", 2)]) == {"exchange": 2, "gmail": 1}
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code, _ = run_lab("serve", "ms-healthy", "--port", "gmail=1993")
    assert code == 2 and "the scenario has no server 'gmail'; its servers: exchange" in err.getvalue()
    with contextlib.redirect_stderr(err):
        code, _ = run_lab("serve", "ms-healthy", "--port", "1", "--port", "2")
    assert code == 2 and "2 bare --port values for 1 server(s)" in err.getvalue()
