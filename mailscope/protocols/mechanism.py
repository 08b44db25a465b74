"""Capabilities → offered SASL mechanisms, and which authentication to run and why (the reason is evidence: the
diagnosis and users read it). One home for IMAP `AUTH=`, POP3 `CAPA` `SASL` and SMTP `EHLO` `AUTH`.

Capability tuples have one shape for every protocol: upper-case keywords as the server listed them plus one
`AUTH=<MECH>` entry per offered mechanism (POP3 `SASL XOAUTH2 PLAIN` and SMTP `AUTH LOGIN XOAUTH2` become
`AUTH=XOAUTH2`, `AUTH=PLAIN`, ...).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from mailscope.settings import Mechanism, Protocol

MAX_CAPABILITIES = 1000  # a hostile server may list endlessly: the rest is not evidence anyone reads (but see below)
SASL_IR_SETTINGS = ("auto", "yes", "no")


def capability_keywords(lines: Iterable[str], mechanism_keyword: str) -> tuple[str, ...]:
    """POP3 CAPA lines (`SASL` names the mechanisms) or SMTP EHLO lines after the first (`AUTH`, also the old
    `AUTH=LOGIN PLAIN` spelling) as one capability tuple."""
    caps: list[str] = []
    for line in lines:
        words = line.split()
        if not words or not keeps_capability_line(len(caps), line, mechanism_keyword):
            continue
        keyword = words[0].upper()
        caps.append(keyword)
        if keyword == mechanism_keyword:
            caps.extend(f"AUTH={m.upper()}" for m in words[1:])
        elif keyword.startswith(f"{mechanism_keyword}="):  # 250-AUTH=LOGIN PLAIN (pre-RFC 4954 servers)
            caps.extend(f"AUTH={m.upper()}" for m in (keyword.split("=", 1)[1], *words[1:]) if m)
    return tuple(caps)


def keeps_capability_line(kept: int, line: str, mechanism_keyword: str) -> bool:
    """Whether a capability line is kept after `kept` others: the first MAX_CAPABILITIES, and past them still the lines
    that name mechanisms (up to twice as many in all), so a flood of keywords cannot hide `SASL ...` / `AUTH ...`."""
    if kept < MAX_CAPABILITIES:
        return True
    keyword = line.split(" ", 1)[0].upper()
    return kept < 2 * MAX_CAPABILITIES and (keyword == mechanism_keyword or keyword.startswith(f"{mechanism_keyword}="))


def offered_mechanisms(caps: Iterable[str]) -> frozenset[str]:
    return _offered(caps if isinstance(caps, tuple) else tuple(caps))


@functools.lru_cache(maxsize=256)
def _offered(caps: tuple[str, ...]) -> frozenset[str]:
    """Remembered: the probe and the diagnosis ask several times per session, and an audit's sessions meet the same
    few capability lists again and again."""
    return frozenset(mechanisms_listed(caps))


def mechanisms_listed(caps: Iterable[str]) -> tuple[str, ...]:
    """SASL mechanisms in a capability list, upper case, in the server's order: `AUTH=X` entries, and raw
    `AUTH X Y` / `SASL X Y` entries as logs sometimes report them."""
    found: list[str] = []
    for cap in caps:
        upper = cap.upper().strip()
        names = [upper[5:]] if upper.startswith("AUTH=") else upper.split()[1:] if upper.startswith(("AUTH ", "SASL ")) else []
        found.extend(name for name in names if name not in found)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class MechanismChoice:
    """The mechanism a client sends, with the reason it was chosen (shown in the transcript)."""
    mechanism: str  # upper case SASL name; "LOGIN" on IMAP means the LOGIN command, "USER/PASS" is POP3's login
    reason: str
    sasl_ir: bool  # initial response on the command line


def choose_mechanism(
    requested: Mechanism,
    capabilities: tuple[str, ...],
    *,
    is_password: bool,
    protocol: Protocol = Protocol.IMAP,
    sasl_ir: str = "auto",
) -> MechanismChoice | None:
    """None when `auto` finds nothing usable. An explicit choice is always tried, advertised or not: the server's
    refusal is the evidence."""
    caps = {c.upper() for c in capabilities}
    offered = offered_mechanisms(caps)
    ir, ir_note = _initial_response(protocol, caps, sasl_ir)
    listing = "AUTH=" if protocol is Protocol.IMAP else {"pop3": "SASL ", "smtp": "AUTH "}[protocol.value]
    if requested is Mechanism.LOGIN:
        return _login(protocol, offered, ir, ir_note, "requested")
    if requested is not Mechanism.AUTO:
        name = requested.value.upper()
        state = (
            "advertised" if name in offered else f"NOT advertised (server offers {', '.join(sorted(offered)) or f'no {listing.strip()}'})"
        )
        return MechanismChoice(name, f"requested explicitly; {listing}{name} {state}; {ir_note}", ir)
    if is_password:
        if "PLAIN" in offered:
            return MechanismChoice("PLAIN", f"auto with a password: {listing}PLAIN advertised; {ir_note}", ir)
        return _login(protocol, offered, ir, ir_note, "auto", caps=caps)
    if "XOAUTH2" in offered:
        also = " (OAUTHBEARER also offered)" if "OAUTHBEARER" in offered else ""
        return MechanismChoice(
            "XOAUTH2",
            f"auto: {listing}XOAUTH2 advertised{also}; XOAUTH2 preferred because Exchange Online offers only it and "
            f"Gmail's XOAUTH2 error challenge carries the required scope; {ir_note}",
            ir,
        )
    if "OAUTHBEARER" in offered:
        return MechanismChoice("OAUTHBEARER", f"auto: {listing}OAUTHBEARER advertised, {listing}XOAUTH2 not; {ir_note}", ir)
    return None


def _initial_response(protocol: Protocol, caps: set[str], setting: str) -> tuple[bool, str]:
    """Where the initial response goes: the `--sasl-ir` setting, else each protocol's safe default."""
    if setting == "yes":
        return True, "initial response on the command line (--sasl-ir yes)"
    if setting == "no":
        return False, "initial response after the server's continuation (--sasl-ir no)"
    if protocol is Protocol.SMTP:
        return True, "initial response on the AUTH line (RFC 4954)"
    if protocol is Protocol.POP3:
        return False, "two-step form: the response after the server's '+' (Exchange refuses the one-line form)"
    if "SASL-IR" in caps:
        return True, "initial response on the command line (SASL-IR advertised)"
    return False, "initial response after '+' (no SASL-IR)"


def _login(
    protocol: Protocol, offered: frozenset[str], ir: bool, ir_note: str, how: str, *, caps: set[str] | None = None
) -> MechanismChoice | None:
    """A password without PLAIN: IMAP's LOGIN command, POP3's USER/PASS, SMTP's AUTH LOGIN."""
    if protocol is Protocol.IMAP:
        if how == "requested":
            return MechanismChoice("LOGIN", "requested: the IMAP LOGIN command (as JavaMail and imaplib do for 'login')", False)
        if caps is not None and "LOGINDISABLED" in caps:
            return None
        return MechanismChoice("LOGIN", "auto with a password: no AUTH=PLAIN, using the IMAP LOGIN command", False)
    if protocol is Protocol.POP3:
        if how == "requested":
            return MechanismChoice("USER/PASS", "requested: POP3 USER/PASS (as JavaMail does for 'login')", False)
        if caps and "USER" not in caps:
            return None
        return MechanismChoice("USER/PASS", "auto with a password: no SASL PLAIN, using POP3 USER/PASS", False)
    state = "advertised" if "LOGIN" in offered else "NOT advertised"
    if how == "requested":
        return MechanismChoice("LOGIN", f"requested explicitly; AUTH LOGIN {state}; {ir_note}", ir)
    if "LOGIN" not in offered:
        return None
    return MechanismChoice("LOGIN", f"auto with a password: no AUTH PLAIN, AUTH LOGIN advertised; {ir_note}", ir)
