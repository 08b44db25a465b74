"""What changed between two sessions of one mailbox: "before and after the fix" (`mailscope diff A B`).

Compares two SessionRecords (reopened case files, or a live session and a saved one): the mailbox, the settings as
typed, the token's decisive claims (scope/scp/roles, aud, the user claims, tid, exp, ...), how the session went
(server, mechanism, the authentication answer), the outcome and the findings that appeared, were resolved or stayed.
Claims that differ in every new token (iat, nbf, uti...) are left out: they would bury what matters. Each case is
judged at its own evidence time, so an exp is shown as it stood when that session used the token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mailscope.evidence import SessionEvidence, TokenEvidence
from mailscope.findings import EvidenceTime, Finding
from mailscope.record import SessionRecord
from mailscope.report import exit_code, findings_of, to_plain

SCHEMA = "mailscope.diff/1"
# The claims a diagnosis reads, in the order a reader checks them; list-valued ones are compared item by item.
DECISIVE_CLAIMS = (
    "aud", "scp", "scope", "roles", "upn", "unique_name", "preferred_username", "email", "sub", "tid", "iss", "appid", "azp",
    "idtyp", "exp",
)  # fmt: skip
_ITEM_CLAIMS = frozenset({"scp", "scope", "roles"})
_TOKEN_FACTS = ("kind", "provider", "flow", "requested_scopes", "granted_scopes", "account")
_SESSION_FACTS = ("server_family", "security", "mechanism", "login_used", "auth_result", "auth_text")


@dataclass(frozen=True, slots=True)
class Change:
    """One fact that differs. `before`/`after` are display text ("" when absent); for a list (scopes, roles) `removed` and
    `added` name the items."""

    name: str
    before: str
    after: str
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FindingChange:
    id: str
    title: str
    severity: str
    status: str  # "resolved" (only before), "appeared" (only after), "still" (both)
    confirmed_before: bool | None  # None: not a finding of that session
    confirmed_after: bool | None


@dataclass(frozen=True, slots=True)
class Side:
    """What identifies one of the two sessions."""

    user: str
    protocol: str
    host: str
    port: int
    judged_at: EvidenceTime
    outcome: str
    exit_code: int
    token: str  # kind, length and fingerprint: tells two tokens apart without showing either
    typed: bool  # has settings (a session imported from a log has none)


@dataclass(frozen=True, slots=True)
class CaseDiff:
    before: Side
    after: Side
    settings: tuple[Change, ...] = ()
    token: tuple[Change, ...] = ()
    session: tuple[Change, ...] = ()
    findings: tuple[FindingChange, ...] = field(default=())

    @property
    def same_mailbox(self) -> bool:
        """Same user and protocol on the same host (the port may differ: a lab's ports are new each run)."""
        a, b = self.before, self.after
        return (a.user.lower(), a.protocol, a.host.lower()) == (b.user.lower(), b.protocol, b.host.lower())

    @property
    def outcome_changed(self) -> bool:
        return (self.before.outcome, self.before.exit_code) != (self.after.outcome, self.after.exit_code)

    @property
    def diagnosis_changed(self) -> bool:
        """The outcome, or any finding, is not what it was: `mailscope diff` exits 1 then, as diff(1) does."""
        return self.outcome_changed or any(f.status != "still" or f.confirmed_before != f.confirmed_after for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "same_mailbox": self.same_mailbox,
            "outcome_changed": self.outcome_changed,
            "diagnosis_changed": self.diagnosis_changed,
            "before": _side_json(self.before),
            "after": _side_json(self.after),
            "settings": [to_plain(c) for c in self.settings],
            "token": [to_plain(c) for c in self.token],
            "session": [to_plain(c) for c in self.session],
            "findings": [to_plain(f) for f in self.findings],
        }


def diff_records(before: SessionRecord, after: SessionRecord) -> CaseDiff:
    return CaseDiff(
        before=_side(before),
        after=_side(after),
        settings=_changes(to_plain(before.settings), to_plain(after.settings)) if before.settings and after.settings else (),
        token=_token_changes(before, after),
        session=_session_changes(before.evidence, after.evidence),
        findings=_finding_changes(findings_of(before), findings_of(after)),
    )


def _side(record: SessionRecord) -> Side:
    evidence, token = record.evidence, record.token
    return Side(
        user=mailbox_user(record),
        protocol=evidence.protocol,
        host=evidence.host,
        port=evidence.port,
        judged_at=record.judged_at(),
        outcome=str(record.outcome.kind) if record.outcome else "unfinished",
        exit_code=exit_code(record),
        token=f"{token.kind} {token.length} chars {token.fingerprint}".strip() if token and token.kind != "none" else "none",
        typed=record.settings is not None,
    )


def mailbox_user(record: SessionRecord) -> str:
    """The mailbox's user: as typed, else (a session imported from a log) as the log names it, else as the token does."""
    if record.settings is not None:
        return record.settings.user
    claims = record.token.claims if record.token else {}
    named = [record.evidence.log_facts.get("user"), *(claims.get(c) for c in ("upn", "preferred_username", "email", "unique_name"))]
    return next((value for value in named if isinstance(value, str) and value), "")


def _side_json(side: Side) -> dict[str, Any]:
    when = side.judged_at
    return {"user": side.user, "protocol": side.protocol, "host": side.host, "port": side.port, "outcome": side.outcome,
            "exit_code": side.exit_code, "token": side.token, "judged_at": when.stated or None,
            "judged_at_source": str(when.source)}  # fmt: skip


def _changes(before: dict[str, Any], after: dict[str, Any], names: tuple[str, ...] | None = None, prefix: str = "") -> tuple[Change, ...]:
    """A Change per key whose value differs; nested objects (settings' `extra`) compared key by key."""
    out: list[Change] = []
    for name in names or tuple(dict.fromkeys([*before, *after])):
        a, b = before.get(name), after.get(name)
        if a == b:
            continue
        if isinstance(a, dict | None) and isinstance(b, dict | None) and (a or b):
            out += _changes(a or {}, b or {}, prefix=f"{prefix}{name}.")
            continue
        out.append(_change(f"{prefix}{name}", a, b))
    return tuple(out)


def _change(name: str, a: Any, b: Any, *, items: bool = False) -> Change:
    if items or isinstance(a, list | tuple) or isinstance(b, list | tuple):
        first, second = _items(a), _items(b)
        return Change(name, " ".join(first), " ".join(second), tuple(i for i in first if i not in second),
                      tuple(i for i in second if i not in first))  # fmt: skip
    return Change(name, _show(a), _show(b))


def _items(value: Any) -> list[str]:
    """A scope string (`scp`: space-separated) or a list (`roles`, `scopes`) as its items."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple):
        return [_show(v) for v in value]
    return [_show(value)]


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _token_changes(before: SessionRecord, after: SessionRecord) -> tuple[Change, ...]:
    a, b = before.token or TokenEvidence(), after.token or TokenEvidence()
    out = list(_changes(to_plain(a), to_plain(b), _TOKEN_FACTS))
    for claim in DECISIVE_CLAIMS:
        x, y = a.claims.get(claim), b.claims.get(claim)
        if x == y:
            continue
        if claim == "exp":
            out.append(Change("exp", _expiry(x, before.judged_at()), _expiry(y, after.judged_at())))
        else:
            out.append(_change(claim, x, y, items=claim in _ITEM_CLAIMS))
    if _endpoint_error(a) != _endpoint_error(b):
        out.append(Change("token endpoint error", _endpoint_error(a), _endpoint_error(b)))
    return tuple(out)


def _expiry(exp: Any, when: EvidenceTime) -> str:
    """The exp claim as a time, and how it stood when that session used the token (never today's clock)."""
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return _show(exp)
    try:
        stamp = datetime.fromtimestamp(exp, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return _show(exp)
    left = when.seconds_until(float(exp))
    if left is None:
        return stamp
    return f"{stamp} (expired {_minutes(-left)} before use)" if left <= 0 else f"{stamp} (valid {_minutes(left)} more when used)"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds < 48 * 3600 else f"{seconds / 86400:.0f} days"


def _endpoint_error(token: TokenEvidence) -> str:
    error = token.error or {}
    codes = error.get("error_codes")
    return " ".join(part for part in (_show(error.get("error")), f"codes {_show(codes)}" if codes else "") if part)


def _session_changes(a: SessionEvidence, b: SessionEvidence) -> tuple[Change, ...]:
    out = list(_changes(to_plain(a), to_plain(b), _SESSION_FACTS))
    forms = [("initial response on the AUTH line" if x.sasl[0].sasl_ir else "two-step") if x.sasl else "" for x in (a, b)]
    if forms[0] != forms[1]:
        out.append(Change("SASL form", *forms))
    faults = [f"{x.fault.kind} at {x.fault.step}: {x.fault.detail}" if x.fault else "" for x in (a, b)]
    if faults[0] != faults[1]:
        out.append(Change("fault", *faults))
    return tuple(out)


def _finding_changes(before: tuple[Finding, ...], after: tuple[Finding, ...]) -> tuple[FindingChange, ...]:
    """Resolved first (what the fix did), then what appeared, then what stayed; each in its session's rank order."""
    old, new = {f.id: f for f in before}, {f.id: f for f in after}
    resolved = [FindingChange(f.id, f.title, str(f.severity), "resolved", f.confirmed, None) for f in old.values() if f.id not in new]
    appeared = [FindingChange(f.id, f.title, str(f.severity), "appeared", None, f.confirmed) for f in new.values() if f.id not in old]
    still = [FindingChange(f.id, f.title, str(f.severity), "still", old[f.id].confirmed, f.confirmed) for f in new.values() if f.id in old]
    return (*resolved, *appeared, *still)
