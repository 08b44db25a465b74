"""What scenarios as data cost: reading and checking the 42 built-in TOML files (every `mailscope` command that names
a scenario pays it once), drawing an answer form, and one exercise end to end as `mailscope train --answer` runs it
(lab start, real token, probe, diagnosis, concealment, scoring, reveal). Targets: loading the built-ins under 50 ms;
an answer form under 1 ms; an exercise within a second of its `check --lab` run.

    python benchmarks/scenario_files.py [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from mailscope.diagnosis import make_diagnoser
from mailscope.lab.scenarios import BUILTIN_DIR, SCENARIOS, load_dir
from mailscope.training.choices import answer_form
from mailscope.training.exercise import Exercise
from mailscope.training.files import check_paths
from mailscope.training.scoring import Answer
from providers.registry import provider_rules, token_source_for


def median_ms(action, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def exercise(scenario_id: str) -> None:
    chosen = next(s for s in SCENARIOS if s.id == scenario_id)
    run = Exercise(chosen, seed=1)
    await run.run(token_source_for, make_diagnoser(provider_rules()))
    run.answer(Answer(chosen.expected_finding or "session_healthy"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(f"load the {len(SCENARIOS)} built-in scenario files: median {median_ms(lambda: load_dir(BUILTIN_DIR), args.runs):.1f} ms")
    validate = median_ms(lambda: check_paths([BUILTIN_DIR]), args.runs)
    print(f"lab validate of the built-ins (parse + checks + duplicates): median {validate:.1f} ms")
    forms = median_ms(lambda: [answer_form(s, 7) for s in SCENARIOS], args.runs) / len(SCENARIOS)
    print(f"answer form per scenario: median {forms:.3f} ms")
    for scenario_id in ("ms-graph-scope", "ms-consent-missing", "google-narrow-scope"):
        seconds = median_ms(lambda scenario_id=scenario_id: asyncio.run(exercise(scenario_id)), max(3, args.runs // 5)) / 1000
        print(f"exercise {scenario_id} end to end (lab, token, probe, diagnosis, score, reveal): median {seconds:.2f} s")


if __name__ == "__main__":
    main()
