"""Where a secret can be read in a client's log: as it is, inside a base64 blob the client sent, or split over the
lines of a hex/ASCII dump (curl --trace-ascii prints 64 bytes a line behind an offset). The generator uses it to record
whether a log holds its token; the tests use it to find that token again and look for it in mailscope's output."""

from __future__ import annotations

import base64
import binascii
import contextlib
import re

_DUMP_LINE = re.compile(r"^[0-9a-f]{4}: (.*)$", re.MULTILINE)
_BLOB = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")


def readable_texts(log: str) -> list[str]:
    """The log, its dump lines joined back into one stream, and every base64 blob of either decoded."""
    texts = [log, "".join(_DUMP_LINE.findall(log))]
    for text in texts[:2]:
        for blob in _BLOB.findall(text):
            with contextlib.suppress(binascii.Error, ValueError):
                texts.append(base64.b64decode(blob + "=" * (-len(blob) % 4)).decode("latin-1"))
    return texts


def presence(log: str, secret: str) -> str:
    """full: the whole secret can be read from the log; partial: its first 24 characters (a line cut short); none."""
    texts = readable_texts(log)
    if any(secret in text for text in texts):
        return "full"
    return "partial" if len(secret) >= 24 and any(secret[:24] in text for text in texts) else "none"


def found(log: str, prefix: str, length: int) -> list[str]:
    """The secret as far as the log holds it (whole, or the piece a client cut short), from its first characters."""
    return sorted({t[m.start() : m.start() + length] for t in readable_texts(log) for m in re.finditer(re.escape(prefix), t)})
