"""The scenario file format, `mailscope.scenario/1` (docs/scenarios.md): the keys each table may hold, and
`parse`, which turns a read file into a Scenario or into every problem it has (file, line, key, message) — unknown
keys, wrong types, unknown catalogue ids or server keys, and combinations the lab cannot produce."""

from __future__ import annotations

import difflib
import re
from typing import Any

from mailscope.datafile import Key, Problem, Source, Table, by_line, check_schema, unknown_message
from mailscope.evidence import OutcomeKind
from mailscope.lab.scenarios.client import CAST, DEFAULT_SCOPES, FLOWS
from mailscope.lab.scenarios.model import Scenario
from mailscope.lab.scenarios.servers import SERVER_MODES, server_provider
from mailscope.lab.scenarios.spec import DEFAULT_HINT_COST, ClientSpec, GoogleSpec, Hint, MailboxSpec, MicrosoftSpec
from mailscope.lab.scenarios.world import DAEMON, MICROSOFT_CAST, SERVICE_PRINCIPAL_STATES
from mailscope.settings import Mechanism, Protocol, Security

SCHEMA = "mailscope.scenario/1"
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
OUTCOMES = tuple(str(k) for k in OutcomeKind if k not in (OutcomeKind.CANCELLED, OutcomeKind.INCOMPLETE))
RESOURCE_KINDS = ("exchange", "graph")

TOP = (
    Key("schema", "str", f'the format and its version: "{SCHEMA}"', required=True),
    Key("id", "str", "the scenario's name: lower-case letters, digits and '-', unique among the scenarios in use", required=True),
    Key("title", "str", "one line saying what the case is", required=True, nonempty=True),
    Key("provider", "str", "whose world: microsoft (Contoso on Entra and Exchange Online) or google (example-workspace.com on Gmail)",
        required=True, choices=("microsoft", "google")),
    Key("server", "str", "the lab server the client talks to; its protocol and TLS mode follow from it", required=True,
        choices=tuple(SERVER_MODES)),
    Key("servers", "strings", "every lab server to start (default: just `server`)", choices=tuple(SERVER_MODES)),
    Key("protocol", "str", "imap, pop3 or smtp; optional, must be the server's", choices=tuple(str(p) for p in Protocol)),
    Key("expected_finding", "str", "the catalogue id the diagnosis must rank first; omit it for a healthy reference"),
    Key("reproduces", "strings", "the catalogue ids the scenario reproduces (default: the expected finding)"),
    Key("expected_outcome", "str", "how the session ends", required=True, choices=OUTCOMES),
    Key("teaching", "str", "the teaching note: what happened, how the evidence shows it, what fixes it", required=True, nonempty=True),
    Key("wire", "strings", "server texts the session must show (the test suite checks them)"),
    Key("client", "table", "the settings the user typed", required=True),
    Key("microsoft", "table", "knobs of the Contoso world (provider = microsoft only)"),
    Key("google", "table", "knobs of the example-workspace.com world (provider = google only)"),
    Key("hint", "tables", "exercise hints, given in file order: [[hint]] with text and cost"),
)
CLIENT = (
    Key("flow", "str", "how the token (or password) is obtained: microsoft device_code, client_credentials or password; "
        "google refresh_token, service_account or password", required=True,
        choices=("device_code", "client_credentials", "refresh_token", "service_account", "password")),
    Key("scopes", "strings", "the scopes requested (required for device_code; client_credentials: https://outlook.office365.com/.default; "
        "refresh_token and service_account: https://mail.google.com/)"),
    Key("user", "str", 'the mailbox user the client signs in as: a cast name (alice, bob, sales) or an address; "" sends none '
        "(default alice)"),
    Key("mechanism", "str", "SASL mechanism (default xoauth2; password flow: plain for Microsoft, login for Google)",
        choices=tuple(str(m) for m in Mechanism)),
    Key("sasl_ir", "str", "initial response on the AUTH command line: auto, yes, no (default auto)", choices=("auto", "yes", "no")),
    Key("security", "str", "tls, starttls or plain (default: the server's own mode)", choices=tuple(str(s) for s in Security)),
    Key("client_secret", "str", "client_credentials: the secret's value (value, default) or the portal's Secret ID (secret-id)",
        choices=("value", "secret-id")),
    Key("subject", "str", 'service_account: who to impersonate (default: the user; "" impersonates nobody)'),
    Key("password", "str", "password flow: the account password (account, default) or, Google only, an app password (app-password)",
        choices=("account", "app-password")),
)
MICROSOFT = (
    Key("users_can_consent", "bool", "the tenant lets users consent to apps (default true)"),
    Key("consented_scopes", "strings", "delegated permissions an admin granted the mail client app tenant-wide (default none)"),
    Key("smtp_auth_disabled", "bool", "SMTP AUTH disabled for the tenant, Set-TransportConfig (default false)"),
    Key("daemon_roles", "table", "the daemon app's admin-consented app roles per resource, exchange and graph "
        '(default { exchange = ["IMAP.AccessAsApp"] })'),
    Key("daemon_service_principal", "str", "the daemon in Exchange (New-ServicePrincipal): registered, missing or wrong-id",
        choices=tuple(SERVICE_PRINCIPAL_STATES)),
    Key("sign_in_as", "str", "who signs in on the device-code page: alice, bob or sales (default alice)", choices=tuple(MICROSOFT_CAST)),
    Key("sign_in_decision", "str", "what that person does with the device code: approve, decline or expire",
        choices=("approve", "decline", "expire")),
    Key("sign_in_consents", "bool", "that person ticks Accept on a consent prompt (default true)"),
    Key("sign_in_completes_mfa", "bool", "that person completes MFA when asked (default true)"),
    Key("pending_polls", "int", "device-code polls answered authorization_pending first, a second each (default 0)", minimum=0, maximum=10),
    Key("token_age_seconds", "int", "tokens are issued as if this many seconds ago: 3600 and more are expired (default 0)",
        minimum=0, maximum=30 * 86400),
    Key("mailbox", "table", "one table per mailbox, [microsoft.mailbox.<name>] for alice, bob or sales: its settings and permissions"),
)
MAILBOX = (
    Key("imap_enabled", "bool", "Set-CASMailbox -ImapEnabled (default true)"),
    Key("pop_enabled", "bool", "Set-CASMailbox -PopEnabled (default true)"),
    Key("smtp_auth_disabled", "bool", "Set-CASMailbox -SmtpClientAuthenticationDisabled (default: follows the tenant)"),
    Key("has_mailbox", "bool", "an Exchange Online mailbox and licence exist (default true)"),
    Key("full_access", "strings", "who has FullAccess: cast names and daemon (default: alice's has daemon, sales' has alice)"),
    Key("send_as", "strings", "who has SendAs: cast names and daemon (default nobody)"),
    Key("mfa_required", "bool", "Conditional Access requires MFA for this user (default false)"),
    Key("blocked_by_conditional_access", "bool", "Conditional Access blocks every sign-in of this user (default false)"),
)
GOOGLE = (
    Key("granted_scopes", "strings", "what alice granted the installed app (default https://mail.google.com/)"),
    Key("refresh_token_revoked", "bool", "alice removed the app's access (default false)"),
    Key("refresh_token_age_days", "number", "age of alice's refresh token in days (default 0)", minimum=0, maximum=3650),
    Key("testing_mode", "bool", "the OAuth consent screen is External + Testing: refresh tokens die after 7 days (default false)"),
    Key("blocked_by_admin_policy", "bool", "the Workspace admin's API controls block the OAuth client (default false)"),
    Key("dwd_scopes", "strings", "scopes the service account has under domain-wide delegation (default https://mail.google.com/; "
        "[] for none)"),
    Key("imap_enabled", "bool", "IMAP access enabled for alice (default true)"),
    Key("pop_enabled", "bool", "POP access enabled for alice (default true)"),
    Key("two_step_verification", "bool", "alice has 2-Step Verification on: her account password no longer signs in to mail "
        "(default true)"),
    Key("token_age_seconds", "int", "access tokens are issued as if this many seconds ago (default 0)", minimum=0, maximum=30 * 86400),
)
HINT = (
    Key("text", "str", "what the trainee is told", required=True, nonempty=True),
    Key("cost", "number", f"share of the exercise's one point it costs (default {DEFAULT_HINT_COST})", minimum=0, maximum=1),
)
TABLES = {"": TOP, "client": CLIENT, "microsoft": MICROSOFT, "microsoft.mailbox.<name>": MAILBOX, "google": GOOGLE, "hint": HINT}


def parse(source: Source) -> tuple[Scenario | None, list[Problem]]:
    """The scenario a read file describes, or None and every problem found (all of them, not just the first)."""
    problems: list[Problem] = []
    if not check_schema(source, SCHEMA, problems):
        return None, problems
    top = Table(source, (), source.data, TOP, problems)
    fields = _top(top)
    provider, server = fields["provider"], fields["server"]
    client = _client(Table(source, ("client",), source.data["client"], CLIENT, problems), provider) if top.get("client") else None
    microsoft = google = None
    for name, wanted in (("microsoft", "microsoft"), ("google", "google")):
        if top.has(name) and provider and provider != wanted:
            top.fail(name, f"the [{name}] table only applies to provider = {wanted!r} (this scenario's provider is {provider!r})")
    if provider == "microsoft":
        microsoft = _microsoft(Table(source, ("microsoft",), top.get("microsoft", {}), MICROSOFT, problems))
    elif provider == "google":
        google = _google(Table(source, ("google",), top.get("google", {}), GOOGLE, problems))
    if client is not None and client.flow == "password" and fields["expected_outcome"] == str(OutcomeKind.TOKEN_FAILED):
        top.fail("expected_outcome", "a password sign-in obtains no token, so it cannot end token_acquisition_failed")
    hints = tuple(_hint(Table(source, ("hint", i), item, HINT, problems)) for i, item in enumerate(top.get("hint", ())))
    if sum(hint.cost for hint in hints) > 1 + 1e-9:
        top.fail("hint", "the hints together cost more than the exercise's one point")
    if problems or not (provider and server and client):
        return None, by_line(problems)
    return Scenario(
        id=fields["id"], title=fields["title"], provider=provider, protocol=SERVER_MODES[server][0],
        failure_ids=fields["reproduces"], expected_finding=fields["expected_finding"],
        expected_outcome=OutcomeKind(fields["expected_outcome"]), teaching=fields["teaching"], servers=fields["servers"],
        server_under_test=server, client=client, microsoft=microsoft, google=google, wire=top.get("wire", ()), hints=hints,
        source=source.path,
    ), problems


def _top(top: Table) -> dict[str, Any]:
    fields: dict[str, Any] = {name: top.get(name, "") for name in ("id", "title", "provider", "server", "teaching", "expected_outcome")}
    if fields["id"] and not ID_PATTERN.fullmatch(fields["id"]):
        top.fail("id", f"{fields['id']!r}: use lower-case letters, digits and '-' (at most 64), starting with a letter or digit")
    provider, server = fields["provider"], fields["server"]
    if provider and server and server_provider(server) != provider:
        top.fail("server", f"{server!r} is a {server_provider(server)} server; this scenario's provider is {provider!r}")
    servers = top.get("servers") or ((server,) if server else ())
    if server and server not in servers:
        top.fail("servers", f"must include the server under test, {server!r}")
    for other in top.get("servers", ()):
        if provider and server_provider(other) != provider:
            top.fail("servers", f"{other!r} is a {server_provider(other)} server; this scenario's provider is {provider!r}")
    protocol = top.get("protocol")
    if protocol and server and protocol != SERVER_MODES[server][0]:
        top.fail("protocol", f"{protocol!r} does not match the server {server!r}, which speaks {SERVER_MODES[server][0]}")
    fields["servers"] = tuple(servers)
    fields["expected_finding"] = expected = top.get("expected_finding")
    fields["reproduces"] = reproduces = top.get("reproduces", (expected,) if expected else ())
    _findings(top, provider, expected, reproduces, fields["expected_outcome"])
    return fields


def _findings(top: Table, provider: str, expected: str | None, reproduces: tuple[str, ...], outcome: str) -> None:
    from mailscope.diagnosis.catalogue import CATALOGUE
    from mailscope.findings import Severity

    listed = reproduces if top.has("reproduces") else ()  # the default (the expected finding) is checked once, as that
    for name, ids in (("expected_finding", (expected,) if expected else ()), ("reproduces", listed)):
        for finding_id in ids:
            entry = CATALOGUE.get(finding_id)
            if entry is None:
                top.fail(name, f"unknown finding id {finding_id!r}{_close_ids(finding_id, CATALOGUE)}")
            elif provider and entry.providers in ("microsoft", "google") and entry.providers != provider:
                top.fail(name, f"{finding_id!r} is a {entry.providers} failure; this scenario's provider is {provider!r}")
            elif name == "expected_finding" and entry.severity is not Severity.ERROR:
                top.fail(name, f"{finding_id!r} is not an error finding; a healthy reference has no expected_finding")
    if expected and top.has("reproduces") and expected not in reproduces:
        top.fail("reproduces", f"must include the expected finding {expected!r}")
    if not expected and reproduces:
        top.fail("reproduces", "a healthy reference (no expected_finding) reproduces nothing")
    reachable = str(OutcomeKind.MAILBOX_REACHABLE)
    if outcome and expected and outcome == reachable:
        top.fail("expected_outcome", f"{reachable} means nothing went wrong, yet expected_finding is {expected!r}")
    if outcome and not expected and outcome != reachable:
        top.fail("expected_finding", f"required when the session ends {outcome} (only a healthy reference, "
                                     f"{reachable}, has none)")


def _close_ids(finding_id: str, catalogue: dict[str, object]) -> str:
    close = difflib.get_close_matches(finding_id, list(catalogue), n=1)
    return f"; did you mean {close[0]!r}? (docs/findings.md lists them all)" if close else " (docs/findings.md lists them all)"


def _client(table: Table, provider: str) -> ClientSpec | None:
    flow = table.get("flow")
    if flow is None:
        return None
    if provider and flow not in FLOWS[provider]:
        table.fail("flow", f"{flow!r} is not a {provider} flow (use one of: {', '.join(FLOWS[provider])})")
    only = {"client_secret": "client_credentials", "subject": "service_account", "password": "password"}
    for name, wanted in only.items():
        if table.has(name) and flow != wanted:
            table.fail(name, f"only applies to flow = {wanted!r}")
    if table.get("password") == "app-password" and provider == "microsoft":
        table.fail("password", "Exchange Online has no app passwords for these protocols (basic authentication is off)")
    scopes = table.get("scopes")
    if flow == "password" and scopes:
        table.fail("scopes", "a password sign-in requests no scopes")
    if flow not in DEFAULT_SCOPES and not table.has("scopes"):
        table.fail("scopes", f"required for flow = {flow!r}: the scopes the user typed are the point of such a scenario")
    for name in ("user", "subject"):
        _cast_member(table, name, provider)
    return ClientSpec(flow, scopes, table.get("user"), table.get("mechanism"), table.get("sasl_ir", "auto"), table.get("security"),
                      table.get("client_secret", "value"), table.get("subject"), table.get("password", "account"))


def _cast_member(table: Table, name: str, provider: str) -> None:
    value = table.get(name)
    if value and "@" not in value and provider and value not in CAST[provider]:
        table.fail(name, unknown_message(f"{provider} cast member", value, CAST[provider]) + "; or write an address")


def _microsoft(table: Table) -> MicrosoftSpec:
    roles = table.get("daemon_roles")
    for kind, names in (roles or {}).items():
        where = ("microsoft", "daemon_roles", kind)
        if kind not in RESOURCE_KINDS:
            table.problems.append(table.source.problem(where, unknown_message("resource", kind, RESOURCE_KINDS)))
        elif not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            table.problems.append(table.source.problem(where, "must be a list of app role names"))
    mailboxes = {}
    for name, knobs in (table.get("mailbox") or {}).items():
        if name not in MICROSOFT_CAST:
            table.problems.append(table.source.problem(("microsoft", "mailbox", name), unknown_message("mailbox", name, MICROSOFT_CAST)))
            continue
        mailboxes[name] = _mailbox(Table(table.source, ("microsoft", "mailbox", name), knobs, MAILBOX, table.problems))
    defaults = MicrosoftSpec()
    return MicrosoftSpec(
        users_can_consent=table.get("users_can_consent", True), consented_scopes=table.get("consented_scopes", ()),
        smtp_auth_disabled=table.get("smtp_auth_disabled", False),
        daemon_roles={k: tuple(v) for k, v in roles.items()} if roles is not None else defaults.daemon_roles,
        daemon_service_principal=table.get("daemon_service_principal", "registered"), sign_in_as=table.get("sign_in_as", "alice"),
        sign_in_decision=table.get("sign_in_decision", "approve"), sign_in_consents=table.get("sign_in_consents", True),
        sign_in_completes_mfa=table.get("sign_in_completes_mfa", True), pending_polls=table.get("pending_polls", 0),
        token_age_seconds=table.get("token_age_seconds", 0), mailboxes=mailboxes,
    )


def _mailbox(table: Table) -> MailboxSpec:
    principals = (*MICROSOFT_CAST, DAEMON)
    for name in ("full_access", "send_as"):
        for principal in table.get(name, ()):
            if principal not in principals:
                table.fail(name, unknown_message("principal", principal, principals))
    return MailboxSpec(
        imap_enabled=table.get("imap_enabled", True), pop_enabled=table.get("pop_enabled", True),
        smtp_auth_disabled=table.get("smtp_auth_disabled"), has_mailbox=table.get("has_mailbox", True),
        full_access=table.get("full_access"), send_as=table.get("send_as", ()), mfa_required=table.get("mfa_required", False),
        blocked_by_conditional_access=table.get("blocked_by_conditional_access", False),
    )


def _google(table: Table) -> GoogleSpec:
    defaults = GoogleSpec()
    return GoogleSpec(**{key.name: table.get(key.name, getattr(defaults, key.name)) for key in GOOGLE})


def _hint(table: Table) -> Hint:
    return Hint(table.get("text", ""), float(table.get("cost", DEFAULT_HINT_COST)))
