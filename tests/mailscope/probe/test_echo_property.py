"""Property: whatever token or password a session carries, and however a server echoes it back (raw,
base64, inside a challenge, split across lines and TCP reads), no stored text, report or printed line
contains it: IMAP, POP3 and SMTP alike."""

from __future__ import annotations

import asyncio
import base64
import json

from fakeimap import scripted, serve
from fakelines import pop3_server, probe, smtp_server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailscope.credential import Credential
from mailscope.evidence import TokenEvidence
from mailscope.probe import run_probe
from mailscope.record import SessionRecord
from mailscope.report import report_json, report_markdown
from mailscope.secret import Secret, SecretKind
from mailscope.settings import CheckSettings, Mechanism, Protocol, Security

TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
# Real tokens and passwords mix classes; the filters also keep a secret from being, by chance, an ordinary
# substring of the report (`client_s` of `client_secret`; hypothesis also tries the source's string constants,
# such as the field name `capabilities_pre_tls`), which would be a false alarm, not a leak.
tokens = st.text(TOKEN_ALPHABET, min_size=20, max_size=300).filter(
    lambda t: any(c.isupper() for c in t) and any(c.islower() for c in t) and any(c.isdigit() for c in t)
)
passwords = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=12, max_size=40).filter(
    lambda p: any(c.isupper() for c in p) and any(c.islower() for c in p) and any(c.isdigit() for c in p) and not p.isalnum()
)


def _echoing(secret: str):
    raw = secret.encode()
    half = len(raw) // 2
    challenge = base64.b64encode(json.dumps({"status": "400", "echo": secret}).encode())

    async def on_command(tag: bytes, name: bytes, args: bytes, writer) -> bool:
        if name == b"AUTHENTICATE" and b" " not in args:  # continuation form: ask for the response first
            await writer.send(b"+ \r\n")
        await writer.send(b"* OK raw " + raw + b"\r\n")
        await writer.send(b"* OK b64 " + base64.b64encode(raw) + b"\r\n")
        await writer.send(b"* OK first " + raw[:half] + b"\r\n* OK second " + raw[half:] + b"\r\n")
        if name == b"AUTHENTICATE":
            await writer.send(b"+ " + challenge + b"\r\n")
            return True  # the client's answer comes next, as a line of its own
        await writer.send(tag + b" NO [AUTHENTICATIONFAILED] echo " + raw + b"\r\n")
        return True

    return on_command


async def _session(secret: str, mechanism: Mechanism, is_password: bool, chunk: int) -> SessionRecord:
    echo = _echoing(secret)
    pending: list[bytes] = []

    async def on_command(tag: bytes, name: bytes, args: bytes, writer) -> bool:
        if pending:  # the line after our challenge: the client's acknowledgement, then the tagged NO
            await writer.send(pending.pop() + b" NO [AUTHENTICATIONFAILED] echo " + secret.encode() + b"\r\n")
            return True
        if name == b"AUTHENTICATE":
            pending.append(tag)
        return await echo(tag, name, args, writer)

    async with serve(scripted(on_command, chunk=chunk)) as port:
        settings_ = CheckSettings(
            host="127.0.0.1", port=port, security=Security.PLAIN, user="u@example.test", mechanism=mechanism, timeout=3
        )
        record = SessionRecord(settings_)
        credential = Credential(
            Secret(SecretKind.PASSWORD if is_password else SecretKind.ACCESS_TOKEN, secret), is_password, TokenEvidence()
        )
        record.redactor.register(credential.secret, "password" if is_password else None)
        await asyncio.wait_for(run_probe(settings_, credential, record), 15)
    return record


def _leaks(record: SessionRecord, secret: str) -> list[str]:
    forms = {secret, base64.b64encode(secret.encode()).decode().rstrip("=")}
    texts = [line.text for line in record.lines] + [a for line in record.lines for a in line.annotations]
    texts += [report_json(record), report_markdown(record), repr(record.evidence)]
    return [form for form in forms for text in texts if form in text]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=tokens, mechanism=st.sampled_from([Mechanism.XOAUTH2, Mechanism.OAUTHBEARER]), chunk=st.sampled_from([0, 1, 5]))
def test_echoed_tokens_never_stored(secret: str, mechanism: Mechanism, chunk: int) -> None:
    record = asyncio.run(_session(secret, mechanism, False, chunk))
    assert record.evidence.auth_result == "NO"
    assert _leaks(record, secret) == []


@settings(max_examples=20, deadline=None)
@given(secret=passwords, mechanism=st.sampled_from([Mechanism.PLAIN, Mechanism.LOGIN]))
def test_echoed_passwords_never_stored(secret: str, mechanism: Mechanism) -> None:
    record = asyncio.run(_session(secret, mechanism, True, 0))
    assert record.evidence.auth_result == "NO"
    assert _leaks(record, secret) == []


# -- POP3 and SMTP: the same echoes through their drivers ------------------------------------------------
def _echoes(secret: str, *, prefix: bytes, last: bytes) -> bytes:
    """The secret raw, base64 and split over two lines, each on a reply line, then `last` + a base64 JSON echo."""
    raw = secret.encode()
    half = len(raw) // 2
    blob = base64.b64encode(json.dumps({"status": "400", "echo": secret}).encode())
    lines = [b"raw " + raw, b"b64 " + base64.b64encode(raw), b"first " + raw[:half], b"second " + raw[half:]]
    return b"".join(prefix + line + b"\r\n" for line in lines) + last + blob + b"\r\n"


def _smtp_echo(secret: str):
    async def script(command: str, writer) -> bytes:  # noqa: ANN001
        if command.startswith("AUTH"):
            return _echoes(secret, prefix=b"334-", last=b"334 ")  # a multi-line continuation ending in the JSON challenge
        return _echoes(secret, prefix=b"535-5.7.8 ", last=b"535 5.7.8 ")

    return smtp_server(script)


def _pop3_echo(secret: str):
    async def script(command: str, writer) -> bytes:  # noqa: ANN001
        if command.startswith("AUTH"):
            return _echoes(secret, prefix=b"* ", last=b"+ ")  # noise lines, then the challenge
        if command.startswith("USER"):
            return b"+OK\r\n"
        return _echoes(secret, prefix=b"* ", last=b"-ERR [AUTH] echo ")

    return pop3_server(script, capa=[b"USER", b"SASL XOAUTH2 OAUTHBEARER PLAIN", b"."])


@settings(max_examples=10, deadline=None)
@given(
    secret=tokens,
    protocol=st.sampled_from([Protocol.POP3, Protocol.SMTP]),
    mechanism=st.sampled_from([Mechanism.XOAUTH2, Mechanism.OAUTHBEARER]),
    sasl_ir=st.sampled_from(["yes", "no"]),
)
def test_echoed_tokens_never_stored_pop3_smtp(secret: str, protocol: Protocol, mechanism: Mechanism, sasl_ir: str) -> None:
    handler = _pop3_echo(secret) if protocol is Protocol.POP3 else _smtp_echo(secret)
    record = asyncio.run(probe(handler, protocol, secret=secret, mechanism=mechanism, sasl_ir=sasl_ir))
    assert record.evidence.auth_result == "NO" and record.evidence.sasl
    assert _leaks(record, secret) == []


@settings(max_examples=10, deadline=None)
@given(secret=passwords, protocol=st.sampled_from(list(Protocol)[1:]), mechanism=st.sampled_from([Mechanism.PLAIN, Mechanism.LOGIN]))
def test_echoed_passwords_never_stored_pop3_smtp(secret: str, protocol: Protocol, mechanism: Mechanism) -> None:
    handler = _pop3_echo(secret) if protocol is Protocol.POP3 else _smtp_echo(secret)
    record = asyncio.run(probe(handler, protocol, secret=secret, password=True, mechanism=mechanism))
    assert record.evidence.auth_result == "NO"
    assert _leaks(record, secret) == []
