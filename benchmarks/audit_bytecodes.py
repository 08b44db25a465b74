"""Where the audit's Python time goes, per mailbox: the bytecodes each function of `mailscope audit` and of the bare
aioimaplib loop of benchmarks/audit.py execute, counted by a trace function (`f_trace_opcodes`) in the event loop's
thread. Like benchmarks/audit_instructions.py it runs each side against fresh lab fleets of two sizes and divides the
difference, so start-up drops out; unlike it, it names functions: valgrind sees the interpreter's C, not whose Python
it runs. A count is exact and repeatable; it weighs every bytecode alike (a call into C, a TLS read, a regex scan or
a JSON encoding counts as the one bytecode that made it), so it shows where Python work is spread, not its share of the
CPU. A dataclass `__init__` (generated code, all named alike) is told apart by its class.

    python benchmarks/audit_bytecodes.py [--mailboxes 330] [--base 30] [--concurrency 100] [--seed 0] [--top 40]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections import Counter
from pathlib import Path

from audit import FleetLab, run_after, span_parser

# The counter, started just before a side's code runs (audit.RUN_SIDE); the counts go to $BYTECODES_OUT at exit.
COUNTED = r"""
import atexit, collections, json, os, sys
counts = collections.Counter()

def call(frame, event, arg):
    code = frame.f_code
    key = f"{code.co_filename.rpartition('site-packages/')[2]}:{code.co_qualname}"
    if code.co_filename == "<string>" and code.co_name == "__init__" and code.co_varnames:
        key += f" ({type(frame.f_locals.get(code.co_varnames[0])).__name__})"
    frame.f_trace_opcodes, frame.f_trace_lines = True, False

    def local(frame, event, arg):
        if event == "opcode":
            counts[key] += 1
        return local

    return local

atexit.register(lambda: open(os.environ["BYTECODES_OUT"], "w", encoding="utf-8").write(json.dumps(counts)))

def begin():
    sys.settrace(call)
"""


def counted(side: str, size: int, seed: int, concurrency: int, workdir: str) -> Counter[str]:
    """Bytecodes per function of one run of `side` against a fresh fleet of `size`."""
    lab = FleetLab(size, seed)
    out = os.path.join(workdir, f"{side}-{size}.json")
    try:
        run_after(COUNTED, side, lab.info, concurrency, os.path.join(workdir, f"audit-{size}.jsonl"), {"BYTECODES_OUT": out})
        return Counter(json.loads(Path(out).read_text(encoding="utf-8")))
    finally:
        lab.stop()


def per_mailbox(side: str, args: argparse.Namespace, workdir: str) -> dict[str, float]:
    small = counted(side, args.base, args.seed, args.concurrency, workdir)
    large = counted(side, args.mailboxes, args.seed, args.concurrency, workdir)
    span = args.mailboxes - args.base
    return {key: (large[key] - small[key]) / span for key in large.keys() | small.keys()}


def main() -> None:
    parser = span_parser(__doc__.splitlines()[0], mailboxes=330, base=30)
    parser.add_argument("--top", type=int, default=40, help="functions listed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mailscope-audit-bytecodes-") as workdir:
        audit, raw = per_mailbox("audit", args, workdir), per_mailbox("raw", args, workdir)
    total, raw_total = sum(audit.values()), sum(raw.values())
    fleets = f"{args.base} and {args.mailboxes} lab mailboxes (IMAP, seed {args.seed})"
    print(f"fleets                 : {fleets}, concurrency {args.concurrency}")
    print(f"bytecodes per mailbox  : audit {total:,.0f}, bare loop {raw_total:,.0f} ({total / raw_total:.2f}x)")
    modules: Counter[str] = Counter()
    for key, count in audit.items():
        modules[key.partition(":")[0]] += count
    print("\nby file (audit)")
    for module, count in modules.most_common(args.top // 2):
        print(f"  {count:8,.0f}  {100 * count / total:5.1f} %  {module}")
    print("\nby function (audit)")
    for key, count in sorted(audit.items(), key=lambda item: -item[1])[: args.top]:
        print(f"  {count:8,.0f}  {100 * count / total:5.1f} %  {key}")


if __name__ == "__main__":
    main()
