"""`mailscope check` as a user runs it (a subprocess) against the real Dovecot lab: exit codes, the
streamed transcript, the JSON report with the decoded challenge, no secret on any output, no hang,
lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dovecot-lab"))

import labfixture  # noqa: E402

pytestmark = pytest.mark.dovecot

USER = "alice@example.test"
XOAUTH2_401 = {"status": "401", "schemes": "bearer", "scope": "mail"}


@pytest.fixture(scope="module")
def dovecot() -> Iterator[labfixture.LabInstance]:
    yield from labfixture.running(labfixture.MAIN)


@pytest.fixture(scope="module")
def dovecot_no_sasl_ir() -> Iterator[labfixture.LabInstance]:
    yield from labfixture.running(labfixture.NO_SASL_IR)


def mailscope(*args: str, secret: str = "", timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MS_SECRET": secret}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "check", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _target(lab: labfixture.LabInstance, security: str) -> list[str]:
    port = lab.imaps if security == "tls" else lab.imap
    return ["--host", "127.0.0.1", "--port", str(port), "--security", security, "--user", USER, "--ca-file", lab.ca_file, "--timeout", "5"]


def _no_secret(result: subprocess.CompletedProcess[str], secret: str) -> None:
    assert secret not in result.stdout and secret not in result.stderr
    assert "Traceback" not in result.stderr


CASES = [
    # (lab, security, mechanism, secret kind, token kwargs, exit, decoded challenge)
    ("main", "tls", "auto", "token", {}, 0, None),
    ("main", "tls", "xoauth2", "token", {"ttl": -60}, 1, XOAUTH2_401),
    ("main", "tls", "xoauth2", "token", {"claims": {"scope": "openid email"}}, 1, XOAUTH2_401),
    ("main", "tls", "oauthbearer", "token", {}, 0, None),
    ("main", "tls", "oauthbearer", "token", {"ttl": -60}, 1, {"status": "invalid_token"}),
    ("main", "tls", "plain", "password", {}, 0, None),
    ("main", "starttls", "auto", "token", {}, 0, None),
    ("main", "starttls", "xoauth2", "token", {"ttl": -60}, 1, XOAUTH2_401),
    ("no_sasl_ir", "tls", "auto", "token", {}, 0, None),
    ("no_sasl_ir", "tls", "xoauth2", "token", {"ttl": -60}, 1, XOAUTH2_401),
]


@pytest.mark.parametrize(
    ("lab_name", "security", "mechanism", "kind", "token_kwargs", "exit_code", "challenge"),
    CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}-{'ok' if c[5] == 0 else 'refused'}-{i}" for i, c in enumerate(CASES)],
)
def test_check_json_against_dovecot(
    request: pytest.FixtureRequest,
    lab_name: str,
    security: str,
    mechanism: str,
    kind: str,
    token_kwargs: dict,
    exit_code: int,
    challenge: dict | None,
) -> None:
    lab = request.getfixturevalue("dovecot" if lab_name == "main" else "dovecot_no_sasl_ir")
    secret = "alice-password" if kind == "password" else labfixture.mint(lab, **token_kwargs)
    credential = ["--password-env", "MS_SECRET"] if kind == "password" else ["--token-env", "MS_SECRET"]
    result = mailscope(*_target(lab, security), "--mechanism", mechanism, *credential, "--json", secret=secret)
    _no_secret(result, secret)
    assert result.returncode == exit_code, result.stdout[-2000:] + result.stderr
    report = json.loads(result.stdout)
    assert report["schema"] == "mailscope.report/1" and report["outcome"]["exit_code"] == exit_code
    evidence, transcript = report["evidence"], report["transcript"]
    assert transcript[-1]["direction"] == "server" and "Logout completed" in transcript[-1]["text"]  # ended cleanly
    if exit_code == 0:
        assert report["outcome"]["kind"] == "authenticated_mailbox_reachable"
        assert any(line["direction"] == "client" and line["text"].endswith("EXAMINE INBOX") for line in transcript)
        # Dovecot lists its capabilities with the OK to the credential: no second CAPABILITY, one mailbox command
        before_auth = ["CAPABILITY", "STARTTLS", "CAPABILITY"] if security == "starttls" else ["CAPABILITY"]
        assert [c["command"] for c in evidence["commands"]] == [*before_auth, "EXAMINE", "LOGOUT"]
    else:
        assert report["outcome"]["kind"] == "authentication_failed"
        assert evidence["sasl"][-1]["challenge_json"] == [challenge]
        assert report["findings"], "a refused token must produce at least one finding"
    if lab_name == "no_sasl_ir":
        assert evidence["sasl"][-1]["sasl_ir"] is False
    if security == "starttls":
        assert [c["command"] for c in evidence["commands"]][:3] == ["CAPABILITY", "STARTTLS", "CAPABILITY"]


def test_human_output_streams_the_transcript_and_one_outcome_line(dovecot: labfixture.LabInstance) -> None:
    secret = labfixture.mint(dovecot)
    result = mailscope(*_target(dovecot, "tls"), "--token-env", "MS_SECRET", secret=secret)
    _no_secret(result, secret)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"*  connecting to 127.0.0.1:{dovecot.imaps} (tls)"
    assert any(line.startswith("C: ") and "AUTHENTICATE XOAUTH2 <SASL XOAUTH2 user=alice@example.test" in line for line in lines)
    assert any(line.startswith("S: ") and "OK [READ-ONLY] Examine completed" in line for line in lines)
    assert lines[-1] == "outcome: authenticated_mailbox_reachable: AUTHENTICATE XOAUTH2 accepted; INBOX examined"


def test_refused_token_human_output(dovecot: labfixture.LabInstance) -> None:
    secret = labfixture.mint(dovecot, ttl=-60)
    result = mailscope(*_target(dovecot, "tls"), "--token-env", "MS_SECRET", secret=secret)
    _no_secret(result, secret)
    assert result.returncode == 1
    assert 'SASL challenge, decoded: {"status":"401","schemes":"bearer","scope":"mail"}' in result.stdout
    assert result.stdout.splitlines()[-1].startswith(
        "outcome: authentication_failed: AUTHENTICATE XOAUTH2 refused: NO [AUTHENTICATIONFAILED]"
    )


def test_fault_is_exit_1_with_a_finding(dovecot: labfixture.LabInstance) -> None:
    secret = labfixture.mint(dovecot)
    args = ["--host", "127.0.0.1", "--port", str(dovecot.imaps), "--user", USER, "--token-env", "MS_SECRET", "--json"]
    result = mailscope(*args, secret=secret)  # no --ca-file: the system store rejects the lab certificate
    _no_secret(result, secret)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["evidence"]["fault"]["kind"] == "tls_verification_failed"
    assert any(f["severity"] == "error" for f in report["findings"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "993"], "--host is required"),
        (["--host", "h", "--port", "70000"], "is not a TCP port"),
        (["--host", "h", "--timeout", "0"], "--timeout must be positive"),
        (["--host", "h", "--ca-file", "/nonexistent/ca.pem"], "--ca-file /nonexistent/ca.pem: not a readable file"),
        (["--host", "h", "--token-file", "/nonexistent/token"], "--token-file /nonexistent/token: not a readable file"),
        (["--host", "h", "--token-env", "A", "--password-env", "B"], "not allowed with argument"),
        (["--host", "h", "--security", "ssl"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = mailscope(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_static_token_check_imports_no_textual_msal_or_google(dovecot: labfixture.LabInstance) -> None:
    code = (
        "import sys\nfrom tui.cli import main\n"
        f"rc = main(['check', *{_target(dovecot, 'tls')!r}, '--token-env', 'MS_SECRET', '--json'])\n"
        "heavy = {'textual', 'rich', 'msal', 'google', 'requests', 'jwt', 'cryptography'}\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & heavy)\n"
        "print('HEAVY', heavy, 'RC', rc, file=sys.stderr)\n"
    )
    env = {**os.environ, "MS_SECRET": labfixture.mint(dovecot)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)
    assert "HEAVY [] RC 0" in result.stderr, result.stderr


def test_lab_scenario_runs_in_process() -> None:
    healthy = mailscope("--lab", "ms-healthy", "--json")
    assert healthy.returncode == 0, healthy.stderr
    report = json.loads(healthy.stdout)
    assert report["outcome"]["kind"] == "authenticated_mailbox_reachable" and report["evidence"]["server_family"] == "exchange"
    unknown = mailscope("--lab", "no-such-scenario")
    assert unknown.returncode == 2 and "unknown lab scenario 'no-such-scenario'" in unknown.stderr


def test_profile_supplies_settings_and_options_override(dovecot: labfixture.LabInstance, tmp_path: Path) -> None:
    (tmp_path / "mailscope").mkdir()
    (tmp_path / "mailscope" / "profiles.toml").write_text(
        "[profiles.lab]\n"
        f'host = "127.0.0.1"\nport = {dovecot.imap}\nsecurity = "starttls"\nuser = "{USER}"\n'
        f'ca_file = "{dovecot.ca_file}"\ntoken = "env:MS_SECRET"\nmechanism = "oauthbearer"\n'
    )
    secret = labfixture.mint(dovecot)
    env = {**os.environ, "MS_SECRET": secret, "XDG_CONFIG_HOME": str(tmp_path)}
    run = [sys.executable, "-m", "tui.cli", "check", "--profile", "lab", "--mechanism", "xoauth2", "--json"]
    result = subprocess.run(run, env=env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    _no_secret(result, secret)
    assert result.returncode == 0, result.stderr
    evidence = json.loads(result.stdout)["evidence"]
    assert evidence["security"] == "starttls" and evidence["mechanism"] == "XOAUTH2"  # the option overrides the profile
    missing = subprocess.run(run[:4] + ["--profile", "nope"], env=env, capture_output=True, text=True, timeout=30)
    assert missing.returncode == 2 and "no profile 'nope'" in missing.stderr


def test_output_cut_short_by_a_pipe_is_not_an_error() -> None:
    script = f'"{sys.executable}" -m tui.cli check --lab google-narrow-scope | head -1; exit "${{PIPESTATUS[0]}}"'
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 1  # the scenario's refused token, not a crash
    assert result.stdout.startswith("*  lab scenario google-narrow-scope")
    assert result.stderr == ""
