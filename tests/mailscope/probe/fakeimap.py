"""Small asyncio servers that misbehave on purpose (hang, close, garbage, BYE, silence...) and a
scriptable IMAP responder, for fault and redaction tests of the live probe. Loopback only."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

CAPS = b"IMAP4rev1 SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER AUTH=PLAIN"


@contextlib.asynccontextmanager
async def serve(handler: Handler, *, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """Run `handler` per connection on 127.0.0.1:<free port>; yields the port."""
    writers: list[asyncio.StreamWriter] = []

    async def wrapped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            await handler(reader, writer)

    server = await asyncio.start_server(wrapped, "127.0.0.1", 0, ssl=ssl_context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in writers:
            writer.transport.abort()
        await server.wait_closed()


def self_signed(directory: Path, san: str = "DNS:localhost,IP:127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate (cert, key), by default for localhost/127.0.0.1."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", f"subjectAltName={san}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


# -- misbehaving servers ------------------------------------------------------------------------------
async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # says nothing until the client leaves


async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x00\xff\x1b[31mHELLO\x1b]0;owned\x07 not imap\r\n")
    await reader.read()


async def bye_greeting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"* BYE Too many simultaneous connections. Try again later.\r\n")
    await writer.drain()
    writer.close()


async def greeting_then_hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"* OK IMAP4rev1 plain server ready\r\n")
    await reader.read()


def scripted(on_command: Callable[[bytes, bytes, bytes, asyncio.StreamWriter], Awaitable[bool]], *, chunk: int = 0) -> Handler:
    """A minimal IMAP server: greeting, CAPABILITY and LOGOUT built in; every other command goes to
    `on_command(tag, name, rest, writer)`, which returns False to stop reading (silence or close).
    `chunk` > 0 writes every server line in pieces of that many bytes (split reads)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def send(data: bytes) -> None:
            step = chunk or len(data)
            for i in range(0, len(data), step):
                writer.write(data[i : i + step])
                await writer.drain()

        await send(b"* OK [CAPABILITY " + CAPS + b"] Fake IMAP ready\r\n")
        while line := await reader.readline():
            tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
            name, _, args = rest.partition(b" ")
            name = name.upper()
            if name == b"CAPABILITY":
                await send(b"* CAPABILITY " + CAPS + b"\r\n" + tag + b" OK CAPABILITY completed\r\n")
            elif name == b"LOGOUT":
                await send(b"* BYE Logging out\r\n" + tag + b" OK LOGOUT completed\r\n")
                writer.close()
                return
            else:
                writer.send = send  # type: ignore[attr-defined]  # lets on_command use split writes
                if not await on_command(tag, name, args, writer):
                    await reader.read()
                    return

    return handler
