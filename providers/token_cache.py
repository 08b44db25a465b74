"""msal's SerializableTokenCache in a file only the user can read (mode 0600, directory 0700).

Placed in `$XDG_RUNTIME_DIR/mailscope/` when set, so it dies with the (SSH) login session; else in the
XDG cache directory. The blob holds live refresh and access tokens: `cache_listing()` is the only view
of it that may be shown.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

CACHE_NAME = "msal_token_cache.json"


def default_cache_path() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "mailscope" / CACHE_NAME
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "mailscope" / CACHE_NAME


def load_cache(path: Path) -> Any:
    """A msal.SerializableTokenCache filled from `path` (empty when missing or unreadable)."""
    import msal

    cache = msal.SerializableTokenCache()
    with contextlib.suppress(OSError, ValueError):
        cache.deserialize(path.read_text(encoding="utf-8"))
    return cache


def save_cache(cache: Any, path: Path) -> None:
    """Write atomically with mode 0600 (created that way: never briefly world-readable)."""
    if not cache.has_state_changed:
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
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


def cache_listing(path: Path) -> list[str]:
    """One line per cached entry: kind, account, environment, realm, client, scopes, expiry. No secret."""
    try:
        blob = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    accounts = {key: entry.get("username", "") for key, entry in blob.get("Account", {}).items()}
    by_home = {entry.get("home_account_id"): entry.get("username", "") for entry in blob.get("Account", {}).values()}
    lines = [f"account {name} ({key.split('-')[0]})" for key, name in sorted(accounts.items())]
    for section, label in (("AccessToken", "access token"), ("RefreshToken", "refresh token"), ("IdToken", "id token")):
        for entry in blob.get(section, {}).values():
            parts = [label, f"user={by_home.get(entry.get('home_account_id'), '') or '-'}",
                     f"environment={entry.get('environment', '')}", f"realm={entry.get('realm', '') or '-'}",
                     f"client_id={entry.get('client_id', '')}"]
            if entry.get("target"):
                parts.append(f'scopes="{entry["target"]}"')
            if entry.get("expires_on"):
                parts.append(f"expires_on={entry['expires_on']}")
            lines.append(" ".join(parts))
    return lines
