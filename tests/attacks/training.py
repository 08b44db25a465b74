"""Hostile token claims reaching `mailscope train`'s reveal. The lab issues its own tokens, so no file or option puts
hostile claims into an exercise: this attack runs a real exercise (the lab, the probe, the diagnosis), then gives its
session a token whose claims hold control sequences (as a log's or a hostile issuer's would) before the answer, and
judges the reveal as `train` prints it, in text and --json (in-process: the one attack that is not a subprocess)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from . import payloads as p
from .attack import Attack
from .oracle import Run

SCENARIO = "ms-wrong-user"  # its finding quotes the token's user claims in the explanation and the reveal's evidence


def _reveal(tmp: Path, attack: Attack) -> list[Run]:
    from mailscope.lab.scenarios import scenario
    from mailscope.secret import Secret, SecretKind
    from mailscope.training.exercise import Exercise
    from mailscope.training.results import result_json
    from mailscope.training.scoring import Answer
    from providers.inspect import inspect_token
    from providers.registry import token_source_for
    from tui.commands.common import guarded_diagnoser
    from tui.commands.train import render_result

    start = time.monotonic()
    exercise = Exercise(scenario(SCENARIO), seed=7)
    asyncio.run(exercise.run(token_source_for, guarded_diagnoser()))
    record = exercise.record
    assert record is not None
    hostile = Secret(SecretKind.ACCESS_TOKEN, p.HOSTILE_TOKEN)
    record.redactor.register(hostile)  # as a session registers the token it used
    record.set_token(inspect_token(hostile, source="hostile issuer", flow="device_code"))
    result = exercise.answer(Answer(exercise.right.cause, "user", "ms_graph_scope_or_audience"), trainee=p.ALL_CONTROLS.replace("\0", ""))
    seconds = time.monotonic() - start
    text = Run(["mailscope", "train", "(reveal)"], stdout=render_result(result), returncode=0, seconds=seconds)
    as_json = Run(["mailscope", "train", "--json", "(reveal)"], stdout=json.dumps(result_json(result), indent=2), returncode=0,
                  seconds=seconds, json_output=True)  # fmt: skip
    return [text, as_json]


ATTACKS = [
    Attack("training: a reveal quoting token claims full of control sequences", "training", _reveal, (p.HOSTILE_TOKEN,), timeout=60,
           forbidden=(p.OSC52_PAYLOAD,), required=("ms_user_mismatch_token_vs_login", "upn")),
]  # fmt: skip
