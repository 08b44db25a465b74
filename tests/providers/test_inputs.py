"""providers.inputs: local files and secrets checked at once, with messages naming the flag (issue 13)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mailscope.settings import CheckSettings, SecretSource
from providers.generic import read_secret
from providers.inputs import SECRET_FILE_CAP, InputError, check_settings, check_timeout, read_secret_text, read_text_file


def _refused(path: str, flag: str = "--token-file", cap: int = SECRET_FILE_CAP) -> str:
    start = time.monotonic()
    with pytest.raises(InputError) as error:
        read_text_file(path, flag, cap)
    assert time.monotonic() - start < 1.0
    message = str(error.value)
    assert message.startswith(f"{flag} ") and "_ssl.c" not in message
    return message


def test_fifos_devices_directories_binary_and_large_files_are_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big"
    big.write_bytes(b"a" * (4 * 1024 * 1024))
    binary = tmp_path / "bin"
    binary.write_bytes(b"\x00\x01\x02")
    latin = tmp_path / "latin"
    latin.write_bytes(b"caf\xe9")
    assert "FIFO" in _refused(str(fifo))
    assert "device" in _refused("/dev/zero") and "device" in _refused("/dev/urandom")
    assert "directory" in _refused(str(tmp_path))
    assert "larger than 64 KiB" in _refused(str(big))
    assert "binary" in _refused(str(binary))
    assert "UTF-8" in _refused(str(latin))
    assert "not a readable file" in _refused(str(tmp_path / "missing"))


def test_a_regular_text_file_under_its_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("eyJ0eXAi.abc.def\n")
    assert read_text_file(str(path), "--token-file") == "eyJ0eXAi.abc.def\n"


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 0.0, -1.0, 601.0])
def test_timeouts_are_finite_positive_and_capped(value: float) -> None:
    with pytest.raises(InputError, match="--timeout"):
        check_timeout(value)
    assert check_timeout(10.0) == 10.0


def test_secret_sources_name_their_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILSCOPE_NOT_SET", raising=False)
    monkeypatch.setenv("MAILSCOPE_EMPTY", "  ")
    monkeypatch.setenv("MAILSCOPE_TWO_LINES", "abc\ndef")
    empty = tmp_path / "empty"
    empty.write_text("")
    cases = [
        (CheckSettings("h", 993, token=SecretSource("env", "MAILSCOPE_NOT_SET")), "MAILSCOPE_NOT_SET is not set (--token-env)"),
        (CheckSettings("h", 993, token=SecretSource("env", "MAILSCOPE_EMPTY")), "is empty"),
        (CheckSettings("h", 993, password=SecretSource("env", "MAILSCOPE_TWO_LINES")), "--password-env"),
        (CheckSettings("h", 993, token=SecretSource("file", str(empty))), f"--token-file {empty} is empty"),
        (CheckSettings("h", 993, ca_file="/dev/zero"), "--ca-file /dev/zero: is a device"),
        (CheckSettings("h", 993, service_account_file=str(tmp_path)), "--service-account-file"),
        (CheckSettings("h", 993, timeout=float("inf")), "--timeout"),
    ]
    for settings, words in cases:
        with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
            check_settings(settings)


def test_a_ca_file_must_hold_certificates_openssl_reads(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(InputError) as error:
        check_settings(CheckSettings("h", 993, ca_file=str(bad)))
    assert "_ssl.c" not in str(error.value) and "--ca-file" in str(error.value)


def test_read_secret_reads_stdin_within_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("x" * (SECRET_FILE_CAP + 10)))
    with pytest.raises(LookupError, match="longer than 64 KiB"):
        read_secret(SecretSource("stdin"))


@pytest.mark.parametrize("control", ["\x00", "\x1b", "\t", "\x7f", "\x85", "\x9f", "a\nb"])
def test_a_secret_with_a_control_character_is_refused(control: str) -> None:
    with pytest.raises(InputError, match="control characters"):
        read_secret_text(f"eyJ0eXAi{control}OiJKV1Qi", "the token in $MS_TOKEN")


@pytest.mark.parametrize("secret", ["eyJ0eXAiOiJKV1Qi.e30.c2ln", "pässwörd with spaces", "no\u00a0break\u2028sep", "emoji-\U0001f511"])
def test_a_secret_of_printable_or_unusual_but_not_control_characters_is_kept(secret: str) -> None:
    assert read_secret_text(f"  {secret}\n", "the password in $PW") == secret


def test_a_secret_holding_bytes_that_are_not_utf8_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """os.environ carries a byte that is not UTF-8 as a lone surrogate (surrogateescape): a clear error, not a crash
    further on when the secret is encoded for the wire or its fingerprint."""
    monkeypatch.setenv("MS_TOKEN", os.fsdecode(b"eyJhbGciOiJub25lIn0.e30.sig\xffmore"))
    with pytest.raises(LookupError, match=r"environment variable MS_TOKEN \(--token-env\) is not UTF-8 text"):
        read_secret(SecretSource("env", "MS_TOKEN"), "token")
    with pytest.raises(InputError, match="not UTF-8 text"):
        read_secret_text("pass\ud800word", "the password in $PW")


@pytest.mark.parametrize(
    ("field_name", "value", "message"),
    [
        ("user", os.fsdecode(b"al\xffice@example.test"), r"--user al\\xffice@example.test is not UTF-8 text"),
        ("host", "mail.example.test\x1b[2J", r"--host mail.example.test\\e\[2J holds control characters"),
        ("tenant", "contoso\n.onmicrosoft.com", "--tenant contoso"),
        ("scopes", ("https://outlook.office.com/IMAP.AccessAsUser.All", "offline\x00access"), "--scope offline"),
    ],
)
def test_text_settings_must_be_one_line_of_utf8(field_name: str, value: object, message: str) -> None:
    """argv keeps a byte that is not UTF-8 as a lone surrogate, which no protocol can send: refused by flag, escaped."""
    with pytest.raises(InputError, match=message):
        check_settings(CheckSettings(**{"host": "mail.example.test", "port": 993, field_name: value}))
    check_settings(CheckSettings(host="mail.example.test", port=993, user="ålice@exämple.test", tenant="contoso.onmicrosoft.com"))
