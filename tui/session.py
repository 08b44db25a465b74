"""What the console runs: a lab scenario or the user's settings, through the engine's own `run_check`.

Heavy modules (aioimaplib, msal, google-auth, the lab servers) are imported here, inside the session,
never at startup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailscope.record import Diagnoser, SessionRecord
    from mailscope.settings import CheckSettings
    from widgets.lab_picker import ScenarioInfo

SEED_SCENARIO = "ms-seed-plain"

RecordFactory = Callable[["CheckSettings | None"], "SessionRecord"]
Runner = Callable[["Target", RecordFactory], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Target:
    """Either a lab scenario id or live settings."""

    scenario: str | None = None
    settings: CheckSettings | None = None
    log: str | None = None  # a client debug log to replay
    log_session: int = 1  # which session of the log (1-based)
    case: str | None = None  # a saved case file (mailscope.report/1) to show as it was

    def describe(self) -> str:
        if self.case:
            return f"case: {Path(self.case).name}"
        if self.log:
            return f"log: {Path(self.log).name} #{self.log_session}"
        if self.scenario:
            return f"lab: {self.scenario}"
        if self.settings:
            return f"{self.settings.protocol}://{self.settings.host}:{self.settings.port}"
        return "nothing selected"


async def run_target(target: Target, make_record: RecordFactory) -> None:
    """Run one session; every fact reaches the record (and through it the UI)."""
    if target.case:
        await replay_case(target.case, make_record)
    elif target.log:
        await replay_log(target.log, target.log_session, make_record)
    elif target.scenario:
        from mailscope.lab.session import run_lab_check
        from providers.registry import token_source_for

        await run_lab_check(target.scenario, make_record, token_source_for)
    elif target.settings is not None:
        await _check(target.settings, make_record(target.settings))
    else:
        raise ValueError("nothing to run: pick a lab scenario or fill in the settings")


async def replay_log(path: str, wanted: int, make_record: RecordFactory) -> None:
    """Replay one session of an imported log (mailscope.logs) into the console, as if it ran live."""
    import asyncio
    import functools

    from mailscope.logs import LogScan, replay
    from providers.inspect import inspect_token

    found = 0
    with open(path, "rb") as stream:
        scan = LogScan(stream)
        for session in scan.sessions():
            found += 1
            await asyncio.sleep(0)  # a long log: keep the UI responsive between sessions
            if session.index == wanted:
                record = make_record(None)
                record.info(f"log {Path(path).name} ({scan.format}), session {session.index}: {session.label()}")
                inspect = functools.partial(inspect_token, source="imported log", flow="unknown (seen in a log)")
                replay(session, record, inspect_token=inspect)
                return
    raise LookupError(f"{Path(path).name}: the log has {found} session(s), not {wanted}")


async def replay_case(path: str, make_record: RecordFactory) -> None:
    """A saved case into the console as it was: its lines, evidence and token, its saved diagnosis standing in for
    the diagnoser, judged at its saved time (a reopened case is never re-judged at today's clock), its outcome."""
    from mailscope.casefile import read_case

    saved = read_case(path).record
    record = make_record(saved.settings)
    record.diagnoser = lambda _: saved.diagnosis
    record.set_evidence_time(saved.judged_at())
    for line in saved.lines:
        record.add_line(line.direction, line.text, nbytes=line.nbytes, channel=line.channel, annotations=line.annotations, t=line.t,
                        wall_time=line.wall_time)
    record.evidence = saved.evidence
    if saved.token is not None:
        record.set_token(saved.token)
    if saved.outcome is not None:
        record.finish(saved.outcome)


@dataclass(frozen=True, slots=True)
class LogContents:
    """What a log holds, for the start-up check and the session switcher."""

    sessions: tuple[tuple[int, str], ...]  # (index, one-line label), in index order
    notes: tuple[str, ...]


def scan_log(path: str) -> LogContents:
    """Every session of the log, labelled (secrets masked, controls escaped). Raises OSError for an unreadable file."""
    from mailscope.logs import LogScan

    with open(path, "rb") as stream:
        scan = LogScan(stream)
        sessions = sorted((session.index, session.label()) for session in scan.sessions())
        return LogContents(tuple(sessions), tuple(scan.notes))


async def _check(settings: CheckSettings, record: SessionRecord) -> None:
    from mailscope.check import run_check
    from providers.registry import token_source_for

    await run_check(settings, token_source_for(settings), record)


def default_diagnoser() -> Diagnoser | None:
    try:
        from mailscope.diagnosis import make_diagnoser
        from providers.registry import provider_rules
    except ImportError:  # diagnosis not installed in this build: the transcript still works
        return None
    return make_diagnoser(provider_rules())


def lab_scenarios() -> list[ScenarioInfo]:
    from widgets.lab_picker import ScenarioInfo

    try:
        from mailscope.lab.scenarios import SCENARIOS
    except ImportError:  # a build without the lab
        return []
    return [ScenarioInfo(s.id, s.title, s.failure_ids, s.teaching) for s in SCENARIOS]
