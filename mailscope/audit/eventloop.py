"""The event loop an audit runs on: uvloop where it is installed, asyncio's own loop otherwise.

An audit carries hundreds of sessions on one loop, and against a near server its time is CPU: the loop's own work
(selectors, callbacks, the TLS record layer of `asyncio.sslproto`) is about a sixth of it. uvloop does that work in
C and cuts an audit's CPU by about an eighth (benchmarks/audit.py) with the same sessions, records and findings
(tests/mailscope/audit/test_eventloop.py). A single `check` gains nothing worth uvloop's import, so only the audit
uses it. `MAILSCOPE_EVENT_LOOP=asyncio` chooses asyncio's loop anyway (to rule the loop out when a session misbehaves);
uvloop is not built for Windows, where asyncio's loop is the only one.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

CHOICE = "MAILSCOPE_EVENT_LOOP"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None for asyncio's default loop (not installed, or `MAILSCOPE_EVENT_LOOP=asyncio`)."""
    if os.environ.get(CHOICE, "").strip().lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on the audit's loop."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
