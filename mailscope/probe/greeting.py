"""What the greeting says about the server (sans-IO): family, and Exchange's front-end name.

Exchange: `* OK The Microsoft Exchange IMAP4 service is ready. [TQBSADEAUAAyADYANAB…]`: the bracket holds
the front-end FQDN in base64 UTF-16LE, which shows region and cloud (e.g. `….PROD.OUTLOOK.COM`,
`….prod.partner.outlook.cn` for 21Vianet). Gmail: `* OK Gimap ready for requests from …`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailscope import sasl

_BRACKETS_RE = re.compile(r"\[([A-Za-z0-9+/]{8,}={0,2})\]")


@dataclass(frozen=True, slots=True)
class Greeting:
    status: str  # "OK" | "PREAUTH" | "BYE" | "" (not an IMAP greeting)
    family: str  # "exchange" | "gmail" | "dovecot" | "unknown"
    frontend_name: str | None


def parse_greeting(text: str) -> Greeting:
    match = re.match(r"^\* (OK|PREAUTH|BYE)\b", text, re.IGNORECASE)
    status = match.group(1).upper() if match else ""
    lowered = text.lower()
    if "microsoft exchange" in lowered:
        family = "exchange"
    elif "gimap" in lowered:
        family = "gmail"
    elif "dovecot" in lowered:
        family = "dovecot"
    else:
        family = "unknown"
    return Greeting(status, family, frontend_name(text) if family == "exchange" else None)


def frontend_name(text: str) -> str | None:
    """The bracketed base64 UTF-16LE host name, decoded; None when absent or not decodable."""
    for candidate in _BRACKETS_RE.findall(text):
        raw = sasl.b64decode_strict(candidate)
        if raw is None or len(raw) % 2:
            continue
        try:
            name = raw.decode("utf-16-le")
        except UnicodeDecodeError:
            continue
        if name and all(ch.isalnum() or ch in ".-_" for ch in name):
            return name
    return None
