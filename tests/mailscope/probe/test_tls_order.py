"""The TLS line precedes the greeting in every transcript, whatever the timing: a server whose greeting arrives in the
same read as the end of the TLS handshake (asyncio hands it to the protocol before the connecting coroutine resumes)
must not put the greeting first. The server here does TLS by hand (memory BIOs, TLS 1.2) so that its last handshake
flight and its greeting leave in one write: the client reads both at once, every run. On asyncio's loop and on uvloop
(the audit's, mailscope/audit/eventloop.py): each hands over the bytes that came with the handshake in its own way."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
import uvloop
from fakeimap import Handler, self_signed, serve, server_context
from fakelines import EXCHANGE_POP_GREETING, GMAIL_SMTP_GREETING

from mailscope.events import Direction
from mailscope.evidence import FaultKind
from mailscope.probe import run_probe
from mailscope.record import SessionRecord
from mailscope.settings import CheckSettings, Protocol, Security

GREETINGS = {
    Protocol.IMAP: b"* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] Fake IMAP ready",
    Protocol.POP3: EXCHANGE_POP_GREETING,
    Protocol.SMTP: GMAIL_SMTP_GREETING,
}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def greeting_in_last_handshake_flight(context: ssl.SSLContext, greeting: bytes) -> Handler:
    """The handshake through memory BIOs; the server's Finished and the greeting go out in one write. The server hangs up
    once the client's first command arrives (the order of the first lines is what is tested)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                writer.write(outgoing.read())
                data = await reader.read(65536)
                if not data:
                    return
                incoming.write(data)
        tls.write(greeting + b"\r\n")
        writer.write(outgoing.read())  # ChangeCipherSpec, Finished and the greeting: one segment on loopback
        await reader.read(65536)
        writer.close()

    return handler


@pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])
@pytest.mark.parametrize("protocol", list(GREETINGS))
async def test_the_tls_line_precedes_a_greeting_that_came_with_the_end_of_the_handshake(
    certificate: tuple[Path, Path], protocol: Protocol, request: pytest.FixtureRequest
) -> None:
    context = server_context(*certificate)
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # the server's Finished is its last flight: the greeting can ride along
    async with serve(greeting_in_last_handshake_flight(context, GREETINGS[protocol])) as port:
        settings = CheckSettings(
            host="127.0.0.1", port=port, protocol=protocol, security=Security.TLS, ca_file=str(certificate[0]), timeout=2.0
        )
        record = SessionRecord(settings)
        await asyncio.wait_for(run_probe(settings, None, record), 10)
    tls_at = next(i for i, line in enumerate(record.lines) if line.direction is Direction.INFO and line.text.startswith("TLS "))
    greeting_at = next(i for i, line in enumerate(record.lines) if line.direction is Direction.SERVER)
    assert tls_at < greeting_at, [line.text for line in record.lines]
    assert record.lines[greeting_at].text == GREETINGS[protocol].decode()
    assert record.lines[tls_at].text.startswith("TLS TLSv1.2 ") and "verified for 127.0.0.1" in record.lines[tls_at].text
    evidence = record.evidence
    assert evidence.tls is not None and evidence.tls.version == "TLSv1.2" and evidence.tls.peer_subject == "commonName=localhost"
    assert evidence.greeting == GREETINGS[protocol].decode()
    assert evidence.fault is not None and evidence.fault.kind is FaultKind.CLOSED_MID_COMMAND  # hung up after the first command
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop) == ("uvloop" in request.node.name)
