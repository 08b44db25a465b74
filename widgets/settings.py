"""Settings pane: everything a live check needs, validated as you type. Presets fill host/port/security/cloud;
the port follows protocol and security until the user types one; secret fields accept only a *source*
(env:VAR, file:/path, prompt), never the secret itself; profiles load and save (providers/profiles.py).

Validation has two levels: an *error* (the check cannot run: no host, port 0, a CA file that does not exist, a
literal secret) blocks Run; a *warning* (a scope without a resource prefix, an authority without https) only
says what it will cause, because reproducing a user's wrong setting is the point of the tool.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from mailscope.protocols import default_port
from mailscope.settings import CheckSettings, Mechanism, Protocol, SecretSource, Security
from providers.presets import CLOUDS, HOST_PRESETS, microsoft_scopes
from providers.profiles import ProfileError, list_profiles, parse_secret_source

FLOWS = {
    "static": "static token (token source below)",
    "device_code": "device code (msal / Google)",
    "auth_code": "authorization code (browser, loopback or paste-back)",
    "client_credentials": "client credentials: secret (app-only)",
    "client_certificate": "client credentials: certificate (app-only)",
    "refresh_token": "refresh token",
    "password": "password (basic auth, PLAIN / LOGIN)",
    "service_account": "Google service account (domain-wide delegation)",
}
PROVIDERS = ("microsoft", "google", "generic")
SECRET_FIELDS = ("token", "password", "client_secret", "refresh_token")
SASL_IR = {"auto": "auto", "yes": "yes: on the AUTH line (one-line form)", "no": "no: after the continuation (two-step form)"}
SASL_IR_HINT = {
    Protocol.IMAP: "auto: on the AUTHENTICATE line only when the server lists SASL-IR",
    Protocol.POP3: "auto: two-step (AUTH XOAUTH2, then +, then the response); yes: one line, which Exchange refuses",
    Protocol.SMTP: "auto: on the AUTH line (RFC 4954)",
}
IDENTIFYING = ("user", "tenant", "client_id", "authority", "subject")  # hidden in presenter mode

_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|[0-9A-Fa-f:]+)$")
_OIDC_SCOPES = ("offline_access", "openid", "profile", "email")
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SettingsError(ValueError):
    """A setting the user typed is unusable; the message says which and why."""


def parse_source(field: str, text: str) -> SecretSource | None:
    """`env:VAR` / `file:/path` / `prompt` / `stdin` -> SecretSource. Anything else is refused without echoing it."""
    text = text.strip()
    if not text:
        return None
    try:
        return parse_secret_source(text, field)
    except ProfileError as error:
        raise SettingsError(str(error)) from None


@dataclass(frozen=True, slots=True)
class Problem:
    level: str  # "error" blocks Run; "warning" only informs
    text: str


def _file(label: str, path: str) -> Problem | None:
    if not path:
        return None
    path = os.path.expanduser(path)
    if not os.path.exists(path):
        return Problem("error", f"{label}: no such file")
    if os.path.isdir(path):
        return Problem("error", f"{label}: a directory, not a file")
    if not os.access(path, os.R_OK):
        return Problem("error", f"{label}: not readable")
    return None


def _url(label: str, value: str) -> Problem | None:
    if not value:
        return None
    if not re.match(r"^https?://[^\s/]+", value):
        return Problem("error", f"{label}: a URL such as https://login.microsoftonline.com/contoso.onmicrosoft.com")
    if value.startswith("http://"):
        return Problem("warning", f"{label}: http:// sends credentials unencrypted; identity providers use https://")
    return None


class SettingsPane(VerticalScroll):
    DEFAULT_CSS = """
    SettingsPane { padding: 0 1; }
    SettingsPane Horizontal { height: auto; }
    SettingsPane .section { text-style: bold; color: $accent; padding: 1 0 0 0; }
    SettingsPane Label { width: 18; padding: 1 1 0 0; text-align: right; }
    SettingsPane Input, SettingsPane Select { width: 1fr; }
    SettingsPane #verify-row Checkbox { width: 1fr; }
    SettingsPane #verify-row.-danger Checkbox { background: $error 60%; color: $text; text-style: bold; }
    SettingsPane #buttons Button { margin: 1 1 0 0; }
    SettingsPane .hint { color: $text-muted; padding: 0 0 0 18; height: auto; width: 1fr; }
    SettingsPane .msg { padding: 0 0 0 18; height: auto; width: 1fr; display: none; }
    SettingsPane .msg.-error { color: $error; text-style: bold; display: block; }
    SettingsPane .msg.-warning { color: $warning; display: block; }
    SettingsPane #problems { height: auto; padding: 0 0 0 18; }
    SettingsPane #problems.-error { color: $error; text-style: bold; }
    """

    class RunRequested(Message):
        """The user asked to run a live session with these settings."""

    class ProfileAction(Message):
        def __init__(self, action: str, name: str) -> None:
            super().__init__()
            self.action = action
            self.name = name

    def __init__(self, *, initial: CheckSettings | None = None, presenter: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self._initial = initial
        self._presenter = presenter
        self._port_default = 993  # the port follows protocol + security while it shows their default
        self._touched: set[str] = set()  # fields the user changed: a fresh form does not open full of red
        self._show_all = False  # after a Run attempt or a profile load, every field's problem shows

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        def row(label: str, widget: Widget, name: str, hint: str = "") -> ComposeResult:
            yield Horizontal(Label(label), widget, id=f"{name}-row")
            if hint:
                yield Static(hint, classes="hint", id=f"hint_{name}")
            yield Static("", classes="msg", id=f"msg_{name}")

        def text(name: str, placeholder: str, **kwargs) -> Input:
            return Input(placeholder=placeholder, id=name, **kwargs)

        def choice(name: str, options: list[tuple[str, str]], value: str) -> Select:
            return Select(options, id=name, value=value, allow_blank=False)

        yield Static("Server", classes="section")
        yield from row("Preset", Select([(p.title, p.id) for p in HOST_PRESETS], id="preset", prompt="choose a server preset"), "preset")
        yield from row("Protocol", choice("protocol", [(p.value.upper(), p.value) for p in Protocol], "imap"), "protocol")
        yield from row("Security", choice("security", [("implicit TLS", "tls"), ("STARTTLS", "starttls"), ("none (plain)", "plain")],
                                          "tls"), "security")
        yield from row("Host", text("host", "imap.example.com"), "host")
        yield from row("Port", Input("993", id="port", type="integer"), "port", "follows protocol and security until you type one")
        yield from row("CA file", text("ca_file", "blank: the system trust store (a PEM file for a private CA)"), "ca_file")
        yield from row("Verification", Checkbox("Skip certificate verification (INSECURE)", id="insecure"), "verify")
        yield Static("Sign-in", classes="section")
        yield from row("User", text("user", "user@example.com (the mailbox to sign in to)"), "user")
        yield from row("Mechanism", choice("mechanism", [(m.value, m.value) for m in Mechanism], "auto"), "mechanism")
        yield from row("Initial response", choice("sasl_ir", [(v, k) for k, v in SASL_IR.items()], "auto"), "sasl_ir",
                       SASL_IR_HINT[Protocol.IMAP])
        yield from row("Test message", Checkbox("SMTP: after the checks, send one real message to the user (DATA)", id="send_test"),
                       "send_test")
        yield Static("Token", classes="section")
        yield from row("Provider", choice("provider", [(p, p) for p in PROVIDERS], "generic"), "provider")
        yield from row("Token source", choice("flow", [(title, flow) for flow, title in FLOWS.items()], "static"), "flow")
        yield from row("Client id", text("client_id", "application (client) id"), "client_id")
        yield from row("Tenant", text("tenant", "tenant id or domain (Microsoft): contoso.onmicrosoft.com"), "tenant")
        yield from row("Cloud", Select([(c.title, c.id) for c in CLOUDS.values()], id="cloud", prompt="from the host"), "cloud")
        yield from row("Authority", text("authority", "blank: from cloud + tenant (an explicit URL for labs)"), "authority")
        yield from row("Scopes", text("scopes", "blank: the right ones for provider, protocol and flow"), "scopes")
        yield Static("Secrets: only where they come from (env:VAR, file:/path, prompt). Never the value.", classes="hint")
        for name in SECRET_FIELDS:
            yield from row(name.replace("_", " ").capitalize(), text(f"src_{name}", "env:VAR  or  file:/path  or  prompt"), f"src_{name}")
        yield from row("Certificate", text("certificate", "PEM file (client credentials with a certificate)"), "certificate")
        yield from row("Service account", text("service_account_file", "JSON key file (Google service account)"), "service_account_file")
        yield from row("Subject", text("subject", "mailbox to impersonate (Google domain-wide delegation)"), "subject")
        yield from row("Token endpoint", text("token_endpoint", "generic OAuth token endpoint URL"), "token_endpoint")
        yield Static("Profile", classes="section")
        yield from row("Profile", Input(placeholder="profile name", id="profile", suggester=SuggestFromList(self._profile_names())),
                       "profile")
        yield Static("", id="problems")
        with Horizontal(id="buttons"):
            yield Button("Run these settings", id="run", variant="primary")
            yield Button("Load profile", id="load")
            yield Button("Save profile", id="save")

    @staticmethod
    def _profile_names() -> list[str]:
        try:
            return list_profiles()
        except ProfileError:
            return []

    def on_mount(self) -> None:
        self._show_protocol_fields()
        if self._initial is not None:
            self.load(self._initial)
        self.set_presenter(self._presenter)
        self.validate_all()

    def _input(self, name: str) -> Input:
        return self.query_one(f"#{name}", Input)

    def _select(self, name: str) -> Select:
        return self.query_one(f"#{name}", Select)

    def _value(self, name: str) -> str:
        value = self._select(name).value
        return "" if value is Select.NULL else str(value)

    # -- events ----------------------------------------------------------------------------------
    def on_select_changed(self, event: Select.Changed) -> None:
        name = event.select.id or ""
        self._touched.add(name)
        if name == "preset" and event.value is not Select.NULL:
            self._apply_preset(str(event.value))
        elif name in ("protocol", "security"):
            self._follow_port()
            self._show_protocol_fields()
        self.validate_all()

    def _show_protocol_fields(self) -> None:
        """What the initial-response choice means for this protocol; the test message only for SMTP."""
        protocol = Protocol(self._value("protocol"))
        self.query_one("#hint_sasl_ir", Static).update(SASL_IR_HINT[protocol])
        self.query_one("#send_test-row").display = protocol is Protocol.SMTP

    def on_input_changed(self, event: Input.Changed) -> None:
        self._touched.add(event.input.id or "")
        self.validate_all()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id != "insecure":
            return
        self._touched.add("verify")
        self.query_one("#verify-row").set_class(event.value, "-danger")
        self.validate_all()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "run":
            self.post_message(self.RunRequested())
        else:
            self.post_message(self.ProfileAction(event.button.id or "", self._input("profile").value.strip()))

    def _apply_preset(self, preset_id: str) -> None:
        preset = next(p for p in HOST_PRESETS if p.id == preset_id)
        self._select("provider").value = preset.provider
        self._input("host").value = preset.host
        self._select("security").value = preset.security.value
        self._select("protocol").value = preset.protocol.value
        self._input("port").value = str(preset.port)
        self._port_default = default_port(preset.protocol, preset.security)
        if preset.cloud:
            self._select("cloud").value = preset.cloud
        if preset.provider == "microsoft":
            self._select("mechanism").value = Mechanism.XOAUTH2.value
            self._select("flow").value = "device_code"

    def _follow_port(self) -> None:
        """A port the user typed stays; one that was the old default becomes the new default."""
        new = default_port(Protocol(self._value("protocol")), Security(self._value("security")))
        port = self._input("port")
        if port.value.strip() in ("", str(self._port_default)):
            port.value = str(new)
        self._port_default = new

    def set_presenter(self, on: bool) -> None:
        """Presenter mode hides identifying fields (user, tenant, client id, authority, subject) behind password masking."""
        for name in IDENTIFYING:
            self._input(name).password = on

    # -- validation ------------------------------------------------------------------------------
    def problems(self) -> dict[str, Problem]:
        """Every field's problem, by field id (pure over the current values)."""
        found: dict[str, Problem] = {}

        def add(name: str, problem: Problem | None) -> None:
            if problem is not None:
                found[name] = problem

        host = self._input("host").value.strip()
        if not host:
            add("host", Problem("error", "host: choose a preset or type the server name"))
        elif not _HOST.match(host):
            add("host", Problem("error", "host: a name such as imap.example.com or an address, no spaces or scheme"))
        port = self._input("port").value.strip()
        if not port.isdigit() or not 0 < int(port) < 65536:
            add("port", Problem("error", "port: a number between 1 and 65535"))
        add("ca_file", _file("CA file", self._input("ca_file").value.strip()))
        if self.query_one("#insecure", Checkbox).value:
            add("verify", Problem("warning", "certificate verification is OFF: anyone on the path can read the token. For a lab only."))
        security = self._value("security")
        mechanism = Mechanism(self._value("mechanism"))
        if security == "plain" and mechanism is not Mechanism.AUTO:
            add("security", Problem("warning", "no TLS: the credential crosses the network readable"))
        user = self._input("user").value.strip()
        if not user:
            add("user", Problem("warning", "user: empty, so the SASL exchange names no mailbox (user=); servers refuse that"))
        elif any(c.isspace() for c in user):
            add("user", Problem("error", "user: no spaces"))
        flow, provider = self._value("flow"), self._value("provider")
        client_id = self._input("client_id").value.strip()
        if provider == "microsoft" and flow not in ("static", "password") and not client_id:
            add("client_id", Problem("warning", "client id: the application (client) id of the app registration is needed"))
        tenant = self._input("tenant").value.strip()
        if tenant and not re.fullmatch(r"[A-Za-z0-9.-]+", tenant):
            add("tenant", Problem("error", "tenant: a tenant id (GUID) or a domain such as contoso.onmicrosoft.com"))
        add("authority", _url("authority", self._input("authority").value.strip()))
        add("token_endpoint", _url("token endpoint", self._input("token_endpoint").value.strip()))
        if provider == "microsoft":
            bare = [s for s in self._input("scopes").value.split() if "/" not in s and s not in _OIDC_SCOPES]
            if bare:
                add("scopes", Problem("warning", f"{bare[0]} has no resource prefix: Entra then issues a Microsoft Graph token"))
        for name in SECRET_FIELDS:
            value = self._input(f"src_{name}").value.strip()
            try:
                parse_source(name, value)
            except SettingsError as error:
                add(f"src_{name}", Problem("error", str(error)))
        if flow == "static" and not self._input("src_token").value.strip() and mechanism.is_oauth:
            add("src_token", Problem("warning", "token: where the access token comes from (env:VAR, file:/path or prompt)"))
        add("certificate", _file("certificate", self._input("certificate").value.strip()))
        add("service_account_file", _file("service account file", self._input("service_account_file").value.strip()))
        profile = self._input("profile").value.strip()
        if profile and not _PROFILE_NAME.match(profile):
            add("profile", Problem("error", "profile: letters, digits, '.', '_' or '-'"))
        return found

    def validate_all(self) -> dict[str, Problem]:
        """Show each field's problem under it and a summary above the buttons."""
        found = self.problems()
        for message in self.query(".msg"):
            name = (message.id or "").removeprefix("msg_")
            problem = found.get(name) if self._show_all or name in self._touched else None
            message.update(problem.text if problem else "")
            message.set_class(problem is not None and problem.level == "error", "-error")
            message.set_class(problem is not None and problem.level == "warning", "-warning")
        errors = [p for p in found.values() if p.level == "error"]
        summary = self.query_one("#problems", Static)
        summary.update(f"{len(errors)} problem(s) to fix before Run: " + "; ".join(p.text.split(":")[0] for p in errors) if errors
                       else "Ready: r (outside a text field) or the button runs these settings.")
        summary.set_class(bool(errors), "-error")
        return found

    # -- settings in and out ---------------------------------------------------------------------
    def to_settings(self) -> CheckSettings:
        self._show_all = True
        errors = [p for p in self.validate_all().values() if p.level == "error"]
        if errors:
            raise SettingsError(errors[0].text)
        protocol = Protocol(self._value("protocol"))
        provider, flow, cloud = self._value("provider"), self._value("flow"), self._value("cloud")
        scopes = tuple(self._input("scopes").value.split())
        if not scopes and provider == "microsoft":
            scopes = microsoft_scopes(protocol, cloud or "global", flow)
        sources = {name: parse_source(name, self._input(f"src_{name}").value) for name in SECRET_FIELDS}

        def value(name: str) -> str:
            return self._input(name).value.strip()

        return CheckSettings(
            host=value("host"), port=int(value("port")), security=Security(self._value("security")), user=value("user"),
            mechanism=Mechanism(self._value("mechanism")), sasl_ir=self._value("sasl_ir"), protocol=protocol,
            ca_file=os.path.expanduser(value("ca_file")) or None, verify_tls=not self.query_one("#insecure", Checkbox).value,
            provider=provider, flow=flow, client_id=value("client_id"), tenant=value("tenant"), cloud=cloud,
            authority=value("authority"), scopes=scopes, certificate=value("certificate") or None,
            service_account_file=value("service_account_file") or None, subject=value("subject"),
            token_endpoint=value("token_endpoint"), send_test=protocol is Protocol.SMTP and self.query_one("#send_test", Checkbox).value,
            **sources,
        )

    def load(self, settings: CheckSettings) -> None:
        self._show_all = True

        def put(name: str, value: str | None) -> None:
            self._input(name).value = value or ""

        put("host", settings.host)
        self._select("security").value = settings.security.value
        self._select("protocol").value = settings.protocol.value
        put("port", str(settings.port))
        self._port_default = default_port(settings.protocol, settings.security)
        put("ca_file", settings.ca_file)
        self.query_one("#insecure", Checkbox).value = not settings.verify_tls
        self._select("provider").value = settings.provider if settings.provider in PROVIDERS else "generic"
        put("user", settings.user)
        self._select("mechanism").value = settings.mechanism.value
        self._select("sasl_ir").value = settings.sasl_ir if settings.sasl_ir in SASL_IR else "auto"
        self.query_one("#send_test", Checkbox).value = settings.send_test
        self._select("flow").value = settings.flow if settings.flow in FLOWS else "static"
        put("client_id", settings.client_id)
        put("tenant", settings.tenant)
        if settings.cloud in CLOUDS:
            self._select("cloud").value = settings.cloud
        put("authority", settings.authority)
        put("scopes", " ".join(settings.scopes))
        for name in SECRET_FIELDS:
            source: SecretSource | None = getattr(settings, name)
            put(f"src_{name}", source.describe() if source else "")
        put("certificate", settings.certificate)
        put("service_account_file", settings.service_account_file)
        put("subject", settings.subject)
        put("token_endpoint", settings.token_endpoint)
