"""The audit's event loop: uvloop unless told otherwise, and the same records on both loops (a lab fleet audited on
each, real msal and the real probe against the lab's Exchange and IdP; only times, ports and token digests differ)."""

from __future__ import annotations

import asyncio
import json
import random
import re
from typing import Any

import pytest
import uvloop

from mailscope.audit import eventloop
from mailscope.audit.plan import plan_audit, read_csv_file
from mailscope.audit.runner import AuditOptions, run_audit
from mailscope.audit.summary import MailboxResult, summarize
from mailscope.lab.fleet import FleetLab, make_fleet
from providers.profiles import parse_secret_source
from providers.shared_tokens import AuditCredentials, audit_settings
from tui.commands.common import guarded_diagnoser


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_an_audit_runs_on_uvloop_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(eventloop.CHOICE, raising=False)
    assert isinstance(eventloop.run(_running_loop()), uvloop.Loop)
    monkeypatch.setenv(eventloop.CHOICE, "asyncio")
    assert not isinstance(eventloop.run(_running_loop()), uvloop.Loop)


_VARYING = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?"), "<datetime>"),
    (re.compile(r"\b\d\d:\d\d:\d\d(\.\d+)?( UTC)?"), "<time>"),
    (re.compile(r"sha256:[0-9a-f]{8}"), "sha256:<digest>"),  # each lab run signs its own token
    (re.compile(r"\b\d+ s left\b"), "<n> s left"),
    (re.compile(r"\b[A-Z]{4}(\d+)\b"), r"<tag>\1"),  # aioimaplib's random tag prefix per session
]


def _comparable(value: Any, ports: set[int], directory: str) -> Any:
    """The record without what differs between two runs of the same fleet: times, the lab's ports and directory, the
    token's digest."""
    if isinstance(value, dict):
        return {key: _comparable(item, ports, directory) for key, item in value.items() if not isinstance(item, float)}
    if isinstance(value, list):
        return [_comparable(item, ports, directory) for item in value]
    if isinstance(value, int) and value in ports:
        return "<port>"
    if isinstance(value, str):
        for port in ports:
            value = value.replace(f":{port}", ":<port>")
        value = value.replace(directory, "<lab>")
        for pattern, replacement in _VARYING:
            value = pattern.sub(replacement, value)
    return value


async def _audit_a_fleet() -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
    fleet = make_fleet(40, seed=7)
    records: list[dict[str, Any]] = []
    async with FleetLab(fleet) as lab:
        plan = plan_audit(read_csv_file(lab.mailboxes_csv), lab.settings, secret_source=parse_secret_source, adapt=audit_settings)
        options = AuditOptions(concurrency=16, backoff=0.02, max_backoff=0.2)
        await run_audit(plan.items, AuditCredentials(), guarded_diagnoser(), records.append, options=options, rng=random.Random(1))
        assert lab.idp is not None and lab.directory is not None
        ports = {server.port for server in lab.servers.values()} | {lab.idp.port}
        comparable = [_comparable(r, ports, str(lab.directory)) for r in sorted(records, key=lambda r: r["audit"]["row"])]
    summary = summarize(MailboxResult.from_record(r) for r in records)
    return comparable, {"counts": summary.counts(), "retries": summary.retries}, fleet.truth()


def test_both_loops_give_the_same_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(eventloop.CHOICE, raising=False)
    on_uvloop, uvloop_summary, truth = eventloop.run(_audit_a_fleet())
    monkeypatch.setenv(eventloop.CHOICE, "asyncio")
    on_asyncio, asyncio_summary, _ = eventloop.run(_audit_a_fleet())
    assert uvloop_summary == asyncio_summary == {"counts": truth["counts"], "retries": truth["throttle_retries"]}
    assert len(on_uvloop) == 40
    for a, b in zip(on_uvloop, on_asyncio, strict=True):
        token_a, token_b = a.pop("token"), b.pop("token")  # a new token per run: its claims hold its times and ids
        claims_a, claims_b = token_a.get("claims") or {}, token_b.get("claims") or {}
        assert sorted(claims_a) == sorted(claims_b) and claims_a.get("aud") == claims_b.get("aud")
        assert json.dumps(a, sort_keys=True, indent=1) == json.dumps(b, sort_keys=True, indent=1)
