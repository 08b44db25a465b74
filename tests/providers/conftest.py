"""A lab world for the provider tests: the lab identity provider (real HTTPS, lab CA) with a Contoso
tenant, public and confidential apps, a Google Workspace user, OAuth client and service accounts.

Tests use unmodified msal and google-auth against it; nothing leaves loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from mailscope.events import Event, PromptRequested
from mailscope.lab.ca import LabCA
from mailscope.lab.directory import (
    AppRegistration,
    Directory,
    GoogleOAuthClient,
    GoogleRefreshToken,
    GoogleUser,
    MsRefreshToken,
    MsUser,
    Tenant,
)
from mailscope.lab.idp import LabIdentityProvider
from mailscope.lab.idp_keys import GeneratedAppCertificate, GeneratedServiceAccount, generate_app_certificate, generate_service_account
from mailscope.record import SessionRecord
from mailscope.settings import CheckSettings, SecretSource

TENANT = "contoso.onmicrosoft.com"
USER = "alice@contoso.onmicrosoft.com"
MFA_USER = "bob@contoso.onmicrosoft.com"
PUBLIC_APP = "11111111-1111-1111-1111-111111111111"
WEB_APP = "22222222-2222-2222-2222-222222222222"  # confidential: no public client flows
DAEMON_APP = "33333333-3333-3333-3333-333333333333"  # client credentials (secret and certificate)
UNCONSENTED_APP = "44444444-4444-4444-4444-444444444444"
UNKNOWN_APP = "99999999-9999-9999-9999-999999999999"
CLIENT_SECRET = "lab~Secret.Value_0123456789abcdefghijklmn"
MS_REFRESH_TOKEN = "0.AAAA" + "r" * 60 + "mfa-missing"
GOOGLE_CLIENT_ID = "123456789-lab.apps.googleusercontent.com"
GOOGLE_CLIENT_SECRET = "GOCSPX-labClientSecretValue12345"
GOOGLE_USER = "carol@example.org"
GOOGLE_REFRESH_TOKEN = "1//0" + "g" * 80
GOOGLE_REVOKED_REFRESH_TOKEN = "1//0" + "x" * 80
GOOGLE_MAIL = "https://mail.google.com/"


@dataclass
class Lab:
    idp: LabIdentityProvider
    directory: Directory
    certificate: GeneratedAppCertificate
    sa_with_dwd: GeneratedServiceAccount
    sa_without_dwd: GeneratedServiceAccount
    tmp: Path

    def settings(self, **changes: object) -> CheckSettings:
        base = CheckSettings(host="127.0.0.1", port=993, user=USER, provider="microsoft", flow="device_code", client_id=PUBLIC_APP,
                             tenant=TENANT, authority=self.idp.authority(TENANT), ca_file=self.idp.ca_file)
        return replace(base, **changes)

    def google_settings(self, **changes: object) -> CheckSettings:
        base = CheckSettings(host="127.0.0.1", port=993, user=GOOGLE_USER, provider="google", flow="refresh_token",
                             client_id=GOOGLE_CLIENT_ID, client_secret=SecretSource("env", "LAB_GOOGLE_SECRET"),
                             refresh_token=SecretSource("env", "LAB_GOOGLE_RT"), token_endpoint=self.idp.google_token_uri,
                             ca_file=self.idp.ca_file, scopes=(GOOGLE_MAIL,))
        return replace(base, **changes)

    def key_file(self, account: GeneratedServiceAccount) -> str:
        path = self.tmp / f"{account.account.client_email.split('@')[0]}.json"
        path.write_text(account.key_json(self.idp.google_token_uri), encoding="utf-8")
        return str(path)

    def certificate_file(self) -> str:
        path = self.tmp / "app-cert.pem"
        path.write_text(self.certificate.private_key_pem + self.certificate.cert_pem, encoding="utf-8")
        return str(path)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("providers-lab")
    ca = LabCA.create(tmp / "ca")
    certificate = generate_app_certificate()
    sa_with = generate_service_account("mailer@lab-project.iam.gserviceaccount.com", dwd_scopes=(GOOGLE_MAIL,))
    sa_without = generate_service_account("nodwd@lab-project.iam.gserviceaccount.com")
    tenant = Tenant(TENANT)
    directory = Directory(
        tenants=[tenant],
        users=[MsUser(USER, tenant.id), MsUser(MFA_USER, tenant.id, mfa_required=True)],
        apps=[
            AppRegistration(PUBLIC_APP, tenant.id, consented_scopes=frozenset({"IMAP.AccessAsUser.All", "POP.AccessAsUser.All",
                                                                               "SMTP.Send"})),
            AppRegistration(WEB_APP, tenant.id, public_client=False, secrets=(CLIENT_SECRET,)),
            AppRegistration(DAEMON_APP, tenant.id, public_client=False, secrets=(CLIENT_SECRET,),
                            certificates=(certificate.credential,), app_roles={"exchange": ("IMAP.AccessAsApp", "SMTP.SendAsApp")}),
            AppRegistration(UNCONSENTED_APP, tenant.id),
        ],
        ms_refresh_tokens=[MsRefreshToken(MS_REFRESH_TOKEN, PUBLIC_APP, MFA_USER, ("https://outlook.office.com/IMAP.AccessAsUser.All",))],
        google_clients=[GoogleOAuthClient(GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET)],
        google_users=[GoogleUser(GOOGLE_USER)],
        google_refresh_tokens=[
            GoogleRefreshToken(GOOGLE_REFRESH_TOKEN, GOOGLE_CLIENT_ID, GOOGLE_USER, (GOOGLE_MAIL,)),
            GoogleRefreshToken(GOOGLE_REVOKED_REFRESH_TOKEN, GOOGLE_CLIENT_ID, GOOGLE_USER, (GOOGLE_MAIL,), revoked=True),
        ],
        service_accounts=[sa_with.account, sa_without.account],
        device_code_interval=0,
    )
    directory.sign_in.upn = USER
    with LabIdentityProvider(directory, ca) as idp:
        yield Lab(idp, directory, certificate, sa_with, sa_without, tmp)


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Token cache and profiles go to this test's own XDG directories."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("LAB_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("LAB_GOOGLE_SECRET", GOOGLE_CLIENT_SECRET)
    monkeypatch.setenv("LAB_GOOGLE_RT", GOOGLE_REFRESH_TOKEN)
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    return runtime


class Recorder:
    """A SessionRecord plus every event it emitted (prompts included)."""

    def __init__(self, settings: CheckSettings | None = None) -> None:
        self.record = SessionRecord(settings)
        self.events: list[Event] = []
        self.record.subscribe(self.events.append)

    @property
    def prompts(self) -> list[PromptRequested]:
        return [e for e in self.events if isinstance(e, PromptRequested)]

    def text(self) -> str:
        return "\n".join(line.text for line in self.record.lines)
