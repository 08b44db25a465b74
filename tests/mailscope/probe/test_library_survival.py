"""The probe survives its client library (issue 13): aioimaplib's parser, run as a loop, reads a 5,000-line burst
in one write; what it still cannot read (an unknown tag, the next command's tag, a tagged line before any command)
is `client_parser_error`, owned by mailscope/the client library, never 'the server closed the connection'; a server
that takes the TCP connection and never completes TLS is a TLS-handshake timeout, for every protocol."""

from __future__ import annotations

import asyncio

import pytest
from aioimaplib import aioimaplib
from fakeimap import CAPS, hang, scripted
from fakelines import probe
from hypothesis import given
from hypothesis import strategies as st

from mailscope.evidence import FaultKind, OutcomeKind
from mailscope.probe.imap import _Command
from mailscope.protocols import decide_outcome
from mailscope.record import SessionRecord
from mailscope.settings import Protocol, Security

BOTH_LOOPS = pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])  # the audit's loop (uvloop) too

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
BURST = 5000


async def _probe(handler, *, security: Security = Security.PLAIN, protocol: Protocol = Protocol.IMAP) -> SessionRecord:  # noqa: ANN001
    return await probe(handler, protocol, secret=TOKEN, security=security, timeout=1.5)


def _accepting(burst_on: bytes, burst: bytes):
    """AUTHENTICATE OK; `burst_on` is answered with `burst` plus its tagged OK in one write; others OK."""

    async def on_command(tag: bytes, name: bytes, args: bytes, writer) -> bool:  # noqa: ANN001
        body = burst if name == burst_on else b""
        writer.write(body + tag + b" OK " + name + b" completed\r\n")
        return True

    return on_command


@BOTH_LOOPS
@pytest.mark.parametrize("command", [b"AUTHENTICATE", b"EXAMINE"])
async def test_five_thousand_untagged_lines_in_one_write_are_read(command: bytes) -> None:
    burst = b"".join(b"* LIST (\\HasNoChildren) \".\" Folder%d\r\n" % i for i in range(BURST))
    record = await _probe(scripted(_accepting(command, burst)))
    assert record.evidence.fault is None, record.evidence.fault
    assert decide_outcome(record.evidence).kind is OutcomeKind.MAILBOX_REACHABLE
    assert sum(1 for line in record.lines if line.text.startswith("* LIST")) == BURST


@BOTH_LOOPS
async def test_ten_thousand_continuations_are_read_and_the_refusal_kept() -> None:
    async def on_command(tag: bytes, name: bytes, args: bytes, writer) -> bool:  # noqa: ANN001
        if name == b"AUTHENTICATE":
            writer.write(b"+ \r\n" * 10_000 + tag + b" NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
        else:
            writer.write(tag + b" OK done\r\n")
        return True

    record = await _probe(scripted(on_command))
    assert record.evidence.fault is None and record.evidence.auth_result == "NO"
    answers = [line.text for line in record.lines if line.direction == "client" and line.seq > record.evidence.sasl[0].command_seq]
    assert answers.count("*") == 1 and len(answers) <= 10  # bounded: a few answers, one cancel, then the LOGOUT


def _tagged(make_tag):  # noqa: ANN001
    async def on_command(tag: bytes, name: bytes, args: bytes, writer) -> bool:  # noqa: ANN001
        writer.write(make_tag(tag) + b" OK AUTHENTICATE completed.\r\n")
        return True

    return on_command


def _next_tag(tag: bytes) -> bytes:
    prefix = tag.rstrip(b"0123456789")
    return prefix + str(int(tag[len(prefix):]) + 1).encode()


@BOTH_LOOPS
@pytest.mark.parametrize("make_tag", [lambda tag: b"ZZZZ99", _next_tag], ids=["unknown-tag", "next-command-tag"])
async def test_a_tag_the_library_cannot_place_is_a_client_parser_error(make_tag) -> None:  # noqa: ANN001
    record = await _probe(scripted(_tagged(make_tag)))
    fault = record.evidence.fault
    assert fault is not None and fault.kind is FaultKind.CLIENT_PARSER, fault
    assert fault.step == "AUTHENTICATE" and "aioimaplib" in fault.detail and "closed" not in fault.detail


@BOTH_LOOPS
async def test_tagged_lines_before_any_command_are_a_client_parser_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK [CAPABILITY " + CAPS + b"] ready\r\nA1 OK nothing was asked\r\n")
        await reader.read()

    record = await _probe(handler)
    assert record.evidence.fault.kind is FaultKind.CLIENT_PARSER, record.evidence.fault


@BOTH_LOOPS
async def test_the_client_parser_fault_has_its_own_finding() -> None:
    from mailscope.diagnosis import diagnose
    from mailscope.findings import Owner

    record = await _probe(scripted(_tagged(lambda tag: b"ZZZZ99")))
    diagnosis = diagnose(record.diagnosis_input())
    top = diagnosis.findings[0]
    assert top.id == "client_parser_error" and top.owner is Owner.MAILSCOPE


@BOTH_LOOPS
@pytest.mark.parametrize("protocol", list(Protocol))
async def test_a_tls_handshake_that_never_completes_is_a_handshake_timeout(protocol: Protocol) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    record = await _probe(hang, security=Security.TLS, protocol=protocol)
    fault = record.evidence.fault
    assert fault.kind is FaultKind.TLS_HANDSHAKE and fault.step == "TLS handshake", fault
    assert "did not complete within 1.5 s" in fault.detail and loop.time() - started < 5


def test_a_command_the_session_times_collects_the_answer_as_aioimaplib_s_own() -> None:
    """The driver's commands skip aioimaplib's timer reset per line (they have no timeout: the session times each step);
    what they collect and how they end is the library's."""
    loop = asyncio.new_event_loop()
    try:
        stock, ours = (kind("EXAMINE", "DJKK3", "INBOX", loop=loop) for kind in (aioimaplib.Command, _Command))
        for command in (stock, ours):
            command.append_to_resp(b"0 EXISTS")
            command.begin_literal_data(5, b"ab")
            command.append_literal_data(b"cde rest")
            command.close(b"[READ-ONLY] EXAMINE completed.", "OK")
    finally:
        loop.close()
    assert ours.response == stock.response and ours.response.result == "OK"
    assert ours.response.lines == [b"0 EXISTS", b"abcde", b"[READ-ONLY] EXAMINE completed."]


@given(st.lists(st.sampled_from([b"a", b"{", b"}", b"5", b"\n", b"\r", b" "]), max_size=10).map(b"".join))
def test_the_literal_pattern_is_tried_wherever_it_can_match(line: bytes) -> None:
    """TapProtocol tries aioimaplib's `.*{n}$` only on a line ending in `}` (or `}` and a LF, which `$` allows)."""
    if aioimaplib.literal_data_re.match(line):
        assert line.endswith((b"}", b"}\n"))
    for literal in (b"* 1 FETCH (BODY[] {5}", b"A1 LOGIN {3}\n", b"{0}"):
        assert aioimaplib.literal_data_re.match(literal) and literal.endswith((b"}", b"}\n"))
