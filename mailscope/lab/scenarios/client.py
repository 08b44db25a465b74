"""The settings a scenario's user typed, pointed at the running lab: a CheckSettings for the scenario's client spec.
The secrets the user holds are written as 0600 files (LabContext.write_secret) and named by path, never inlined."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from mailscope.lab.directory import stable_id
from mailscope.lab.scenarios.servers import SERVER_MODES
from mailscope.lab.scenarios.spec import GOOGLE_MAIL, ClientSpec
from mailscope.lab.scenarios.world import (
    DAEMON_CLIENT_ID,
    GOOGLE_CAST,
    GOOGLE_CLIENT_ID,
    MAIL_CLIENT_ID,
    MICROSOFT_CAST,
    TENANT_DOMAIN,
    World,
)
from mailscope.settings import CheckSettings, Mechanism, SecretSource, Security

if TYPE_CHECKING:
    from mailscope.lab.scenarios.model import Scenario

FLOWS = {"microsoft": ("device_code", "client_credentials", "password"), "google": ("refresh_token", "service_account", "password")}
# device_code has none: the scopes are the point of such a scenario, its file names them
DEFAULT_SCOPES = {"client_credentials": ("https://outlook.office365.com/.default",), "refresh_token": (GOOGLE_MAIL,),
                  "service_account": (GOOGLE_MAIL,), "password": ()}
CAST = {"microsoft": MICROSOFT_CAST, "google": GOOGLE_CAST}


class LabContext(Protocol):
    """What a running lab offers the settings builder (implemented by LabSession)."""

    ca_file: str

    def endpoint(self, server: str) -> tuple[str, int]: ...

    def write_secret(self, name: str, value: str) -> SecretSource: ...

    def write_file(self, name: str, text: str) -> str: ...

    def authority(self, tenant: str) -> str: ...

    @property
    def google_token_uri(self) -> str: ...


def address(provider: str, user: str) -> str:
    """A cast name (alice, bob, sales) as its address; an address or "" as written."""
    return CAST[provider].get(user, user)


def default_mechanism(provider: str, flow: str) -> Mechanism:
    if flow != "password":
        return Mechanism.XOAUTH2
    return Mechanism.PLAIN if provider == "microsoft" else Mechanism.LOGIN  # the Jira seed / a Gmail client's LOGIN


def build_settings(scenario: Scenario, ctx: LabContext, world: World) -> CheckSettings:
    client = scenario.client
    host, port = ctx.endpoint(scenario.server_under_test)
    protocol, security = SERVER_MODES[scenario.server_under_test]
    fields: dict[str, Any] = {
        "host": host, "port": port, "protocol": protocol, "security": Security(client.security or security), "ca_file": ctx.ca_file,
        "timeout": 4.0, "user": address(scenario.provider, "alice" if client.user is None else client.user),
        "mechanism": Mechanism(client.mechanism) if client.mechanism else default_mechanism(scenario.provider, client.flow),
        "provider": scenario.provider, "flow": client.flow,
        "scopes": DEFAULT_SCOPES.get(client.flow, ()) if client.scopes is None else client.scopes,
    }
    if client.sasl_ir != "auto":
        fields["sasl_ir"] = client.sasl_ir
    fields.update(_credential(scenario.provider, client, ctx, world, fields["user"]))
    return CheckSettings(**fields)


def _credential(provider: str, client: ClientSpec, ctx: LabContext, world: World, user: str) -> dict[str, Any]:
    """Where the token (or password) comes from: the app, the authority, and the secrets the user holds."""
    if client.flow == "password":
        if provider == "microsoft":
            return {"password": ctx.write_secret("password", world.secrets["alice_password"])}
        held = world.secrets["app_password" if client.password == "app-password" else "account_password"]
        return {"password": ctx.write_secret("gmail-password", held)}
    if client.flow in ("device_code", "client_credentials"):
        fields: dict[str, Any] = {"tenant": TENANT_DOMAIN, "authority": ctx.authority(TENANT_DOMAIN), "extra": {"token_cache": "none"}}
        if client.flow == "device_code":
            return {**fields, "client_id": MAIL_CLIENT_ID}
        pasted = stable_id("secret-id", DAEMON_CLIENT_ID) if client.client_secret == "secret-id" else world.secrets["daemon_secret"]
        return {**fields, "client_id": DAEMON_CLIENT_ID, "client_secret": ctx.write_secret("client-secret", pasted)}
    fields = {"token_endpoint": ctx.google_token_uri}
    if client.flow == "refresh_token":
        return {**fields, "client_id": GOOGLE_CLIENT_ID,
                "client_secret": ctx.write_secret("google-client-secret", world.secrets["google_client_secret"]),
                "refresh_token": ctx.write_secret("google-refresh-token", world.secrets["google_refresh_token"])}
    key = world.service_account_key
    assert key is not None, "a Google world always has its service account"
    subject = user if client.subject is None else address(provider, client.subject)
    return {**fields, "service_account_file": ctx.write_file("service-account.json", key.key_json(ctx.google_token_uri)),
            "subject": subject}
