"""Property (issue 2, "Must show"): random tokens and passwords go through real `mailscope check` runs
against an IMAP server on loopback that ECHOES THEM BACK: raw, base64 (three alignments, standard and
urlsafe), URL-encoded, inside a Gmail-style error challenge, split across two lines (the secret and its
base64), and split across TCP reads. No secret, none of its base64 forms and no run of
`fragment_length()` characters of any of them may appear in any stored transcript text or annotation,
the evidence, the JSON report, the Markdown report, stdout/stderr, or any log record.

Secrets: JWT-shaped and opaque tokens (`ya29.`, `EwB`, `1//0`, random), passwords of 8 to 40 printable
ASCII characters with a letter, a digit and a symbol. 8 is the documented minimum (`SHORT_FRAGMENT`): a
password split into two parts shorter than the fragment length cannot be recognised, only its whole
forms can. Runs that are plain protocol words (`redact.VOCABULARY`, e.g. "password") are documented
exceptions.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import re
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailscope import redact
from mailscope.record import SessionRecord
from mailscope.redact import fragment_length
from mailscope.report import report_json, report_markdown
from tui import cli
from tui.commands import check as check_command

TOKEN_ENV = "MAILSCOPE_PROPERTY_SECRET"
TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
USER = "alice@example.test"


# -- the echo server ----------------------------------------------------------------------------------


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def _secret_from_sasl(mechanism: str, response: bytes) -> str | None:
    try:
        payload = base64.b64decode(response.strip(), validate=True).decode()
    except ValueError:
        return None
    if mechanism == "PLAIN":
        return payload.split("\0")[2] if payload.count("\0") == 2 else None
    match = re.search(r"auth=Bearer ([^\x01]*)\x01", payload)
    return match.group(1) if match else None


def _unquote_imap(arg: bytes) -> str:
    text = arg.decode()
    if text.startswith('"') and text.endswith('"'):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _echoes(secret: str) -> list[bytes]:
    """Every form a careless server or proxy might send the secret back in, one untagged line each."""
    raw = secret.encode()
    lines = [b"* OK raw " + raw]
    for prefix in (b"", b"x", b"xy", b"user=" + USER.encode() + b"\x01auth=Bearer "):
        lines.append(b"* OK b64 " + _b64(prefix + raw))
        lines.append(b"* OK b64url " + base64.urlsafe_b64encode(prefix + raw))
    lines.append(b"* OK url " + urllib.parse.quote(secret, safe="").encode())
    for cut in {len(raw) // 3, len(raw) // 2, 2 * len(raw) // 3, len(raw) - 9}:
        if 0 < cut < len(raw):
            lines += [b"* OK first " + raw[:cut], b"* OK second " + raw[cut:]]
    encoded = _b64(b"x" + raw)
    half = len(encoded) // 2
    lines += [b"* OK first " + encoded[:half], b"* OK second " + encoded[half:]]
    return [line + b" ." for line in lines]  # never end on `}`: that would announce a literal


@dataclass
class EchoServer:
    sasl_ir: bool
    chunk: int  # write each reply in pieces of this many bytes (0: whole): split TCP reads
    echoed: list[str] = field(default_factory=list)
    port: int = 0

    async def _send(self, writer: asyncio.StreamWriter, *lines: bytes) -> None:
        data = b"".join(line + b"\r\n" for line in lines)
        if not self.chunk:
            writer.write(data)
            await writer.drain()
            return
        for i in range(0, len(data), self.chunk):
            writer.write(data[i : i + self.chunk])
            await writer.drain()
            await asyncio.sleep(0)

    async def _echo(self, writer: asyncio.StreamWriter, secret: str) -> None:
        self.echoed.append(secret)
        await self._send(writer, *_echoes(secret))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._send(writer, b"* OK echo lab ready")
            while line := await asyncio.wait_for(reader.readline(), 10):
                tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
                command, _, args = rest.partition(b" ")
                if not await self._command(reader, writer, tag, command.upper(), args):
                    break
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _command(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tag: bytes, command: bytes, args: bytes) -> bool:
        secret = None
        if command == b"CAPABILITY":
            ir = b" SASL-IR" if self.sasl_ir else b""
            await self._send(writer, b"* CAPABILITY IMAP4rev1 AUTH=XOAUTH2 AUTH=OAUTHBEARER AUTH=PLAIN" + ir, tag + b" OK done")
        elif command == b"AUTHENTICATE":
            mechanism, _, response = args.partition(b" ")
            if not response:
                await self._send(writer, b"+ ")
                response = (await reader.readline()).strip()
            secret = _secret_from_sasl(mechanism.decode().upper(), response)
            if secret is not None:
                await self._echo(writer, secret)
                challenge = json.dumps({"status": "400", "schemes": "Bearer", "echo": secret}).encode()
                await self._send(writer, b"+ " + _b64(challenge))
                await reader.readline()  # the client's answer to the error challenge
            await self._send(writer, tag + b" NO [AUTHENTICATIONFAILED] echo " + (secret or "").encode() + b" .")
        elif command == b"LOGIN":
            _user, _, password = args.partition(b" ")
            secret = _unquote_imap(password)
            await self._echo(writer, secret)
            await self._send(writer, tag + b" NO [AUTHENTICATIONFAILED] echo " + secret.encode() + b" .")
        elif command == b"LOGOUT":
            last = (self.echoed[-1] if self.echoed else "").encode()
            await self._send(writer, b"* BYE echo " + last + b" .", tag + b" OK bye")
            return False
        else:
            await self._send(writer, tag + b" BAD unknown command")
        return True


@pytest.fixture(scope="module")
def echo_servers() -> Iterator[dict[tuple[bool, int], EchoServer]]:
    """Echo servers on loopback, one per (SASL-IR advertised, TCP chunk size), in a background loop:
    the check under test runs its own `asyncio.run` in the test thread."""
    servers = {(ir, chunk): EchoServer(ir, chunk) for ir in (True, False) for chunk in (0, 1, 5)}
    loop = asyncio.new_event_loop()
    started = threading.Event()
    handles: list[asyncio.base_events.Server] = []

    async def start() -> None:
        for server in servers.values():
            handle = await asyncio.start_server(server.handle, "127.0.0.1", 0)
            server.port = handle.sockets[0].getsockname()[1]
            handles.append(handle)
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert started.wait(10), "echo servers did not start"
    yield servers
    for handle in handles:
        loop.call_soon_threadsafe(handle.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


# -- what must never appear -----------------------------------------------------------------------------


def _stable_base64(data: bytes, offset: int, urlsafe: bool) -> str:
    """Characters of base64(data at `offset` bytes into a 3-byte group) that depend on `data` only."""
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    encoded = encode(b"\0" * offset + data).decode()
    return encoded[-(-offset * 8 // 6) : (offset + len(data)) * 8 // 6]


def forbidden(secret: str) -> tuple[set[str], set[str]]:
    """(whole forms, fragments): the raw secret, its URL encoding and its base64 at every alignment;
    every run of `fragment_length` characters of those, except plain protocol words."""
    raw = secret.encode()
    forms = {secret, urllib.parse.quote(secret, safe="")}
    forms |= {_stable_base64(raw, offset, urlsafe) for offset in range(3) for urlsafe in (False, True)}
    length = fragment_length(secret)
    fragments = {
        form[i : i + length]
        for form in forms
        for i in range(len(form) - length + 1)
        if form[i : i + length].lower() not in redact.VOCABULARY
    }
    return {form for form in forms if len(form) >= 4}, fragments


def leaks(secret: str, texts: dict[str, str], template: str = "") -> list[str]:
    """Forms and fragments of `secret` in `texts`, except runs the output holds anyway (`template`)."""
    forms, fragments = forbidden(secret)
    forms = {form for form in forms if form not in template}
    fragments = {fragment for fragment in fragments if fragment not in template}
    found = []
    for where, text in texts.items():
        unescaped = re.sub(r"\\(.)", r"\1", text)  # Markdown/JSON escapes must not hide a leak
        for candidate in (text, unescaped):
            found += [f"{where}: form {form!r}" for form in forms if form in candidate]
            found += [f"{where}: fragment {fragment!r}" for fragment in fragments if fragment in candidate]
    return sorted(set(found))


def _strings(value: object) -> Iterator[str]:
    """Every string value inside `value`. Dict keys and dataclass field names are the report's structure
    (a password "generate" must not be reported for the key "generated_at")."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from _strings(getattr(value, item.name))
    elif isinstance(value, Enum):
        yield str(value.value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(self.format(record))


# -- the property ---------------------------------------------------------------------------------------

_b64url_bytes = st.binary(min_size=24, max_size=400).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="))
jwt_tokens = st.builds(
    lambda payload, signature: "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + payload + "." + signature,
    _b64url_bytes,
    _b64url_bytes,
)
opaque_tokens = st.builds(
    lambda prefix, body: prefix + body,
    st.sampled_from(["", "ya29.", "EwB", "1//0"]),
    st.text(TOKEN_ALPHABET, min_size=20, max_size=400),
)
# Passwords as a password policy has them (a letter, a digit, a symbol): a password that is an English
# word would "leak" as the words of our own output templates ("outcome", "Transcript"), a false alarm.
passwords = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=8, max_size=40).filter(
    lambda s: s == s.strip() and any(c.isalpha() for c in s) and any(c.isdigit() for c in s) and not s.isalnum()
)

cases = st.one_of(
    st.tuples(st.one_of(jwt_tokens, opaque_tokens), st.sampled_from(["xoauth2", "oauthbearer", "auto"])),
    st.tuples(passwords, st.sampled_from(["plain", "login"])),
)


def run_check(
    server: EchoServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], secret: str, mechanism: str, as_json: bool
) -> tuple[SessionRecord, dict[str, str]]:
    """One real `mailscope check` in-process: the record it stored and every text it produced."""
    records: list[SessionRecord] = []
    make_record = check_command._make_record

    def capture_record(args: object, settings_: object) -> SessionRecord:
        records.append(make_record(args, settings_))  # type: ignore[arg-type]
        return records[-1]

    monkeypatch.setattr(check_command, "_make_record", capture_record)
    monkeypatch.setenv(TOKEN_ENV, secret)
    capture = _Capture()
    watched = [logging.getLogger(), logging.getLogger("aioimaplib"), logging.getLogger("aioimaplib.aioimaplib")]
    levels = [logger.level for logger in watched]
    for logger in watched:
        logger.addHandler(capture)
    logging.getLogger().setLevel(logging.DEBUG)
    capsys.readouterr()
    echoed_before = len(server.echoed)
    try:
        credential = ["--password-env", TOKEN_ENV] if mechanism in ("plain", "login") else ["--token-env", TOKEN_ENV]
        argv = ["check", "--host", "127.0.0.1", "--port", str(server.port), "--security", "plain", "--user", USER]
        argv += ["--mechanism", mechanism, "--timeout", "5", *credential, *(["--json"] if as_json else [])]
        exit_code = cli.main(argv)
    finally:
        for logger, level in zip(watched, levels, strict=True):
            logger.removeHandler(capture)
            logger.setLevel(level)
    out, err = capsys.readouterr()

    assert exit_code in (1, 3), (out, err)  # refused: the cause found, or (an echo server says nothing) undecided
    assert secret in server.echoed[echoed_before:], "the server never saw (and echoed) the secret: the property would be vacuous"
    (record,) = records
    assert record.evidence.auth_result == "NO"
    texts = {
        "stdout": out,
        "stderr": err,
        "log": "\n".join(capture.messages),
        "json report": "\n".join(_strings(json.loads(report_json(record)))),
        "markdown report": report_markdown(record),
        "evidence": "\n".join(_strings([record.evidence, record.token, record.outcome, record.diagnosis])),
    }
    for line in record.lines:
        texts[f"line {line.seq}"] = line.text
        texts[f"annotations {line.seq}"] = " | ".join(line.annotations)
    return record, texts


_BASELINE_SECRETS = {"token": "Zq7" * 12, "password": "Zq7#Zq7#Zq7#"}
_baselines: dict[tuple[str, bool], str] = {}


def baseline(server: EchoServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], mechanism: str, as_json: bool) -> str:
    """All output of the same check with an unrelated secret: the templates' own words ("Mechanism",
    "generated_at", "mailscope.report/1"). Hypothesis draws strings from constants in the code, so a
    secret can spell them; a run found there does not depend on the secret and is no leak."""
    key = (mechanism, as_json)
    if key not in _baselines:
        secret = _BASELINE_SECRETS["password" if mechanism in ("plain", "login") else "token"]
        _baselines[key] = "\n".join(run_check(server, monkeypatch, capsys, secret, mechanism, as_json)[1].values())
    return _baselines[key]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=cases, sasl_ir=st.booleans(), chunk=st.sampled_from([0, 1, 5]), as_json=st.booleans())
def test_echoed_secrets_never_leave_redaction(
    echo_servers: dict[tuple[bool, int], EchoServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: tuple[str, str],
    sasl_ir: bool,
    chunk: int,
    as_json: bool,
) -> None:
    secret, mechanism = case
    record, texts = run_check(echo_servers[(sasl_ir, chunk)], monkeypatch, capsys, secret, mechanism, as_json)
    template = baseline(echo_servers[(True, 0)], monkeypatch, capsys, mechanism, as_json)
    assert leaks(secret, texts, template) == []
    # The evidence survived the redaction: the echoes are in the transcript, as redaction markers.
    assert sum("<" in line.text for line in record.lines if line.text.startswith("* OK ")) >= 10
