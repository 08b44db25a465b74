"""Running an audit: every planned mailbox through `run_check`, many at once, politely.

A fixed pool of workers (`concurrency`) pulls the planned rows; a host takes at most `per_host` sessions at a time.
A session the server throttled (`throttle.throttle_of`) is not the mailbox's failure: it is backed off (the server's
suggested wait or an exponential one, with jitter, capped) and tried again, up to `max_attempts`, while its worker
goes on with the next rows; a refusal of the connection itself pauses every session to that host. Each finished
session is diagnosed once and handed to `emit` as its redacted `mailscope.report/1` record plus the row's identity
(`audit`). Cancelling the audit (Ctrl-C) drops only the sessions in flight: every record emitted before is whole.

Per session the cost stays small: the credential (and the redactor that knows its secret) is prepared by the
caller once per tenant, the diagnosis runs once at the end, the report exports the section of a shared token once (per
redactor generation), finished sessions are diagnosed and reported a batch at a time (warm caches), and nothing of a
session is kept after its record.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
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
from mailscope.report import SharedExports, build_report, exit_code
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


_BATCH = 64  # finished sessions concluded together, at most
_BATCH_AGE = 0.1  # a batch is concluded once a session finishes this long after its first (or no session runs, or at the end)


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
    queue = _Queue(items)
    shared = SharedExports()

    running = 0  # sessions in flight

    async def worker() -> None:
        nonlocal running
        while (job := await queue.next()) is not None:
            name = job.item.settings.host.lower()
            if (host := hosts.get(name)) is None:  # not setdefault: that would build a _Host per mailbox to throw away
                host = hosts[name] = _Host(options.per_host or options.concurrency)
            running += 1
            try:
                record = await _session(job.item, host, credentials)
            finally:
                running -= 1
            throttle = throttle_of(record.evidence)
            if throttle is not None:
                job.throttles.append(throttle)
                if len(job.throttles) < options.max_attempts:
                    progress.retries += 1
                    delay = backoff_delay(len(job.throttles), throttle.suggested_delay, options, rng)
                    if throttle.scope is ThrottleScope.HOST:
                        host.resume_at = max(host.resume_at, time.monotonic() + delay)
                    queue.later(job, delay)  # meanwhile this worker takes the next mailbox
                    continue
            finished.append((job, record, throttle, time.monotonic()))
            if len(finished) >= _BATCH or finished[-1][3] - finished[0][3] > _BATCH_AGE:
                conclude()

    def conclude() -> None:
        """Diagnose the finished sessions, then report and emit them, in the order they finished. A batch at a time: each
        phase's code and data stay in the CPU's caches from one mailbox to the next, where one mailbox at a time, between
        sessions whose TLS and parsing push them out, its diagnosis cost about twice as much (report and output a third more)."""
        batch = finished[:]
        finished.clear()
        for _, record, _, _ in batch:
            record.diagnoser = diagnoser
            record.rediagnose()
        for job, record, throttle, _ in batch:
            status = THROTTLED if throttle is not None else FAILED if exit_code(record) != 0 else HEALTHY
            emit(audit_record(job.item, record, status, job.throttles, shared))
            progress.done += 1
            progress.failed += status == FAILED
            if on_progress is not None:
                on_progress(progress)

    finished: list[tuple[_Job, SessionRecord, Throttle | None, float]] = []  # (..., when it finished): for `conclude`
    queue.idle = lambda: None if running else conclude()  # no session in flight, retries not due: nothing to wait for
    workers = [asyncio.ensure_future(worker()) for _ in range(max(1, min(options.concurrency, len(items))))]
    try:
        await asyncio.gather(*workers)
        conclude()
    except asyncio.CancelledError:
        conclude()  # the sessions that finished before the audit was stopped keep their records
        raise
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return progress


@dataclass(slots=True)
class _Job:
    item: AuditItem
    throttles: list[Throttle] = field(default_factory=list)  # the answers of the attempts so far


class _Queue:
    """The rows not yet tried, and the throttled ones waiting for their next attempt (soonest first). A waiting mailbox
    holds no worker: the others go on with the next rows. `idle` runs before a worker waits for a retry."""

    def __init__(self, items: Sequence[AuditItem]) -> None:
        self._fresh = iter(items)
        self._waiting: list[tuple[float, int, _Job]] = []  # (due, tie-breaker, job) as a heap
        self._count = itertools.count()
        self.idle: Callable[[], None] = lambda: None

    def later(self, job: _Job, delay: float) -> None:
        heapq.heappush(self._waiting, (time.monotonic() + delay, next(self._count), job))

    async def next(self) -> _Job | None:
        """The next job; None when nothing is left (a job put back later is taken by the worker that put it back)."""
        while True:
            if self._waiting and self._waiting[0][0] <= time.monotonic():
                return heapq.heappop(self._waiting)[2]
            item = next(self._fresh, None)
            if item is not None:
                return _Job(item)
            if not self._waiting:
                return None
            self.idle()
            await asyncio.sleep(self._waiting[0][0] - time.monotonic())


async def _session(item: AuditItem, host: _Host, credentials: CredentialProvider) -> SessionRecord:
    """One session for the mailbox, within its host's share."""
    try:
        credential = await credentials(item.settings)
    except Exception as exc:  # noqa: BLE001 - a provider bug becomes the session's token-stage fault
        credential = MailboxCredential(_FailingSource(exc), Redactor())
    await host.ready()
    async with host.slots:
        record = SessionRecord(item.settings, redactor=credential.redactor)
        await run_check(item.settings, credential.source, record)
    return record


def backoff_delay(attempt: int, suggested: float | None, options: AuditOptions, rng: random.Random) -> float:
    """The wait after the `attempt`-th throttled session: the server's suggestion or `backoff` doubling per attempt,
    whichever is longer, spread by up to +50 % so that sessions throttled together do not come back together, and
    never longer than `max_backoff`."""
    target = max(suggested or 0.0, options.backoff * 2 ** (attempt - 1))
    return min(options.max_backoff, target * rng.uniform(1.0, 1.5))


def audit_record(
    item: AuditItem, record: SessionRecord, status: str, throttles: list[Throttle], shared: SharedExports | None = None
) -> dict[str, Any]:
    """The mailbox's `mailscope.report/1` record plus `audit`: the row's identity and how the audit went."""
    report = build_report(record, shared=shared)
    errors = [f["id"] for f in report["findings"] if f["severity"] == "error"]
    report["audit"] = {
        "row": item.row, "user": item.user, "protocol": str(item.settings.protocol), "host": item.settings.host,
        "port": item.settings.port, "status": status, "attempts": len(throttles) + (status != THROTTLED),
        "primary_finding": errors[0] if errors else None, "throttled": [t.answer for t in throttles],
    }  # fmt: skip
    return report
