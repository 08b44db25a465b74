"""Scenarios written only in TOML (trainer_scenarios/, no code for them anywhere) through everything a built-in goes
through, with the real `mailscope` console script: `lab validate`, `lab list --dir`, `check --lab --lab-dir` end to end,
`lab serve --lab-dir` with real clients connecting (Python's imaplib, and the check line it prints), and `train`."""

from __future__ import annotations

import imaplib
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mailscope.lab.scenarios import BUILTIN_DIR, load_dir

DIR = Path(__file__).resolve().parent / "trainer_scenarios"
MAILSCOPE = str(Path(sys.executable).with_name("mailscope"))
SECRET_SHAPES = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}|ya29\.[\w-]{8,}|1//0[\w-]{8,}|GOCSPX-[\w-]{8,}|lab~[\w-]{8,}|Pw-[\w-]{8,}")
TRAINER_SCENARIOS = load_dir(DIR)


def mailscope(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MAILSCOPE, *argv], capture_output=True, text=True, timeout=timeout)


def test_they_are_trainer_files_not_built_ins() -> None:
    assert {s.id for s in TRAINER_SCENARIOS} == {"ms-imap-disabled", "ms-ca-blocked", "ms-imap-login-command", "google-app-password-works"}
    result = mailscope("lab", "validate", str(DIR))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": valid scenario ") == 4 and ": valid course " in result.stdout


def test_the_built_ins_pass_lab_validate() -> None:
    result = mailscope("lab", "validate", str(BUILTIN_DIR))
    assert result.returncode == 0 and result.stdout.count(": valid scenario ") == 42, result.stdout


def test_listed_after_the_built_ins() -> None:
    listed = json.loads(mailscope("lab", "list", "--dir", str(DIR), "--json").stdout)
    assert [entry["id"] for entry in listed[-4:]] == [s.id for s in TRAINER_SCENARIOS]
    assert len(listed) == 46
    bare = mailscope("lab", "list")
    assert "ms-imap-disabled" not in bare.stdout


@pytest.mark.parametrize("scenario", TRAINER_SCENARIOS, ids=[s.id for s in TRAINER_SCENARIOS])
def test_check_lab_end_to_end(scenario) -> None:
    result = mailscope("check", "--lab", scenario.id, "--lab-dir", str(DIR), "--json")
    report = json.loads(result.stdout)
    assert report["outcome"]["kind"] == str(scenario.expected_outcome)
    assert result.returncode == (0 if scenario.expected_finding is None else 1)
    top = report["findings"][0]["id"]
    assert top == (scenario.expected_finding or "session_healthy")
    server_lines = [line["text"] for line in report["transcript"] if line["direction"] == "server"]
    for expected in scenario.wire:
        assert any(expected in text for text in server_lines), expected
    assert not SECRET_SHAPES.findall(result.stdout + result.stderr)


def test_check_lab_takes_a_file_path_and_reports_a_bad_one(tmp_path: Path) -> None:
    result = mailscope("check", "--lab", str(DIR / "imap-login.toml"))
    assert result.returncode == 1 and "NO LOGIN failed." in result.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text((DIR / "imap-login.toml").read_text().replace('mechanism = "login"', 'mechanism = "loginn"'))
    result = mailscope("check", "--lab", str(bad))
    assert result.returncode == 2
    assert f"{bad}:13: client.mechanism: 'loginn' is not one of" in result.stderr and "Traceback" not in result.stderr
    assert mailscope("check", "--lab-dir", str(DIR)).returncode == 2


class Served:
    """`mailscope lab serve --lab-dir DIR ID` in its own process, up to 'Ctrl-C stops the lab.'."""

    def __init__(self, scenario_id: str) -> None:
        self.process = subprocess.Popen(
            [MAILSCOPE, "lab", "serve", "--lab-dir", str(DIR), scenario_id],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        lines: list[str] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line)
            if "Ctrl-C stops the lab." in line:
                break
        self.text = "".join(lines)

    def value(self, pattern: str) -> str:
        found = re.search(pattern, self.text)
        assert found, f"{pattern!r} not in:\n{self.text}"
        return found.group(1)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        assert self.process.wait(timeout=10) == 0
        return self.process.stderr.read()  # type: ignore[union-attr]


def imap_client(served: Served, server_key: str) -> imaplib.IMAP4_SSL:
    port = int(served.value(rf"{server_key}\s+imap 127\.0\.0\.1:(\d+)"))
    context = ssl.create_default_context(cafile=served.value(r"CA certificate\s+(\S+)"))
    return imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context, timeout=10)


def test_serve_a_toml_scenario_to_imaplib_and_to_its_check_line() -> None:
    served = Served("ms-imap-login-command")
    try:
        assert "lab scenario ms-imap-login-command: Exchange Online: IMAP LOGIN with the account password" in served.text
        password = Path(served.value(r'LAB_PASSWORD="\$\(cat (\S+)\)"')).read_text().strip()
        client = imap_client(served, "exchange")
        assert client.welcome.startswith(b"* OK The Microsoft Exchange IMAP4 service is ready.")
        with pytest.raises(imaplib.IMAP4.error, match="LOGIN failed"):
            client.login("alice@contoso.onmicrosoft.com", password)
        client.shutdown()
        line = next(row.strip() for row in served.text.splitlines() if "mailscope check " in row)
        result = subprocess.run(["bash", "-c", f"{line} --json"], capture_output=True, text=True, timeout=30)
        assert json.loads(result.stdout)["findings"][0]["id"] == "basic_auth_mechanism_used_when_disabled"
        log = served.stop()
        assert "LOGIN user=alice@contoso.onmicrosoft.com -> NO" in log and password not in log
    finally:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait()


def test_serve_the_app_password_scenario_signs_imaplib_in() -> None:
    served = Served("google-app-password-works")
    try:
        password = Path(served.value(r'LAB_PASSWORD="\$\(cat (\S+)\)"')).read_text().strip()
        client = imap_client(served, "gmail")
        assert client.login("alice@example-workspace.com", password)[0] == "OK"
        assert client.select("INBOX", readonly=True)[0] == "OK"
        client.logout()
        assert password not in served.stop()
    finally:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait()


def test_train_on_a_toml_scenario(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    right = mailscope(
        "train",
        "--scenario",
        "ms-imap-disabled",
        "--lab-dir",
        str(DIR),
        "--answer",
        "ms_imap_pop_disabled",
        "--owner",
        "tenant admin",
        "--fix",
        "ms_imap_pop_disabled",
        "--json",
        "--results",
        str(results),
    )
    assert right.returncode == 0, right.stderr
    assert json.loads(right.stdout)["score"] == 1
    wrong = mailscope(
        "train",
        "--scenario",
        str(DIR / "ca-blocked.toml"),
        "--answer",
        "ms_consent_or_permission_missing",
        "--json",
        "--results",
        str(results),
    )
    verdict = json.loads(wrong.stdout)
    assert wrong.returncode == 1 and verdict["score"] == 0 and verdict["right"]["cause"] == "ms_conditional_access_or_mfa"
    assert [json.loads(line)["scenario"] for line in results.read_text().splitlines()] == ["ms-imap-disabled", "ms-ca-blocked"]
