"""Running an audit: every planned mailbox through `run_check`, many at once, politely.

A fixed pool of workers (`concurrency`) pulls the planned rows; a host takes at most `per_host` sessions at a time.
A session the server throttled (`throttle.throttle_of`) is not the mailbox's failure: it is backed off (the server's
suggested wait or an exponential one, with jitter, capped) and tried again, up to `max_attempts`; a refusal of the
connection itself pauses every session to that host. Each finished session is diagnosed once and handed to `emit`
as its redacted `mailscope.report/1` record plus the row's identity (`audit`). Cancelling the audit (Ctrl-C) drops
only the sessions in flight: every record emitted before is whole.

Per session the cost stays small: the credential (and the redactor that knows its secret) is prepared by the
caller once per tenant, the diagnosis runs once at the end, and nothing of a session is kept after its record.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mailscope.audit.plan import AuditItem
from mailscope.audit.summary import FAILED, HEALTHY, THROTTLED
from mailscope.audit.throttle import Throttle, ThrottleScope, throttle_of
from mailscope.check import run_check
from mailscope.credential import Credential, TokenSource
from mailscope.findings import Diagnosis, DiagnosisInput
from mailscope.record import SessionRecord
from mailscope.redact import Redactor
from mailscope.report import build_report, exit_code
from mailscope.settings import CheckSettings


@dataclass(frozen=True, slots=True)
class AuditOptions:
    concurrency: int = 32  # sessions at once, all hosts together
    per_host: int | None = None  # sessions at once to one host (None: as many as `concurrency`)
    max_attempts: int = 4  # sign-ins per mailbox while the server throttles (the first and three retries)
    backoff: float = 1.0  # seconds before the first retry; doubles each time (the server's suggestion wins if longer)
    max_backoff: float = 60.0  # no wait is longer than this (Exchange suggests up to five minutes)


@dataclass(frozen=True, slots=True)
class MailboxCredential:
    """What a mailbox's session needs from the token side: the source (None: no credential) and a redactor that
    already knows the source's secrets (a fork of the one that registered a shared token, or a fresh one)."""

    source: TokenSource | None
    redactor: Redactor


CredentialProvider = Callable[[CheckSettings], Awaitable[MailboxCredential]]
Diagnoser = Callable[[DiagnosisInput], Diagnosis]
Emit = Callable[[dict[str, Any]], None]


@dataclass(slots=True)
class Progress:
    total: int
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    failed: int = 0
    retries: int = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Mailboxes per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far (None before the first mailbox)."""
        return (self.total - self.done) / self.rate if self.rate > 0 else None


class _Host:
    """One mail host: its share of the sessions, and a pause when it refused connections."""

    def __init__(self, limit: int) -> None:
        self.slots = asyncio.Semaphore(limit)
        self.resume_at = 0.0

    async def ready(self) -> None:
        while (wait := self.resume_at - time.monotonic()) > 0:
            await asyncio.sleep(wait)


class _FailingSource:
    """A credential provider that broke its contract: the session still runs and says so (token stage fault)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def acquire(self, record: SessionRecord) -> Credential:
        raise self.error


async def run_audit(
    items: Sequence[AuditItem],
    credentials: CredentialProvider,
    diagnoser: Diagnoser,
    emit: Emit,
    *,
    options: AuditOptions = AuditOptions(),  # noqa: B008 - frozen, never mutated
    on_progress: Callable[[Progress], None] | None = None,
    rng: random.Random | None = None,
) -> Progress:
    """Audit `items` and emit one record per mailbox, in the order they finish. CancelledError propagates."""
    progress = Progress(len(items))
    rng = rng or random.Random()
    hosts: dict[str, _Host] = {}
    pending = iter(items)

    async def worker() -> None:
        for item in pending:  # one iterator shared by all workers: each row is taken once
            host = hosts.setdefault(item.settings.host.lower(), _Host(options.per_host or options.concurrency))
            record, throttles = await _audit_one(item, host, credentials, options, rng, progress)
            record.diagnoser = diagnoser
            record.rediagnose()
            failed = exit_code(record) != 0
            status = THROTTLED if len(throttles) == options.max_attempts else FAILED if failed else HEALTHY
            emit(audit_record(item, record, status, throttles))
            progress.done += 1
            progress.failed += status == FAILED
            if on_progress is not None:
                on_progress(progress)

    workers = [asyncio.ensure_future(worker()) for _ in range(max(1, min(options.concurrency, len(items))))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return progress


async def _audit_one(
    item: AuditItem, host: _Host, credentials: CredentialProvider, options: AuditOptions, rng: random.Random, progress: Progress
) -> tuple[SessionRecord, list[Throttle]]:
    """The mailbox's last session and the throttling answers of the attempts before it (all of them when it never got in)."""
    throttles: list[Throttle] = []
    for attempt in range(1, options.max_attempts + 1):
        try:
            credential = await credentials(item.settings)
        except Exception as exc:  # noqa: BLE001 - a provider bug becomes the session's token-stage fault
            credential = MailboxCredential(_FailingSource(exc), Redactor())
        await host.ready()
        async with host.slots:
            record = SessionRecord(item.settings, redactor=credential.redactor)
            await run_check(item.settings, credential.source, record)
        throttle = throttle_of(record.evidence)
        if throttle is None:
            break
        throttles.append(throttle)
        if attempt == options.max_attempts:
            break
        progress.retries += 1
        delay = backoff_delay(attempt, throttle.suggested_delay, options, rng)
        if throttle.scope is ThrottleScope.HOST:
            host.resume_at = max(host.resume_at, time.monotonic() + delay)
        await asyncio.sleep(delay)
    return record, throttles


def backoff_delay(attempt: int, suggested: float | None, options: AuditOptions, rng: random.Random) -> float:
    """Never shorter than the server asked, doubling per attempt, spread by up to +50 % so that sessions throttled
    together do not all come back together, and never longer than `max_backoff`."""
    target = max(suggested or 0.0, options.backoff * 2 ** (attempt - 1))
    return min(options.max_backoff, target * rng.uniform(1.0, 1.5))


def audit_record(item: AuditItem, record: SessionRecord, status: str, throttles: list[Throttle]) -> dict[str, Any]:
    """The mailbox's `mailscope.report/1` record plus `audit`: the row's identity and how the audit went."""
    report = build_report(record)
    errors = [f["id"] for f in report["findings"] if f["severity"] == "error"]
    report["audit"] = {
        "row": item.row, "user": item.user, "protocol": str(item.settings.protocol), "host": item.settings.host,
        "port": item.settings.port, "status": status, "attempts": len(throttles) + (status != THROTTLED),
        "primary_finding": errors[0] if errors else None, "throttled": [t.answer for t in throttles],
    }  # fmt: skip
    return report
