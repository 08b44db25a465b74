"""Which authentication to run, and why (the reason is evidence: diagnosis and users read it)."""

from __future__ import annotations

from dataclasses import dataclass

from mailscope.settings import Mechanism


@dataclass(frozen=True, slots=True)
class MechanismChoice:
    mechanism: str  # upper case SASL name, or "LOGIN" meaning the IMAP LOGIN command
    reason: str
    sasl_ir: bool


def choose_mechanism(requested: Mechanism, capabilities: tuple[str, ...], *, is_password: bool) -> MechanismChoice | None:
    """None when `auto` finds nothing usable. An explicit choice is always tried, advertised or not:
    the server's refusal is the evidence."""
    caps = {c.upper() for c in capabilities}
    offered = {c.removeprefix("AUTH=") for c in caps if c.startswith("AUTH=")}
    sasl_ir = "SASL-IR" in caps
    ir_note = "initial response on the command line (SASL-IR advertised)" if sasl_ir else "initial response after '+' (no SASL-IR)"
    if requested is Mechanism.LOGIN:
        return MechanismChoice("LOGIN", "requested: the IMAP LOGIN command (as JavaMail and imaplib do for 'login')", False)
    if requested is not Mechanism.AUTO:
        name = requested.value.upper()
        state = "advertised" if name in offered else f"NOT advertised (server offers {', '.join(sorted(offered)) or 'no AUTH='})"
        return MechanismChoice(name, f"requested explicitly; AUTH={name} {state}; {ir_note}", sasl_ir)
    if is_password:
        if "PLAIN" in offered:
            return MechanismChoice("PLAIN", f"auto with a password: AUTH=PLAIN advertised; {ir_note}", sasl_ir)
        if "LOGINDISABLED" not in caps:
            return MechanismChoice("LOGIN", "auto with a password: no AUTH=PLAIN, using the IMAP LOGIN command", False)
        return None
    if "XOAUTH2" in offered:
        also = " (OAUTHBEARER also offered)" if "OAUTHBEARER" in offered else ""
        return MechanismChoice(
            "XOAUTH2",
            f"auto: AUTH=XOAUTH2 advertised{also}; XOAUTH2 preferred because Exchange Online offers only it and "
            f"Gmail's XOAUTH2 error challenge carries the required scope; {ir_note}",
            sasl_ir,
        )
    if "OAUTHBEARER" in offered:
        return MechanismChoice("OAUTHBEARER", f"auto: AUTH=OAUTHBEARER advertised, AUTH=XOAUTH2 not; {ir_note}", sasl_ir)
    return None
