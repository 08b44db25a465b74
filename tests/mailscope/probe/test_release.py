"""A finished session is freed as soon as the probe returns, by reference counting alone: no reference cycle keeps its
connection, TLS objects, wire tap and transcript buffers alive until the cyclic collector happens to run. An audit
carries hundreds of sessions at once; when each one waited for a collection, the collector's walks and the memory
they held grew with the fleet (1,000 lab mailboxes: peak RSS 99 MB instead of 59 MB)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any

import labfixture
import pytest

from mailscope.check import run_check
from mailscope.evidence import FaultKind, OutcomeKind
from mailscope.lab.session import run_lab_check
from mailscope.probe import run_probe
from mailscope.probe.session import ProbeSession
from mailscope.record import SessionRecord
from mailscope.settings import CheckSettings, Protocol, SecretSource, Security
from providers.registry import token_source_for

BOTH_LOOPS = pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])  # the audit's loop (uvloop) too

# Each protocol's driver, its happy path, its refusals, a server that hangs up after a BAD, STARTTLS and implicit TLS.
SCENARIOS = (
    "ms-healthy",
    "ms-app-no-mailbox-permission",
    "ms-expired-mid-session",
    "ms-healthy-starttls",
    "google-malformed-xoauth2",
    "ms-pop-healthy",
    "ms-pop-disabled",
    "ms-smtp-healthy",
    "ms-smtp-auth-disabled-mailbox",
    "google-smtp-starttls",
)


def _sessions_alive() -> int:
    """A count, not the sessions: a failing assertion must not keep them alive into the next test."""
    return sum(isinstance(thing, ProbeSession) for thing in gc.get_objects())


async def _sessions_alive_once_closed(before: int) -> int:
    """How many sessions are alive once the closes have run their course. With the lab or a local server that takes a
    few loop turns; a graceful TLS close with the real Dovecot waits for its close_notify, which a loaded machine may
    deliver many turns later (CI once saw the uvloop session still held after 5 turns). The collector stays off
    throughout, so a session kept by a cycle is still counted here, however long this waits."""
    deadline = asyncio.get_running_loop().time() + 5
    await asyncio.sleep(0)
    while (alive := _sessions_alive()) != before and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.001)
    return alive


@pytest.fixture
def sessions_alive_before():  # noqa: ANN201 - a fixture
    """The collector off for the test; yields how many sessions were alive before it (another test may hold some)."""
    gc.collect()
    gc.disable()
    try:
        yield _sessions_alive()
    finally:
        gc.enable()


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_a_finished_lab_session_is_freed_without_the_cyclic_collector(scenario: str, sessions_alive_before: int) -> None:
    record = await run_lab_check(scenario, SessionRecord, token_source_for)
    assert record.lines and record.outcome is not None  # the session ran
    assert await _sessions_alive_once_closed(sessions_alive_before) == sessions_alive_before


@pytest.mark.parametrize("protocol", list(Protocol))
async def test_a_session_that_never_connected_is_freed_without_the_cyclic_collector(protocol: Protocol, sessions_alive_before: int) -> None:
    server = await asyncio.start_server(lambda reader, writer: writer.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # nothing listens there any more: the connection is refused
    settings = CheckSettings(host="127.0.0.1", port=port, protocol=protocol, security=Security.PLAIN, timeout=2)
    record = SessionRecord(settings)
    await run_probe(settings, None, record)
    assert record.evidence.fault is not None and record.evidence.fault.kind is FaultKind.REFUSED
    assert await _sessions_alive_once_closed(sessions_alive_before) == sessions_alive_before


async def _probe_against(handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any], protocol: Protocol,
                         timeout: float) -> SessionRecord:  # fmt: skip
    """The probe's session with a local server that `handler` plays; the server is gone after."""
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await handler(reader, writer)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    settings = CheckSettings(host="127.0.0.1", port=server.sockets[0].getsockname()[1], protocol=protocol, security=Security.PLAIN,
                             timeout=timeout)  # fmt: skip
    record = SessionRecord(settings)
    try:
        await run_probe(settings, None, record)
    finally:
        server.close()
        for writer in writers:
            writer.close()
    return record


@pytest.mark.parametrize("protocol", list(Protocol))
async def test_a_session_timed_out_by_silence_is_freed_without_the_cyclic_collector(protocol: Protocol, sessions_alive_before: int) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pass  # accepts, never speaks

    record = await _probe_against(silent, protocol, timeout=0.2)
    assert record.evidence.fault is not None and record.evidence.fault.kind is FaultKind.SERVER_SILENT
    assert await _sessions_alive_once_closed(sessions_alive_before) == sessions_alive_before


@pytest.mark.dovecot
@pytest.mark.parametrize("expired", [False, True], ids=["accepted", "refused"])
@BOTH_LOOPS
async def test_a_session_with_the_real_dovecot_is_freed_without_the_cyclic_collector(
    dovecot: labfixture.LabInstance, monkeypatch: pytest.MonkeyPatch, expired: bool, sessions_alive_before: int
) -> None:
    monkeypatch.setenv("A2_RELEASE_TOKEN", labfixture.mint(dovecot, **({"ttl": -60} if expired else {})))
    settings = CheckSettings(host="127.0.0.1", port=dovecot.imaps, security=Security.TLS, user="alice@example.test",
                             ca_file=dovecot.ca_file, timeout=5, token=SecretSource("env", "A2_RELEASE_TOKEN"))  # fmt: skip
    record = SessionRecord(settings)
    outcome = await run_check(settings, token_source_for(settings), record)
    assert outcome.kind is (OutcomeKind.AUTH_FAILED if expired else OutcomeKind.MAILBOX_REACHABLE)
    assert await _sessions_alive_once_closed(sessions_alive_before) == sessions_alive_before


# Not a mail server at all: an HTTP answer with terminal escapes, then the connection closed mid-line.
HOSTILE = b"HTTP/1.1 400 Bad Request\r\n\x1b]0;owned\x07\x1b[2J" + b"A" * 5000


@pytest.mark.parametrize("protocol", list(Protocol))
@BOTH_LOOPS
async def test_a_session_a_hostile_server_broke_is_freed_without_the_cyclic_collector(
    protocol: Protocol, sessions_alive_before: int
) -> None:
    async def hostile(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(HOSTILE)
        await writer.drain()
        writer.close()

    record = await _probe_against(hostile, protocol, timeout=2)
    assert record.evidence.fault is not None
    assert not any("\x1b" in line.text for line in record.lines)  # stored escaped, as any server text
    assert await _sessions_alive_once_closed(sessions_alive_before) == sessions_alive_before
