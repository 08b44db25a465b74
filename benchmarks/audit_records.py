"""CPU of building and writing an audit's records, offline: real sessions of a lab fleet are run first (the audit's own
credentials, sessions and diagnosis, 100 at once) and kept; then each one's `mailscope.report/1` record is built
(`runner.audit_record`, with the audit's SharedExports) and written (`AuditOutput.append`, then `close`) once, in order,
as `mailscope audit` does after each session. What benchmarks/audit.py cannot resolve on a busy machine: the report and
output share of an audit. A fresh fleet per run, since a record is built once (the final pass meets each mailbox's new
text once).

    python benchmarks/audit_records.py [--mailboxes 1000] [--runs 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from mailscope.audit.output import AuditOutput
from mailscope.audit.plan import AuditItem, plan_audit, read_csv_file
from mailscope.audit.runner import audit_record
from mailscope.audit.summary import FAILED, HEALTHY, THROTTLED
from mailscope.audit.throttle import throttle_of
from mailscope.check import run_check
from mailscope.lab.fleet import FleetLab, make_fleet
from mailscope.record import SessionRecord
from mailscope.report import SharedExports, exit_code
from providers.profiles import parse_secret_source
from providers.shared_tokens import AuditCredentials, audit_settings
from tui.commands.common import guarded_diagnoser


async def sessions(size: int, seed: int) -> list[tuple[AuditItem, SessionRecord]]:
    """Every mailbox of a fresh fleet signed in once, diagnosed, kept (a throttled one as it was: not retried)."""
    credentials, limit = AuditCredentials(), asyncio.Semaphore(100)

    async def one(item: AuditItem) -> tuple[AuditItem, SessionRecord]:
        async with limit:
            given = await credentials(item.settings)
            record = SessionRecord(item.settings, redactor=given.redactor)
            await run_check(item.settings, given.source, record)
        record.diagnoser = guarded_diagnoser()
        record.rediagnose()
        return item, record

    async with FleetLab(make_fleet(size, seed=seed)) as lab:
        plan = plan_audit(read_csv_file(lab.mailboxes_csv), lab.settings, secret_source=parse_secret_source, adapt=audit_settings)
        return list(await asyncio.gather(*(one(item) for item in plan.items)))


def build_and_write(done: list[tuple[AuditItem, SessionRecord]], path: Path) -> tuple[float, float]:
    """CPU seconds building the records and writing them (close included)."""
    shared, output = SharedExports(), AuditOutput(str(path))
    building = writing = 0.0
    for item, record in done:
        status = THROTTLED if throttle_of(record.evidence) else FAILED if exit_code(record) else HEALTHY
        start = time.process_time()
        report = audit_record(item, record, status, [], shared)
        built = time.process_time()
        output.append(report)
        writing += time.process_time() - built
        building += built - start
    start = time.process_time()
    output.close()
    return building, writing + time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    figures: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="mailscope-audit-records-") as tmp:
        for run in range(args.runs):
            done = asyncio.run(sessions(args.mailboxes, args.seed))
            figures.append(build_and_write(done, Path(tmp) / f"run-{run}.jsonl"))
    per_thousand = 1000 / args.mailboxes
    building = statistics.median(b for b, _ in figures) * per_thousand
    writing = statistics.median(w for _, w in figures) * per_thousand
    print(f"records of {args.mailboxes} lab mailboxes, {args.runs} runs (a fresh fleet each), medians per 1,000 mailboxes:")
    print(f"  build (runner.audit_record)       : {building:.3f} s CPU")
    print(f"  write (AuditOutput.append, close) : {writing:.3f} s CPU")
    print(f"  together                          : {building + writing:.3f} s CPU")


if __name__ == "__main__":
    main()
