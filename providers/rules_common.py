"""Diagnosis rules that need to know both providers' hosts (providers.presets), plugged into the engine."""

from __future__ import annotations

from collections.abc import Iterator

from mailscope.diagnosis.context import Context
from mailscope.diagnosis.rule import WIRE_PROOF, finding
from mailscope.findings import EvidenceKind, EvidenceRef, Finding, Severity
from mailscope.protocols.servers import server_family
from providers import presets

_FAMILY = {"microsoft": "exchange", "google": "gmail"}
_NAMES = {"microsoft": "Exchange Online ('… Microsoft ESMTP MAIL Service ready', 'The Microsoft Exchange IMAP4/POP3 service is ready')",
          "google": "Gmail ('… ESMTP … - gsmtp', 'Gimap ready', 'Gpop ready')"}  # fmt: skip


def intercepted_rule(ctx: Context) -> Iterator[Finding]:
    """The host is the provider's, but the greeting (and nothing the server said after it) names the provider's servers:
    something else answers on that port: an ISP redirecting port 25/587, an antivirus or firewall scanning mail, a proxy."""
    provider = presets.provider_for_host(ctx.host)[0]
    greeting = ctx.evidence.greeting
    if provider not in _FAMILY or not greeting:
        return
    expected = _FAMILY[provider]
    if server_family(greeting) == expected or ctx.server_family == expected:
        return
    healthy = ctx.auth_ok and not ctx.auth_refused and ctx.mailbox_reached is not None
    yield finding(
        "server_not_the_providers",
        f"{ctx.host} is {presets.provider_for_host(ctx.host)[0].title()}'s, but the server that answered greeted with "
        f"'{greeting}', not {_NAMES[provider]}: another server sits on this port"
        + (" (it passed the session on)." if healthy else ", and what it says about the credential is not the provider's answer."),
        score=WIRE_PROOF + 2, confirmed=True, severity=Severity.WARNING if healthy else None,
        evidence=(*ctx.line_ref("greeting", ctx.evidence.greeting_seq, greeting),
                  EvidenceRef(EvidenceKind.SETTING if ctx.settings else EvidenceKind.LOG, "host", ctx.host)),
    )


COMMON_RULES = (intercepted_rule,)
