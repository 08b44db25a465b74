"""SessionRecord: the single place where a session's lines, evidence, token facts and diagnosis are
stored, and from where events fan out to listeners (CLI printer, TUI, report).

Every text goes through the redactor on its way in, so nothing unredacted is ever stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import fields, replace
from enum import Enum

from mailscope.events import (
    Channel,
    DiagnosisUpdated,
    Direction,
    Event,
    EvidenceChanged,
    LineAdded,
    PromptRequested,
    SessionFinished,
    TokenKnown,
    TranscriptLine,
)
from mailscope.evidence import Fault, Outcome, SessionEvidence, TlsFacts, TokenEvidence
from mailscope.findings import Diagnosis, DiagnosisInput, EvidenceTime
from mailscope.redact import Redactor
from mailscope.settings import CheckSettings

Listener = Callable[[Event], None]
Diagnoser = Callable[[DiagnosisInput], Diagnosis]
_EVIDENCE_FIELDS = frozenset(f.name for f in fields(SessionEvidence))


class SessionRecord:
    def __init__(
        self,
        settings: CheckSettings | None = None,
        *,
        redactor: Redactor | None = None,
        diagnoser: Diagnoser | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.redactor = redactor or Redactor()
        self.diagnoser = diagnoser
        self._clock = clock
        self._wall_clock = wall_clock
        self._t0 = clock()
        self.lines: list[TranscriptLine] = []
        self.evidence = SessionEvidence()
        if settings is not None:
            self.evidence.host, self.evidence.port = settings.host, settings.port
            self.evidence.security, self.evidence.protocol = str(settings.security), str(settings.protocol)
        self.token: TokenEvidence | None = None
        self.evidence_time: EvidenceTime | None = None  # when the evidence was produced; None: now, by this machine's clock
        self.diagnosis = Diagnosis()
        self.outcome: Outcome | None = None
        self._listeners: list[Listener] = []

    # -- listeners ---------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Listeners run synchronously on the emitting loop: keep them cheap (append to a buffer)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)

    async def events(self) -> AsyncIterator[Event]:
        """Async iterator over events from now until SessionFinished."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        unsubscribe = self.subscribe(queue.put_nowait)
        try:
            while True:
                event = await queue.get()
                yield event
                if isinstance(event, SessionFinished):
                    return
        finally:
            unsubscribe()

    # -- producers ---------------------------------------------------------------------------
    def add_line(
        self,
        direction: Direction,
        text: str,
        *,
        nbytes: int | None = None,
        channel: Channel = Channel.IMAP,
        annotations: tuple[str, ...] = (),
        t: float | None = None,
        wall_time: str | None = None,
    ) -> TranscriptLine:
        """Store one line. `text` and `annotations` may be raw: they are redacted and control-escaped here."""
        line = TranscriptLine(
            seq=len(self.lines) + 1,
            t=self._clock() - self._t0 if t is None else t,
            direction=direction,
            text=self.redactor.redact_line(text),
            nbytes=len(text.encode("utf-8", "surrogateescape")) if nbytes is None else nbytes,
            channel=channel,
            annotations=tuple(map(self.redactor.redact, annotations)) if annotations else (),
            wall_time=wall_time,
        )
        self.lines.append(line)
        self._emit(LineAdded(line))
        return line

    def info(self, text: str, *, annotations: tuple[str, ...] = ()) -> TranscriptLine:
        return self.add_line(Direction.INFO, text, annotations=annotations, nbytes=0)

    def update_evidence(self, **changes: object) -> None:
        """Set evidence attributes; the text in them (strings, capability tuples, a fault's detail, TLS
        certificate names) is redacted and control-escaped on the way in: much of it is server text."""
        for name, value in changes.items():
            if name not in _EVIDENCE_FIELDS:
                raise AttributeError(f"SessionEvidence has no field {name!r}")
            setattr(self.evidence, name, self._redacted(value))
        self._emit(EvidenceChanged(self.evidence, tuple(changes)))
        self.rediagnose()

    def _redacted(self, value: object) -> object:
        if _is_text(value):
            return self.redactor.redact(value)  # type: ignore[arg-type]
        if isinstance(value, tuple):
            return tuple(self._redacted(item) for item in value)
        if isinstance(value, Fault | TlsFacts):
            texts = {f.name: getattr(value, f.name) for f in fields(value)}
            return replace(value, **{name: self.redactor.redact(text) for name, text in texts.items() if _is_text(text)})
        return value

    def evidence_touched(self, *names: str) -> None:
        """Announce in-place changes to mutable evidence (lists such as `sasl`, `commands`)."""
        self._emit(EvidenceChanged(self.evidence, names))
        self.rediagnose()

    def set_token(self, token: TokenEvidence) -> None:
        self.token = token
        self._emit(TokenKnown(token))
        self.rediagnose()

    def set_evidence_time(self, when: EvidenceTime) -> None:
        """Judge this session at the time of its evidence (an imported log's, a reopened case's), not at the clock."""
        self.evidence_time = when
        self.rediagnose()

    def now(self) -> float:
        """This machine's clock (injected for tests)."""
        return self._wall_clock()

    def judged_at(self) -> EvidenceTime:
        """What time-dependent rules judge at: the evidence's own time, else the clock (a live check)."""
        return self.evidence_time or EvidenceTime.from_clock(self._wall_clock())

    def prompt(self, request: PromptRequested) -> None:
        self._emit(request)

    def rediagnose(self) -> None:
        if self.diagnoser is None:
            return
        self.diagnosis = self.diagnoser(self.diagnosis_input())
        self._emit(DiagnosisUpdated(self.diagnosis))

    def diagnosis_input(self) -> DiagnosisInput:
        return DiagnosisInput(
            settings=self.settings,
            evidence=self.evidence,
            token=self.token,
            lines=tuple(self.lines),
            now=self._wall_clock(),
            evidence_time=self.evidence_time,
        )

    def finish(self, outcome: Outcome) -> None:
        self.outcome = Outcome(outcome.kind, self.redactor.redact(outcome.summary))
        if self.evidence_time is None:  # a live check is judged as of its end: a later look never re-judges it
            self.evidence_time = EvidenceTime.from_clock(self._wall_clock())
        self.rediagnose()
        self._emit(SessionFinished(self.outcome))


def _is_text(value: object) -> bool:
    """Free text, not an enum member (a StrEnum is a str, but must stay the member)."""
    return isinstance(value, str) and not isinstance(value, Enum)
