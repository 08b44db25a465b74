"""Named settings in `$XDG_CONFIG_HOME/mailscope/profiles.toml` (`--profile NAME`, the console's load/save).

A profile never holds a secret: secret fields name where the secret comes from at run time
(`env:VAR`, `file:/path`, `stdin`, `prompt`). Saving refuses anything that looks like a secret value.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, fields
from enum import Enum
from pathlib import Path
from typing import Any

from mailscope.patterns import lazy
from mailscope.protocols import default_port
from mailscope.settings import CheckSettings, Mechanism, Protocol, SecretSource, Security
from providers.inputs import InputError, read_text_file

SECRET_FIELDS = ("token", "password", "client_secret", "refresh_token")
SECRET_SOURCE_KINDS = ("env", "file", "stdin", "prompt")
_ENUMS = {"security": Security, "mechanism": Mechanism, "protocol": Protocol}
# compiled on first use: `mailscope audit` and `check` load this module for parse_secret_source, which needs none of them
_SECRET_KEY_WORDS = lazy(r"^(?:.*[_-])?(?:secret|password|passwd|pwd|token|assertion|private_key|api_?key)$", re.I)
_SECRET_SHAPES = lazy(
    r"eyJ[\w-]{4,}\.[\w-]{4,}\.|^ya29\.|^1//0|^Ew[AB][\w+/=]{20,}|^0\.A[\w.-]{30,}|-----BEGIN [A-Z ]*PRIVATE KEY-----|^4/0[\w-]{20,}")
_NAME_RE = lazy(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ProfileError(ValueError):
    """A profile could not be read or written; the message says why (never quoting a secret)."""


def profiles_path() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "mailscope" / "profiles.toml"


def _read_all(path: Path) -> dict[str, dict[str, Any]]:
    if not os.path.lexists(path):
        return {}
    import tomllib  # here, not at import: `mailscope audit` and `check` import this module for parse_secret_source alone

    try:  # a regular file under 1 MiB, read without blocking (a FIFO or /dev/zero named as the file is refused)
        data = tomllib.loads(read_text_file(str(path), "profiles file"))
    except InputError as exc:
        raise ProfileError(str(exc)) from None
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ProfileError(f"cannot read {path}: {exc}") from None
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ProfileError(f"{path}: [profiles] must be a table")
    return profiles


def list_profiles(path: Path | None = None) -> list[str]:
    return sorted(_read_all(path or profiles_path()))


def parse_secret_source(value: str, field_name: str) -> SecretSource:
    """`env:VAR` / `file:/path` / `stdin` / `prompt`: anything else is refused as a possible literal secret."""
    kind, _, ref = value.partition(":")
    if kind in ("stdin", "prompt") and not ref:
        return SecretSource(kind)
    if kind in ("env", "file") and ref:
        if kind == "env" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ref):
            raise ProfileError(f"{field_name}: {ref!r} is not an environment variable name")
        return SecretSource(kind, ref)
    raise ProfileError(f"{field_name} must name where the secret comes from (env:VAR, file:/path, stdin or prompt), "
                       "never the secret itself")


def load_profile(name: str, path: Path | None = None) -> CheckSettings:
    """The profile as CheckSettings; a profile without host/port gets "" and the protocol's usual port for its security,
    so the caller can `dataclasses.replace()` what the command line adds."""
    fields_ = load_profile_fields(name, path)
    fields_.setdefault("host", "")
    fields_.setdefault("port", default_port(fields_.get("protocol", Protocol.IMAP), fields_.get("security", Security.TLS)))
    return CheckSettings(**fields_)


def load_profile_fields(name: str, path: Path | None = None) -> dict[str, Any]:
    """Only the fields the profile sets, as keyword arguments for CheckSettings (enums, tuples, SecretSources rebuilt)."""
    path = path or profiles_path()
    profiles = _read_all(path)
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ProfileError(f"no profile {name!r} in {path} (known: {known})")
    raw = profiles[name]
    known_fields = {f.name for f in fields(CheckSettings)}
    result: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known_fields:
            raise ProfileError(f"profile {name!r}: unknown setting {key!r}")
        if key in SECRET_FIELDS:
            result[key] = parse_secret_source(str(value), key)
        elif key in _ENUMS:
            try:
                result[key] = _ENUMS[key](str(value))
            except ValueError:
                raise ProfileError(f"profile {name!r}: {key} = {value!r} is not one of "
                                   f"{', '.join(m.value for m in _ENUMS[key])}") from None
        elif key == "scopes":
            result[key] = tuple(str(s) for s in value)
        elif key == "extra":
            result[key] = {str(k): str(v) for k, v in dict(value).items()}
        else:
            result[key] = value
    _check_no_secrets(name, {k: v for k, v in raw.items() if k not in SECRET_FIELDS})
    return result


def _plain(settings: CheckSettings | dict[str, Any]) -> dict[str, Any]:
    data = asdict(settings) if isinstance(settings, CheckSettings) else dict(settings)
    plain: dict[str, Any] = {}
    for key, value in data.items():
        if value is None or value == "" or value == () or value == {}:
            continue
        if key in SECRET_FIELDS:
            if isinstance(value, SecretSource):
                value = value.describe()
            elif isinstance(value, dict) and "kind" in value:
                value = SecretSource(value["kind"], value.get("ref", "")).describe()
            parse_secret_source(str(value), key)  # refuses literal secrets
        elif isinstance(value, Enum):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        plain[key] = value
    return plain


def _check_no_secrets(name: str, data: dict[str, Any]) -> None:
    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if _SECRET_KEY_WORDS().search(str(key)) and isinstance(inner, str) and inner and not _is_reference(inner):
                    raise ProfileError(f"profile {name!r}: {prefix}{key} looks like a secret value; store env:VAR or file:/path instead")
                walk(f"{prefix}{key}.", inner)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(prefix, item)
        elif isinstance(value, str) and _SECRET_SHAPES().search(value):
            raise ProfileError(f"profile {name!r}: {prefix.rstrip('.') or 'a value'} looks like a token or key; "
                               "profiles never hold secrets (name an env var or a file)")

    walk("", data)


def _is_reference(value: str) -> bool:
    try:
        parse_secret_source(value, "value")
    except ProfileError:
        return False
    return True


def save_profile(name: str, settings: CheckSettings | dict[str, Any], path: Path | None = None) -> Path:
    """Store (or replace) one profile; refuses secret-looking values with a message naming the field."""
    import tomli_w

    if not _NAME_RE().match(name):
        raise ProfileError(f"profile name {name!r}: use letters, digits, '.', '_' or '-'")
    path = path or profiles_path()
    plain = _plain(settings)
    _check_no_secrets(name, plain)
    profiles = _read_all(path)
    profiles[name] = plain
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        tomli_w.dump({"profiles": profiles}, handle)
    os.replace(tmp, path)
    return path


def delete_profile(name: str, path: Path | None = None) -> bool:
    import tomli_w

    path = path or profiles_path()
    profiles = _read_all(path)
    if profiles.pop(name, None) is None:
        return False
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        tomli_w.dump({"profiles": profiles}, handle)
    return True
