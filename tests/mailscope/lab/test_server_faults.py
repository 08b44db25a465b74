"""The lab servers never crash: garbage, huge lines, literals, TLS mistakes and abrupt closes end (at most)
that one connection; the next client is served. Their logs never hold a secret."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time

import pytest

from mailscope.lab.directory import Directory, GoogleUser
from mailscope.lab.exchange_imap import ExchangeImapServer
from mailscope.lab.gmail_imap import GmailImapServer
from mailscope.lab.imap_server import MAX_LINE

from .conftest import Lab, xoauth2

ALICE = "alice@contoso.onmicrosoft.com"
GMAIL_TOKEN = "ya29.a0-fault-test-token-0123456789"


@pytest.fixture(params=["exchange", "gmail"])
async def server(request, lab: Lab, server_context):
    if request.param == "exchange":
        instance = ExchangeImapServer(server_context, lab.directory, lab.key.public_key_pem)
    else:
        info = {"scope": "https://mail.google.com/", "email": ALICE, "exp": str(int(time.time()) + 3000)}
        instance = GmailImapServer(server_context, Directory(google_users=[GoogleUser(ALICE)]),
                                   lambda token: info if token == GMAIL_TOKEN else None)
    await instance.start()
    yield instance
    await instance.stop()


def good_token(lab: Lab, server) -> str:
    return lab.token() if isinstance(server, ExchangeImapServer) else GMAIL_TOKEN


async def assert_serves_next_client(lab: Lab, server, wires) -> None:
    wire = await lab.connect(server.port)
    wires.append(wire)
    assert (await wire.line()).startswith("* OK ")
    answer = await wire.command(f"z AUTHENTICATE XOAUTH2 {xoauth2(ALICE, good_token(lab, server))}")
    assert answer[-1].startswith("z OK ")


async def test_garbage_bytes(lab: Lab, server, wires) -> None:
    wire = await lab.connect(server.port)
    wires.append(wire)
    await wire.line()
    for junk in (os.urandom(300).replace(b"\n", b"?"), b"\x00\xff\x1b[31m", b"* * *", b"+", b"tag", b"a UNKNOWNCMD x y",
                 b"a \xc3\x28 NOOP", b'a LOGIN "unterminated'):
        await wire.send(junk)
    await wire.send("q NOOP")
    lines = []
    while not (lines and lines[-1].startswith("q ")):
        lines.append(await wire.line())
    assert lines[-1].startswith("q OK")
    await assert_serves_next_client(lab, server, wires)


async def test_huge_line_ends_only_that_connection(lab: Lab, server, wires) -> None:
    wire = await lab.connect(server.port)
    wires.append(wire)
    await wire.line()
    wire.writer.write(b"a NOOP " + b"x" * (MAX_LINE * 3))
    await wire.writer.drain()
    assert (await wire.line()).startswith("* BYE")
    assert await wire.closed()
    await assert_serves_next_client(lab, server, wires)


async def test_huge_sasl_response_after_continuation(lab: Lab, server, wires, caplog) -> None:
    wire = await lab.connect(server.port)
    wires.append(wire)
    await wire.line()
    await wire.send("a AUTHENTICATE XOAUTH2")
    assert (await wire.line()).startswith("+")
    wire.writer.write(b"A" * (MAX_LINE * 2) + b"\r\n")
    await wire.writer.drain()
    assert (await wire.line()).startswith("* BYE")
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # handled, not an internal error
    await assert_serves_next_client(lab, server, wires)


async def test_oversized_literal_is_refused(lab: Lab, server, wires) -> None:
    wire = await lab.connect(server.port)
    wires.append(wire)
    await wire.line()
    await wire.send("a LOGIN {999999999}")
    assert (await wire.line()).startswith("* BYE")
    await assert_serves_next_client(lab, server, wires)


async def test_literal_login(lab: Lab, server, wires) -> None:
    wire = await lab.connect(server.port)
    wires.append(wire)
    await wire.line()
    await wire.send(f"a LOGIN {ALICE} {{8}}")
    assert (await wire.line()).startswith("+ ")
    await wire.send("password")
    assert (await wire.line()).startswith("a NO ")


@pytest.mark.parametrize("moment", ["before-greeting-read", "mid-authenticate-continuation", "mid-line", "after-challenge"])
async def test_abrupt_close(lab: Lab, server, wires, moment) -> None:
    wire = await lab.connect(server.port)
    if moment != "before-greeting-read":
        await wire.line()
    if moment == "mid-authenticate-continuation":
        await wire.send("a AUTHENTICATE XOAUTH2")
        await wire.line()
    elif moment == "mid-line":
        wire.writer.write(b"a AUTHENTICATE XOAUTH2 dXNlcj1")
        await wire.writer.drain()
    elif moment == "after-challenge":
        await wire.send(f"a AUTHENTICATE XOAUTH2 {xoauth2(ALICE, 'ya29.not-known')}")
        await wire.line()
    wire.close()
    await asyncio.sleep(0.05)
    await assert_serves_next_client(lab, server, wires)


async def test_plaintext_to_tls_port_and_tls_junk(lab: Lab, server, wires) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"a CAPABILITY\r\n" + os.urandom(64))
    await writer.drain()
    await asyncio.wait_for(reader.read(), 3)  # the server ends the failed handshake
    writer.transport.abort()
    await assert_serves_next_client(lab, server, wires)


async def test_many_concurrent_clients_then_fast_stop(lab: Lab, server, wires) -> None:
    async def one() -> None:
        await assert_serves_next_client(lab, server, wires)

    await asyncio.gather(*(one() for _ in range(20)))
    started = time.perf_counter()
    await server.stop()
    assert time.perf_counter() - started < 0.5


async def test_logs_hold_no_secret(lab: Lab, server, wires, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="mailscope.lab")
    token, password = good_token(lab, server), "S3cret-Passw0rd!"
    wire = await lab.connect(server.port)
    wires.append(wire)
    await wire.line()
    await wire.command(f"a LOGIN {ALICE} {password}")
    await wire.command(f"b AUTHENTICATE PLAIN {base64.b64encode(f'{chr(0)}{ALICE}{chr(0)}{password}'.encode()).decode()}")
    await wire.send(f"c AUTHENTICATE XOAUTH2 {xoauth2('bob@contoso.onmicrosoft.com', token)}")
    answer = await wire.line()
    if answer.startswith("+ "):
        await wire.send("")
        await wire.line()
    await wire.command(f"d AUTHENTICATE XOAUTH2 {xoauth2(ALICE, token)}")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "AUTHENTICATE XOAUTH2" in text  # the lab does log its decisions
    encoded = xoauth2(ALICE, token)
    for secret in (token, token[20:60], password, encoded, encoded[10:50], base64.b64encode(password.encode()).decode()):
        assert secret not in text


@pytest.mark.parametrize("seed", range(3))
async def test_random_command_soup(lab: Lab, server, wires, caplog, seed) -> None:
    """Seeded fuzz: lines made of IMAP-ish words, literals, quotes, base64 and raw bytes. No internal error,
    and the session still answers NOOP at the end (after flushing any pending literal or SASL wait)."""
    import random

    rng = random.Random(seed)
    words = [b"a", b"b1", b"AUTHENTICATE", b"XOAUTH2", b"OAUTHBEARER", b"PLAIN", b"LOGIN", b"SELECT", b"EXAMINE", b"LIST",
             b"NAMESPACE", b"CAPABILITY", b"STARTTLS", b"NOOP", b"ID", b"{3}", b"{2+}", b'"', b"(", b")", b"*", b"=", b"\x00",
             b"\xff\xfe", b"\x1b[2J", b"INBOX", b'""', xoauth2(ALICE, "ya29.x").encode(), base64.b64encode(os.urandom(30))]
    wire = await lab.connect(server.port)
    wires.append(wire)
    await wire.line()
    for _ in range(150):
        wire.writer.write(b" ".join(rng.choice(words) for _ in range(rng.randint(1, 6))) + b"\r\n")
    await wire.writer.drain()
    await wire.send(b"\r\n" * 3 + b"x" * 8 + b"\r\n")  # completes any literal / answers any pending challenge
    await wire.send("zz NOOP")
    deadline = asyncio.get_running_loop().time() + 5
    while asyncio.get_running_loop().time() < deadline:
        line = await wire.line()
        if line.startswith("zz "):
            assert line.startswith("zz OK")
            break
    else:
        pytest.fail("no answer to NOOP")
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    await assert_serves_next_client(lab, server, wires)
