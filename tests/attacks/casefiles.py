"""Hostile case files for the commands that reopen them: `mailscope logs CASEFILE` (text and --json) and `mailscope diff`.
A case file is handed from one engineer to the next, so anyone may have edited or forged it: control sequences and
pasted secrets in every string, wrong types, broken numbering, nesting, sizes, FIFOs, devices, binary data."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import payloads as p
from .attack import Attack
from .inputs import CONTROLS, PASTED_PASSWORD, PASTED_SECRET, PASTED_TOKEN, SECRETS, _fifo, _sparse, _written
from .oracle import Run, run_each, run_mailscope

HOSTILE = CONTROLS + " " + PASTED_TOKEN


def _reopen(path: Path, other: Path) -> list[Callable[[], Run]]:
    """Every command that reads a case file, on `path` (and `other` as the second of a diff)."""
    return [functools.partial(run_mailscope, args, timeout=30) for args in (
        ["logs", str(path)], ["logs", str(path), "--json"], ["diff", str(path), str(other)], ["diff", str(other), str(path), "--json"],
    )]  # fmt: skip


def _forged(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path, Attack], list[Run]]:
    """A real case (`check --lab ms-graph-scope --save`), edited by `edit`, then reopened by every command."""

    def run(tmp: Path, attack: Attack) -> list[Run]:
        good = tmp / "good.json"
        saved = run_mailscope(["check", "--lab", "ms-graph-scope", "--save", str(good)], timeout=attack.timeout)
        report = json.loads(good.read_text())
        edit(report)
        forged = _written(tmp / "forged.json", json.dumps(report, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        return [saved, *run_each(_reopen(forged, good))]

    return run


def _everywhere(report: dict[str, Any]) -> None:
    """Control sequences and pasted secrets in every kind of string the reopening shows, keys of claims included."""
    for line in report["transcript"][::3]:
        line["text"] += HOSTILE
        line["annotations"] = [HOSTILE, f"password={PASTED_PASSWORD}"]
        line["wall_time"] = CONTROLS
    report["transcript"][1]["text"] = f"A1 OK\nA2 OK a forged second line {PASTED_SECRET}"
    for finding in report["findings"]:
        finding.update(title=finding["title"] + HOSTILE, explanation=HOSTILE, fix=[HOSTILE], decide=[HOSTILE], links=[HOSTILE])
    report["token"]["claims"].update({"aud": HOSTILE, "scp": HOSTILE, "upn": HOSTILE, "exp": 10**30, HOSTILE: {HOSTILE: [HOSTILE]}})
    report["token"]["notes"] = [HOSTILE]
    report["settings"].update(user=HOSTILE, scopes=[HOSTILE], extra={HOSTILE: HOSTILE, "client_secret": PASTED_SECRET})
    report["evidence"].update(auth_text=HOSTILE, host=HOSTILE, greeting=HOSTILE, log_facts={"password": PASTED_PASSWORD})
    report["outcome"]["summary"] = HOSTILE
    report.update(summary=HOSTILE, generated_at=HOSTILE, tool={"name": HOSTILE, "version": HOSTILE}, evidence_time=HOSTILE,
                  evidence_time_detail=HOSTILE, evidence_time_window={"at": 1e308, "earliest": 10**400, "latest": -(10**30)})  # fmt: skip


def _broken(make: Callable[[Path], Path], *, looks_like_a_case: bool = True) -> Callable[[Path, Attack], list[Run]]:
    """A file that is no case: `diff` refuses it; `logs` too when it starts as a case (else the log importers read it)."""

    def run(tmp: Path, attack: Attack) -> list[Run]:
        good = _written(tmp / "good.json", '{"schema": "mailscope.report/1"}')
        calls = _reopen(make(tmp), good)
        return run_each(calls if looks_like_a_case else calls[2:])

    return run


HEAD = '{"schema": "mailscope.report/1", '
BAD = {"expect_exit": 2, "max_seconds": 3.0, "timeout": 20}
ATTACKS = [
    Attack("case file: control sequences and pasted secrets in every string, claim keys and numbers beyond any float", "case",
           _forged(_everywhere), SECRETS, expect_exit=(0, 1), timeout=60, forbidden=(p.OSC52_PAYLOAD,)),
    Attack("case file: transcript lines out of order", "case",
           _forged(lambda report: report["transcript"].reverse()), SECRETS, expect_exit=(1, 2), timeout=60, fast=False),
    Attack("case file: a secret setting holding a pasted token", "case",
           _forged(lambda report: report["settings"].update(token=PASTED_TOKEN)), SECRETS, expect_exit=(1, 2), timeout=60),
    Attack("case file: wrong types everywhere", "case",
           _broken(lambda t: _written(t / "c.json", HEAD + '"transcript": [{"seq": "1", "t": [], "direction": {}}], "findings": 7}')),
           **BAD),
    Attack("case file: 100,000 nested arrays", "case",
           _broken(lambda t: _written(t / "c.json", HEAD + '"x": ' + "[" * 100_000 + "]" * 100_000 + "}")), **BAD),
    Attack("case file: NaN, Infinity and a 5,000-digit number", "case",
           _broken(lambda t: _written(t / "c.json", HEAD + '"evidence": {"port": 1' + "0" * 5000 + '}, "x": [NaN, Infinity]}')), **BAD),
    Attack("case file: 40 MB, over its size limit", "case",
           _broken(lambda t: _written(t / "c.json", HEAD + '"x": "' + "a" * 40_000_000 + '"}')), **BAD, fast=False),
    Attack("case file: a sparse 8 GB file", "case", _broken(lambda t: _sparse(t / "c.json", 8 << 30), looks_like_a_case=False), **BAD),
    Attack("case file: a FIFO", "case", _broken(lambda t: _fifo(t / "c.json"), looks_like_a_case=False), **BAD),
    Attack("case file: /dev/zero through a symlink", "case",
           _broken(lambda t: (t / "c.json").symlink_to("/dev/zero") or t / "c.json", looks_like_a_case=False), **BAD, fast=False),
    Attack("case file: binary bytes after a case's first line", "case",
           _broken(lambda t: _written(t / "c.json", HEAD.encode() + bytes(range(256)) * 64)), **BAD),
    Attack("case file: another mailscope document, and a name full of control sequences", "case",
           _broken(lambda t: _written(t / f"x{CONTROLS.replace('/', '')}.json", '{"schema": "mailscope.audit-summary/1", "groups": []}')),
           **BAD),
]  # fmt: skip
