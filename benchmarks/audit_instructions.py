"""Instructions per mailbox of `mailscope audit` and of the bare aioimaplib loop of benchmarks/audit.py, counted by valgrind
(cachegrind, no cache simulation): repeatable to about 0.1 % where CPU seconds on this shared 2-core machine vary by 10 %
or more, so a change worth 1 % of the audit shows. Each side runs against fresh lab fleets of two sizes; the difference
divides out the start-up, which is printed apart. User-space instructions of the client only: the kernel's TCP work and
the lab server are not counted. Needs valgrind (`apt-get install valgrind`); a run takes a few minutes.

    python benchmarks/audit_instructions.py [--mailboxes 300] [--base 10] [--concurrency 100] [--seed 0]
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from audit import FleetLab, _measure, audit_command, raw_command, span_parser


def instructions(command: list[str], env: dict[str, str], workdir: str) -> tuple[int, str]:
    """Instructions the command ran (its threads included), and its stdout."""
    counts = os.path.join(workdir, "cachegrind.out")
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={counts}", *command]
    _, _, _, stdout = _measure(command, env, ok=(0, 1))  # audit: 1 when some mailboxes failed, as the fleet intends
    summary = next(line for line in Path(counts).read_text(encoding="utf-8").splitlines() if line.startswith("summary:"))
    return int(summary.split()[1]), stdout


def run(side: str, size: int, seed: int, concurrency: int, workdir: str) -> tuple[int, bool]:
    """Instructions of one run, and (audit) whether its summary equals the lab's truth."""
    lab = FleetLab(size, seed)
    try:
        if side == "raw":
            return instructions(*raw_command(lab.info, concurrency), workdir)[0], True
        count, stdout = instructions(*audit_command(lab.info, concurrency, os.path.join(workdir, f"audit-{size}.jsonl")), workdir)
        summary, truth = json.loads(stdout), json.loads(Path(lab.info["truth"]).read_text(encoding="utf-8"))
        return count, summary["counts"] == truth["counts"] and summary["retries"] == truth["throttle_retries"]
    finally:
        lab.stop()


def main() -> None:
    args = span_parser(__doc__.splitlines()[0], mailboxes=300, base=10).parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    figures = {}
    with tempfile.TemporaryDirectory(prefix="mailscope-audit-instructions-") as workdir:
        for side in ("audit", "raw"):
            small, small_ok = run(side, args.base, args.seed, args.concurrency, workdir)
            large, large_ok = run(side, args.mailboxes, args.seed, args.concurrency, workdir)
            figures[side] = (small, (large - small) / (args.mailboxes - args.base), small_ok and large_ok)
    fleets = f"{args.base} and {args.mailboxes} lab mailboxes (IMAP, seed {args.seed})"
    print(f"fleets                 : {fleets}, concurrency {args.concurrency}")
    for side, label in (("audit", "mailscope audit"), ("raw", "raw aioimaplib ")):
        start, per_mailbox, _ = figures[side]
        print(f"{label}        : {per_mailbox / 1e6:6.2f} M instructions per mailbox, start-up {start / 1e6:7.0f} M")
    ratio = figures["audit"][1] / figures["raw"][1]
    print(f"ratio per mailbox      : {ratio:.2f}x")
    print(f"summary = lab truth    : {'yes' if figures['audit'][2] else 'NO'}")


if __name__ == "__main__":
    main()
