"""Generic credentials: a static bearer token (file, env var, stdin) or a password."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from mailscope.credential import Credential, TokenAcquisitionError
from mailscope.evidence import TokenEvidence
from mailscope.record import SessionRecord
from mailscope.secret import Secret, SecretKind
from mailscope.settings import SecretSource
from providers.inputs import SECRET_FILE_CAP, read_secret_text, read_source


def read_secret(source: SecretSource, field_name: str | None = None) -> str:
    """Read a secret from where the settings say; errors (LookupError) name the source or its flag, never the value.
    Files and stdin are read within a cap and without blocking (see providers.inputs)."""
    if source.kind in ("env", "file"):
        return read_source(source, field_name)
    if source.kind == "stdin":
        return read_secret_text(sys.stdin.readline(SECRET_FILE_CAP + 2), "the secret on standard input")
    if source.kind == "prompt":
        raise LookupError("this secret is asked at run time: the console asks for it; headless, name env:VAR or file:/path instead")
    raise LookupError(f"secret source {source.describe()} cannot be read here")


@dataclass(frozen=True, slots=True)
class StaticSource:
    """A token or password the user already has."""

    source: SecretSource
    is_password: bool

    async def acquire(self, record: SessionRecord) -> Credential:
        kind = SecretKind.PASSWORD if self.is_password else SecretKind.ACCESS_TOKEN
        what = "password" if self.is_password else "token"
        try:
            secret = Secret(kind, read_secret(self.source, what))
        except LookupError as exc:
            raise TokenAcquisitionError(
                f"the {what} could not be read ({exc})",
                TokenEvidence(kind="none", source=self.source.describe(), flow="static"),
            ) from None
        record.redactor.register(secret, "password" if self.is_password else None)
        token = self.describe(secret)
        record.set_token(token)
        return Credential(secret=secret, is_password=self.is_password, token=token)

    def describe(self, secret: Secret) -> TokenEvidence:
        if self.is_password:
            return TokenEvidence(
                kind="password", shape="password", length=len(secret), fingerprint=secret.fingerprint,
                flow="password", source=self.source.describe(),
            )
        from providers.inspect import inspect_token  # providers' token inspection (JWT / opaque)

        return inspect_token(secret, flow="static", source=self.source.describe())


@dataclass(frozen=True, slots=True)
class OAuthRefreshSource:
    """Any OAuth2 token endpoint (RFC 6749 §6): a refresh token, a client id and optionally a client secret."""

    token_endpoint: str
    client_id: str
    refresh_token: SecretSource
    client_secret: SecretSource | None = None
    scopes: tuple[str, ...] = ()
    ca_file: str | None = None

    async def acquire(self, record: SessionRecord) -> Credential:
        from providers.http import HttpTap
        from providers.tokens import Attempt

        tap = HttpTap(record, ca_file=self.ca_file)
        attempt = Attempt(record, tap, provider="generic", flow="refresh_token", source="oauth2", requested_scopes=self.scopes,
                          authority=self.token_endpoint)
        try:
            if not self.token_endpoint.startswith(("https://", "http://")):
                attempt.fail({"error": "configuration_error", "error_description": "the token endpoint must be an http(s) URL"})
            refresh = attempt.read_secret(self.refresh_token, SecretKind.REFRESH_TOKEN, "refresh token")
            form = {"grant_type": "refresh_token", "client_id": self.client_id, "refresh_token": refresh.reveal()}
            if self.client_secret is not None:
                form["client_secret"] = attempt.read_secret(self.client_secret, SecretKind.CLIENT_SECRET, "client secret").reveal()
            if self.scopes:
                form["scope"] = " ".join(self.scopes)
            response = await attempt.run(tap.send, "POST", self.token_endpoint, data=form, headers={"Accept": "application/json"})
            body = tap.last_json
            if body is None:
                attempt.fail({"error": "unexpected_response",
                              "error_description": f"HTTP {response.status_code} without a JSON body from {self.token_endpoint}"})
            if "access_token" not in body:
                attempt.fail(body if "error" in body else {"error": "no_token", "error_description": "the response has no access_token"})
            for name in ("refresh_token", "id_token"):
                if body.get(name):
                    record.redactor.register(str(body[name]), name)
            scope = body.get("scope")
            granted = tuple(scope.split() if isinstance(scope, str) else scope) if scope is not None else None
            expires_in = body.get("expires_in")
            return attempt.success(str(body["access_token"]), granted_scopes=granted,
                                   expires_in=float(expires_in) if isinstance(expires_in, int | float | str) and str(expires_in).isdigit()
                                   else None, has_refresh_token=bool(body.get("refresh_token")) or None)
        finally:
            tap.close()
