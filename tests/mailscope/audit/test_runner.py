"""The audit runner against a lab fleet (real msal, the real probe, the lab's Exchange and IdP): the summary equals the
lab's truth, throttled sign-ins are retried and never counted as failures, the per-host bound holds, cancelling
leaves only whole records, and POP3/SMTP rows are planned and dispatched by protocol through run_check."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any

import pytest

from mailscope.audit import runner
from mailscope.audit.plan import AuditPlan, plan_audit, read_csv_file
from mailscope.audit.runner import AuditOptions, MailboxCredential, audit_record, run_audit
from mailscope.audit.summary import FAILED, HEALTHY, MailboxResult, summarize
from mailscope.audit.throttle import throttle_of
from mailscope.check import run_check
from mailscope.credential import Credential
from mailscope.events import Event, SessionFinished
from mailscope.lab.fleet import FleetLab, MailboxState, make_fleet
from mailscope.record import SessionRecord
from mailscope.report import SharedExports, exit_code, findings_of
from mailscope.secret import Secret, SecretKind
from mailscope.settings import CheckSettings, Protocol, SecretSource, Security
from providers.profiles import parse_secret_source
from providers.shared_tokens import AuditCredentials, audit_settings
from tui.commands.common import guarded_diagnoser

pytestmark = pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])  # the audit's loop (uvloop) and asyncio's

FAST = AuditOptions(concurrency=16, backoff=0.02, max_backoff=0.2)


def planned(lab: FleetLab) -> AuditPlan:
    return plan_audit(read_csv_file(lab.mailboxes_csv), lab.settings, secret_source=parse_secret_source, adapt=audit_settings)


async def audit(lab: FleetLab, options: AuditOptions = FAST, credentials: Any = None) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    await run_audit(planned(lab).items, credentials or AuditCredentials(), guarded_diagnoser(), records.append, options=options,
                    rng=random.Random(1))  # fmt: skip
    return records


async def test_the_summary_equals_the_lab_truth() -> None:
    fleet = make_fleet(40, seed=7)
    truth = fleet.truth()
    async with FleetLab(fleet) as lab:
        records = await audit(lab)
    summary = summarize(MailboxResult.from_record(r) for r in records)
    assert summary.counts() == truth["counts"]
    assert summary.retries == truth["throttle_retries"] > 0
    assert summary.total == 40 and summary.undetermined == 0
    by_row = {r["audit"]["row"]: r for r in records}
    assert sorted(by_row) == [m["row"] for m in truth["mailboxes"]]
    for mailbox in truth["mailboxes"]:
        record = by_row[mailbox["row"]]
        assert record["schema"] == "mailscope.report/1" and record["audit"]["user"] == mailbox["user"] == record["target"]["user"]
        assert record["outcome"]["kind"] == mailbox["expected_outcome"]
        if mailbox["cause_finding"]:  # the real cause is among the findings even where the wire cannot rank it first
            assert mailbox["cause_finding"] in [f["id"] for f in record["findings"]]


@pytest.mark.parametrize("answer", ["NO Request is throttled. Suggested Backoff Time: 30 milliseconds", "NO [THROTTLED] Slow down"])
async def test_throttled_sign_ins_are_retried_and_never_a_failure(answer: str) -> None:
    fleet = make_fleet(12, seed=3)
    throttled = {m.user for m in fleet.mailboxes if m.state is MailboxState.THROTTLED}
    assert throttled
    async with FleetLab(fleet, throttle_text=answer) as lab:
        records = await audit(lab)
        server = lab.servers["exchange"]
    assert server.throttled == 2 * len(throttled)
    for record in records:
        if record["audit"]["user"] in throttled:
            assert record["audit"]["status"] == "healthy" and record["audit"]["attempts"] == 3
            assert record["audit"]["throttled"] == [answer, answer]
            assert record["outcome"]["kind"] == "authenticated_mailbox_reachable"


async def test_a_mailbox_waiting_for_its_retry_holds_no_worker() -> None:
    fleet = make_fleet(12, seed=3)
    throttled = next(m.user for m in fleet.mailboxes if m.state is MailboxState.THROTTLED)
    emitted: list[dict[str, Any]] = []
    async with FleetLab(fleet) as lab:
        items = sorted(planned(lab).items, key=lambda item: item.user != throttled)  # the throttled mailbox first
        await run_audit(items, AuditCredentials(), guarded_diagnoser(), emitted.append,
                        options=AuditOptions(concurrency=1, backoff=1.0, max_backoff=1.0))  # fmt: skip
    assert [r["audit"]["user"] for r in emitted][-1] == throttled  # the one worker went on while it waited
    assert len(emitted) == 12 and emitted[-1]["audit"]["status"] == "healthy"


async def test_a_mailbox_still_throttled_after_the_last_attempt_is_not_judged() -> None:
    fleet = make_fleet(12, seed=3)
    async with FleetLab(fleet) as lab:
        records = await audit(lab, AuditOptions(concurrency=8, max_attempts=2, backoff=0.01))
    summary = summarize(MailboxResult.from_record(r) for r in records)
    throttled = sum(m.state is MailboxState.THROTTLED for m in fleet.mailboxes)
    assert summary.undetermined == throttled and summary.counts()["throttled"] == throttled
    assert summary.failed == sum(m.expected_finding is not None for m in fleet.mailboxes)


class _Counting:
    """Wraps each session's token source: counts the sessions running at once (from token to SessionFinished)."""

    def __init__(self) -> None:
        self.inner = AuditCredentials()
        self.running = self.peak = 0

    async def __call__(self, settings: CheckSettings) -> MailboxCredential:
        given = await self.inner(settings)
        return MailboxCredential(self._Source(self, given.source), given.redactor)

    class _Source:
        def __init__(self, counter: _Counting, inner: Any) -> None:
            self.counter, self.inner = counter, inner

        async def acquire(self, record: SessionRecord) -> Credential:
            counter = self.counter
            counter.running += 1
            counter.peak = max(counter.peak, counter.running)

            def finished(event: Event) -> None:
                if isinstance(event, SessionFinished):
                    counter.running -= 1

            record.subscribe(finished)
            await asyncio.sleep(0.01)
            return await self.inner.acquire(record)


async def test_no_more_sessions_to_one_host_than_per_host() -> None:
    counting = _Counting()
    async with FleetLab(make_fleet(16, seed=5)) as lab:
        await audit(lab, AuditOptions(concurrency=10, per_host=3, backoff=0.01), credentials=counting)
    assert counting.peak == 3 and counting.running == 0


async def test_pop3_and_smtp_rows_are_planned_and_dispatched_by_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_TOKEN", "ya29.a0-static-token-for-the-dispatch-test-0123456789")
    base = CheckSettings("127.0.0.1", 9, Security.TLS, token=SecretSource("env", "MAIL_TOKEN"), timeout=2)  # port 9: nothing listens
    plan = plan_audit("user,protocol,port,security\na@x.org,imap,9,tls\nb@x.org,pop3,9,tls\nc@x.org,smtp,9,starttls\n", base,
                      secret_source=parse_secret_source, adapt=audit_settings)  # fmt: skip
    assert [(i.settings.protocol, i.settings.security) for i in plan.items] == [
        (Protocol.IMAP, Security.TLS), (Protocol.POP3, Security.TLS), (Protocol.SMTP, Security.STARTTLS)]  # fmt: skip
    records: list[dict[str, Any]] = []
    await run_audit(plan.items, AuditCredentials(), guarded_diagnoser(), records.append, options=FAST)
    by_user = {r["audit"]["user"]: r for r in records}
    for user, protocol in (("a@x.org", "imap"), ("b@x.org", "pop3"), ("c@x.org", "smtp")):
        record = by_user[user]
        assert record["audit"]["protocol"] == record["target"]["protocol"] == record["evidence"]["protocol"] == protocol
        assert record["outcome"] is not None and record["audit"]["status"] == "failed"
        assert "static-token-for-the-dispatch" not in str(record)


def exported_slowly(value: Any, redact: Any) -> Any:
    """The report's export spelled out, with no shortcut: every string of every value through the redactor."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if type(value).__name__ == "SecretSource":
        return redact(value.describe())
    if is_dataclass(value):
        return {f.name: exported_slowly(getattr(value, f.name), redact) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): exported_slowly(v, redact) for k, v in value.items()}
    return [exported_slowly(v, redact) for v in value]


async def test_each_record_equals_the_slow_export_and_a_secret_learned_later_never_shows() -> None:
    """An audit's records skip the second redaction of text its redactor family already gave at the same generation, and
    export a shared token's section once: the same records as the slow walk for a healthy, a failing and a token-failure
    mailbox, the shortcuts warm (every mailbox of the fleet before), and a secret registered after that is removed from
    the next record."""
    fleet = make_fleet(14, seed=4)  # two mailboxes of the retired app: its refusal is shared too
    credentials, shared = AuditCredentials(), SharedExports()
    sessions: list[tuple[Any, SessionRecord]] = []
    async with FleetLab(fleet) as lab:
        for item in planned(lab).items:
            given = await credentials(item.settings)
            record = SessionRecord(item.settings, redactor=given.redactor)
            await run_check(item.settings, given.source, record)
            record.diagnoser = guarded_diagnoser()
            record.rediagnose()
            audit_record(item, record, HEALTHY, [], shared)  # every mailbox once: the shortcuts are warm for the ones compared
            sessions.append((item, record))
    kinds = {}
    for item, record in sessions:
        kinds.setdefault(record.outcome.kind if record.outcome else None, (item, record))
    assert {"authenticated_mailbox_reachable", "authenticated_but_mailbox_refused", "token_acquisition_failed"} <= set(kinds)
    for kind in ("authenticated_mailbox_reachable", "authenticated_but_mailbox_refused", "token_acquisition_failed"):
        item, record = kinds[kind]
        status = FAILED if exit_code(record) else HEALTHY
        fast = audit_record(item, record, status, [], shared)
        others = [r for i, r in sessions if r.token is record.token and r is not record]
        assert others and audit_record(item, others[0], status, [], shared)["token"] is fast["token"]  # exported once
        redact = record.redactor.redact
        assert fast["settings"] == exported_slowly(record.settings, redact) and fast["target"]["user"] == item.user
        assert fast["transcript"] == exported_slowly(record.lines, redact)
        assert fast["evidence"] == exported_slowly(record.evidence, redact)
        assert fast["token"] == exported_slowly(record.token, redact) and fast["token"]
        assert fast["findings"] == exported_slowly(findings_of(record), redact) and fast["findings"] or status == HEALTHY
        assert fast["checks"] == exported_slowly(record.diagnosis.checks, redact)
        assert fast["summary"] == redact(record.diagnosis.summary) and fast["outcome"]["kind"] == kind
    for kind in ("authenticated_mailbox_reachable", "token_acquisition_failed"):  # a family each
        item, record = kinds[kind]
        # A secret registered now (here: the mailbox's address and the token's app id, text that every report shows)
        # is removed from the next report, although the same text was exported before (the row's identity, `audit`,
        # is the sheet's, outside the report).
        secrets = (item.user, str(record.token.claims.get("appid") or record.settings.client_id))
        for secret in secrets:
            record.redactor.register(Secret(SecretKind.CLIENT_SECRET, secret))
        later = audit_record(item, record, FAILED, [], shared)
        assert later.pop("audit")["user"] == item.user
        later = json.dumps(later)
        assert all(secret not in later for secret in secrets) and "client secret" in later


async def test_finished_sessions_are_diagnosed_then_reported_a_batch_at_a_time_and_none_is_lost(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(runner, "_BATCH", 4)
    monkeypatch.setattr(runner, "_BATCH_AGE", 3600.0)  # only a full batch, a wait for a retry and the end conclude
    steps: list[tuple[str, str]] = []
    diagnose = guarded_diagnoser()

    def diagnoser(inp: Any) -> Any:
        steps.append(("diagnose", inp.settings.user))
        return diagnose(inp)

    def emit(record: dict[str, Any]) -> None:
        steps.append(("emit", record["audit"]["user"]))

    fleet = make_fleet(30, seed=7)
    async with FleetLab(fleet) as lab:
        await run_audit(planned(lab).items, AuditCredentials(), diagnoser, emit, options=FAST, rng=random.Random(1))
    batches = [[user for _, user in group] for _, group in itertools.groupby(steps, key=lambda step: step[0])]
    assert all(len(batch) <= 4 for batch in batches) and any(len(batch) == 4 for batch in batches)
    assert steps[0][0] == "diagnose"
    for diagnosed, emitted in zip(batches[::2], batches[1::2], strict=True):
        assert emitted == diagnosed  # each session diagnosed once, then emitted, in the order the sessions finished
    assert sorted(user for step, user in steps if step == "emit") == sorted(m["user"] for m in fleet.truth()["mailboxes"])


async def test_cancelling_drops_only_the_sessions_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every session that had finished gets its whole record, even one still waiting for its batch; nothing after."""
    monkeypatch.setattr(runner, "_BATCH", 1000)
    monkeypatch.setattr(runner, "_BATCH_AGE", 3600.0)
    finished: list[str] = []
    session = runner._session

    async def counted(item: Any, host: Any, credentials: Any) -> SessionRecord:
        record = await session(item, host, credentials)
        if throttle_of(record.evidence) is None:  # a throttled attempt is tried again, not concluded
            finished.append(item.settings.user)
        return record

    monkeypatch.setattr(runner, "_session", counted)
    emitted: list[dict[str, Any]] = []
    async with FleetLab(make_fleet(30, seed=2)) as lab:
        task = asyncio.ensure_future(run_audit(planned(lab).items, AuditCredentials(), guarded_diagnoser(), emitted.append,
                                               options=AuditOptions(concurrency=2, backoff=0.01)))  # fmt: skip
        while len(finished) < 3:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        count = len(emitted)
        await asyncio.sleep(0.2)
    assert 3 <= len(finished) < 30 and len(emitted) == count
    assert [r["audit"]["user"] for r in emitted] == finished  # all of them, once, in the order they finished
    assert all(r["outcome"]["kind"] != "cancelled" and r["audit"]["status"] in ("healthy", "failed") for r in emitted)


async def test_while_only_retries_are_left_the_finished_sessions_do_not_wait_for_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "_BATCH", 1000)
    monkeypatch.setattr(runner, "_BATCH_AGE", 3600.0)  # neither a full batch nor its age concludes here
    steps: list[str] = []
    session = runner._session

    async def logged(item: Any, host: Any, credentials: Any) -> SessionRecord:
        record = await session(item, host, credentials)
        steps.append("session")
        return record

    monkeypatch.setattr(runner, "_session", logged)
    async with FleetLab(make_fleet(8, seed=7)) as lab:  # one mailbox throttled twice
        await run_audit(planned(lab).items, AuditCredentials(), guarded_diagnoser(), lambda record: steps.append("emit"),
                        options=AuditOptions(concurrency=1, backoff=0.5, max_backoff=1.0), rng=random.Random(1))  # fmt: skip
    assert steps.count("emit") == 8 and steps.count("session") == 10
    last_session = len(steps) - 1 - steps[::-1].index("session")
    assert steps.index("emit") < last_session  # written while the throttled mailbox waited for its retry, no session running
