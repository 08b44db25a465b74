"""`mailscope check --protocol pop3|smtp` as a user runs it, against real servers: Dovecot's POP3 (the main lab) and a
real Postfix submission service whose SASL is Dovecot's (tests/dovecot-lab/postfix.sh). Valid JWT: exit 0 through the
post-auth check (STAT; MAIL FROM + RCPT TO); expired JWT: exit 1 with the server's own answer kept; implicit TLS and
STARTTLS/STLS, XOAUTH2 and OAUTHBEARER; no token, SASL blob or part of either in any output."""

from __future__ import annotations

import base64
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
OAUTHBEARER_401 = {"status": "invalid_token"}


@pytest.fixture(scope="module")
def dovecot() -> Iterator[labfixture.LabInstance]:
    yield from labfixture.running(labfixture.MAIN)


@pytest.fixture(scope="module")
def postfix() -> Iterator[labfixture.PostfixLab]:
    yield from labfixture.postfix_running()


def mailscope(*args: str, secret: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MS_SECRET": secret}
    run = [sys.executable, "-m", "tui.cli", "check", "--user", USER, "--token-env", "MS_SECRET", "--timeout", "5", *args]
    return subprocess.run(run, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def _no_secret(result: subprocess.CompletedProcess[str], secret: str, mechanism: str, port: int) -> None:
    """Neither the token nor the SASL message that carried it, raw or base64, whole or in part."""
    payloads = {
        "xoauth2": f"user={USER}\x01auth=Bearer {secret}\x01\x01",
        "oauthbearer": f"n,a={USER},\x01host=127.0.0.1\x01port={port}\x01auth=Bearer {secret}\x01\x01",
    }
    blob = base64.b64encode(payloads[mechanism].encode()).decode()
    token_b64 = base64.b64encode(secret.encode()).decode()
    for output in (result.stdout, result.stderr):
        for form in (secret, secret[-40:], secret.split(".")[1], blob, blob[40:100], token_b64[:-4]):
            assert form not in output
    assert "Traceback" not in result.stderr


POP3_CASES = [
    # (security, mechanism, token kwargs, extra options, exit, decoded challenge)
    ("tls", "xoauth2", {}, [], 0, None),
    ("tls", "xoauth2", {"ttl": -60}, [], 1, XOAUTH2_401),
    ("tls", "xoauth2", {}, ["--sasl-ir", "yes"], 0, None),
    ("starttls", "oauthbearer", {}, [], 0, None),
    ("starttls", "oauthbearer", {"ttl": -60}, [], 1, OAUTHBEARER_401),
    ("starttls", "xoauth2", {"claims": {"scope": "openid email"}}, [], 1, XOAUTH2_401),
]


@pytest.mark.parametrize(("security", "mechanism", "token_kwargs", "extra", "exit_code", "challenge"), POP3_CASES,
                         ids=[f"{c[0]}-{c[1]}-{'ok' if c[4] == 0 else 'refused'}-{i}" for i, c in enumerate(POP3_CASES)])  # fmt: skip
def test_pop3_against_dovecot(
    dovecot: labfixture.LabInstance, security: str, mechanism: str, token_kwargs: dict, extra: list[str], exit_code: int,
    challenge: dict | None,
) -> None:  # fmt: skip
    secret = labfixture.mint(dovecot, **token_kwargs)
    port = dovecot.pop3s if security == "tls" else dovecot.pop3
    target = ["--protocol", "pop3", "--host", "127.0.0.1", "--port", str(port), "--security", security, "--ca-file", dovecot.ca_file]
    result = mailscope(*target, "--mechanism", mechanism, *extra, "--json", secret=secret)
    _no_secret(result, secret, mechanism, port)
    assert result.returncode == exit_code, result.stdout[-3000:] + result.stderr
    report = json.loads(result.stdout)
    evidence = report["evidence"]
    assert report["target"]["protocol"] == "pop3" and evidence["server_family"] == "dovecot"
    assert evidence["sasl"][-1]["sasl_ir"] is ("--sasl-ir" in extra)
    commands = [c["command"] for c in evidence["commands"]]
    assert commands[:3] == ["CAPA", "STLS", "CAPA"] if security == "starttls" else commands[0] == "CAPA" and "STLS" not in commands
    assert commands[-1] == "QUIT" and evidence["fault"] is None
    if exit_code == 0:
        assert report["outcome"]["kind"] == "authenticated_mailbox_reachable" and "STAT" in commands
        assert evidence["auth_text"] == "+OK Logged in."
    else:
        assert report["outcome"]["kind"] == "authentication_failed" and "STAT" not in commands
        assert evidence["auth_text"] == "-ERR [AUTH] Authentication failed."  # Dovecot's own words, kept
        assert evidence["sasl"][-1]["challenge_json"] == [challenge]
        assert report["findings"], "a refused token must produce at least one finding"


SMTP_CASES = [
    ("tls", "xoauth2", {}, [], 0, None),
    ("tls", "xoauth2", {"ttl": -60}, [], 1, XOAUTH2_401),
    ("tls", "oauthbearer", {"ttl": -60}, [], 1, OAUTHBEARER_401),
    ("starttls", "oauthbearer", {}, [], 0, None),
    ("starttls", "xoauth2", {}, ["--sasl-ir", "no", "--send-test"], 0, None),
    ("starttls", "xoauth2", {"ttl": -60}, [], 1, XOAUTH2_401),
]


@pytest.mark.parametrize(("security", "mechanism", "token_kwargs", "extra", "exit_code", "challenge"), SMTP_CASES,
                         ids=[f"{c[0]}-{c[1]}-{'ok' if c[4] == 0 else 'refused'}-{i}" for i, c in enumerate(SMTP_CASES)])  # fmt: skip
def test_smtp_against_postfix(
    postfix: labfixture.PostfixLab, security: str, mechanism: str, token_kwargs: dict, extra: list[str], exit_code: int,
    challenge: dict | None,
) -> None:  # fmt: skip
    secret = labfixture.mint(postfix.dovecot, **token_kwargs)
    port = postfix.submissions if security == "tls" else postfix.submission
    target = ["--protocol", "smtp", "--host", "127.0.0.1", "--port", str(port), "--security", security, "--ca-file", postfix.ca_file]
    result = mailscope(*target, "--mechanism", mechanism, *extra, "--json", secret=secret)
    _no_secret(result, secret, mechanism, port)
    assert result.returncode == exit_code, result.stdout[-3000:] + result.stderr
    report = json.loads(result.stdout)
    evidence = report["evidence"]
    assert report["target"]["protocol"] == "smtp" and evidence["server_family"] == "postfix"
    assert report["settings"]["protocol"] == "smtp" and evidence["fault"] is None
    commands = [c["command"] for c in evidence["commands"]]
    if security == "starttls":  # Postfix lists AUTH only after TLS, as Exchange's 587 does: the list is read again
        assert commands[:3] == ["EHLO", "STARTTLS", "EHLO"]
        assert "AUTH=XOAUTH2" not in evidence["capabilities_pre_tls"] and "AUTH=XOAUTH2" in evidence["capabilities_post_tls"]
    assert evidence["sasl"][-1]["sasl_ir"] is ("--sasl-ir" not in extra)
    assert commands[-1] == "QUIT"
    if exit_code == 0:
        assert report["outcome"]["kind"] == "authenticated_mailbox_reachable"
        assert evidence["auth_text"] == "235 2.7.0 Authentication successful"
        after_check = "DATA" if "--send-test" in extra else "RSET"
        assert commands[commands.index("MAIL FROM") :] == ["MAIL FROM", "RCPT TO", after_check, "QUIT"]
    else:
        assert report["outcome"]["kind"] == "authentication_failed" and "MAIL FROM" not in commands
        assert evidence["auth_text"] == "535 5.7.8 Error: authentication failed: (reason unavailable)"  # Postfix's own words
        assert evidence["sasl"][-1]["challenge_json"] == [challenge]
        acknowledgement = next(line for line in report["transcript"] if line["seq"] == evidence["sasl"][-1]["result_seq"] - 1)
        assert acknowledgement["direction"] == "client" and "acknowledges the error challenge" in acknowledgement["annotations"][0]


def test_smtp_human_output_says_which_form_it_sent(postfix: labfixture.PostfixLab) -> None:
    secret = labfixture.mint(postfix.dovecot)
    target = ["--protocol", "smtp", "--host", "127.0.0.1", "--port", str(postfix.submission), "--security", "starttls",
              "--ca-file", postfix.ca_file]  # fmt: skip
    result = mailscope(*target, secret=secret)
    _no_secret(result, secret, "xoauth2", postfix.submission)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and "*  sending AUTH XOAUTH2 with the initial response on the AUTH line" in lines
    assert lines[-1] == "outcome: authenticated_mailbox_reachable: AUTH XOAUTH2 accepted; MAIL FROM and RCPT TO accepted (250 2.1.5 Ok)"


def test_pop3_port_defaults_from_the_protocol_and_security() -> None:
    """No --port: POP3 over STARTTLS means 110; refused here, which the fault names (nothing listens in a test box)."""
    result = mailscope("--protocol", "pop3", "--security", "starttls", "--host", "127.0.0.1", "--timeout", "1", "--json", secret="x")
    report = json.loads(result.stdout)
    assert report["target"]["port"] == 110 and report["target"]["protocol"] == "pop3"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--preset", "m365-smtp"], ("smtp.office365.com", 587, "starttls", "smtp", "microsoft", "global")),
        (["--preset", "gmail-pop"], ("pop.gmail.com", 995, "tls", "pop3", "google", "")),
        (["--preset", "china-smtp"], ("smtp.partner.outlook.cn", 587, "starttls", "smtp", "microsoft", "china")),
        (["--preset", "gmail-smtp", "--security", "starttls"], ("smtp.gmail.com", 587, "starttls", "smtp", "google", "")),
        (["--host", "mx.example", "--protocol", "smtp"], ("mx.example", 465, "tls", "smtp", "generic", "")),
        (["--host", "mx.example", "--protocol", "smtp", "--security", "plain"], ("mx.example", 25, "plain", "smtp", "generic", "")),
        (["--preset", "m365-pop", "--port", "1995"], ("outlook.office365.com", 1995, "tls", "pop3", "microsoft", "global")),
    ],
)
def test_presets_and_ports_from_the_one_table(options: list[str], expected: tuple) -> None:
    from tui.commands.check import settings_from_args
    from tui.parser import build_parser

    settings = settings_from_args(build_parser().parse_args(["check", *options]))
    assert (settings.host, settings.port, settings.security, settings.protocol, settings.provider, settings.cloud) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "h", "--send-test"], "--send-test sends a message: it needs --protocol smtp"),
        (["--preset", "nope"], "no preset 'nope'"),
        (["--host", "h", "--protocol", "nntp"], "invalid choice"),
        (["--host", "h", "--sasl-ir", "maybe"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = mailscope(*args, secret="x")
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
