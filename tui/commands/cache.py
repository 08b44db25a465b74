"""`mailscope cache list|clear`: the msal token cache that user sign-ins (device code, auth code, silent) keep.

`list` shows where it is and what it holds (accounts, token kinds, scopes, expiry: never a token); `clear` removes
it, so the next sign-in starts afresh. Exit 0; 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tui.commands.common import internal_error, silence_stdout


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "cache",
        help="list or clear the token cache (accounts, scopes, expiry; never a token)",
        description="The msal token cache: $XDG_RUNTIME_DIR/mailscope/ when set, else $XDG_CACHE_HOME/mailscope/.",
    )
    sub = p.add_subparsers(dest="cache_command", metavar="CACHE_COMMAND")
    listing = sub.add_parser("list", help="where the cache is and what it holds, without secrets")
    listing.add_argument("--json", action="store_true", help="machine-readable listing")
    sub.add_parser("clear", help="remove the cached tokens")


def run(args: argparse.Namespace) -> int:
    from providers.token_cache import cache_entries, cache_listing, clear_cache, default_cache_path

    if args.cache_command not in ("list", "clear"):
        print("mailscope cache: say `list` or `clear`", file=sys.stderr)
        return 2
    try:
        path = default_cache_path()
        if args.cache_command == "clear":
            print(f"removed the token cache {path}" if clear_cache(path) else f"no token cache at {path}")
        elif args.json:
            print(json.dumps({"path": str(path), "exists": path.exists(), "entries": cache_entries(path)}, indent=2, ensure_ascii=True))
        else:
            lines = cache_listing(path)
            print(f"token cache: {path}" + ("" if path.exists() else " (none yet)"))
            for line in lines:
                print(f"  {line}")
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    except Exception as exc:  # a bug of ours: one redacted line, never a traceback
        return internal_error("cache", exc)
    return 0
