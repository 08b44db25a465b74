"""One exercise: a lab scenario run with its diagnosis hidden, hints on request, an answer, its score and the reveal.

UI-free. A front end (the line prompt of `mailscope train`, the console's Exercise view) shows `presented` (or
subscribes to the concealed live events), offers `form`, calls `take_hint()` and `answer()`. Runs the real lab: a
token from the real provider code (`token_source_for`, injected: the engine never imports providers), the real probe
and the real diagnosis (`diagnoser`), once at the end, exactly as `mailscope check --lab` does.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailscope.diagnosis.catalogue import CATALOGUE
from mailscope.events import DiagnosisUpdated, Event, LineAdded, SessionFinished, TokenKnown, TranscriptLine
from mailscope.evidence import Outcome, TokenEvidence
from mailscope.lab.scenarios import Scenario
from mailscope.lab.scenarios.spec import Hint
from mailscope.record import Diagnoser, SessionRecord
from mailscope.settings import CheckSettings
from mailscope.training.choices import AnswerForm, answer_form, fix_text, right_answer
from mailscope.training.conceal import Concealer
from mailscope.training.reveal import Reveal, build_reveal
from mailscope.training.scoring import Answer, Score, normalise_owner, score

if TYPE_CHECKING:
    from mailscope.credential import TokenSource

PROVIDER_NAMES = {"microsoft": "Microsoft 365 (Exchange Online, Entra)", "google": "Google Workspace (Gmail)"}


@dataclass(frozen=True, slots=True)
class Presented:
    """What the trainee may read before answering; nothing in it names the cause."""

    heading: str  # provider and protocol, never the scenario's id or title
    lines: tuple[TranscriptLine, ...]
    token: TokenEvidence | None
    settings: CheckSettings | None
    outcome: Outcome | None


@dataclass(frozen=True, slots=True)
class Result:
    scenario: str
    title: str
    answer: Answer
    right: Answer
    score: Score
    hints: int
    seconds: float  # from the session's end (all evidence on screen) to the answer
    seed: int
    trainee: str
    reveal: Reveal


class Exercise:
    def __init__(self, scenario: Scenario, *, seed: int | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.scenario = scenario
        self.seed = random.SystemRandom().randrange(2**31) if seed is None else seed
        self.form: AnswerForm = answer_form(scenario, self.seed)
        self.concealer = Concealer(scenario)
        self.record: SessionRecord | None = None
        self.hints_taken = 0
        self._clock = clock
        self._shown_at: float | None = None
        self._listeners: list[Callable[[Event], None]] = []

    # -- running ---------------------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Live events for a view, concealed: lines and the outcome with nothing that names the cause, no diagnosis."""
        self._listeners.append(listener)

    def _forward(self, event: Event) -> None:
        if isinstance(event, DiagnosisUpdated):
            return
        if isinstance(event, LineAdded):
            event = LineAdded(self.concealer.line(event.line))
        elif isinstance(event, TokenKnown):
            event = TokenKnown(self.concealer.token(event.token))
        elif isinstance(event, SessionFinished):
            event = SessionFinished(self.concealer.outcome(event.outcome))
        for listener in list(self._listeners):
            listener(event)

    async def run(self, token_source_for: Callable[[CheckSettings], TokenSource | None], diagnoser: Diagnoser | None) -> None:
        """Start the scenario's lab, run the session, stop the lab, diagnose once; the clock for the answer starts then."""
        from mailscope.check import run_check
        from mailscope.lab.session import LabSession

        async with LabSession(self.scenario) as lab:
            record = SessionRecord(lab.settings)
            record.subscribe(self._forward)
            self.record = record
            record.info(f"exercise: {self.heading} (lab); find the cause, the diagnosis is hidden until you answer")
            await run_check(lab.settings, token_source_for(lab.settings), record)
        if diagnoser is not None:
            record.diagnoser = diagnoser
            record.rediagnose()
            self.concealer.learn(record.diagnosis)
        self._shown_at = self._clock()

    @property
    def heading(self) -> str:
        return f"{PROVIDER_NAMES[self.scenario.provider]}, {str(self.scenario.protocol).upper()}"

    @property
    def presented(self) -> Presented:
        record = self._finished()
        return Presented(
            self.heading, tuple(map(self.concealer.line, record.lines)),
            self.concealer.token(record.token) if record.token is not None else None, record.settings,
            self.concealer.outcome(record.outcome) if record.outcome is not None else None,
        )

    # -- hints and answer ------------------------------------------------------------------------------
    @property
    def hints_left(self) -> int:
        return len(self.scenario.hints) - self.hints_taken

    @property
    def hint_cost(self) -> float:
        return sum(hint.cost for hint in self.scenario.hints[: self.hints_taken])

    def take_hint(self) -> Hint | None:
        """The next hint (its cost now counts), or None when there are no more."""
        if self.hints_taken >= len(self.scenario.hints):
            return None
        self.hints_taken += 1
        return self.scenario.hints[self.hints_taken - 1]

    def take_hints(self, count: int) -> None:
        """The first `count` hints as taken (a headless answer says how many it used); ValueError beyond the last."""
        if not 0 <= count <= len(self.scenario.hints):
            raise ValueError(f"scenario {self.scenario.id} has {len(self.scenario.hints)} hint(s), not {count}")
        self.hints_taken = count

    @property
    def right(self) -> Answer:
        cause = right_answer(self.scenario)
        if not self.form.asks_owner_and_fix:
            return Answer(cause)
        finding = next((f for f in self._finished().diagnosis.findings if f.id == cause), None)
        owner = finding.owner if finding is not None else CATALOGUE[cause].owner
        return Answer(cause, str(owner), cause if fix_text(cause) else None)

    def answer(self, given: Answer, *, trainee: str = "") -> Result:
        """Score `given` and build the reveal. ValueError for a cause, owner or fix that is no finding id or owner."""
        record = self._finished()
        given = Answer(given.cause, normalise_owner(given.owner) if given.owner else None, given.fix)
        for name, value in (("cause", given.cause), ("fix", given.fix)):
            if value is not None and value not in CATALOGUE:
                raise ValueError(f"{name} {value!r} is not a finding id (docs/findings.md lists them)")
        owners = [option.id for option in self.form.owners]
        if given.owner is not None and given.owner not in owners:
            raise ValueError(f"owner {given.owner!r} is not one of: {', '.join(owners)}")
        right = self.right
        seconds = self._clock() - (self._shown_at or self._clock())
        return Result(
            self.scenario.id, self.scenario.title, given, right,
            score(right, given, self.hint_cost, asks_owner_and_fix=self.form.asks_owner_and_fix), self.hints_taken,
            round(seconds, 1), self.seed, trainee, build_reveal(self.scenario, record, self.form, right.cause, given.cause),
        )

    def _finished(self) -> SessionRecord:
        if self.record is None or self._shown_at is None:
            raise RuntimeError("the exercise has not run yet")
        return self.record
