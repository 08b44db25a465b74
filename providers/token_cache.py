"""msal's SerializableTokenCache in a file only the user can read (mode 0600, directory 0700).

Placed in `$XDG_RUNTIME_DIR/mailscope/` when set, so it dies with the (SSH) login session; else in
`$XDG_CACHE_HOME/mailscope/` (default `~/.cache/mailscope/`). The blob holds live refresh and access tokens:
`cache_listing()` is the only view of it that may be shown; `mailscope cache list|clear` uses it and `clear_cache()`.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailscope.redact import escape_controls
from providers.inputs import InputError, read_text_file

CACHE_NAME = "msal_token_cache.json"
CACHE_CAP = 16 * 1024 * 1024  # a larger "cache" is not one of ours: it is not read


def default_cache_path() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "mailscope" / CACHE_NAME
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "mailscope" / CACHE_NAME


def _read(path: Path) -> str | None:
    """The cache file's text; None when missing, not a regular file, larger than CACHE_CAP or not text."""
    if not path.exists():
        return None
    try:
        return read_text_file(str(path), "token cache", CACHE_CAP)
    except InputError:
        return None


def load_cache(path: Path) -> Any:
    """A msal.SerializableTokenCache filled from `path` (empty when missing or unreadable)."""
    import msal

    cache = msal.SerializableTokenCache()
    text = _read(path)
    if text is not None:
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            cache.deserialize(text)
    return cache


def save_cache(cache: Any, path: Path) -> None:
    """Write atomically with mode 0600 (created that way: never briefly world-readable)."""
    if not cache.has_state_changed:
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # a directory made earlier with a looser umask: only the user may list it
        os.chmod(path.parent, 0o700)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(cache.serialize())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def granted_scope_for(cache: Any, access_token: str) -> tuple[str, ...] | None:
    """The cached AccessToken's `target` (the granted scopes) for this token, if it is cached."""
    blob = json.loads(cache.serialize() or "{}")
    for entry in blob.get("AccessToken", {}).values():
        if entry.get("secret") == access_token:
            return tuple(str(entry.get("target", "")).split())
    return None


def cache_entries(path: Path) -> list[dict[str, str]]:
    """What the cache holds, without any secret: accounts, then each token's kind, user, environment, realm,
    client id, scopes and expiry. Every value is control-escaped (the file is data anyone could have written)."""
    try:
        blob = json.loads(_read(path) or "{}")
    except (ValueError, RecursionError):
        return []
    if not isinstance(blob, dict):
        return []
    sections = {name: blob.get(name) if isinstance(blob.get(name), dict) else {} for name in
                ("Account", "AccessToken", "RefreshToken", "IdToken")}  # fmt: skip
    accounts = [entry for entry in sections["Account"].values() if isinstance(entry, dict)]
    by_home = {str(entry.get("home_account_id", "")): str(entry.get("username", "")) for entry in accounts}
    rows = [{"kind": "account", "user": str(entry.get("username", "")), "environment": str(entry.get("environment", "")),
             "realm": str(entry.get("realm", ""))} for entry in accounts]  # fmt: skip
    for section, label in (("AccessToken", "access token"), ("RefreshToken", "refresh token"), ("IdToken", "id token")):
        for entry in sections[section].values():
            if not isinstance(entry, dict):
                continue
            row = {"kind": label, "user": by_home.get(str(entry.get("home_account_id", "")), ""),
                   "environment": str(entry.get("environment", "")), "realm": str(entry.get("realm", "")),
                   "client_id": str(entry.get("client_id", ""))}  # fmt: skip
            if entry.get("target"):
                row["scopes"] = str(entry["target"])
            if str(entry.get("expires_on", "")).isdigit():
                row["expires_on"] = datetime.fromtimestamp(int(entry["expires_on"]), UTC).strftime("%Y-%m-%d %H:%M:%SZ")
            rows.append({key: escape_controls(value, keep_newlines=False) for key, value in row.items()})
    return rows


def cache_listing(path: Path) -> list[str]:
    """One line per cached entry (see `cache_entries`). No secret."""
    lines = []
    for row in cache_entries(path):
        kind = row.pop("kind")
        if kind == "account":
            lines.append(f"account {row['user'] or '-'} ({row['environment'] or '-'}, realm {row['realm'] or '-'})")
            continue
        parts = [kind, f"user={row.pop('user') or '-'}", *(f'{key}="{value}"' if " " in value else f"{key}={value or '-'}"
                                                           for key, value in row.items())]  # fmt: skip
        lines.append(" ".join(parts))
    return lines


def clear_cache(path: Path) -> bool:
    """Remove the cache file (and temporary files a killed save left beside it). True when there was one."""
    removed = False
    for leftover in path.parent.glob(path.name + ".*.tmp") if path.parent.is_dir() else ():
        with contextlib.suppress(OSError):
            leftover.unlink()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        removed = True
    return removed
