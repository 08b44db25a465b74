"""Regular expressions compiled when first needed, and the server signatures the diagnosis looks for.

A module-level `re.compile` runs at import, and Python's regex compiler is slow: the engine's patterns cost several ms of
every start, though most of them wait behind a trigger a given session never meets (an Exchange front-end stamp, a
Gmail reply, a POP3 status in an IMAP check). `lazy` keeps the pattern's text at import and compiles it on first use,
through `codecache.regex`, which keeps the compiler's program across runs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from re import _constants, _parser  # the regex module's own reading of a pattern (Python 3.11+)

from mailscope import codecache

Lazy = Callable[[], re.Pattern[str]]


def lazy(pattern: str, flags: int = 0) -> Lazy:
    """`lazy(r"...")()` is `re.compile(r"...")`, compiled once, on the first call. Only for a fixed pattern text (see
    `codecache.regex`)."""
    return functools.cache(lambda: codecache.regex(pattern, flags))


class Signature:
    """A server text the diagnosis looks for in a session (`Context.find_server_text`). Its needles are read off the pattern's
    text and the regex compiled, each on first use: a session holding none of the needles is answered without the regex, so
    a run whose sessions never meet a signature (an audit's, mostly) never compiles it. `signature()` is the compiled
    pattern, as `lazy(...)()` is."""

    __slots__ = ("pattern", "flags", "needles", "regex")
    needles: tuple[str, ...] | None  # see `needles()`; read on first use (__getattr__)
    regex: re.Pattern[str]  # compiled on first use

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags

    def __getattr__(self, name: str) -> object:
        """Only for a slot not filled yet: `needles` and `regex` are worked out once, then read as plain attributes."""
        if name == "needles":
            self.needles = _read_needles(self.pattern, self.flags)
            return self.needles
        if name == "regex":
            self.regex = codecache.regex(self.pattern, self.flags)
            return self.regex
        raise AttributeError(name)

    def __call__(self) -> re.Pattern[str]:
        return self.regex


_MIN_NEEDLE = 3  # shorter literals are in almost every text: no use as a filter


def needles(pattern: re.Pattern[str] | Signature) -> tuple[str, ...] | None:
    """Lower-case ASCII texts one of which every match of `pattern` contains, or None when no such set can be read off.

    An ASCII text whose lower-case form holds none of them cannot match: `needle in text` answers that many times faster
    than the regex engine scanning a case-insensitive pattern (the diagnosis looks for a dozen server signatures in every
    session and almost never meets one). Read from the parsed pattern: a run of literal characters the match must pass
    through, or one such run from each branch of an alternation it must pass through."""
    if isinstance(pattern, Signature):
        return pattern.needles
    return _read_needles(pattern.pattern, pattern.flags)


def _read_needles(pattern: str, flags: int) -> tuple[str, ...] | None:
    try:
        return _required(_parser.parse(pattern, flags))
    except Exception:  # noqa: BLE001 - a parse this reading does not know: no filter, the regex decides alone
        return None


def _required(sequence: object) -> tuple[str, ...] | None:
    """The needles of a parsed sequence (its items must all match, in order): the set with the longest shortest needle."""
    found: list[tuple[str, ...]] = []
    run: list[str] = []
    for op, arg in (*sequence, (None, None)):  # type: ignore[misc]
        if op is _constants.LITERAL:
            run.append(chr(arg))
            continue
        if run:
            found.append(("".join(run),))
            run = []
        if op is _constants.SUBPATTERN:
            found.append(_required(arg[-1]) or ())
        elif op is _constants.BRANCH:
            branches = [_required(branch) for branch in arg[1]]
            found.append(() if not all(branches) else tuple(n for branch in branches for n in branch or ()))
    usable = [
        tuple(dict.fromkeys(n.lower() for n in option))
        for option in found
        if option and all(len(n) >= _MIN_NEEDLE and n.isascii() for n in option)
    ]
    return max(usable, key=lambda option: min(map(len, option)), default=None)
