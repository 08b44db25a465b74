"""SessionRecord: the single place where a session's lines, evidence, token facts and diagnosis are
stored, and from where events fan out to listeners (CLI printer, TUI, report).

Every text goes through the redactor on its way in, so nothing unredacted is ever stored, and none of it can
reach a terminal, a clipboard or a report as a control sequence: strings at any depth (keys of a server's JSON
or a token's claims included) are redacted and control-escaped here, where they become evidence. A value whose
key names a secret (`password`, `client_secret`...) is described and registered, whatever it looks like.
"""

from __future__ import annotations

import functools
import operator
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import fields, is_dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeAlias

from mailscope import codecache
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
from mailscope.evidence import Outcome, SessionEvidence, TokenEvidence
from mailscope.redact import Redactor, escape_controls
from mailscope.settings import CheckSettings

if TYPE_CHECKING:  # the findings types load with the diagnosis (a live check: while the server checks the credential)
    from mailscope.findings import Diagnosis, DiagnosisInput, EvidenceTime

Listener = Callable[[Event], None]
Diagnoser: TypeAlias = "Callable[[DiagnosisInput], Diagnosis]"
_EVIDENCE_FIELDS = frozenset(f.name for f in fields(SessionEvidence))
MAX_DEPTH = 16  # nesting kept in evidence; deeper JSON (a hostile token's claims) is cut, never recursed into


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
        self._diagnosis: Diagnosis | None = None  # made when first asked for (see `diagnosis`)
        self.outcome: Outcome | None = None
        self._listeners: list[Listener] = []
        self._escaped_settings: tuple[CheckSettings | None, CheckSettings | None] = (None, None)  # (settings, escaped copy)

    @property
    def diagnosis(self) -> Diagnosis:
        """The latest diagnosis; an empty one until the diagnoser has run."""
        if self._diagnosis is None:
            from mailscope.findings import Diagnosis

            self._diagnosis = Diagnosis()
        return self._diagnosis

    @diagnosis.setter
    def diagnosis(self, diagnosis: Diagnosis) -> None:
        self._diagnosis = diagnosis

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
        import asyncio  # only here: `mailscope logs` builds records and never needs the event loop

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
        line = TranscriptLine(  # by position, in field order: a third cheaper than by keyword, for every line of a session
            len(self.lines) + 1,  # seq
            self._clock() - self._t0 if t is None else t,
            direction,
            self.redactor.redact_line(text),
            len(text.encode("utf-8", "surrogateescape")) if nbytes is None else nbytes,
            channel,
            tuple(map(self.redactor.redact, annotations)) if annotations else (),
            escape_controls(wall_time, keep_newlines=False) if wall_time else wall_time,
        )
        self.lines.append(line)
        if self._listeners:  # a headless audit has none: no event to build
            self._emit(LineAdded(line))
        return line

    def info(self, text: str, *, annotations: tuple[str, ...] = ()) -> TranscriptLine:
        return self.add_line(Direction.INFO, text, annotations=annotations, nbytes=0)

    def update_evidence(self, **changes: object) -> None:
        """Set evidence attributes; the text in them (strings, capability tuples, a fault's detail, TLS
        certificate names) is redacted and control-escaped on the way in: much of it is server text."""
        fact, text = self.redactor.redact_fact, self.redactor.redact  # bound once for every change of the call
        for name, value in changes.items():
            if name not in _EVIDENCE_FIELDS:
                raise AttributeError(f"SessionEvidence has no field {name!r}")
            setattr(self.evidence, name, clean_deep(value, fact, text))
        if self._listeners:
            self._emit(EvidenceChanged(self.evidence, tuple(changes)))
        self.rediagnose()

    def _redacted(self, value: Any) -> Any:
        return clean_deep(value, self.redactor.redact_fact, self.redactor.redact)

    def evidence_touched(self, *names: str, changed: tuple[object, ...] | None = None) -> None:
        """Announce in-place changes to mutable evidence (lists such as `sasl`, `commands`). Their producers redact
        what they append; the text in them is control-escaped here once more, in place. `changed`: the evidence objects
        (a SaslExchange, a CommandResult) appended or changed since the last announcement, when the caller knows them (the
        transcript does, line by line): only they are walked, not the whole lists again (a session's lists grow with
        every line)."""
        if changed is None:
            for name in names:
                if name in _EVIDENCE_FIELDS:
                    setattr(self.evidence, name, clean_deep(getattr(self.evidence, name), _escape_fact, escape_controls))
        else:
            for item in changed:
                clean_deep(item, _escape_fact, escape_controls)
        if self._listeners:
            self._emit(EvidenceChanged(self.evidence, names))
        self.rediagnose()

    def set_token(self, token: TokenEvidence, *, redacted_at: int | None = None) -> None:
        """The token's evidence, its text redacted and escaped in place (claims, header, error, notes: a token's
        claims are whatever its issuer, or a log's author, wrote). `redacted_at`: this very object was cleaned so by a
        member of this redactor's family at that `generation` and not changed since (an audit's shared token): while the
        family has registered no secret since, a second pass could change nothing and is skipped."""
        if redacted_at is None or redacted_at != self.redactor.generation:
            clean_deep(token, self.redactor.redact_fact, self.redactor.redact)
        self.token = token
        self._emit(TokenKnown(token))
        self.rediagnose()

    def set_evidence_time(self, when: EvidenceTime) -> None:
        """Judge this session at the time of its evidence (an imported log's, a reopened case's), not at the clock.
        Its texts quote the log (a timestamp, a Date: header): they cross the same boundary as the evidence."""
        self.evidence_time = self._redacted(when)
        self.rediagnose()

    def now(self) -> float:
        """This machine's clock (injected for tests)."""
        return self._wall_clock()

    def judged_at(self) -> EvidenceTime:
        """What time-dependent rules judge at: the evidence's own time, else the clock (a live check)."""
        from mailscope.findings import EvidenceTime

        return self.evidence_time or EvidenceTime.from_clock(self._wall_clock())

    def prompt(self, request: PromptRequested) -> None:
        self._emit(request)

    def rediagnose(self) -> None:
        if self.diagnoser is None:
            return
        self.diagnosis = self.diagnoser(self.diagnosis_input())
        self._emit(DiagnosisUpdated(self.diagnosis))

    def diagnosis_input(self) -> DiagnosisInput:
        from mailscope.findings import DiagnosisInput

        return DiagnosisInput(
            settings=self._settings_for_findings(),
            evidence=self.evidence,
            token=self.token,
            lines=tuple(self.lines),
            now=self._wall_clock(),
            evidence_time=self.evidence_time,
        )

    def _settings_for_findings(self) -> CheckSettings | None:
        """The settings as findings may quote them (a client id in a fix step): escaped, since a profile or a paste can
        carry control characters too. The probe keeps using `self.settings` as typed."""
        settings, escaped = self._escaped_settings
        if settings is not self.settings:
            escaped = self.settings
            if escaped is not None and not printable_throughout(escaped):  # the usual settings: nothing to escape, no walk
                escaped = clean_deep(escaped, _escape_fact, escape_controls)
            self._escaped_settings = (self.settings, escaped)
        return escaped

    def finish(self, outcome: Outcome) -> None:
        self.outcome = Outcome(outcome.kind, self.redactor.redact(outcome.summary))
        if self.evidence_time is None:  # a live check is judged as of its end: a later look never re-judges it
            from mailscope.findings import EvidenceTime

            self.evidence_time = EvidenceTime.from_clock(self._wall_clock())
        self.rediagnose()
        self._emit(SessionFinished(self.outcome))


def _is_text(value: object) -> bool:
    """Free text, not an enum member (a StrEnum is a str, but must stay the member)."""
    return type(value) is str or (isinstance(value, str) and not isinstance(value, Enum))


def _escape_fact(key: str, value: str) -> str:
    return escape_controls(value)


SCALARS = frozenset({int, float, bool, type(None)})  # value types without text: passed through as they are
_EMPTY_AS_IS = frozenset({list, tuple, dict})  # an empty one of these comes back as it is (the walk would keep it the same object)


@functools.cache
def dataclass_fields(cls: type) -> tuple[tuple[str, ...], bool] | None:
    """A dataclass' field names and whether it is frozen, looked up once per class: the record and the report walk
    every session's evidence, and an audit has thousands of sessions. None for any other class."""
    if not is_dataclass(cls):
        return None
    return tuple(f.name for f in fields(cls)), cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


Walk = Callable[[Any, Callable[[str, str], str], Callable[[str], str], int], Any]


def clean_deep(value: Any, fact: Callable[[str, str], str], text: Callable[[str], str], key: str | None = None, depth: int = 0) -> Any:
    """`value` with every string at any depth passed through `text`, or through `fact` when a dict key names it.
    Lists, dicts and mutable dataclasses are changed in place (producers keep references to them); tuples and frozen
    dataclasses are rebuilt when a string in them changed."""
    kind = type(value)
    if kind is str:
        return fact(key, value) if key is not None else text(value)
    if kind in SCALARS:  # exact types, never text: before the text test, which every other value pays
        return value
    if kind not in _EMPTY_AS_IS:  # an exact list, tuple or dict is no enum member and no string: it skips both tests
        try:
            walk = _PLAIN_WALKS[kind]
        except KeyError:
            walk = _plain_walk(kind)
        if walk is not None:  # a dataclass (most evidence): no isinstance test, each dearer than the rest of a short walk
            return value if depth > MAX_DEPTH else walk(value, fact, text, depth + 1)
        if isinstance(value, Enum):  # a StrEnum member is a str, but must stay the member
            return value
        if isinstance(value, str):
            return fact(key, value) if key is not None else text(value)
    if depth > MAX_DEPTH:
        return "<nested too deep>" if isinstance(value, list | tuple | dict) else value
    if kind in _EMPTY_AS_IS and not value:  # nothing to walk (a session's many empty evidence lists): no copy, no rebuild
        return value
    # Items that are plain strings (capability lists, challenges) go to `text` directly: no call of this function per item.
    if isinstance(value, tuple):  # a list display and `map` in C: several times cheaper than generators (capability lists)
        cleaned = tuple([text(item) if type(item) is str else clean_deep(item, fact, text, None, depth + 1) for item in value])
        return value if all(map(operator.is_, cleaned, value)) else cleaned
    if isinstance(value, list):
        value[:] = [text(item) if type(item) is str else clean_deep(item, fact, text, None, depth + 1) for item in value]
        return value
    if isinstance(value, dict):
        items = [(clean_deep(k, fact, text) if (named := _is_text(k)) else k, clean_deep(v, fact, text, k if named else None, depth + 1))
                 for k, v in value.items()]  # fmt: skip
        value.clear()
        value.update(items)
        return value
    walk = _dataclass_walk(kind)  # a dataclass instance (a dataclass class is of type `type`: no fields of its own)
    return value if walk is None else walk(value, fact, text, depth + 1)


_PLAIN_WALKS: dict[type, Walk | None] = {}  # `_plain_walk` of each class met: as many entries as the program has classes


def _plain_walk(cls: type) -> Walk | None:
    """`_dataclass_walk(cls)` for a dataclass that `clean_deep` may walk before its other tests: no enum, no string and no
    list, tuple or dict (those tests come first for them); None for any other class. Kept in `_PLAIN_WALKS`: a dict
    lookup, where a call of the cached function costs more than the tests it spares."""
    walk = None if issubclass(cls, (Enum, str, list, tuple, dict)) else _dataclass_walk(cls)
    _PLAIN_WALKS[cls] = walk
    return walk


def printable_throughout(value: Any, depth: int = 0) -> bool:
    """True when the dataclass `value` holds only printable ASCII text, in its fields, their tuples and nested dataclasses, and
    nothing a walk would rebuild or change in place: `clean_deep(value, _escape_fact, escape_controls)` would hand back
    `value` itself, unchanged. Asked before walking a record's settings (every mailbox of an audit): two thirds of the
    walk's cost. False whenever unsure (a list or dict with items, a tuple of other things, another type, deep nesting):
    the walk then decides."""
    values = _field_values(type(value))
    if values is None or depth >= MAX_DEPTH:
        return False
    for item in values(value):
        kind = type(item)
        if kind is str:
            if not (item.isascii() and item.isprintable()):
                return False
        elif kind in SCALARS or (kind in _EMPTY_AS_IS and not item):
            continue
        elif kind is tuple:
            if not all(type(text) is str and text.isascii() and text.isprintable() for text in item):
                return False
        elif isinstance(item, Enum):  # after the exact types: this test costs more than they do together
            continue
        elif not printable_throughout(item, depth + 1):
            return False
    return True


@functools.cache
def _field_values(cls: type) -> Callable[[Any], tuple[Any, ...]] | None:
    """A dataclass' field values as a tuple, read in C; None for any other class."""
    shape = dataclass_fields(cls)
    if shape is None or not shape[0]:
        return None
    names = shape[0]
    return operator.attrgetter(*names) if len(names) > 1 else lambda value: (getattr(value, names[0]),)


@functools.cache
def _dataclass_walk(cls: type) -> Walk | None:
    """`clean_deep` of one dataclass' fields, compiled once per class (as `dataclasses` compiles `__init__`): each field read
    by its name and tested in line, so a string or a number costs no call of `getattr` nor of this module's loop (every
    command and SASL answer of a session is walked, and each record's settings). A changed field is set in place, or the
    frozen instance rebuilt. None for any other class."""
    shape = dataclass_fields(cls)
    if shape is None:
        return None
    names, frozen = shape
    lines = ["def walk(value, fact, text, depth):", "    changed = None"]
    for name in names:
        lines += [
            f"    if (k := type(v := value.{name})) is str:",
            "        c = text(v)",
            "    elif k in SCALARS:",
            "        c = v",
            "    else:",
            "        c = clean_deep(v, fact, text, None, depth)",
            "    if c is not v:",
            "        changed = changed or {}",
            f"        changed[{name!r}] = c",
        ]
    lines += ["    if changed is None:", "        return value"]
    if frozen:
        lines.append("    return replace(value, **changed)")
    else:
        lines += ["    for name, item in changed.items():", "        setattr(value, name, item)", "    return value"]
    namespace: dict[str, Any] = {"SCALARS": SCALARS, "clean_deep": clean_deep, "replace": replace}
    exec(codecache.compiled("\n".join(lines) + "\n", f"<clean_deep of {cls.__name__}>"), namespace)  # noqa: S102 - built from field names only
    return namespace["walk"]
