"""Regular expressions compiled when first needed.

A module-level `re.compile` runs at import, and Python's regex compiler is slow: the engine's patterns cost several ms of
every start, though most of them wait behind a trigger a given session never meets (an Exchange front-end stamp, a
Gmail reply, a POP3 status in an IMAP check). `lazy` keeps the pattern's text at import and compiles it on first use.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

Lazy = Callable[[], re.Pattern[str]]


def lazy(pattern: str, flags: int = 0) -> Lazy:
    """`lazy(r"...")()` is `re.compile(r"...")`, compiled once, on the first call."""
    return functools.cache(lambda: re.compile(pattern, flags))
