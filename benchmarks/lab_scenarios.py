"""Seconds per lab scenario end to end, as `mailscope check --lab ID --json` runs it in-process (lab start,
token from real msal/google-auth, probe, diagnosis, lab stop), plus the lab's own start/stop time, and whether
the top finding is the one the scenario expects (IMAP, POP3 and SMTP alike).
Target: every scenario under 5 s with its expected finding first; lab start + stop well under 1 s.

    python benchmarks/lab_scenarios.py [--runs 3] [SCENARIO ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import statistics
import time

from mailscope.lab.scenarios import SCENARIOS, SERVER_MODES, scenario
from mailscope.lab.session import LabSession
from tui.commands import check


def run_scenario(scenario_id: str) -> tuple[float, str, str]:
    parser = argparse.ArgumentParser()
    check.add_parser(parser.add_subparsers(dest="command"))
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        check.run(parser.parse_args(["check", "--lab", scenario_id, "--json"]))
    seconds = time.perf_counter() - started
    report = json.loads(out.getvalue())
    findings = report.get("findings") or [{}]
    return seconds, report["outcome"]["kind"], findings[0].get("id", "-")


async def lab_start_stop(scenario_id: str) -> tuple[float, float]:
    started = time.perf_counter()
    lab = LabSession(scenario_id)
    await lab.start()
    up = time.perf_counter()
    await lab.stop()
    return up - started, time.perf_counter() - up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("scenarios", nargs="*", default=[s.id for s in SCENARIOS])
    args = parser.parse_args()
    starts, stops = zip(*(asyncio.run(lab_start_stop("ms-healthy")) for _ in range(args.runs)), strict=True)
    print(f"lab start (CA, IdP, server): median {statistics.median(starts):.3f} s; stop: median {statistics.median(stops):.3f} s")
    print(f"{'scenario':38} {'proto':5} {'median s':>8} {'max s':>6}  {'top finding as expected':24} outcome / top finding")
    worst, misses = 0.0, []
    for scenario_id in args.scenarios:
        chosen = scenario(scenario_id)
        runs = [run_scenario(scenario_id) for _ in range(args.runs)]
        times = [r[0] for r in runs]
        worst = max(worst, max(times))
        expected = chosen.expected_finding or "session_healthy"
        as_expected = all(r[2] == expected and r[1] == str(chosen.expected_outcome) for r in runs)
        misses += [] if as_expected else [scenario_id]
        protocol = SERVER_MODES[chosen.server_under_test][0]
        print(f"{scenario_id:38} {protocol:5} {statistics.median(times):8.2f} {max(times):6.2f}  {'yes' if as_expected else 'NO':24} "
              f"{runs[-1][1]} / {runs[-1][2]}")
    print(f"slowest run: {worst:.2f} s (target < 5 s)")
    print(f"expected finding first: {len(args.scenarios) - len(misses)}/{len(args.scenarios)}"
          + (f"; not: {', '.join(misses)}" if misses else ""))


if __name__ == "__main__":
    main()
