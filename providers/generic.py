"""Generic credentials: a static bearer token (file, env var, stdin) or a password."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from mailscope.credential import Credential, TokenAcquisitionError
from mailscope.evidence import TokenEvidence
from mailscope.record import SessionRecord
from mailscope.secret import Secret, SecretKind
from mailscope.settings import SecretSource


def read_secret(source: SecretSource) -> str:
    """Read a secret from where the settings say; errors name the source, never the value."""
    if source.kind == "env":
        value = os.environ.get(source.ref)
        if value is None:
            raise LookupError(f"environment variable {source.ref} is not set")
    elif source.kind == "file":
        try:
            with open(os.path.expanduser(source.ref), encoding="utf-8") as handle:
                value = handle.read()
        except OSError as exc:
            raise LookupError(f"cannot read {source.ref}: {exc.strerror}") from None
    elif source.kind == "stdin":
        value = sys.stdin.readline()
    else:
        raise LookupError(f"secret source {source.describe()} cannot be read here")
    value = value.strip()
    if not value:
        raise LookupError(f"{source.describe()} is empty")
    return value


@dataclass(frozen=True, slots=True)
class StaticSource:
    """A token or password the user already has."""

    source: SecretSource
    is_password: bool

    async def acquire(self, record: SessionRecord) -> Credential:
        kind = SecretKind.PASSWORD if self.is_password else SecretKind.ACCESS_TOKEN
        what = "password" if self.is_password else "token"
        try:
            secret = Secret(kind, read_secret(self.source))
        except LookupError as exc:
            raise TokenAcquisitionError(
                f"cannot read the {what}: {exc}",
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
