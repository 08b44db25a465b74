"""The mailboxes CSV → one CheckSettings per row, and a clear message for every row that cannot be audited.

The first row names the columns; `user` is required, the others override the base settings (a profile or the check
options) for that row: host, port, security, protocol, mechanism, flow, provider, tenant, client_id, authority, cloud,
scopes (space separated), subject, and the secret columns client_secret, token, password, refresh_token, which name
where the secret is (`env:VAR`, `file:/path`), never the secret itself. A file of bare addresses (one column, no
header) is read as a `user` column. Blank rows and rows starting with `#` are skipped. Rows are numbered as a
spreadsheet numbers them (the header is row 1). A bad row never stops the audit: it is reported and left out.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mailscope.localfile import NotRegularFile, read_regular_file
from mailscope.protocols import default_port
from mailscope.redact import Redactor, describe_token_shapes, escape_controls
from mailscope.settings import CheckSettings, Mechanism, Protocol, SecretSource, Security

MAX_CSV_BYTES = 32 * 1024 * 1024  # about 300,000 rows of a wide sheet
SECRET_COLUMNS = ("client_secret", "token", "password", "refresh_token")
TEXT_COLUMNS = ("host", "flow", "provider", "tenant", "client_id", "authority", "cloud", "subject")
COLUMNS = ("user", "port", "security", "protocol", "mechanism", "scopes", *TEXT_COLUMNS, *SECRET_COLUMNS)
_ENUMS: dict[str, Any] = {"security": Security, "protocol": Protocol, "mechanism": Mechanism}
PROVIDERS = ("microsoft", "google", "generic")
_WORD = re.compile(r"^[^\s\x00-\x1f\x7f-\x9f]+$")  # one word without controls (host, tenant, client id, user...)
_SHOWN = 60  # characters of a bad value quoted in a message
_MAX_WORD = 1024  # characters of a user, host, tenant or scope cell (an address has at most 254)

SecretSourceParser = Callable[[str, str], SecretSource]  # (value, column) -> source; ValueError for a literal secret
SettingsAdapter = Callable[[CheckSettings], CheckSettings]  # providers' last word on a row (ValueError: not auditable)


class AuditInputError(ValueError):
    """The CSV as a whole cannot be read (not a file, too big, not text, no user column): a usage error."""


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


@dataclass(frozen=True, slots=True)
class AuditItem:
    row: int
    settings: CheckSettings

    @property
    def user(self) -> str:
        return self.settings.user

    @property
    def key(self) -> tuple[str, str, str]:
        return mailbox_key(self.settings.user, str(self.settings.protocol), self.settings.host)


@dataclass(frozen=True, slots=True)
class AuditPlan:
    items: tuple[AuditItem, ...]
    rejected: tuple[RowError, ...]


def mailbox_key(user: str, protocol: str, host: str) -> tuple[str, str, str]:
    """What makes two rows the same mailbox check, and what `--resume` recognises in an earlier output (not the port: a
    lab fleet's ports change from run to run, and one mailbox is not audited twice over the same protocol)."""
    return user.lower(), protocol, host.lower()


def read_csv_file(path: str) -> str:
    """The file's text: a regular file (not a FIFO or device that could block or never end) under MAX_CSV_BYTES."""
    try:
        data = read_regular_file(path, MAX_CSV_BYTES + 1)
    except NotRegularFile as exc:
        raise AuditInputError(f"{path} {exc}") from None
    except OSError as exc:
        raise AuditInputError(f"cannot open {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_CSV_BYTES:
        raise AuditInputError(f"{path} is larger than {MAX_CSV_BYTES} bytes; an audit reads at most that (split the sheet)")
    if b"\0" in data:
        raise AuditInputError(f"{path} is not a text file (it contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AuditInputError(f"{path} is not UTF-8 text (byte {exc.start}); save the sheet as 'CSV UTF-8'") from None


def plan_audit(text: str, base: CheckSettings, *, secret_source: SecretSourceParser, adapt: SettingsAdapter | None = None) -> AuditPlan:
    """Items for the rows that can be audited and a RowError for each that cannot."""
    lines = text.splitlines()
    delimiter = _delimiter(next((line for line in lines if line.strip()), ""))
    try:
        records = list(enumerate(csv.reader(lines, delimiter=delimiter, strict=False), start=1))
    except csv.Error as exc:  # a cell past the csv module's field limit (128 KiB): no mailbox sheet has one
        raise AuditInputError(f"the sheet cannot be read as CSV: {exc}") from None
    header_at = next((i for i, (_, cells) in enumerate(records) if any(c.strip() for c in cells)), None)
    if header_at is None:
        raise AuditInputError("the file holds no mailbox (an empty sheet)")
    columns, body = _columns(records[header_at][1]), records[header_at + 1 :]
    if columns is None:  # a bare list of addresses
        columns, body = ("user",), records[header_at:]
    items: list[AuditItem] = []
    rejected: list[RowError] = []
    seen: dict[tuple[str, str, str], int] = {}
    rows = _Rows(columns, base, secret_source)
    for row, cells in body:
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        try:
            settings = rows.settings(cells)
            if adapt is not None:
                settings = adapt(settings)
        except ValueError as exc:
            rejected.append(RowError(row, str(exc)))
            continue
        item = AuditItem(row, settings)
        key = item.key
        if key in seen:
            rejected.append(RowError(row, f"the same mailbox as row {seen[key]} (user, protocol and host): left out"))
            continue
        seen[key] = row
        items.append(item)
    return AuditPlan(tuple(items), tuple(rejected))


def _delimiter(header: str) -> str:
    """Comma, or the semicolon/tab a spreadsheet in another locale writes."""
    counts = {d: header.count(d) for d in ",;\t"}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _columns(cells: list[str]) -> tuple[str, ...] | None:
    """The header's column names; None when the first row is an address (a file of bare addresses)."""
    names = tuple(c.strip().lower().replace("-", "_").replace(" ", "_") for c in cells)
    if "user" not in names:
        if len(cells) == 1 and "@" in cells[0]:
            return None
        raise AuditInputError("the first row must name the columns, one of them 'user' (known: " + ", ".join(COLUMNS) + ")")
    unknown = [n for n in names if n and n not in COLUMNS]
    if unknown:
        shown = ", ".join(repr(_shown(n)) for n in unknown)
        raise AuditInputError(f"unknown column {shown} (known: {', '.join(COLUMNS)})")
    doubled = sorted({n for n in names if n and names.count(n) > 1})
    if doubled:
        raise AuditInputError(f"column {', '.join(doubled)} given twice")
    return names


class _Rows:
    """Rows to settings. What is the same on every row is worked out once per sheet: the base settings' fields, and each
    checked value of a column other than `user` (a host, port, protocol or client id repeats on every row). The user is
    checked on every row."""

    def __init__(self, columns: tuple[str, ...], base: CheckSettings, secret_source: SecretSourceParser) -> None:
        self.columns, self.base, self.secret_source = columns, base, secret_source
        self._fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base) if f.init}  # what replace() reads per call
        self._values: dict[tuple[str, str], Any] = {}

    def settings(self, cells: list[str]) -> CheckSettings:
        columns, base = self.columns, self.base
        if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
            raise ValueError(f"{len(cells)} cells, but the header names {len(columns)} columns (a comma inside an unquoted value?)")
        values = {name: value for name, cell in zip(columns, cells, strict=False) if name and (value := cell.strip())}
        user = values.pop("user", "")
        if not user:
            raise ValueError("no user")
        _word("user", user)
        changes: dict[str, Any] = {"user": user}
        for name, value in values.items():
            changes[name] = self._value(name, value)
        settings = CheckSettings(**(self._fields | changes))
        if not settings.host:
            raise ValueError("no host: give --host, a profile, or a host column")
        moved = (settings.protocol, settings.security) != (base.protocol, base.security)
        if moved and "port" not in values:  # the port that goes with the row's protocol and security, as `check` chooses it
            settings = dataclasses.replace(settings, port=default_port(settings.protocol, settings.security))
        return settings

    def _value(self, name: str, value: str) -> Any:
        """A checked cell value, remembered per column and text (values are immutable); a bad one raises on every row."""
        key = (name, value)
        checked = self._values.get(key, _UNSEEN)
        if checked is _UNSEEN:
            checked = self._values[key] = _value(name, value, self.secret_source)
        return checked


_UNSEEN = object()  # no value remembered yet


def _value(name: str, value: str, secret_source: SecretSourceParser) -> Any:
    if name == "port":
        if not value.isdigit() or not 0 < int(value) < 65536:
            raise ValueError(f"port {_shown(value)!r} is not a TCP port")
        return int(value)
    if name in _ENUMS:
        try:
            return _ENUMS[name](value.lower())
        except ValueError:
            raise ValueError(f"{name} {_shown(value)!r} is not one of {', '.join(m.value for m in _ENUMS[name])}") from None
    if name == "scopes":
        scopes = tuple(value.split())
        for scope in scopes:
            _word(name, scope)
        return scopes
    if name in SECRET_COLUMNS:
        try:
            source = secret_source(value, name)
        except ValueError as exc:
            raise ValueError(str(exc)) from None  # the parser's message never quotes the value
        if source.kind not in ("env", "file"):
            raise ValueError(f"{name}: an audit cannot ask for a secret ({source.kind}); use env:VAR or file:/path")
        return source
    _word(name, value)
    if name == "provider" and value.lower() not in PROVIDERS:
        raise ValueError(f"provider {_shown(value)!r} is not one of {', '.join(PROVIDERS)}")
    return value.lower() if name in ("flow", "provider", "cloud") else value


def _word(name: str, value: str) -> None:
    if len(value) > _MAX_WORD:
        raise ValueError(f"{name} {_shown(value)!r} is longer than {_MAX_WORD} characters")
    if not _WORD.match(value) or escape_controls(value) != value:  # also bidi overrides, which show no space
        raise ValueError(f"{name} {_shown(value)!r} has spaces or control characters")
    if describe_token_shapes(value) != value:
        raise ValueError(f"{name} {_shown(value)!r} looks like a token: pasted into the wrong column? (the row is left out)")


def _shown(value: str) -> str:
    """A cell quoted in a message: shortened, and a secret pasted into the wrong column is not repeated."""
    value = _CATCH_ALL.redact(value)
    return value if len(value) <= _SHOWN else value[: _SHOWN - 1] + "…"


_CATCH_ALL = Redactor()  # no registered secret: only the shapes of tokens, keys and passwords
