"""Which format a log is in, from a sample of its mail-looking lines."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from mailscope.logs.formats.base import Parser

# Most specific first: ties go to the earlier entry. `generic` is the fallback, never detected. One module each
# under mailscope.logs.formats.
FORMATS = (
    "emailproxy", "thunderbird", "mutt", "emailjs", "getmail", "imapflow", "imaplib", "postfix", "curl", "mailkit", "javamail",
    "transcript", "generic",
)  # fmt: skip
_WEIGHT = {"mailkit": 100, "curl": 2}  # rare but decisive lines: MailKit's "Connected to imaps://" beats any number of C:/S:


def parser_class(name: str) -> type[Parser]:
    if name not in FORMATS:
        raise ValueError(f"unknown log format {name!r}; known: {', '.join(FORMATS)}")
    return importlib.import_module(f"mailscope.logs.formats.{name}").Parser


def detect_format(first_lines: Iterable[str]) -> str:
    """The best-matching format name for these lines; "generic" when none is recognised."""
    classes = [parser_class(name) for name in FORMATS[:-1]]
    scores = dict.fromkeys(FORMATS[:-1], 0)
    for line in first_lines:
        for cls in classes:
            if cls.signature is not None and cls.signature.search(line):
                scores[cls.name] += _WEIGHT.get(cls.name, 1)
    best = max(FORMATS[:-1], key=lambda name: scores[name])  # max keeps the first on ties
    return best if scores[best] > 0 else "generic"
