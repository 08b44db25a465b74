"""`python -m tests.attacks [--all] [-k SUBSTRING]`: run the attacks and print a pass/fail table with counts.
Without --all only the CI slice runs; with it, every attack (floods, 300-session logs, the gzip bomb)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from .catalogue import attacks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="every attack, not only the CI slice")
    parser.add_argument("-k", default="", help="only attacks whose name contains this")
    args = parser.parse_args()
    chosen = [a for a in attacks() if (args.all or a.fast) and args.k.lower() in a.name.lower()]
    passed = 0
    print(f"{'attack':72} {'kind':8} {'runs':>4} {'secs':>6} {'MB':>5}  result")
    for attack in chosen:
        with tempfile.TemporaryDirectory(prefix="mailscope-attack-") as tmp:
            start = time.monotonic()
            runs = attack.run(Path(tmp), attack)
            found = attack.judge(runs)
        peak = max((run.max_rss_mb for run in runs), default=0)
        passed += not found
        print(f"{attack.name[:72]:72} {attack.kind:8} {len(runs):>4} {time.monotonic() - start:6.1f} {peak:5.0f}  "
              + ("pass" if not found else "FAIL"), flush=True)  # fmt: skip
        for problem in found[:5]:
            print(f"    {problem[:200]}")
    print(f"\n{len(chosen)} attacks: {passed} passed, {len(chosen) - passed} failed")
    return 0 if passed == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
