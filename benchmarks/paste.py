"""Time of diagnosing pasted text (mailscope.logs.diagnose_text, what `mailscope logs -` and the console's Paste view
run): each line of the fragment table alone (tests/mailscope/logs/test_fragments.py), a typical excerpt of 60 lines, and
a paste at the MAX_PASTE bound (2,000,000 characters). Prints figures; targets: a lone line well under 50 ms, the
bound under 10 s (the Paste view runs it off the event loop either way).

    python benchmarks/paste.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailscope.diagnosis import make_diagnoser  # noqa: E402
from mailscope.logs.diagnose import MAX_PASTE, diagnose_text  # noqa: E402
from providers.inspect import inspect_token  # noqa: E402
from providers.registry import provider_rules  # noqa: E402
from tests.mailscope.logs.test_fragments import ROWS  # noqa: E402

DIAGNOSER = make_diagnoser(provider_rules())


def timed(text: str, repeat: int) -> float:
    """Median seconds of one diagnosis of `text`."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        diagnose_text(text, diagnoser=DIAGNOSER, inspect_token=inspect_token)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    diagnose_text("warm up", diagnoser=DIAGNOSER)
    singles = [timed("\n".join(row.lines), args.repeat) for row in ROWS]
    print(f"lone lines ({len(ROWS)} rows of the fragment table): median {statistics.median(singles) * 1000:.1f} ms, "
          f"max {max(singles) * 1000:.1f} ms")
    excerpt = "\n".join(f"2026-11-28 10:00:{i % 60:02d},000 DEBUG: {line}" for i, row in enumerate(ROWS[:20]) for line in row.lines)
    excerpt = "\n".join([excerpt] * 2)
    print(f"an excerpt of {excerpt.count(chr(10)) + 1} lines: {timed(excerpt, args.repeat) * 1000:.1f} ms")
    block = "\n".join(line for row in ROWS for line in row.lines) + "\n"
    big = (block * (MAX_PASTE // len(block) + 1))[:MAX_PASTE]
    print(f"a paste at the bound ({len(big):,} characters, {big.count(chr(10)):,} lines): {timed(big, 1):.2f} s")


if __name__ == "__main__":
    main()
