"""Token inspector: what is known about the credential (never the token itself) and its decoded claims,
with the claims behind the selected finding highlighted."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from mailscope.evidence import TokenEvidence
from widgets.presenter import mask_claim

_TIME_CLAIMS = ("exp", "iat", "nbf", "auth_time")
_CLAIM_NOTES = {
    "aud": "audience: who the token is for (Exchange: https://outlook.office.com; Graph tokens are refused)",
    "scp": "delegated scopes granted",
    "roles": "application permissions (app-only flows)",
    "scope": "scopes granted",
    "iss": "issuer: which cloud and tenant signed it",
    "tid": "tenant id",
    "oid": "object id of the signed-in user or service principal",
    "upn": "the user the token belongs to",
    "preferred_username": "the user the token belongs to",
    "email": "the user the token belongs to",
    "appid": "client id of the app that asked for it",
    "azp": "client id of the app that asked for it",
    "idtyp": "app = app-only token, user = delegated",
    "ver": "token format version",
}


def _when(value: Any, now: float) -> str:
    if not isinstance(value, int | float):
        return ""
    stamp = datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    delta = float(value) - now
    rel = f"in {int(delta // 60)} min" if delta >= 0 else f"{int(-delta // 60)} min ago"
    return f"{stamp} ({rel})"


def claim_rows(token: TokenEvidence, now: float) -> list[tuple[str, str, str]]:
    """(claim, value, note) rows in a useful order: the claims diagnosis talks about first."""
    first = ["aud", "scp", "roles", "scope", "upn", "preferred_username", "email", "tid", "iss", "appid", "azp", "idtyp", "exp",
             "iat", "nbf", "oid", "ver"]
    names = [n for n in first if n in token.claims] + sorted(n for n in token.claims if n not in first)
    rows = []
    for name in names:
        value = token.claims[name]
        shown = " ".join(map(str, value)) if isinstance(value, list) else str(value)
        note = _when(value, now) if name in _TIME_CLAIMS else _CLAIM_NOTES.get(name, "")
        if name == "exp" and isinstance(value, int | float) and value < now:
            note = "EXPIRED " + note
        rows.append((name, shown, note))
    return rows


class TokenInspector(Widget):
    DEFAULT_CSS = """
    TokenInspector { layout: vertical; }
    TokenInspector > #token-facts { height: auto; padding: 0 1; }
    TokenInspector > DataTable { height: 1fr; }
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        token: TokenEvidence | None = None,
        highlighted: frozenset[str] = frozenset(),
        presenter: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.token = token
        self.presenter = presenter
        self._clock = clock
        self._highlighted = highlighted

    def compose(self) -> ComposeResult:
        yield Static("No token yet: the session has not obtained a credential.", id="token-facts")
        table: DataTable = DataTable(id="claims", cursor_type="row", zebra_stripes=True)
        table.add_columns("claim", "value", "meaning")
        yield table

    def on_mount(self) -> None:
        self._refresh_table()

    def show(self, token: TokenEvidence | None) -> None:
        self.token = token
        self._refresh_table()

    def highlight_claims(self, names: frozenset[str]) -> None:
        self._highlighted = names
        self._refresh_table()

    @property
    def highlighted_claims(self) -> frozenset[str]:
        return self._highlighted

    def _refresh_table(self) -> None:
        facts = self.query_one("#token-facts", Static)
        table = self.query_one("#claims", DataTable)
        table.clear()
        token = self.token
        if token is None:
            facts.update("No token yet: the session has not obtained a credential.")
            return
        lines = [
            Text.assemble(("Kind ", "bold"), f"{token.kind} ({token.shape or 'unknown shape'}), {token.length} chars, "
                          f"fingerprint {token.fingerprint or '-'}"),
            Text.assemble(("From ", "bold"), f"{token.provider} via {token.flow or '?'} ({token.source or '?'})"),
        ]
        if token.requested_scopes:
            lines.append(Text.assemble(("Requested ", "bold"), " ".join(token.requested_scopes)))
        if token.granted_scopes is not None:
            lines.append(Text.assemble(("Granted ", "bold"), " ".join(token.granted_scopes) or "(none)"))
        if token.error:
            lines.append(Text.assemble(("Token endpoint error ", "bold red"), str(token.error.get("error", "")),
                                       " ", str(token.error.get("error_description", ""))[:200]))
        lines.extend(Text(note, style="dim") for note in token.notes)
        facts.update(Text("\n").join(lines))
        for name, value, note in claim_rows(token, self._clock()):
            shown = mask_claim(name, value) if self.presenter else value
            style = "bold black on yellow" if name in self._highlighted else ""
            table.add_row(Text(name, style=style or "bold"), Text(shown, style=style), Text(note, style="dim"), key=name)
