"""What a session's outcome is, from its evidence: defined once for every protocol and both routes in.

MAILBOX_REACHABLE needs each protocol's post-auth check to pass (IMAP EXAMINE INBOX OK; POP3 STAT +OK; SMTP MAIL FROM
and RCPT TO 2xx). AUTHENTICATED_NOT_CONNECTED: the credential was accepted but that check was refused, or the server
ended the session first. A log seen in part may simply not show the check: there an accepted credential counts
as reachable unless a refusal says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

from mailscope.evidence import Outcome, OutcomeKind, SessionEvidence
from mailscope.protocols import imap, pop3, smtp
from mailscope.protocols.conversation import MailboxCheck
from mailscope.protocols.servers import EXCHANGE_NOT_CONNECTED

_MAILBOX_CHECKS: dict[str, Callable[..., MailboxCheck]] = {
    "imap": imap.mailbox_check,
    "pop3": pop3.mailbox_check,
    "smtp": smtp.mailbox_check,
}


def mailbox_check(evidence: SessionEvidence, *, partial: bool = False) -> MailboxCheck:
    """The protocol's post-auth check; `partial` (a log) also counts the other mailbox commands a client logged."""
    return _MAILBOX_CHECKS.get(evidence.protocol, imap.mailbox_check)(evidence, partial=partial)


def decide_outcome(evidence: SessionEvidence, *, partial: bool = False) -> Outcome:
    how = auth_label(evidence)
    if evidence.auth_result == "OK":
        check = mailbox_check(evidence, partial=partial)
        reached, reason = check.reached, check.reason
        if reached:
            return Outcome(OutcomeKind.MAILBOX_REACHABLE, f"{how} accepted; {reason}")
        if reached is None:
            refused = next((c for c in evidence.commands if EXCHANGE_NOT_CONNECTED in c.text.lower()), None)
            if evidence.untagged_bye is not None:
                reason = f"the server ended the session: {evidence.untagged_bye}"
            elif refused is not None:  # "?": a command the log did not show
                reason = f"{'the server' if refused.command == '?' else refused.command} answered {refused.result} {refused.text}"
            elif partial:
                return Outcome(OutcomeKind.MAILBOX_REACHABLE, f"{how} accepted (the log shows no refused mailbox check)")
            elif evidence.fault is not None:
                reason = evidence.fault.detail
        return Outcome(OutcomeKind.AUTHENTICATED_NOT_CONNECTED, f"{how} accepted, but the mailbox is not reachable: {reason}")
    if evidence.auth_result in ("NO", "BAD"):
        return Outcome(OutcomeKind.AUTH_FAILED, f"{how} refused: {evidence.auth_text or evidence.auth_result}")
    if evidence.fault is not None:
        return Outcome(OutcomeKind.FAULT, f"{evidence.fault.kind}: {evidence.fault.detail}")
    return Outcome(OutcomeKind.INCOMPLETE, "the session ended before any authentication (no credential given)")


def auth_label(evidence: SessionEvidence) -> str:
    """How the client authenticated, in the protocol's words: `AUTHENTICATE XOAUTH2`, `AUTH PLAIN`, `LOGIN`, `USER/PASS`."""
    if evidence.login_used:
        return "USER/PASS" if evidence.protocol == "pop3" else "LOGIN"
    if not evidence.mechanism:
        return "authentication"
    return f"{'AUTHENTICATE' if evidence.protocol == 'imap' else 'AUTH'} {evidence.mechanism}"
