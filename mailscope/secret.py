"""A wrapper that keeps secret strings out of reprs, logs, tracebacks and f-strings by accident.

`Secret` is deliberately not a dataclass: `dataclasses.asdict`/`fields` (and every report or JSON
writer that walks dataclasses) would otherwise reach the raw value. It refuses pickling (a pickle
is a copy of the value on disk), copies to itself (it is immutable), and formats as its safe repr.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NoReturn

# The interpreter's own SHA-256, as random.py takes its SHA-512: `import hashlib` asks OpenSSL for every digest it has
# and loads BLAKE2 first, ~1 ms of every start-up for the one digest a fingerprint needs.
try:
    from _sha2 import sha256  # Python 3.12+
except ImportError:
    try:
        from _sha256 import sha256  # Python 3.11
    except ImportError:  # a build without either
        from hashlib import sha256


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
    data = secret_bytes(value) if isinstance(value, str) else value
    return "sha256:" + sha256(data).hexdigest()[:8]


def secret_bytes(value: str) -> bytes:
    """The bytes a secret read as text stands for. Text read from a log or an environment variable carries a byte that
    is not UTF-8 as a lone surrogate (surrogateescape): that byte again, as the wire and the log have it. Any other lone
    surrogate (a JSON `\\ud800` escape) is encoded as it is, never an error."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


class Secret:
    __slots__ = ("kind", "_value")
    kind: SecretKind
    _value: str

    def __init__(self, kind: SecretKind, value: str) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "_value", value)

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

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("Secret is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("Secret is immutable")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("a Secret cannot be pickled (it would write the value out); pass it in memory only")

    def __getstate__(self) -> NoReturn:
        raise TypeError("a Secret has no serialisable state")
