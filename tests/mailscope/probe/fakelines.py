"""Scriptable SMTP and POP3 servers for the probe's tests, written from the catalogue's real strings
(../shared/docs/failure-modes.md): each command line goes to a script that answers with whole wire lines.
Loopback only; `fakeimap.serve` runs them. STARTTLS/STLS upgrade with `tls`."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Awaitable, Callable

from fakeimap import serve

from mailscope.credential import Credential
from mailscope.evidence import TokenEvidence
from mailscope.probe import run_probe
from mailscope.record import SessionRecord
from mailscope.secret import Secret, SecretKind
from mailscope.settings import CheckSettings, Protocol, Security

Script = Callable[[str, asyncio.StreamWriter], Awaitable[bytes | None]]  # command line -> reply bytes (None: say nothing)

EXCHANGE_SMTP_GREETING = b"220 BN9PR03CA0123.outlook.office365.com Microsoft ESMTP MAIL Service ready at Tue, 1 Dec 2026 10:00:00 +0000"
EXCHANGE_EHLO_PLAIN = [b"BN9PR03CA0123.outlook.office365.com Hello [203.0.113.9]", b"SIZE 157286400", b"PIPELINING", b"STARTTLS",
                       b"8BITMIME", b"SMTPUTF8"]  # fmt: skip
EXCHANGE_EHLO_TLS = [b"BN9PR03CA0123.outlook.office365.com Hello [203.0.113.9]", b"SIZE 157286400", b"PIPELINING",
                     b"AUTH LOGIN XOAUTH2", b"8BITMIME", b"SMTPUTF8"]  # fmt: skip
GMAIL_SMTP_GREETING = b"220 smtp.gmail.com ESMTP d9443c01a7336-2a3e3c4f1sm1234567 - gsmtp"
GMAIL_EHLO = [b"smtp.gmail.com at your service, [203.0.113.9]", b"SIZE 35882577", b"8BITMIME",
              b"AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH", b"ENHANCEDSTATUSCODES", b"SMTPUTF8"]  # fmt: skip
FRONTEND = "MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM"
EXCHANGE_POP_GREETING = b"+OK The Microsoft Exchange POP3 service is ready. [" + base64.b64encode(FRONTEND.encode("utf-16-le")) + b"]"
EXCHANGE_CAPA = [b"TOP", b"UIDL", b"SASL PLAIN XOAUTH2", b"USER", b"."]


def multi_line(code: bytes, lines: list[bytes]) -> bytes:
    """`250-first`, ..., `250 last`."""
    return b"".join(code + (b" " if i == len(lines) - 1 else b"-") + line + b"\r\n" for i, line in enumerate(lines))


Builtin = Callable[[str, str, asyncio.StreamWriter], Awaitable[bytes | None | bool]]


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _line_server(greeting: bytes, builtin: Builtin, script: Script) -> Handler:
    """Greeting, then per command line: `builtin(verb, line, writer)` answers (bytes), upgraded TLS itself (True), or leaves
    the line to `script` (None); a script answering None goes silent."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting + b"\r\n")
        while line := await reader.readline():
            command = line.decode("utf-8", "replace").rstrip("\r\n")
            answer = await builtin(command.split(" ", 1)[0].upper(), command, writer)
            if answer is True:
                continue
            if answer is None:
                answer = await script(command, writer)
                if answer is None:
                    await reader.read()
                    return
            writer.write(answer)  # type: ignore[arg-type]
            await writer.drain()
            if command.upper() == "QUIT":
                writer.close()
                return

    return handler


def smtp_server(
    script: Script,
    *,
    greeting: bytes = GMAIL_SMTP_GREETING,
    ehlo: list[bytes] | None = None,
    ehlo_after_tls: list[bytes] | None = None,
    tls: ssl.SSLContext | None = None,
) -> Handler:
    """EHLO, STARTTLS (with `tls`) and QUIT built in; everything else (AUTH lines, MAIL, RCPT...) goes to `script`."""
    upgraded = False

    async def builtin(verb: str, command: str, writer: asyncio.StreamWriter) -> bytes | None | bool:
        nonlocal upgraded
        if verb == "EHLO":
            return multi_line(b"250", (ehlo_after_tls if upgraded and ehlo_after_tls else ehlo) or GMAIL_EHLO)
        if verb == "STARTTLS" and tls is not None:
            writer.write(b"220 2.0.0 SMTP server ready\r\n")
            await writer.start_tls(tls)  # nothing awaited in between (libraries.md §1)
            upgraded = True
            return True
        return b"221 2.0.0 Service closing transmission channel\r\n" if verb == "QUIT" else None

    return _line_server(greeting, builtin, script)


def pop3_server(
    script: Script, *, greeting: bytes = EXCHANGE_POP_GREETING, capa: list[bytes] | None = None, tls: ssl.SSLContext | None = None
) -> Handler:
    """CAPA, STLS (with `tls`) and QUIT built in; everything else goes to `script`."""

    async def builtin(verb: str, command: str, writer: asyncio.StreamWriter) -> bytes | None | bool:
        if verb == "CAPA":
            return b"+OK\r\n" + b"".join(c + b"\r\n" for c in (capa or EXCHANGE_CAPA))
        if verb == "STLS" and tls is not None:
            writer.write(b"+OK Begin TLS negotiation\r\n")
            await writer.start_tls(tls)
            return True
        return b"+OK Microsoft Exchange Server POP3 server signing off.\r\n" if verb == "QUIT" else None

    return _line_server(greeting, builtin, script)


async def probe(handler, protocol: Protocol, *, secret: str, password: bool = False, **kw: object) -> SessionRecord:  # noqa: ANN001
    """Run the live probe (`protocol`) against `handler` on loopback with a registered credential; plain text, 2 s steps."""
    async with serve(handler) as port:
        options = {"security": Security.PLAIN, "timeout": 2.0, "user": "alice@example.test", **kw}
        settings = CheckSettings(host="127.0.0.1", port=port, protocol=protocol, **options)  # type: ignore[arg-type]
        record = SessionRecord(settings)
        credential = Secret(SecretKind.PASSWORD if password else SecretKind.ACCESS_TOKEN, secret)
        record.redactor.register(credential)
        await asyncio.wait_for(run_probe(settings, Credential(credential, password, TokenEvidence()), record), 20)
    return record
