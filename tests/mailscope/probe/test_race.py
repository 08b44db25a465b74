"""ProbeSession.race: every step bounded by its own timeout through the session's one step timer (armed anew only for a
step that ends sooner, re-armed when it fires before the deadline of a step that ends later), and a lost connection
interrupting only the step in flight; the calling task is never left cancelled."""

from __future__ import annotations

import asyncio

import pytest
from fakeimap import hang, serve

from mailscope.evidence import FaultKind
from mailscope.probe.faults import ProbeFault
from mailscope.probe.session import ProbeSession
from mailscope.record import SessionRecord
from mailscope.settings import CheckSettings, Security

pytestmark = pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])  # the audit's loop (uvloop) too


class _Tell(asyncio.Protocol):
    def __init__(self, session: ProbeSession) -> None:
        self.session = session

    def connection_lost(self, exc: Exception | None) -> None:
        self.session.connection_lost(exc)


async def _open(port: int, timeout: float = 1.0) -> ProbeSession:
    settings = CheckSettings(host="127.0.0.1", port=port, security=Security.PLAIN, timeout=timeout)
    session = ProbeSession(settings, SessionRecord(settings))
    await session.open(lambda: _Tell(session))
    return session


async def test_each_step_ends_at_its_own_deadline_whatever_the_timer_was_armed_for() -> None:
    loop = asyncio.get_running_loop()
    async with serve(hang) as port:
        session = await _open(port)
        try:
            assert await session.race(asyncio.sleep(0.01, "first"), "FIRST", timeout=0.3) == "first"  # arms the timer at ~0.3 s
            # ends later than the armed timer: when it fires during this step, it is armed again for this step's deadline
            assert await session.race(asyncio.sleep(0.5, "longer"), "LONGER", timeout=3.0) == "longer"
            started = loop.time()
            with pytest.raises(ProbeFault) as silent:  # ends sooner than the armed timer: armed anew
                await session.race(asyncio.sleep(5), "SHORT", timeout=0.2)
            assert 0.15 < loop.time() - started < 0.6
            assert silent.value.fault.kind is FaultKind.SERVER_SILENT
            assert silent.value.fault.detail == "no answer to SHORT within 0.2 s"
            assert await session.race(asyncio.sleep(0.01, "after"), "AFTER") == "after"  # the expired step reached no later one
        finally:
            session.close()
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_a_step_own_timeout_error_is_its_own_and_a_closed_connection_interrupts_only_the_step_in_flight() -> None:
    async def own_timeout() -> None:
        raise TimeoutError("the library's own")

    async with serve(hang) as port:
        session = await _open(port, timeout=5.0)
        try:
            with pytest.raises(TimeoutError, match="the library's own"):
                await session.race(own_timeout(), "OWN")
            assert session.transport is not None
            waiting = asyncio.ensure_future(session.race(asyncio.sleep(5), "WAITING"))
            await asyncio.sleep(0.05)
            session.transport.abort()  # the connection goes: the step in flight ends at once with its fault
            with pytest.raises(ProbeFault) as closed:
                await asyncio.wait_for(waiting, 2)
            assert closed.value.fault.kind is FaultKind.CLOSED_MID_COMMAND
            assert closed.value.fault.detail == "the server closed the connection during WAITING"
            with pytest.raises(ProbeFault):  # later steps never start
                await session.race(asyncio.sleep(0, "never"), "LATER")
        finally:
            session.close()
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0 and not waiting.cancelled()


async def test_a_step_with_no_time_left_is_silent_and_the_next_step_has_its_own() -> None:
    """A deadline that is already now: uvloop's call_at hands back a plain Handle (no `when()`) for it, which the timer
    must not rely on (it raised inside the loop's callback and left the next step to the wrong deadline)."""
    async with serve(hang) as port:
        session = await _open(port)
        try:
            with pytest.raises(ProbeFault) as silent:
                await session.race(asyncio.sleep(5), "NOW", timeout=0)
            assert silent.value.fault.kind is FaultKind.SERVER_SILENT
            assert await session.race(asyncio.sleep(0.01, "next"), "NEXT", timeout=1.0) == "next"
            with pytest.raises(ProbeFault) as later:
                await session.race(asyncio.sleep(5), "LATER", timeout=0.1)
            assert later.value.fault.detail == "no answer to LATER within 0.1 s"
        finally:
            session.close()
