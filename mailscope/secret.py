"""A wrapper that keeps secret strings out of reprs, logs, tracebacks and f-strings by accident."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class SecretKind(StrEnum):
    ACCESS_TOKEN = "access_token"
    REFRESH_TOKEN = "refresh_token"
    PASSWORD = "password"
    CLIENT_SECRET = "client_secret"
    DEVICE_CODE = "device_code"
    AUTH_CODE = "authorization_code"
    PRIVATE_KEY = "private_key"
    ASSERTION = "assertion"


def fingerprint(value: str | bytes) -> str:
    """`sha256:` + 8 hex: lets two people tell tokens apart without seeing them."""
    data = value.encode() if isinstance(value, str) else value
    return "sha256:" + hashlib.sha256(data).hexdigest()[:8]


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class Secret:
    kind: SecretKind
    _value: str

    def reveal(self) -> str:
        """The only way to the raw value: grep for `.reveal()` to audit every use."""
        return self._value

    @property
    def fingerprint(self) -> str:
        return fingerprint(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"<Secret {self.kind} {len(self._value)} chars {self.fingerprint}>"

    __str__ = __repr__
