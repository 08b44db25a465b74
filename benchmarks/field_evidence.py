"""Field evidence: how `mailscope logs --json` does on logs it did not write itself.

    python benchmarks/field_evidence.py [--verbose]

Reads the real-client corpus (tests/corpus/manifest.toml: each log with its expected finding) and the fragment table
(tests/corpus/fragments.py: catalogue server strings alone and wrapped, public-thread snippets), runs the real
`mailscope logs --json` on each (fragments through stdin, as `mailscope logs -`), and prints per client:

* failing logs judged right: the true cause first where the log can decide it, or, where it cannot (no token in the
  log), the true cause among the unconfirmed candidates with no confirmed wrong cause;
* healthy logs with an ERROR finding (false alarms);
* sessions found vs expected;

then totals against the targets (>= 95 % right, 0 false ERRORs). Figures only; it never fails a build.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
sys.path.insert(0, str(ROOT))

from tests.corpus.fragments import cases  # noqa: E402
from tests.corpus.scoring import verdict  # noqa: E402

TARGET_RIGHT = 0.95


@dataclass
class Tally:
    failing: int = 0
    right: int = 0
    healthy: int = 0
    false_error: int = 0
    sessions_found: int = 0
    sessions_expected: int = 0
    no_session: int = 0
    misses: list[str] = field(default_factory=list)


def logs_json(path: str, stdin: str | None = None) -> dict:
    done = subprocess.run(["mailscope", "logs", "--json", path], input=stdin, capture_output=True, text=True, timeout=120)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"summary": {"sessions": 0}, "findings": [], "error": (done.stderr or done.stdout).strip()[-300:]}


def run_corpus(verbose: bool) -> dict[str, Tally]:
    manifest = tomllib.loads((CORPUS / "manifest.toml").read_text(encoding="utf-8"))["log"]
    tallies: dict[str, Tally] = defaultdict(Tally)
    for entry in manifest:
        tally = tallies[entry["client"]]
        report = logs_json(str(CORPUS / entry["path"]))
        found = report["summary"]["sessions"]
        tally.sessions_found += found
        tally.sessions_expected += entry["connections"]
        tally.no_session += found == 0
        findings = report["findings"]
        if entry["failing"]:
            tally.failing += 1
            ok, why = verdict(findings, entry["expected_id"], {entry["expected_id"], *entry["acceptable_ids"]}, entry["decidable_from_log"])
            tally.right += ok
            if not ok:
                tally.misses.append(
                    f"{entry['path']}: expected {entry['expected_id']}{'' if entry['decidable_from_log'] else ' (undecidable)'}; {why}"
                )
        else:
            tally.healthy += 1
            errors = [f["id"] for f in findings if f.get("severity") == "error"]
            if errors:
                tally.false_error += 1
                tally.misses.append(f"{entry['path']}: healthy, ERROR {errors[:3]}")
    return tallies


def run_fragments() -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    for case in cases():
        group = case.key.split("/")[1] if not case.key.startswith("thread/") else "thread snippets"
        tally = tallies[group]
        report = logs_json("-", stdin=case.text + "\n")
        found = report["summary"]["sessions"]
        tally.failing += 1
        tally.sessions_found += found
        tally.sessions_expected += 1
        tally.no_session += found == 0
        ok, why = verdict(report["findings"], case.first, set(case.candidates), case.decisive)
        tally.right += ok
        if not ok:
            tally.misses.append(f"{case.key}: expected {case.first}{'' if case.decisive else ' (candidates)'}; {why}")
    return tallies


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def print_table(title: str, tallies: dict[str, Tally], verbose: bool) -> Tally:
    total = Tally()
    print(f"\n{title}")
    print(f"  {'':<22} {'failing right':>18} {'healthy w/ ERROR':>17} {'sessions found/expected':>24} {'no session':>11}")
    for name in sorted(tallies):
        t = tallies[name]
        print(
            f"  {name:<22} {t.right:>4}/{t.failing:<4} {_pct(t.right, t.failing):>8} {t.false_error:>6}/{t.healthy:<10}"
            f"{t.sessions_found:>12}/{t.sessions_expected:<11} {t.no_session:>11}"
        )
        for field_name in ("failing", "right", "healthy", "false_error", "sessions_found", "sessions_expected", "no_session"):
            setattr(total, field_name, getattr(total, field_name) + getattr(t, field_name))
        total.misses += t.misses
    print(
        f"  {'TOTAL':<22} {total.right:>4}/{total.failing:<4} {_pct(total.right, total.failing):>8} "
        f"{total.false_error:>6}/{total.healthy:<10}{total.sessions_found:>12}/{total.sessions_expected:<11} {total.no_session:>11}"
    )
    if verbose:
        for miss in total.misses:
            print(f"    miss: {miss}")
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description="mailscope logs on third-party evidence: per-client figures and targets")
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    args = parser.parse_args()
    corpus = print_table("Real-client corpus (tests/corpus/logs)", run_corpus(args.verbose), args.verbose)
    fragments = print_table("Fragment table (tests/corpus/fragments.py, through `mailscope logs -`)", run_fragments(), args.verbose)
    print("\nTargets")
    for name, total in (("corpus", corpus), ("fragments", fragments)):
        share = total.right / total.failing if total.failing else 0.0
        print(
            f"  {name:<10} failing right {100 * share:5.1f}% (target >= {100 * TARGET_RIGHT:.0f}%: "
            f"{'met' if share >= TARGET_RIGHT else 'NOT met'}); ERROR on healthy: {total.false_error} (target 0: "
            f"{'met' if total.false_error == 0 else 'NOT met'})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
