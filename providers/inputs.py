"""Local inputs the user names (token, CA, certificate, service-account, client-secret and profile files; secret
environment variables; the timeout), checked before anything runs. One place for the CLI and the console: a problem
here is the user's to fix on this machine, so it is a usage error naming the flag, never a server's or an identity
provider's fault, and it is found at once: files are opened without blocking (a FIFO or a device is refused, not
read), and never read beyond their cap (`/dev/zero` cannot fill memory).
"""

from __future__ import annotations

import math
import os

from mailscope.localfile import NotRegularFile, read_regular_file
from mailscope.redact import escape_controls
from mailscope.settings import CheckSettings, SecretSource

SECRET_FILE_CAP = 64 * 1024  # a token, password or refresh token: the largest real ones are a few kB
FILE_CAP = 1024 * 1024  # CA bundles, certificates, service-account JSON, client secrets, profiles.toml
MAX_TIMEOUT = 600.0  # seconds per step: a slower server is a finding, not something to wait for

# How a setting is named to the user: the command-line flag where there is one (the console shows the same name).
_FILE_FLAGS = {"ca_file": "--ca-file", "certificate": "--certificate", "service_account_file": "--service-account-file"}
# Settings that go on the wire or into a token request as text: typed on a command line, they may carry bytes that are
# not UTF-8 (argv keeps them as lone surrogates), which no protocol can send.
_TEXT_FLAGS = {"host": "--host", "user": "--user", "client_id": "--client-id", "tenant": "--tenant", "subject": "--subject",
               "authority": "--authority", "token_endpoint": "--token-endpoint"}
_SOURCE_FLAGS = {
    ("token", "file"): "--token-file",
    ("token", "env"): "--token-env",
    ("password", "env"): "--password-env",
    ("client_secret", "env"): "--client-secret-env",
    ("refresh_token", "env"): "--refresh-token-env",
}


class InputError(LookupError):
    """A local input cannot be used; the message names the flag and says why (never quoting a secret). A LookupError,
    as every "cannot read this secret" error of the token sources is."""


def read_text_file(path: str, flag: str, cap: int = FILE_CAP) -> str:
    """The UTF-8 text of a regular file of at most `cap` bytes; InputError otherwise (FIFO, device, directory, too
    large, binary). Never blocks and never reads more than `cap + 1` bytes."""
    shown = f"{flag} {escape_controls(path)}"
    try:
        data = read_regular_file(os.path.expanduser(path), cap + 1)
    except NotRegularFile as exc:
        raise InputError(f"{shown}: {exc}") from None
    except OSError as exc:
        raise InputError(f"{shown}: not a readable file (cannot read: {exc.strerror or exc})") from None
    if len(data) > cap:
        raise InputError(f"{shown}: larger than {_size(cap)}; this is not the file meant here")
    if b"\0" in data:
        raise InputError(f"{shown}: binary data (NUL bytes); a text file is expected")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{shown}: not UTF-8 text (binary data?)") from None


def read_secret_text(text: str, what: str) -> str:
    """A secret read from an environment variable or stdin: one line of printable text."""
    value = text.strip()
    if not value:
        raise InputError(f"{what} is empty")
    if len(value) > SECRET_FILE_CAP:
        raise InputError(f"{what} is longer than {_size(SECRET_FILE_CAP)}; no token or password is that long")
    # isprintable() (C speed) rules out every control character; only a text it refuses is looked at character by character
    if not value.isprintable():
        if _has_controls(value):
            raise InputError(f"{what} holds control characters or several lines; a token or password is one line of text")
        if _has_bytes_not_utf8(value):
            raise InputError(f"{what} is not UTF-8 text; a token is ASCII, a password UTF-8")
    return value


def _has_controls(text: str) -> bool:
    return any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in text)


def _has_bytes_not_utf8(text: str) -> bool:
    """Lone surrogates: how os.environ and argv carry a byte that is not UTF-8 (surrogateescape)."""
    return any(0xD800 <= ord(ch) < 0xE000 for ch in text)


def check_timeout(timeout: float) -> float:
    if not math.isfinite(timeout) or timeout <= 0:
        raise InputError(f"--timeout must be positive and finite (seconds, at most {MAX_TIMEOUT:.0f}), not {timeout:g}")
    if timeout > MAX_TIMEOUT:
        raise InputError(f"--timeout {timeout:g}: at most {MAX_TIMEOUT:.0f} seconds per step")
    return timeout


def check_settings(settings: CheckSettings) -> None:
    """Every local input of `settings` usable, or InputError naming the first that is not. Secrets are read to
    check them and dropped: the token source reads them again when it runs."""
    check_timeout(settings.timeout)
    for field_name, flag in _TEXT_FLAGS.items():
        _check_text(getattr(settings, field_name), flag)
    for scope in settings.scopes:
        _check_text(scope, "--scope")
    for field_name, flag in _FILE_FLAGS.items():
        path = getattr(settings, field_name)
        if path:
            text = read_text_file(path, flag)
            if field_name == "ca_file":
                _check_ca(text, flag, path)
            elif field_name == "service_account_file":
                _check_json_object(text, flag, path)
    for field_name in ("token", "password", "client_secret", "refresh_token"):
        source = getattr(settings, field_name)
        if source is not None and source.kind in ("env", "file"):
            read_source(source, field_name)


def _check_text(value: str, flag: str) -> None:
    """InputError when `value` holds a control character or a byte that is not UTF-8; the message shows it escaped."""
    if value.isprintable():
        return
    if _has_bytes_not_utf8(value):
        raise InputError(f"{flag} {escape_controls(value)} is not UTF-8 text")
    if _has_controls(value):
        raise InputError(f"{flag} {escape_controls(value)} holds control characters")


def read_source(source: SecretSource, field_name: str | None = None) -> str:
    """The secret an env or file source names, checked as `check_settings` does. Errors name the flag of
    `field_name` (`--token-env VAR`), or the source itself (`env:VAR`) where there is none."""
    flag = _SOURCE_FLAGS.get((field_name or "", source.kind))
    if source.kind == "file":
        cap = FILE_CAP if field_name == "client_secret" else SECRET_FILE_CAP
        text = read_text_file(source.ref, flag or "file", cap)
        return read_secret_text(text, f"{flag or 'file'} {escape_controls(source.ref)}")
    variable = f"environment variable {escape_controls(source.ref)}"
    value = os.environ.get(source.ref)
    if value is None:
        raise InputError(f"{variable} is not set" + (f" ({flag})" if flag else ""))
    return read_secret_text(value, variable + (f" ({flag})" if flag else ""))


def _check_ca(text: str, flag: str, path: str) -> None:
    """The CA file must hold at least one PEM certificate that OpenSSL accepts (its own error, `[X509] ...
    (_ssl.c:4154)`, says nothing to a user)."""
    import ssl

    if "-----BEGIN CERTIFICATE-----" not in text:
        raise InputError(f"{flag} {escape_controls(path)}: no PEM certificate in it (-----BEGIN CERTIFICATE----- ...)")
    try:
        ssl.create_default_context(cadata=text)
    except (ssl.SSLError, ValueError):
        raise InputError(f"{flag} {escape_controls(path)}: its PEM certificates cannot be read (damaged?)") from None


def _check_json_object(text: str, flag: str, path: str) -> None:
    import json

    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise InputError(f"{flag} {escape_controls(path)}: not JSON (a service-account key file is a JSON object)") from None
    if not isinstance(value, dict):
        raise InputError(f"{flag} {escape_controls(path)}: not a JSON object (a service-account key file is one)")


def _size(n: float) -> str:
    return f"{n / 1024 / 1024:.0f} MiB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n:.0f} bytes"
