"""Token inspector: what is known about the credential (never the token itself) and its decoded claims,
with the claims behind the selected finding highlighted."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from mailscope.evidence import TokenEvidence
from providers.inspect import display_claims
from widgets.presenter import mask_claim, mask_identifiers


def claim_rows(token: TokenEvidence, now: float) -> list[tuple[str, str, str]]:
    """(claim, value, meaning) rows: providers' display order (JWT claims, or what an opaque token's response said)."""
    rows = []
    for name, label, value in display_claims(token, now):
        exp = token.claims.get("exp")
        if name == "exp" and isinstance(exp, int | float) and exp < now:
            value = "EXPIRED " + value
        rows.append((name, value, "" if label == name else label))
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
        mask: Callable[[str], str] = mask_identifiers,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.token = token
        self.presenter = presenter
        self._mask = mask
        self._clock = clock
        self._highlighted = highlighted

    def compose(self) -> ComposeResult:
        yield Static("No token yet: the session has not obtained a credential.", id="token-facts")
        table: DataTable = DataTable(id="claims", cursor_type="row", zebra_stripes=True)
        table.add_columns("claim", "value", "meaning")
        yield table

    def on_mount(self) -> None:
        self._refresh_table()

    def show(self, token: TokenEvidence | None, *, highlighted: frozenset[str] | None = None) -> None:
        """The token, and (when given) the claims to highlight, drawn once."""
        self.token = token
        if highlighted is not None:
            self._highlighted = highlighted
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
        m = self._mask if self.presenter else str  # endpoint errors and notes name tenants and apps too (AADSTS texts)
        lines = [
            Text.assemble(("Kind ", "bold"), f"{token.kind} ({token.shape or 'unknown shape'}), {token.length} chars, "
                          f"fingerprint {token.fingerprint or '-'}"),
            Text.assemble(("From ", "bold"), m(f"{token.provider} via {token.flow or '?'} ({token.source or '?'})")),
        ]
        if token.requested_scopes:
            lines.append(Text.assemble(("Requested ", "bold"), m(" ".join(token.requested_scopes))))
        if token.granted_scopes is not None:
            lines.append(Text.assemble(("Granted ", "bold"), m(" ".join(token.granted_scopes)) or "(none)"))
        if token.error:
            lines.append(Text.assemble(("Token endpoint error ", "bold red"), m(str(token.error.get("error", ""))),
                                       " ", m(str(token.error.get("error_description", ""))[:200])))
        lines.extend(Text(m(note), style="dim") for note in token.notes)
        facts.update(Text("\n").join(lines))
        for name, value, note in claim_rows(token, self._clock()):
            shown = self._mask(mask_claim(name, value)) if self.presenter else value
            style = "bold black on yellow" if name in self._highlighted else ""
            table.add_row(Text(name, style=style or "bold"), Text(shown, style=style), Text(note, style="dim"), key=name)
