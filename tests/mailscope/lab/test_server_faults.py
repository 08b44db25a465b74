"""The lab servers never crash: garbage, huge lines, literals, TLS mistakes and abrupt closes end (at most)
that one connection; the next client is served. Their logs never hold a secret. IMAP first, then the POP3 and
SMTP servers, which share the same line server."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from mailscope.lab.directory import Directory, GoogleUser
from mailscope.lab.exchange_imap import ExchangeImapServer
from mailscope.lab.exchange_pop3 import ExchangePop3Server
from mailscope.lab.exchange_smtp import ExchangeSmtpServer
from mailscope.lab.gmail_imap import GmailImapServer
from mailscope.lab.gmail_pop3 import GmailPop3Server
from mailscope.lab.gmail_smtp import GmailSmtpServer
from mailscope.lab.line_server import MAX_LINE, LineServer

from .conftest import Lab, Wire, b64, fake_tokeninfo, xoauth2

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


# -- POP3 and SMTP: the same guarantees over the same line server --------------------------------------------------
@dataclass(frozen=True)
class Dialect:
    """How to talk to one POP3/SMTP server in these tests: open a ready session, sign in, ask for a NOOP."""

    name: str
    make: Callable[[Lab, ssl.SSLContext], LineServer]
    implicit_tls: bool
    greeting: str  # how the greeting starts
    auth_command: str  # the command that gets a SASL continuation
    continuation: str  # how that continuation starts
    noop_ok: str  # how the answer to NOOP starts
    closing: str  # how the answer to an over-long line starts
    user: str = ALICE

    @property
    def smtp(self) -> bool:
        return self.greeting.startswith("220")

    def token(self, lab: Lab) -> str:
        return lab.token(scp="POP.AccessAsUser.All SMTP.Send") if self.user == ALICE else GMAIL_TOKEN

    async def connect(self, lab: Lab, server: LineServer, wires: list[Wire]) -> Wire:
        """Greeted and ready for AUTH (SMTP: EHLO, and STARTTLS first on a plain listener)."""
        wire = await lab.connect(server.port, tls=self.implicit_tls)
        wires.append(wire)
        assert (await wire.line()).startswith(self.greeting)
        if self.smtp:
            await wire.reply("EHLO faults.example")
            if not self.implicit_tls:
                assert (await wire.reply("STARTTLS"))[0].startswith("220 ")
                await wire.upgrade(lab)
                await wire.reply("EHLO faults.example")
        return wire

    async def sign_in(self, lab: Lab, server: LineServer, wires: list[Wire]) -> None:
        wire = await self.connect(lab, server, wires)
        assert (await wire.ask(self.auth_command)).startswith(self.continuation)
        answer = await wire.ask(xoauth2(self.user, self.token(lab)))
        assert answer.startswith(("+OK", "235 ")), answer


def _gmail_directory() -> Directory:
    return Directory(google_users=[GoogleUser(GMAIL_USER)])


GMAIL_USER = "alice@example-workspace.com"
_gmail_tokeninfo = fake_tokeninfo(GMAIL_USER, {GMAIL_TOKEN: "https://mail.google.com/"})
DIALECTS = (
    Dialect("exchange-pop3", lambda lab, ctx: ExchangePop3Server(ctx, lab.directory, lab.key.public_key_pem), True,
            "+OK The Microsoft Exchange POP3", "AUTH XOAUTH2", "+ ", "+OK", "-ERR"),
    Dialect("gmail-pop3", lambda lab, ctx: GmailPop3Server(ctx, _gmail_directory(), _gmail_tokeninfo), True, "+OK Gpop ready",
            "AUTH XOAUTH2", "+ ", "+OK", "-ERR", GMAIL_USER),
    Dialect("exchange-smtp", lambda lab, ctx: ExchangeSmtpServer(ctx, lab.directory, lab.key.public_key_pem), False,
            "220 MR1P264CA0146.outlook.office365.com Microsoft ESMTP", "AUTH XOAUTH2", "334 ", "250 ", "500 "),
    Dialect("gmail-smtp", lambda lab, ctx: GmailSmtpServer(ctx, _gmail_directory(), _gmail_tokeninfo), True, "220 smtp.gmail.com ESMTP",
            "AUTH XOAUTH2", "334 ", "250 ", "500 ", GMAIL_USER),
    Dialect("gmail-smtp-starttls", lambda lab, ctx: GmailSmtpServer(ctx, _gmail_directory(), _gmail_tokeninfo, implicit_tls=False),
            False, "220 smtp.gmail.com ESMTP", "AUTH XOAUTH2", "334 ", "250 ", "500 ", GMAIL_USER),
)


@pytest.fixture(params=DIALECTS, ids=[d.name for d in DIALECTS])
async def dialect_server(request, lab: Lab, server_context):
    async with request.param.make(lab, server_context) as instance:
        yield request.param, instance


async def noop_answer(wire: Wire) -> str:
    """The answer to NOOP, skipping what the server still says to earlier junk."""
    await wire.send("NOOP")
    deadline = asyncio.get_running_loop().time() + 5
    answer = ""
    while asyncio.get_running_loop().time() < deadline:
        answer = await wire.line()
        if answer.startswith(("+OK", "250 ")):
            return answer
    return answer


async def test_line_servers_survive_garbage(lab: Lab, dialect_server, wires, caplog) -> None:
    dialect, server = dialect_server
    wire = await dialect.connect(lab, server, wires)
    for junk in (os.urandom(300).replace(b"\n", b"?"), b"\x00\xff\x1b[31m", b"", b".", b"+", b"MAIL FROM:<", b"RCPT TO:",
                 b"AUTH", b"AUTH XOAUTH2 !!!", b"\xc3\x28 NOOP", b"DATA", b"STAT", b"USER", b"PASS x", b"CAPA extra args"):
        await wire.send(junk)
        if junk.startswith(b"AUTH XOAUTH2") and dialect.name == "exchange-pop3":
            break  # Exchange POP3 closes on a one-line AUTH: that is its answer, not a crash
    if dialect.name != "exchange-pop3":
        assert (await noop_answer(wire)).startswith(dialect.noop_ok)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    await dialect.sign_in(lab, server, wires)


async def test_line_servers_huge_line_ends_only_that_connection(lab: Lab, dialect_server, wires) -> None:
    dialect, server = dialect_server
    wire = await dialect.connect(lab, server, wires)
    wire.writer.write(b"NOOP " + b"x" * (MAX_LINE * 3))
    await wire.writer.drain()
    assert (await wire.line()).startswith(dialect.closing)
    assert await wire.closed()
    await dialect.sign_in(lab, server, wires)


async def test_line_servers_huge_sasl_response(lab: Lab, dialect_server, wires, caplog) -> None:
    dialect, server = dialect_server
    wire = await dialect.connect(lab, server, wires)
    assert (await wire.ask(dialect.auth_command)).startswith(dialect.continuation)
    wire.writer.write(b"A" * (MAX_LINE * 2) + b"\r\n")
    await wire.writer.drain()
    assert (await wire.line()).startswith(dialect.closing)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    await dialect.sign_in(lab, server, wires)


@pytest.fixture(params=[d for d in DIALECTS if d.smtp], ids=[d.name for d in DIALECTS if d.smtp])
async def smtp_server(request, lab: Lab, server_context):
    async with request.param.make(lab, server_context) as instance:
        yield request.param, instance


async def test_smtp_huge_message_is_read_and_discarded(lab: Lab, smtp_server, wires) -> None:
    dialect, server = smtp_server
    wire = await dialect.connect(lab, server, wires)
    assert (await wire.ask(dialect.auth_command)).startswith(dialect.continuation)
    assert (await wire.ask(xoauth2(dialect.user, dialect.token(lab)))).startswith("235 ")
    assert (await wire.reply(f"MAIL FROM:<{dialect.user}>"))[0].startswith("250 ")
    assert (await wire.reply("RCPT TO:<bob@example.net>"))[0].startswith("250 ")
    assert (await wire.reply("DATA"))[0].startswith("354 ")
    chunk = b"x" * 1000 + b"\r\n"
    wire.writer.write(chunk * 1200 + b".\r\n")  # over the 1 MiB the lab accepts: refused, the connection kept
    await wire.writer.drain()
    assert (await wire.reply())[0].startswith("552 5.3.4 ")
    assert (await noop_answer(wire)).startswith("250 ")


@pytest.mark.parametrize("moment", ["before-greeting-read", "mid-auth-continuation", "mid-line", "after-challenge", "mid-data"])
async def test_line_servers_abrupt_close(lab: Lab, dialect_server, wires, moment) -> None:
    dialect, server = dialect_server
    if moment == "before-greeting-read":
        wire = await lab.connect(server.port, tls=dialect.implicit_tls)
    else:
        wire = await dialect.connect(lab, server, wires)
    if moment == "mid-auth-continuation":
        await wire.ask(dialect.auth_command)
    elif moment == "mid-line":
        wire.writer.write(b"AUTH XOAUTH2 dXNlcj1")
        await wire.writer.drain()
    elif moment == "after-challenge":  # Gmail waits after its error challenge; Exchange has answered (or closed)
        await wire.ask(dialect.auth_command)
        await wire.ask(xoauth2(dialect.user, "ya29.not-known"))
    elif moment == "mid-data":
        await wire.send("DATA")
        wire.writer.write(b"Subject: half a message\r\nbody without the final dot")
        await wire.writer.drain()
    wire.close()
    await asyncio.sleep(0.05)
    await dialect.sign_in(lab, server, wires)


async def test_line_servers_tls_junk_and_plaintext_to_tls(lab: Lab, dialect_server, wires) -> None:
    dialect, server = dialect_server
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"\x16\x03\x01\x02\x00" + os.urandom(64) + b"\r\nEHLO x\r\nCAPA\r\n")
    await writer.drain()
    writer.write_eof()
    await asyncio.wait_for(reader.read(), 3)  # the server ends the failed handshake, or answers the junk and sees EOF
    writer.transport.abort()
    await dialect.sign_in(lab, server, wires)


async def test_line_servers_many_concurrent_clients_then_fast_stop(lab: Lab, dialect_server, wires) -> None:
    dialect, server = dialect_server
    await asyncio.gather(*(dialect.sign_in(lab, server, wires) for _ in range(20)))
    started = time.perf_counter()
    await server.stop()
    assert time.perf_counter() - started < 0.5


async def test_line_server_logs_hold_no_secret(lab: Lab, dialect_server, wires, caplog) -> None:
    dialect, server = dialect_server
    caplog.set_level(logging.DEBUG, logger="mailscope.lab")
    token, password = dialect.token(lab), "S3cret-Passw0rd!"
    wire = await dialect.connect(lab, server, wires)
    if dialect.smtp:
        await wire.ask("AUTH LOGIN")
        await wire.ask(b64(dialect.user))
        await wire.reply(b64(password))
        await wire.reply(f"AUTH PLAIN {b64(chr(0) + dialect.user + chr(0) + password)}")
    else:
        await wire.ask(f"USER {dialect.user}")
        await wire.ask(f"PASS {password}")
    await wire.ask(dialect.auth_command)
    answer = await wire.ask(xoauth2("bob@contoso.onmicrosoft.com", token))
    if answer.startswith(("+ ", "334 ")):
        await wire.reply("")
    await dialect.sign_in(lab, server, wires)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "AUTH XOAUTH2" in text  # the lab does log its decisions
    encoded = xoauth2(dialect.user, token)
    for secret in (token, token[20:60], password, encoded, encoded[10:50], b64(password)):
        assert secret not in text


@pytest.mark.parametrize("seed", range(3))
async def test_line_servers_random_command_soup(lab: Lab, dialect_server, wires, caplog, seed) -> None:
    """Seeded fuzz: lines of POP3/SMTP words, base64, dots and raw bytes. No internal error; the server still serves."""
    import random

    dialect, server = dialect_server
    rng = random.Random(seed)
    words = [b"AUTH", b"XOAUTH2", b"OAUTHBEARER", b"PLAIN", b"LOGIN", b"USER", b"PASS", b"STAT", b"LIST", b"UIDL", b"CAPA",
             b"STLS", b"EHLO", b"HELO", b"MAIL", b"FROM:<a@b>", b"RCPT", b"TO:<>", b"DATA", b"RSET", b"NOOP", b"STARTTLS", b".",
             b"*", b"=", b"\x00", b"\xff\xfe", b"\x1b[2J", xoauth2(ALICE, "ya29.x").encode(), base64.b64encode(os.urandom(30))]
    wire = await dialect.connect(lab, server, wires)
    for _ in range(150):
        wire.writer.write(b" ".join(rng.choice(words) for _ in range(rng.randint(1, 5))) + b"\r\n")
    wire.writer.write(b"\r\n.\r\n" * 3)  # ends any DATA or pending challenge
    await wire.writer.drain()
    try:  # the server worked through it all: NOOP is answered, or the server hung up (Exchange POP3 on a one-line AUTH)
        assert (await noop_answer(wire)).startswith(dialect.noop_ok)
    except EOFError:
        assert dialect.name == "exchange-pop3"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    await dialect.sign_in(lab, server, wires)
