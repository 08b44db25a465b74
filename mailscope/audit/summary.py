"""The audit's summary: mailboxes grouped by their primary finding (the one the diagnosis ranks first), each group
with its count, owner, the fix once (the mailbox's own address written `<mailbox>`), the other causes its sessions
could not rule out, and the mailboxes in it. Healthy mailboxes form one group, and so do mailboxes the servers kept
throttling beyond the retries (undetermined, not failed).

Built from the audit's records (`MailboxResult.from_record`), so a resumed audit summarizes the whole output file,
not only the rows of the last run. As data (`to_json`, for `--json` and a console view), as text for a terminal
and as Markdown for a ticket.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mailscope.audit.plan import RowError, mailbox_key

SUMMARY_SCHEMA = "mailscope.audit-summary/1"
HEALTHY = "healthy"
THROTTLED = "throttled"  # status and group of a mailbox still throttled after the last retry
FAILED = "failed"
_GROUP_TITLES = {HEALTHY: "Authenticated and mailbox reachable", THROTTLED: "Still throttled after the last retry: not judged"}
_TEXT_MAILBOXES = 5
_MARKDOWN_MAILBOXES = 100


@dataclass(frozen=True, slots=True)
class FindingBrief:
    id: str
    title: str
    owner: str
    fix: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MailboxResult:
    """What the summary keeps of one record (the record itself is in the output file)."""

    row: int
    user: str
    protocol: str
    host: str
    status: str  # HEALTHY | FAILED | THROTTLED
    outcome: str
    errors: tuple[FindingBrief, ...]  # the error findings, ranked: errors[0] is the primary finding
    attempts: int = 1

    @property
    def key(self) -> tuple[str, str, str]:
        return mailbox_key(self.user, self.protocol, self.host)

    @property
    def group(self) -> str:
        if self.status == THROTTLED:
            return THROTTLED
        return self.errors[0].id if self.errors else HEALTHY if self.status == HEALTHY else f"outcome_{self.outcome}"

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> MailboxResult:
        """From an audit record (this run's or an earlier run's line); tolerant of a hand-edited file."""
        audit = record.get("audit") or {}
        outcome = record.get("outcome") or {}
        errors = tuple(
            FindingBrief(str(f.get("id", "")), str(f.get("title", "")), str(f.get("owner", "")), tuple(map(str, f.get("fix") or ())))
            for f in record.get("findings") or ()
            if isinstance(f, dict) and f.get("severity") == "error"
        )
        return cls(
            _int(audit.get("row")),
            str(audit.get("user", "")),
            str(audit.get("protocol", "")),
            str(audit.get("host", "")),
            str(audit.get("status", FAILED)),
            str(outcome.get("kind", "")),
            errors,
            max(1, _int(audit.get("attempts"), 1)),
        )


@dataclass(frozen=True, slots=True)
class FixVariant:
    steps: tuple[str, ...]
    count: int


@dataclass(frozen=True, slots=True)
class MailboxRef:
    row: int
    user: str
    protocol: str


@dataclass(frozen=True, slots=True)
class FindingGroup:
    id: str
    title: str
    owner: str
    status: str  # HEALTHY | FAILED | THROTTLED
    count: int
    fixes: tuple[FixVariant, ...]  # usually one; more when the steps differ beyond the mailbox address
    also: tuple[tuple[str, int], ...]  # other error findings of these mailboxes (causes not ruled out), by count
    outcomes: tuple[tuple[str, int], ...]
    mailboxes: tuple[MailboxRef, ...]  # in row order


@dataclass(frozen=True, slots=True)
class AuditSummary:
    total: int
    healthy: int
    failed: int
    undetermined: int
    retries: int  # throttled sign-ins that were backed off and tried again
    groups: tuple[FindingGroup, ...]
    rejected: tuple[RowError, ...] = ()
    elapsed: float | None = None  # seconds this run took (None: nothing ran)
    audited_now: int = 0  # mailboxes this run audited (the rest came from the output of earlier runs)
    interrupted: bool = False

    def counts(self) -> dict[str, int]:
        """Mailboxes per group id: comparable with a lab fleet's truth (`counts`)."""
        return {g.id: g.count for g in self.groups}

    @property
    def exit_code(self) -> int:
        """0 all healthy; 1 some failed; 3 none failed but some not judged (rows left out, still throttled)."""
        if self.failed:
            return 1
        return 3 if self.undetermined or self.rejected else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SUMMARY_SCHEMA,
            "total": self.total, "healthy": self.healthy, "failed": self.failed, "undetermined": self.undetermined,
            "retries": self.retries, "rejected_rows": [{"row": e.row, "error": e.message} for e in self.rejected],
            "elapsed_seconds": None if self.elapsed is None else round(self.elapsed, 3), "audited_now": self.audited_now,
            "interrupted": self.interrupted, "exit_code": self.exit_code, "counts": self.counts(),
            "groups": [{
                "id": g.id, "title": g.title, "owner": g.owner, "status": g.status, "count": g.count,
                "fixes": [{"steps": list(v.steps), "mailboxes": v.count} for v in g.fixes],
                "also": dict(g.also), "outcomes": dict(g.outcomes),
                "mailboxes": [{"row": m.row, "user": m.user, "protocol": m.protocol} for m in g.mailboxes],
            } for g in self.groups],
        }  # fmt: skip


@dataclass(slots=True)
class _Group:
    first: MailboxResult
    members: list[MailboxResult] = field(default_factory=list)


def summarize(
    results: Iterable[MailboxResult],
    *,
    rejected: Iterable[RowError] = (),
    elapsed: float | None = None,
    audited_now: int = 0,
    interrupted: bool = False,
) -> AuditSummary:
    groups: dict[str, _Group] = {}
    for result in results:
        groups.setdefault(result.group, _Group(result)).members.append(result)
    built = sorted((_build(gid, g) for gid, g in groups.items()), key=lambda g: (_STATUS_ORDER[g.status], -g.count, g.id))
    members = [m for g in groups.values() for m in g.members]
    return AuditSummary(
        total=len(members), healthy=sum(m.status == HEALTHY for m in members), failed=sum(m.status == FAILED for m in members),
        undetermined=sum(m.status == THROTTLED for m in members), retries=sum(m.attempts - 1 for m in members),
        groups=tuple(built), rejected=tuple(sorted(rejected, key=lambda e: e.row)), elapsed=elapsed, audited_now=audited_now,
        interrupted=interrupted,
    )  # fmt: skip


_STATUS_ORDER = {FAILED: 0, THROTTLED: 1, HEALTHY: 2}


def _build(group_id: str, group: _Group) -> FindingGroup:
    first, members = group.first, sorted(group.members, key=lambda m: m.row)
    primary = first.errors[0] if first.errors and group_id not in (HEALTHY, THROTTLED) else None
    fixes = Counter(_general_fix(m) for m in members if m.errors)
    also = Counter(e.id for m in members for e in m.errors[1:] if e.id != group_id)
    status = first.status if group_id in (HEALTHY, THROTTLED) else FAILED
    return FindingGroup(
        id=group_id, title=primary.title if primary else _GROUP_TITLES.get(group_id, group_id.replace("_", " ")),
        owner=primary.owner if primary else "", status=status, count=len(members),
        fixes=tuple(FixVariant(steps, n) for steps, n in fixes.most_common() if steps) if primary else (),
        also=tuple(also.most_common()), outcomes=tuple(Counter(m.outcome for m in members).most_common()),
        mailboxes=tuple(MailboxRef(m.row, m.user, m.protocol) for m in members),
    )  # fmt: skip


def _general_fix(result: MailboxResult) -> tuple[str, ...]:
    """The primary finding's fix with this mailbox's address written `<mailbox>`, so one fix serves the group."""
    if not result.user:
        return result.errors[0].fix
    return tuple(_address_generalised(step, result.user) for step in result.errors[0].fix)


def _address_generalised(text: str, address: str) -> str:
    """`text` with `address`, in any letter case, written `<mailbox>`. ASCII text by a case-blind find (a pattern compiled
    per mailbox cost more than the rest of the summary); other text by the regular expression engine's case folding."""
    if not (text.isascii() and address.isascii()):
        return re.sub(re.escape(address), "<mailbox>", text, flags=re.IGNORECASE)
    lowered, wanted = text.lower(), address.lower()
    pieces, start = [], 0
    while (at := lowered.find(wanted, start)) >= 0:
        pieces += (text[start:at], "<mailbox>")
        start = at + len(wanted)
    return "".join((*pieces, text[start:])) if pieces else text


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


# -- text and Markdown --------------------------------------------------------------------------------------
def summary_text(summary: AuditSummary, *, output: str = "") -> str:
    """For a terminal: the headline, then one block per group (failures first), then the rows left out."""
    out = [_headline(summary)]
    for group in summary.groups:
        owner = f" (owner: {group.owner})" if group.owner else ""
        head = {HEALTHY: "HEALTHY", THROTTLED: "NOT JUDGED"}.get(group.status, f"ERROR {group.id}")
        out += ["", f"{head}: {group.title}: {_mailboxes(group.count)}{owner}"]
        for variant in group.fixes:
            share = f" [{variant.count} of {group.count}]" if len(group.fixes) > 1 else ""
            out += [f"    fix{share}: {step}" for step in variant.steps]
        if group.also:
            out.append("    not ruled out: " + ", ".join(f"{fid} ({n})" for fid, n in group.also))
        if group.status != HEALTHY:
            shown = ", ".join(f"row {m.row} {m.user}" for m in group.mailboxes[:_TEXT_MAILBOXES])
            more = f", and {group.count - _TEXT_MAILBOXES} more" if group.count > _TEXT_MAILBOXES else ""
            out.append(f"    mailboxes: {shown}{more}" + (f" (all in {output})" if more and output else ""))
    if summary.rejected:
        out += ["", f"ROWS LEFT OUT ({len(summary.rejected)}):"] + [f"    {error}" for error in summary.rejected]
    return "\n".join(out)


def summary_markdown(summary: AuditSummary, *, output: str = "") -> str:
    """For a ticket: a table of the groups, then each group's fix once and its mailboxes."""
    out = ["# mailscope audit", "", f"*{SUMMARY_SCHEMA}*", "", _headline(summary), "", "| finding | owner | mailboxes |", "|---|---|---|"]
    out += [f"| `{g.id}`: {_cell(g.title)} | {g.owner or '-'} | {g.count} |" for g in summary.groups]
    for group in summary.groups:
        if group.status == HEALTHY:
            continue
        out += ["", f"## `{group.id}`: {group.title} ({_mailboxes(group.count)})", ""]
        if group.owner:
            out += [f"**Owner:** {group.owner}", ""]
        for variant in group.fixes:
            share = f" ({variant.count} of {group.count} mailboxes)" if len(group.fixes) > 1 else ""
            out += [f"**Fix{share}:**", "", "```", *(s.replace("```", "`\u200b``") for s in variant.steps), "```", ""]
        if group.also:
            out += ["**Not ruled out:** " + ", ".join(f"`{fid}` ({n})" for fid, n in group.also), ""]
        out += [f"- row {m.row}: {_cell(m.user)} ({m.protocol})" for m in group.mailboxes[:_MARKDOWN_MAILBOXES]]
        if group.count > _MARKDOWN_MAILBOXES:
            out.append(f"- … and {group.count - _MARKDOWN_MAILBOXES} more" + (f" (all in `{output}`)" if output else ""))
    if summary.rejected:
        out += ["", f"## Rows left out ({len(summary.rejected)})", ""] + [f"- {_cell(str(e))}" for e in summary.rejected]
    return "\n".join(out) + "\n"


def _headline(summary: AuditSummary) -> str:
    parts = [f"{_mailboxes(summary.total)}: {summary.healthy} healthy, {summary.failed} failed"]
    if summary.undetermined:
        parts.append(f"{summary.undetermined} not judged (still throttled)")
    if summary.retries:
        parts.append(f"{summary.retries} throttled sign-in{'s' if summary.retries != 1 else ''} retried")
    if summary.rejected:
        parts.append(f"{len(summary.rejected)} row{'s' if len(summary.rejected) != 1 else ''} left out")
    line = "mailscope audit: " + "; ".join(parts)
    if summary.elapsed is not None and summary.audited_now:
        line += f" (this run: {summary.audited_now} in {summary.elapsed:.1f} s, {summary.audited_now / max(summary.elapsed, 1e-9):.0f}/s)"
    return line + (" — INTERRUPTED: resume with --resume" if summary.interrupted else "")


def _mailboxes(count: int) -> str:
    return f"{count} mailbox{'es' if count != 1 else ''}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
