"""One check end to end: credential, live session (IMAP, POP3 or SMTP, as `settings.protocol` says), outcome. The
single entry point the CLI, the TUI and the lab use for a live server."""

from __future__ import annotations

import asyncio

from mailscope.credential import Credential, TokenAcquisitionError, TokenSource
from mailscope.evidence import Fault, FaultKind, Outcome, OutcomeKind
from mailscope.protocols import decide_outcome
from mailscope.record import SessionRecord
from mailscope.settings import CheckSettings


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
            _still_wanted()
        from mailscope.probe import run_probe  # the probe's libraries load only for a live session

        await run_probe(settings, credential, record)
        _still_wanted()
        return _finish(record, decide_outcome(record.evidence))
    except asyncio.CancelledError:
        if record.outcome is None:
            record.finish(Outcome(OutcomeKind.CANCELLED, "cancelled before the session ended"))
        raise


def _still_wanted() -> None:
    """CancelledError if this task was cancelled and something below swallowed it (Python 3.11's asyncio.wait_for can,
    when the awaited step finishes at the same moment; so can a library): an audit stopped by Ctrl-C must not go on
    with the next mailbox."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _token_failed(record: SessionRecord, message: str) -> Outcome:
    record.update_evidence(fault=Fault(FaultKind.TOKEN_ACQUISITION, message, "token"))
    return _finish(record, Outcome(OutcomeKind.TOKEN_FAILED, message))  # both redacted by the record


def _finish(record: SessionRecord, outcome: Outcome) -> Outcome:
    record.finish(outcome)
    assert record.outcome is not None
    return record.outcome
