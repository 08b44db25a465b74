"""What bounds `mailscope audit`'s ratio to the bare aioimaplib loop of benchmarks/audit.py on this machine: the same
1,000-mailbox lab fleet audited three ways, interleaved, each against a fresh `lab serve --fleet`:

- the audit as shipped;
- the audit with its record made free: no diagnosis, no report, no JSON line (a counterfactual: the sessions alone,
  with the wire tap, the live redaction and the protocol layer; the mailbox's status and row are all it writes);
- the bare loop.

Beside each, the lab server's CPU while it served (its own start-up left out) and how busy that kept the machine's
cores: a second process for the audit's records only helps where a core is idle.

    python benchmarks/audit_floor.py [--mailboxes 1000] [--concurrency 100] [--runs 3] [--seed 0]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from audit import FleetLab, _measure, audit_command, fleet_arguments, raw_command

SESSIONS_ONLY = r"""
import sys
import mailscope.audit.runner as runner
import mailscope.record as record
from tui.cli import main

record.SessionRecord.rediagnose = lambda self: None
runner.audit_record = lambda item, session, status, throttles, shared=None: {
    "audit": {"row": item.row, "user": item.user, "status": status, "attempts": len(throttles) + 1}
}
sys.argv[0] = "mailscope"
sys.exit(main(sys.argv[1:]))
"""

SIDES = ("audit", "sessions only", "bare loop")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(side: str, size: int, seed: int, concurrency: int, workdir: str) -> tuple[float, float, float]:
    """Wall and CPU seconds of the client, and the lab server's CPU seconds while it served."""
    lab = FleetLab(size, seed)
    try:
        if side == "bare loop":
            command, env = raw_command(lab.info, concurrency)
        else:
            command, env = audit_command(lab.info, concurrency, os.path.join(workdir, f"audit-{time.monotonic_ns()}.jsonl"))
            if side == "sessions only":
                command = [sys.executable, "-c", SESSIONS_ONLY, *command[command.index("audit") :]]
        idle = _cpu_seconds(lab.process.pid)
        elapsed, cpu, _, _ = _measure(command, env, ok=(0, 1))
        return elapsed, cpu, _cpu_seconds(lab.process.pid) - idle
    finally:
        lab.stop()


def main() -> None:
    args = fleet_arguments(__doc__.splitlines()[0])
    figures: dict[str, list[tuple[float, float, float]]] = {side: [] for side in SIDES}
    with tempfile.TemporaryDirectory(prefix="mailscope-audit-floor-") as workdir:
        run("bare loop", 50, args.seed, args.concurrency, workdir)  # warm the page cache and the .pyc files
        for _ in range(args.runs):
            for side in SIDES:
                figures[side].append(run(side, args.mailboxes, args.seed, args.concurrency, workdir))
    cores = os.cpu_count() or 1
    medians = {side: [statistics.median(run[i] for run in runs) for i in range(3)] for side, runs in figures.items()}
    bare_wall, bare_cpu, _ = medians["bare loop"]
    print(f"fleet            : {args.mailboxes} lab mailboxes (IMAP, seed {args.seed}), concurrency {args.concurrency}, "
          f"{args.runs} interleaved runs each; {cores} cores")  # fmt: skip
    for side, (wall, cpu, lab) in medians.items():
        busy = (cpu + lab) / (cores * wall)
        print(f"{side:<16} : {wall:5.2f} s wall ({wall / bare_wall:.2f}x), client CPU {cpu:5.2f} s ({cpu / bare_cpu:.2f}x), "
              f"lab server CPU {lab:4.2f} s; cores busy {busy:4.0%}")  # fmt: skip


if __name__ == "__main__":
    main()
