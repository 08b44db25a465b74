"""Settings pane: what the user types to run a live session. Presets fill host/port/security/cloud;
secret fields accept only a *source* (env:VAR, file:/path, prompt), never the secret itself."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, Select

from mailscope.settings import CheckSettings, Mechanism, Protocol, SecretSource, Security
from providers.presets import CLOUDS, HOST_PRESETS, microsoft_scopes
from providers.profiles import ProfileError, parse_secret_source

FLOWS = ("device_code", "auth_code", "client_credentials", "client_certificate", "refresh_token", "password", "static", "service_account")
PROVIDERS = ("microsoft", "google", "generic")
SECRET_FIELDS = ("token", "password", "client_secret", "refresh_token")


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


class SettingsPane(VerticalScroll):
    DEFAULT_CSS = """
    SettingsPane { padding: 0 1; }
    SettingsPane Horizontal { height: auto; }
    SettingsPane Label { width: 16; padding: 1 1 0 0; text-align: right; }
    SettingsPane Input, SettingsPane Select { width: 1fr; }
    SettingsPane #buttons Button { margin: 1 1 0 0; }
    SettingsPane .hint { color: $text-muted; padding: 0 0 0 16; height: auto; width: 1fr; text-align: left; }
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

    def on_mount(self) -> None:
        if self._initial is not None:
            self.load(self._initial)
        self.set_presenter(self._presenter)

    def compose(self) -> ComposeResult:
        def row(label: str, widget) -> Horizontal:
            return Horizontal(Label(label), widget)

        yield row("Preset", Select([(p.title, p.id) for p in HOST_PRESETS], id="preset", prompt="choose a server preset"))
        yield row("Provider", Select([(p, p) for p in PROVIDERS], id="provider", value="generic", allow_blank=False))
        yield row("Host", Input(placeholder="imap.example.com", id="host"))
        yield row("Port", Input("993", id="port", type="integer"))
        yield row("Security", Select([(s.value, s.value) for s in Security], id="security", value="tls", allow_blank=False))
        yield row("Protocol", Select([(p.value, p.value) for p in Protocol], id="protocol", value="imap", allow_blank=False))
        yield row("User", Input(placeholder="user@example.com (the mailbox to sign in to)", id="user"))
        yield row("Mechanism", Select([(m.value, m.value) for m in Mechanism], id="mechanism", value="auto", allow_blank=False))
        yield row("Flow", Select([(f, f) for f in FLOWS], id="flow", value="static", allow_blank=False))
        yield row("Client id", Input(placeholder="application (client) id", id="client_id"))
        yield row("Tenant", Input(placeholder="tenant id or domain (Microsoft)", id="tenant"))
        yield row("Cloud", Select([(c.title, c.id) for c in CLOUDS.values()], id="cloud", prompt="from the host"))
        yield row("Scopes", Input(placeholder="blank = the right ones for provider, protocol and flow", id="scopes"))
        yield Label("Secrets: only where they come from (env:VAR, file:/path, prompt). Never the value.", classes="hint")
        for name in SECRET_FIELDS:
            yield row(name.replace("_", " ").capitalize(), Input(placeholder="env:VAR  or  file:/path  or  prompt", id=f"src_{name}"))
        yield row("Profile", Input(placeholder="profile name", id="profile"))
        with Horizontal(id="buttons"):
            yield Button("Run these settings", id="run", variant="primary")
            yield Button("Load profile", id="load")
            yield Button("Save profile", id="save")

    def _input(self, name: str) -> Input:
        return self.query_one(f"#{name}", Input)

    def _select(self, name: str) -> Select:
        return self.query_one(f"#{name}", Select)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != "preset" or event.value is Select.NULL:
            return
        preset = next(p for p in HOST_PRESETS if p.id == event.value)
        self._select("provider").value = preset.provider
        self._input("host").value = preset.host
        self._input("port").value = str(preset.port)
        self._select("security").value = preset.security.value
        self._select("protocol").value = preset.protocol.value
        if preset.cloud:
            self._select("cloud").value = preset.cloud
        if preset.provider == "microsoft":
            self._select("mechanism").value = Mechanism.XOAUTH2.value
            self._select("flow").value = "device_code"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "run":
            self.post_message(self.RunRequested())
        else:
            self.post_message(self.ProfileAction(event.button.id or "", self._input("profile").value.strip()))

    def set_presenter(self, on: bool) -> None:
        """Presenter mode hides identifying fields (user, tenant, client id) behind password masking."""
        for name in ("user", "tenant", "client_id"):
            self._input(name).password = on

    def to_settings(self) -> CheckSettings:
        host = self._input("host").value.strip()
        if not host:
            raise SettingsError("host: choose a preset or type the server name")
        try:
            port = int(self._input("port").value)
        except ValueError:
            raise SettingsError("port: a number such as 993") from None
        if not 0 < port < 65536:
            raise SettingsError("port: between 1 and 65535")
        protocol = Protocol(self._select("protocol").value)
        provider = str(self._select("provider").value)
        flow = str(self._select("flow").value)
        cloud_value = self._select("cloud").value
        cloud = "" if cloud_value is Select.NULL else str(cloud_value)
        scopes = tuple(self._input("scopes").value.split())
        if not scopes and provider == "microsoft":
            scopes = microsoft_scopes(protocol, cloud or "global", flow)
        sources = {name: parse_source(name, self._input(f"src_{name}").value) for name in SECRET_FIELDS}
        return CheckSettings(
            host=host, port=port, security=Security(self._select("security").value), user=self._input("user").value.strip(),
            mechanism=Mechanism(self._select("mechanism").value), protocol=protocol, provider=provider, flow=flow,
            client_id=self._input("client_id").value.strip(), tenant=self._input("tenant").value.strip(), cloud=cloud,
            scopes=scopes, **sources,
        )

    def load(self, settings: CheckSettings) -> None:
        self._input("host").value = settings.host
        self._input("port").value = str(settings.port)
        self._select("security").value = settings.security.value
        self._select("protocol").value = settings.protocol.value
        self._select("provider").value = settings.provider if settings.provider in PROVIDERS else "generic"
        self._input("user").value = settings.user
        self._select("mechanism").value = settings.mechanism.value
        self._select("flow").value = settings.flow if settings.flow in FLOWS else "static"
        self._input("client_id").value = settings.client_id
        self._input("tenant").value = settings.tenant
        if settings.cloud in CLOUDS:
            self._select("cloud").value = settings.cloud
        self._input("scopes").value = " ".join(settings.scopes)
        for name in SECRET_FIELDS:
            source: SecretSource | None = getattr(settings, name)
            self._input(f"src_{name}").value = source.describe() if source else ""
