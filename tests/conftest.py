"""Suite-wide settings. Under CI, hypothesis runs derandomized: a landing must not depend on which
random examples a run happened to draw. Locally it stays random, which is how it finds new cases.

Async tests run on asyncio's loop; one marked `@pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])` runs on
each of them (the audit runs its sessions on uvloop: mailscope/audit/eventloop.py)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

LOOP_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
try:
    import uvloop
except ImportError:  # not installed on Windows: a test asking for it is reported as such by pytest-asyncio
    pass
else:
    LOOP_FACTORIES["uvloop"] = uvloop.new_event_loop


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    marker = item.get_closest_marker("asyncio")
    chosen = marker.kwargs.get("loop_factories") if marker is not None else None
    return LOOP_FACTORIES if chosen else {"asyncio": LOOP_FACTORIES["asyncio"]}
