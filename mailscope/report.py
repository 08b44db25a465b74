"""The versioned report of one session (`mailscope.report/1`) as JSON-ready data and as Markdown.

Everything in it comes from the SessionRecord, which stores only redacted text. As a final guard every
string in the report is passed through the record's redactor once more before it is serialized.
Schema: docs/report-schema.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Container
from datetime import UTC, datetime
from enum import Enum
from itertools import compress, repeat
from operator import attrgetter, is_not
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from mailscope import __version__, codecache  # __version__: pyproject.toml reads it too, importlib.metadata searched every package
from mailscope.evidence import Fault, Outcome, TokenEvidence
from mailscope.findings import EvidenceKind, EvidenceRef, EvidenceTime, Finding, Owner, Severity, TimeSource
from mailscope.record import SCALARS, SessionRecord, dataclass_fields
from mailscope.redact import Redactor

SCHEMA = "mailscope.report/1"


def fault_finding(fault: Fault) -> Finding:
    """The fault as an error finding, titled, owned and fixed as its catalogue entry says (one answer
    whether or not a rule named it); a fault kind without an entry keeps its own name."""
    from mailscope.diagnosis.generic import FAULT_FINDING_IDS
    from mailscope.diagnosis.rule import WIRE_PROOF, finding

    evidence = (EvidenceRef(EvidenceKind.LINE, fault.step or "fault", fault.detail, fault.line_seq),) if fault.line_seq else ()
    finding_id = FAULT_FINDING_IDS.get(fault.kind)
    if finding_id is not None:
        return finding(finding_id, fault.detail, score=WIRE_PROOF, confirmed=True, evidence=evidence, severity=Severity.ERROR)
    return Finding(
        id=f"fault_{fault.kind}",
        severity=Severity.ERROR,
        title=f"{fault.kind.replace('_', ' ')} ({fault.step})" if fault.step else fault.kind.replace("_", " "),
        explanation=fault.detail,
        owner=Owner.SERVER,
        evidence=evidence,
        confirmed=True,
    )


def findings_of(record: SessionRecord) -> tuple[Finding, ...]:
    """The diagnosis' findings, plus the fault as a finding when no error finding explains the session."""
    findings = record.diagnosis.findings
    fault = record.evidence.fault
    if fault is not None and not any(f.severity is Severity.ERROR for f in findings):
        findings = (*findings, fault_finding(fault))
    return findings


# Exit codes of `mailscope check` and `mailscope logs` (README: "Exit codes").
EXIT_HEALTHY = 0  # authenticated, the mailbox reachable, no error finding
EXIT_CAUSE_FOUND = 1  # a confirmed error finding names the cause (or a healthy session still has an error finding)
EXIT_USAGE = 2  # bad options, unreadable file
EXIT_UNDECIDED = 3  # it failed, but the evidence only supports unconfirmed candidates (their `decide` says what would)
EXIT_NO_SESSION = 4  # `mailscope logs`: no mail session in the input


def exit_code(record: SessionRecord) -> int:
    return exit_code_of(record.outcome, findings_of(record))


def exit_code_of(outcome: Outcome | None, findings: tuple[Finding, ...]) -> int:
    """EXIT_HEALTHY only when the mailbox was reachable and no error finding stands; EXIT_CAUSE_FOUND when an error finding
    is confirmed (or stands beside a reachable mailbox); EXIT_UNDECIDED when only candidates the evidence cannot decide
    (or nothing) explain the failure."""
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if outcome is not None and outcome.exit_code == 0:
        return EXIT_CAUSE_FOUND if errors else EXIT_HEALTHY
    return EXIT_CAUSE_FOUND if any(f.confirmed for f in errors) else EXIT_UNDECIDED


def build_report(record: SessionRecord, *, generated_at: datetime | None = None, shared: SharedExports | None = None) -> dict[str, Any]:
    """`shared`: an audit's sections that many of its reports hold alike (see SharedExports)."""
    settings = record.settings
    outcome = record.outcome
    token = record.token
    when = record.judged_at()
    report = {
        "schema": SCHEMA,
        "tool": {"name": "mailscope", "version": __version__},
        "generated_at": (generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "target": {
            "host": record.evidence.host,
            "port": record.evidence.port,
            "security": record.evidence.security,
            "protocol": record.evidence.protocol,
            "user": settings.user if settings else "",
        },
        "settings": settings if shared is None else None,
        "outcome": {"kind": outcome.kind, "summary": outcome.summary, "exit_code": exit_code(record)} if outcome else None,
        "transcript": record.lines,
        "evidence": record.evidence,
        "token": token if shared is None else None,
        "findings": findings_of(record),
        "checks": record.diagnosis.checks,
        "summary": record.diagnosis.summary,
        "evidence_time": when.stated or None,
        "evidence_time_source": when.source,
        "evidence_time_detail": when.detail,
        "evidence_time_window": {"at": when.at, "earliest": when.earliest, "latest": when.latest},
    }
    redact, passed = _final_pass(record.redactor)
    exported = _exported(report, redact, passed)
    if shared is not None:
        exported["settings"] = None if settings is None else shared.settings(settings, record.redactor, redact, passed)
        if token is not None:
            exported["token"] = shared.token(token, record.redactor, redact, passed)
    return exported


SHARED_SECTIONS = ("token",)  # the sections of a report that SharedExports may give as a SharedSection


class SharedSection(dict[str, Any]):
    """A section of a report that many reports of an audit hold as this one object (SharedExports), never changed once
    made: whoever writes the reports may write it once too (the audit output encodes it to JSON once)."""

    __slots__ = ()


class SharedExports:
    """What many reports of one audit hold alike, exported once: the token section of a token that many sessions got (an
    app-only token is obtained once per tenant and app, and that one object is handed to every session sharing it, never
    changed after it was obtained: providers/shared_tokens), per redactor generation, so a secret registered since starts
    it again. Every record holding it holds the same SharedSection: an audit's records are read (written out,
    summarized), never changed. And the settings, which the rows of a sheet share in all but a few fields (audit/plan
    gives every row the same objects of the base settings and of a column's value): see `settings`."""

    def __init__(self) -> None:
        self._tokens: dict[int, tuple[TokenEvidence, int, SharedSection]] = {}  # id -> (token, generation, section)
        # generation -> (settings class, its fields' names, their values (a mutable one as _ALWAYS), their export)
        self._settings: dict[int, tuple[type, tuple[str, ...], tuple[Any, ...], dict[str, Any]]] = {}

    def settings(self, settings: Any, redactor: Redactor, redact: Callable[[str], str], passed: Container[str]) -> Any:
        """The settings' section: the first settings exported at a redactor generation, with the fields whose value is not
        the very same immutable object exported again (a row's user; the rest is what the same pass gave the same object:
        about 30 fields tested at C speed instead of walked). Its containers are those of the first section: reports are
        never changed. A secret the pass meets on the way starts a new generation: then the whole section is exported
        again (by the new generation's pass, the first fields too)."""
        generation, kind = redactor.generation, type(settings)
        known = self._settings.get(generation)
        if known is not None and known[0] is kind:
            _, names, before, exported = known
            values = attrgetter(*names)(settings)
            exported = exported.copy()
            for name, value in compress(zip(names, values, strict=True), map(is_not, values, before)):
                exported[name] = _exported(value, redact, passed)
            if redactor.generation == generation:
                return exported
        exported = _exported(settings, redact, passed)
        shape = dataclass_fields(kind)
        if shape is not None and len(shape[0]) > 1 and redactor.generation == generation and known is None:
            if len(self._settings) >= 64:  # redactor generations long gone
                self._settings.clear()
            values = attrgetter(*shape[0])(settings)
            self._settings[generation] = (kind, shape[0], tuple(v if _immutable(v) else _ALWAYS for v in values), exported)
        return exported

    def token(self, token: TokenEvidence, redactor: Redactor, redact: Callable[[str], str], passed: Container[str]) -> Any:
        generation = redactor.generation
        known = self._tokens.get(id(token))
        if known is not None and known[0] is token and known[1] == generation:
            return known[2]
        section = SharedSection(_exported(token, redact, passed))
        if redactor.generation == generation:  # the pass met no secret on the way
            if len(self._tokens) >= 64:  # each mailbox its own token (delegated sign-ins): nothing to share
                self._tokens.clear()
            self._tokens[id(token)] = (token, generation, section)
        return section


_ALWAYS = object()  # no field value is this object: a field holding it is exported again for every report


def _immutable(value: Any, depth: int = 0) -> bool:
    """Whether `value` can never change: text, a scalar, an enum member, or a tuple, frozenset or frozen dataclass of such
    values (the settings' secret sources, scopes); a dict or list may (`extra`)."""
    kind = type(value)
    if kind is str or kind in SCALARS:
        return True
    if depth > 4:
        return False
    if isinstance(value, Enum):
        return _immutable(value._value_, depth + 1)
    if kind is tuple or kind is frozenset:
        return all(_immutable(v, depth + 1) for v in value)
    shape = dataclass_fields(kind)
    return shape is not None and shape[1] and all(_immutable(getattr(value, name), depth + 1) for name in shape[0])


def evidence_time_of(report: dict[str, Any]) -> EvidenceTime:
    """The time a saved report was judged at, for reopening it: a reopened case is never re-judged at the new clock."""
    window = report.get("evidence_time_window")
    window = window if isinstance(window, dict) else {}
    try:
        source = TimeSource(report.get("evidence_time_source", "unknown"))
    except ValueError:
        source = TimeSource.UNKNOWN
    at, earliest, latest = (_epoch(window.get(key)) for key in ("at", "earliest", "latest"))
    return EvidenceTime(source, at, earliest, latest, str(report.get("evidence_time") or ""), str(report.get("evidence_time_detail", "")))


def _epoch(value: Any) -> float | None:
    """A report is a file anyone may edit: only finite numbers count as times."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return seconds if math.isfinite(seconds) else None


def report_json(record: SessionRecord, *, generated_at: datetime | None = None) -> str:
    return json.dumps(build_report(record, generated_at=generated_at), indent=2, ensure_ascii=True)


def to_plain(value: Any) -> Any:
    """Dataclasses/enums/tuples → JSON types, strings as they are: for values already redacted when they were stored
    (a log's session rows, two records being compared), never for anything that may still hold a secret."""
    return _exported(value, _as_is, frozenset())


def _as_is(text: str) -> str:
    return text


# What the final pass remembers, bounded like the redactor's memos: texts per generation (then no more are added; the ones
# that recur in every record come first), their length (a longer text is rare and seldom repeated), generations at once.
_PASSED_LIMIT, _PASSED_TEXT, _PASSED_GENERATIONS = 10_000, 512, 8
_passed: dict[int, set[str]] = {}  # a redactor generation -> texts its redaction gave


def _final_pass(redactor: Redactor) -> tuple[Callable[[str], str], Container[str]]:
    """The report's second redaction pass for a record, and the texts it may leave as they are: those a redactor at the
    same generation gave (redaction is idempotent, and redactors at one generation remove the same secrets alike), such as
    the settings, claims, greetings and fix texts that recur in every record of an audit. A secret registered meanwhile
    (the pass itself may meet one) starts a new generation: nothing of the old one is left as it is from then on."""
    generation = redactor.generation
    passed = _passed.get(generation)
    if passed is None:
        if len(_passed) >= _PASSED_GENERATIONS:  # most of them of redactors long gone
            _passed.clear()
        passed = _passed[generation] = set()
    redact = redactor.redact

    def again(text: str) -> str:
        redacted = redact(text)
        if redactor.generation != generation:
            passed.clear()
            _passed.pop(generation, None)
        elif len(passed) < _PASSED_LIMIT and len(redacted) <= _PASSED_TEXT:
            passed.add(redacted)
        return redacted

    return again, passed


def _exported(value: Any, redact: Callable[[str], str], passed: Container[str]) -> Any:
    """`value` as JSON types (dataclasses → objects, enums → their value, tuples and sets → arrays, a secret source →
    its description 'env:VAR'), every string through the redactor once more on the way (unless it is in `passed`, what the
    redactor gave already): a secret that slipped past storage stops here. One walk for both (an audit builds a report per
    mailbox, about 500 values each): strings and scalars inside a container are handled in its loop, anything else by the
    exporter of its type, chosen once per type."""
    kind = type(value)
    if kind is str:
        return value if value in passed else redact(value)
    if kind in SCALARS:
        return value
    return (_EXPORTERS.get(kind) or _exporter_for(kind))(value, redact, passed)


Exporter = Callable[[Any, Callable[[str], str], Container[str]], Any]


def _items(values: Any, redact: Callable[[str], str], passed: Container[str]) -> list[Any]:
    """A sequence or set as a list, each item exported as `_exported` does. A longer one whose items are all of one kind
    (a transcript's lines, a diagnosis' checks, a capability list) tests that kind once: texts the final pass gave before
    are tested from C and copied (others take the shorter loop), values of a kind exported before go through its
    exporter from C (`map`), without a Python step per item."""
    if not values:  # most tuples of a session are empty (a line's annotations): no loop to start
        return []
    if len(values) > 2 and len(kinds := set(map(type, values))) == 1:
        (kind,) = kinds
        if kind is str:
            if all(map(passed.__contains__, values)):  # the usual answer (a capability list): tested without a Python step
                return list(values)
            return [v if v in passed else redact(v) for v in values]
        if (export := _EXPORTERS.get(kind)) is not None:
            return list(map(export, values, repeat(redact), repeat(passed)))
    return [
        (v if v in passed else redact(v))
        if (k := type(v)) is str
        else v
        if k in SCALARS
        else (_EXPORTERS.get(k) or _exporter_for(k))(v, redact, passed)
        for v in values
    ]


def _mapping(value: dict[Any, Any], redact: Callable[[str], str], passed: Container[str]) -> dict[str, Any]:
    return {
        str(key): (v if v in passed else redact(v))
        if (k := type(v)) is str
        else v
        if k in SCALARS
        else (_EXPORTERS.get(k) or _exporter_for(k))(v, redact, passed)
        for key, v in value.items()
    }


def _member(value: Enum, redact: Callable[[str], str], passed: Container[str]) -> Any:
    plain = value._value_
    return _text(plain, redact, passed) if isinstance(plain, str) else plain


def _text_member(value: Enum, redact: Callable[[str], str], passed: Container[str]) -> str:
    return text if (text := value._value_) in passed else redact(text)


def _text(value: str, redact: Callable[[str], str], passed: Container[str]) -> str:
    return value if value in passed else redact(value)


def _as_it_is(value: Any, redact: Callable[[str], str], passed: Container[str]) -> Any:
    return value


def _secret_source(value: Any, redact: Callable[[str], str], passed: Container[str]) -> str:
    return _text(value.describe(), redact, passed)


def _dataclass(names: tuple[str, ...], declared: dict[str, Any]) -> Exporter:
    """The exporter of one dataclass, compiled once (as `dataclasses` compiles `__init__`): one dict display that reads
    each field once and tests it as the container loop does, so a string or scalar field costs no call of its own (a
    report has a few dozen dataclasses, transcript lines most of them), nor does a member of an enum met before whose
    values are all text (a line's direction and channel, a finding's severity and owner), nor an empty tuple or list.
    A field's declared type (`declared`, name -> type) only orders the tests: its exact type is tested first (None first
    for an optional one) and handled as the walk would; any other value takes the whole walk, so a declared type never
    decides what is redacted (a transcript line's fields cost about a third less)."""
    walk = (
        "(v if v in passed else redact(v)) if (k := type(v{})) is str else v if k in SCALARS"
        " else (w if (w := v._value_) in passed else redact(w)) if k in text_enums"
        " else [] if k in sequences and not v"
        " else (exporters.get(k) or exporter_for(k))(v, redact, passed)"
    )
    namespace: dict[str, Any] = {
        "SCALARS": SCALARS, "text_enums": _TEXT_ENUMS, "sequences": _SEQUENCES, "exporters": _EXPORTERS, "exporter_for": _exporter_for,
        "items": _items, "mapping": _mapping,
    }  # fmt: skip
    values = []
    for name in names:
        optional, guess = _declared(declared.get(name))
        if guess is None:
            value = f"v if (v := value.{name}) is None else ({walk.format('')})" if optional else walk.format(f" := value.{name}")
        else:
            kind, handled = guess
            namespace[f"type_{name}"] = kind
            test = f"type(v) is type_{name}" if optional else f"type(v := value.{name}) is type_{name}"
            value = f"({handled}) if {test} else ({walk.format('')})"
            if optional:
                value = f"v if (v := value.{name}) is None else ({value})"
        values.append(f"{name!r}: {value}")
    source = f"def export(value, redact, passed):\n    return {{{', '.join(values)}}}\n"
    exec(codecache.compiled(source, f"<report exporter of {', '.join(names[:3])}...>"), namespace)  # noqa: S102 - built from field names only
    return namespace["export"]


def _optional_of(hint: Any) -> Any:
    """`X` of a declared `X | None`, else None."""
    if isinstance(hint, UnionType) or get_origin(hint) is Union:
        rest = [a for a in get_args(hint) if a is not type(None)]
        if len(rest) == 1 and len(get_args(hint)) == 2:
            return rest[0]
    return None


def _declared(hint: Any) -> tuple[bool, tuple[type, str] | None]:
    """Whether a field's declared type is optional, and the test its usual values take first: (their exact type, the
    expression that exports a `v` of it as the walk does); None when the type names no one class the walk has a shortcut
    for (a dataclass, Any: the walk itself)."""
    inner = _optional_of(hint)
    optional = inner is not None
    hint = inner if optional else hint
    if hint in (int, float, bool):
        return optional, (hint, "v")
    if hint is str:
        return optional, (str, "v if v in passed else redact(v)")
    origin = get_origin(hint)
    if origin in (tuple, list):
        return optional, (origin, "items(v, redact, passed) if v else []")
    if hint is dict or origin is dict:
        return optional, (dict, "mapping(v, redact, passed)")
    if isinstance(hint, type) and issubclass(hint, Enum) and all(type(m._value_) is str for m in hint):
        return optional, (hint, "w if (w := v._value_) in passed else redact(w)")
    return optional, None


_EXPORTERS: dict[type, Exporter] = {list: _items, tuple: _items, dict: _mapping}
_TEXT_ENUMS: set[type] = set()  # enums met so far whose values are all text
_SEQUENCES = frozenset({list, tuple})  # exported as a list; an empty one (a line's annotations, most evidence lists) costs no call


def _exporter_for(kind: type) -> Exporter:
    """How values of `kind` are exported, found once and remembered (the containers before the enum and number tests)."""
    shape = dataclass_fields(kind)
    if issubclass(kind, (list, tuple, set, frozenset)):
        export: Exporter = _items
    elif issubclass(kind, dict):
        export = _mapping
    elif issubclass(kind, Enum):  # before the plain types: a StrEnum member is a str
        export = _member
        if all(type(member._value_) is str for member in kind):
            export = _text_member
            _TEXT_ENUMS.add(kind)
    elif issubclass(kind, str):
        export = _text
    elif issubclass(kind, (int, float)):
        export = _as_it_is
    elif shape is not None and kind.__name__ == "SecretSource":
        export = _secret_source
    elif shape is not None:
        try:
            declared = get_type_hints(kind)
        except Exception:  # noqa: BLE001 - a name the module imports only for type checkers: every field takes the whole walk
            declared = {}
        export = _dataclass(shape[0], declared)
    else:
        export = _as_it_is
    _EXPORTERS[kind] = export
    return export


# -- Markdown --------------------------------------------------------------------------------------
_PREFIX = {"client": "C:", "server": "S:", "info": "* "}


def settings_unverified(report: dict[str, Any]) -> bool:
    settings = report["settings"]
    return bool(settings) and settings.get("verify_tls") is False


def _auth_answer(result: str, text: str) -> str:
    """The server's answer once: auth_text is the reply as sent, which usually starts with the result itself."""
    if not result:
        return "(not answered)"
    return text if text.split(" ", 1)[0].upper() == result.upper() else f"{result} {text}".strip()


def report_markdown(record: SessionRecord, *, generated_at: datetime | None = None) -> str:
    """A human-readable rendering of the same report (for tickets; the TUI's export uses it)."""
    report = build_report(record, generated_at=generated_at)
    target, outcome, evidence = report["target"], report["outcome"], report["evidence"]
    out = [
        f"# mailscope report: {target['user'] or '(no user)'} @ {target['host']}:{target['port']} ({target['security']})",
        "",
        f"*{report['schema']}, mailscope {report['tool']['version']}, generated {report['generated_at']}*",
        "",
        f"**Outcome:** {outcome['kind']}: {outcome['summary']}" if outcome else "**Outcome:** (session not finished)",
        "",
        *(["**WARNING: TLS certificate verification was OFF for this session** (anyone on the path could read the credential).",
           ""] if settings_unverified(report) else []),
        f"**Judged at:** {report['evidence_time'] or 'unknown'} ({report['evidence_time_source']}: {report['evidence_time_detail']})",
        "",
        "## Findings",
        "",
    ]
    if not report["findings"]:
        out.append("No findings.")
    for finding in report["findings"]:
        # The lines the console marks: line evidence only (a capability or claim may carry a seq too).
        lines = ", ".join(str(e["seq"]) for e in finding["evidence"] if e["kind"] == "line" and e["seq"])
        out.append(f"- **{finding['severity'].upper()} `{finding['id']}`: {finding['title']}** (owner: {finding['owner']})")
        out.append(f"  {finding['explanation']}")
        out += [f"  - fix: {step}" for step in finding["fix"]]
        if lines:
            out.append(f"  - evidence: transcript lines {lines}")
    out += ["", "## Session facts", ""]
    tls = evidence.get("tls")
    facts = [
        ("Server", f"{evidence['server_family']}" + (f" (front end {evidence['frontend_name']})" if evidence["frontend_name"] else "")),
        (
            "TLS",
            f"{tls['version']} {tls['cipher']}, verified={tls['verified']}" + (f" ({tls['verify_error']})" if tls["verify_error"] else ""),
        )
        if tls
        else ("TLS", "none"),
        ("Capabilities", " ".join(evidence["capabilities_post_tls"] or evidence["capabilities_pre_tls"] or []) or "(none)"),
        ("Mechanism", f"{evidence['mechanism']}: {evidence['mechanism_reason']}" if evidence["mechanism"] else "(none)"),
        ("Authentication", _auth_answer(evidence["auth_result"], evidence["auth_text"])),
    ]
    for exchange in evidence["sasl"]:
        for challenge in exchange["challenges"]:
            facts.append(("SASL challenge", f"`{challenge}`"))
    if evidence["fault"]:
        facts.append(("Fault", f"{evidence['fault']['kind']} at {evidence['fault']['step']}: {evidence['fault']['detail']}"))
    out += [f"- **{name}:** {value}" for name, value in facts]
    token = report["token"]
    if token:
        out += ["", "## Token", "", f"- {token['kind']} ({token['shape']}), {token['length']} chars, {token['fingerprint']}"]
        out += [f"- `{name}`: {value}" for name, value in token["claims"].items()]
        if token["error"]:
            out.append(f"- token endpoint error: {json.dumps(token['error'], ensure_ascii=True)}")
    out += ["", "## Transcript", "", "```"]
    for line in report["transcript"]:
        note = f"    [{'; '.join(line['annotations'])}]" if line["annotations"] else ""
        out.append(f"{line['seq']:>4} {_PREFIX.get(line['direction'], '  ')} {line['text']}{note}".replace("```", "`\u200b``"))
    out += ["```", ""]
    return "\n".join(out)
