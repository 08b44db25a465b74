"""Exercise results as data: one JSON Lines record per answered exercise, appended to a file a trainer collects
(default `$XDG_DATA_HOME/mailscope/training/results.jsonl`), and the full result with its reveal for `--json`.
No transcript goes into the results file; what the reveal quotes is redacted text from the session record."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailscope.localfile import open_output
from mailscope.training.exercise import Result

RESULT_SCHEMA = "mailscope.training-result/1"


def default_results_file() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "mailscope" / "training" / "results.jsonl"


def result_line(result: Result, *, course: str | None = None, at: datetime | None = None) -> dict[str, Any]:
    """The record appended to the results file: who, which scenario, the answer, hints, time, score."""
    score = result.score
    return {
        "schema": RESULT_SCHEMA,
        "at": (at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "trainee": result.trainee or None,
        "course": course,
        "scenario": result.scenario,
        "answer": dataclasses.asdict(result.answer),
        "right": dataclasses.asdict(result.right),
        "correct": {"cause": score.cause_right, "owner": score.owner_right, "fix": score.fix_right},
        "hints": result.hints,
        "hint_cost": score.hint_cost,
        "seconds": result.seconds,
        "score": score.value,
        "seed": result.seed,
    }


def append(path: str | Path, line: dict[str, Any]) -> None:
    """Append one record (one write, so concurrent trainees on one file do not interleave); the file is 0600."""
    target = Path(path).expanduser()
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = (json.dumps(line, ensure_ascii=True) + "\n").encode("ascii")
    fd = open_output(str(target), os.O_WRONLY | os.O_APPEND | os.O_CREAT)  # a FIFO is refused (NotRegularFile), not waited on
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def result_json(result: Result, *, course: str | None = None) -> dict[str, Any]:
    """The whole result for `mailscope train --json`: the results-file record plus the scenario's title and the reveal."""
    return {**result_line(result, course=course), "title": result.title, "reveal": dataclasses.asdict(result.reveal)}
