"""run_check without a server: the token stage failing, and outcomes computed from evidence."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from mailscope.check import run_check
from mailscope.evidence import CommandResult, Fault, FaultKind, OutcomeKind, SessionEvidence
from mailscope.protocols import decide_outcome
from mailscope.record import SessionRecord
from mailscope.settings import CheckSettings, SecretSource
from providers.generic import StaticSource


async def test_unreadable_token_is_token_failed_with_the_token_evidence(monkeypatch) -> None:
    monkeypatch.delenv("A2_MISSING_TOKEN", raising=False)
    settings = CheckSettings(host="127.0.0.1", port=1, token=SecretSource("env", "A2_MISSING_TOKEN"))
    record = SessionRecord(settings)
    outcome = await run_check(settings, StaticSource(settings.token, is_password=False), record)
    assert outcome.kind is OutcomeKind.TOKEN_FAILED and "A2_MISSING_TOKEN is not set" in outcome.summary
    assert record.token is not None and record.token.source == "env:A2_MISSING_TOKEN"
    assert record.evidence.fault.kind is FaultKind.TOKEN_ACQUISITION
    assert record.lines == []  # no connection was attempted


def test_outcomes_from_evidence() -> None:
    evidence = SessionEvidence(mechanism="XOAUTH2", auth_result="OK", commands=[CommandResult("EXAMINE", "OK", "done")])
    assert decide_outcome(evidence).kind is OutcomeKind.MAILBOX_REACHABLE
    evidence.commands = [CommandResult("EXAMINE", "NO", "[NONEXISTENT] Unknown Mailbox")]
    not_connected = decide_outcome(evidence)
    assert not_connected.kind is OutcomeKind.AUTHENTICATED_NOT_CONNECTED and "EXAMINE INBOX answered NO" in not_connected.summary
    refused = decide_outcome(SessionEvidence(mechanism="XOAUTH2", auth_result="NO", auth_text="NO AUTHENTICATE failed."))
    assert (refused.kind, refused.summary) == (OutcomeKind.AUTH_FAILED, "AUTHENTICATE XOAUTH2 refused: NO AUTHENTICATE failed.")
    fault = decide_outcome(SessionEvidence(fault=Fault(FaultKind.REFUSED, "connection to h:1 refused", "connect")))
    assert fault.kind is OutcomeKind.FAULT and fault.summary == "connection_refused: connection to h:1 refused"
    assert decide_outcome(SessionEvidence()).kind is OutcomeKind.INCOMPLETE


async def test_a_token_source_raising_anything_else_is_token_failed_and_redacted() -> None:
    secret = "client-secret-value-0123456789abcdef"

    class BrokenSource:
        async def acquire(self, record: SessionRecord) -> None:
            record.redactor.register(secret, "client secret")
            raise KeyError(f"no 'access_token' in the answer to client_secret {secret}")

    settings = CheckSettings(host="127.0.0.1", port=1)
    record = SessionRecord(settings)
    outcome = await run_check(settings, BrokenSource(), record)  # type: ignore[arg-type]
    assert outcome.kind is OutcomeKind.TOKEN_FAILED and "KeyError" in outcome.summary
    assert record.evidence.fault is not None and record.evidence.fault.kind is FaultKind.TOKEN_ACQUISITION
    assert secret not in outcome.summary and secret not in record.evidence.fault.detail
    assert record.lines == []  # no connection was attempted


async def test_a_cancellation_swallowed_below_still_cancels_the_check() -> None:
    """A library that swallows the cancellation (Python 3.11's asyncio.wait_for can) must not make the check go on."""
    started = asyncio.Event()

    class Swallowing:
        async def acquire(self, record: SessionRecord) -> None:
            started.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(10)

    settings = CheckSettings(host="127.0.0.1", port=1)
    record = SessionRecord(settings)
    check = asyncio.ensure_future(run_check(settings, Swallowing(), record))  # type: ignore[arg-type]
    await started.wait()
    check.cancel()
    with pytest.raises(asyncio.CancelledError):
        await check
    assert record.outcome is not None and record.outcome.kind is OutcomeKind.CANCELLED
    assert record.lines == []  # no connection was attempted after the cancellation
