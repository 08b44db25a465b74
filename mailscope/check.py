"""One check end to end: credential, live session, outcome. The single entry point the CLI, the TUI
and the lab use for a live server."""

from __future__ import annotations

import asyncio

from mailscope.credential import Credential, TokenAcquisitionError, TokenSource
from mailscope.evidence import Fault, FaultKind, Outcome, OutcomeKind, SessionEvidence
from mailscope.record import SessionRecord
from mailscope.settings import CheckSettings, Protocol


async def run_check(settings: CheckSettings, source: TokenSource | None, record: SessionRecord) -> Outcome:
    """Acquire the credential, run the probe, finish the record with the outcome.

    Never raises for a failed check: every failure is evidence. On cancellation the connection is
    closed, the record finishes with `cancelled`, and CancelledError propagates (asyncio contract).
    """
    try:
        credential: Credential | None = None
        if source is not None:
            try:
                credential = await source.acquire(record)
            except TokenAcquisitionError as exc:
                record.set_token(exc.token)
                return _token_failed(record, str(exc))
            except Exception as exc:  # a source that broke its contract: still evidence, redacted with the secrets it registered
                return _token_failed(record, f"the token source failed unexpectedly: {exc.__class__.__name__}: {exc}")
        if settings.protocol is not Protocol.IMAP:
            message = f"{settings.protocol} checks are not implemented yet; use --protocol imap"
            record.update_evidence(fault=Fault(FaultKind.SETTINGS, message, "settings"))
            return _finish(record, Outcome(OutcomeKind.FAULT, message))
        from mailscope.probe.imap import run_imap_probe

        await run_imap_probe(settings, credential, record)
        return _finish(record, outcome_of(record.evidence))
    except asyncio.CancelledError:
        if record.outcome is None:
            record.finish(Outcome(OutcomeKind.CANCELLED, "cancelled before the session ended"))
        raise


def _token_failed(record: SessionRecord, message: str) -> Outcome:
    record.update_evidence(fault=Fault(FaultKind.TOKEN_ACQUISITION, message, "token"))
    return _finish(record, Outcome(OutcomeKind.TOKEN_FAILED, message))  # both redacted by the record


def _finish(record: SessionRecord, outcome: Outcome) -> Outcome:
    record.finish(outcome)
    assert record.outcome is not None
    return record.outcome


def outcome_of(evidence: SessionEvidence) -> Outcome:
    """The session's outcome from its evidence. MAILBOX_REACHABLE only when EXAMINE INBOX succeeded."""
    how = _auth_label(evidence)
    if evidence.auth_result == "OK":
        examine = next((c for c in evidence.commands if c.command == "EXAMINE"), None)
        if examine is not None and examine.result == "OK":
            return Outcome(OutcomeKind.MAILBOX_REACHABLE, f"{how} accepted; INBOX examined")
        if examine is not None:
            reason = f"EXAMINE INBOX answered {examine.result} {examine.text}".strip()
        elif evidence.untagged_bye is not None:
            reason = f"the server ended the session: {evidence.untagged_bye}"
        elif evidence.fault is not None:
            reason = evidence.fault.detail
        else:
            reason = "EXAMINE INBOX was not answered"
        return Outcome(OutcomeKind.AUTHENTICATED_NOT_CONNECTED, f"{how} accepted, but the mailbox is not reachable: {reason}")
    if evidence.auth_result in ("NO", "BAD"):
        answer = evidence.auth_text or evidence.auth_result
        return Outcome(OutcomeKind.AUTH_FAILED, f"{how} refused: {answer}")
    if evidence.fault is not None:
        return Outcome(OutcomeKind.FAULT, f"{evidence.fault.kind}: {evidence.fault.detail}")
    return Outcome(OutcomeKind.INCOMPLETE, "the session ended before any authentication (no credential given)")


def _auth_label(evidence: SessionEvidence) -> str:
    if evidence.login_used:
        return "LOGIN"
    return f"AUTHENTICATE {evidence.mechanism}" if evidence.mechanism else "authentication"
