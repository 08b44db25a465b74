"""`mailscope lab`: the lab's scenarios. `lab list [--json]` shows them; `lab serve [SCENARIO]` starts the
scenario's servers and identity provider on loopback and prints how to point `mailscope check` (or any
other client) at them, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import TYPE_CHECKING, Any

from tui.commands import lab_fleet
from tui.commands.common import internal_error, silence_stdout

if TYPE_CHECKING:
    from mailscope.lab.session import LabSession
    from mailscope.settings import CheckSettings

DEFAULT_SERVE_SCENARIO = "ms-seed-plain"


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("lab", help="reproducible failure scenarios against emulated Exchange Online and Gmail",
                              description="Emulated Exchange Online / Gmail IMAP servers and identity provider on loopback.")
    sub = p.add_subparsers(dest="lab_command", metavar="LAB_COMMAND")
    listing = sub.add_parser("list", help="list the scenarios")
    listing.add_argument("--json", action="store_true", help="machine-readable list")
    serve = sub.add_parser("serve", help="run a scenario's servers until Ctrl-C")
    serve.add_argument("scenario", nargs="?", default=DEFAULT_SERVE_SCENARIO, help=f"scenario id (default {DEFAULT_SERVE_SCENARIO})")
    serve.add_argument("--port", type=_tcp_port, action="append", default=[], metavar="PORT",
                       help="fixed port for the scenario's mail server (default: a free port)")
    lab_fleet.add_serve_arguments(serve)
    lab_fleet.add_truth_parser(sub)


def _tcp_port(text: str) -> int:
    port = int(text) if text.isdigit() else -1
    if not 0 <= port < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (0-65535)")
    return port


def run(args: argparse.Namespace) -> int:
    try:
        if args.lab_command == "serve":
            return lab_fleet.serve(args) if args.fleet else _serve(args)
        if args.lab_command == "fleet-truth":
            return lab_fleet.print_truth(args)
        if args.lab_command == "list":
            return _list(args.json)
    except BrokenPipeError:  # `mailscope lab list | head`: the reader left
        silence_stdout()
        return 0
    except Exception as exc:  # a bug of ours: one clear line, never a traceback
        return internal_error("lab", exc)
    print("usage: mailscope lab {list [--json] | serve [SCENARIO] | serve --fleet N | fleet-truth N}", file=sys.stderr)
    return 2


def _list(as_json: bool) -> int:
    from mailscope.lab.scenarios import SCENARIOS

    if as_json:
        print(json.dumps([{
            "id": s.id, "title": s.title, "failure_ids": list(s.failure_ids), "expected_finding": s.expected_finding,
            "expected_outcome": str(s.expected_outcome), "servers": list(s.servers), "teaching": s.teaching,
        } for s in SCENARIOS], indent=2))
        return 0
    width = max(len(s.id) for s in SCENARIOS)
    for s in SCENARIOS:
        reproduces = f"  [{', '.join(s.failure_ids)}]" if s.failure_ids else ""
        print(f"{s.id:<{width}}  {s.title}{reproduces}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from mailscope.lab.scenarios import scenario

    try:
        chosen = scenario(args.scenario)
    except LookupError as exc:
        print(f"mailscope lab serve: error: {exc}", file=sys.stderr)
        return 2
    ports = dict(zip(chosen.servers, args.port, strict=False))
    try:
        asyncio.run(_serve_until_interrupted(chosen.id, ports))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"mailscope lab serve: error: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print("lab stopped", file=sys.stderr)
    return 0


async def _serve_until_interrupted(scenario_id: str, ports: dict[str, int]) -> None:
    import asyncio
    import logging

    from mailscope.lab.session import LabSession

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    lab_log = logging.getLogger("mailscope.lab")
    lab_log.addHandler(handler)
    lab_log.setLevel(logging.INFO)
    try:
        async with LabSession(scenario_id, ports=ports) as lab:
            print(describe(lab), flush=True)
            await asyncio.Event().wait()
    finally:
        lab_log.removeHandler(handler)


def describe(lab: LabSession) -> str:
    """What a trainer needs to point a client at the running lab."""
    s = lab.scenario
    lines = [f"lab scenario {s.id}: {s.title}", f"  reproduces: {', '.join(s.failure_ids) or '(healthy reference)'}", ""]
    for key, server in lab.servers.items():
        mode = "implicit TLS" if server.implicit_tls else "plain, STARTTLS offered"
        lines.append(f"  {key:<18} imap {lab.host}:{server.port}  ({mode})")
    assert lab.idp is not None
    lines.append(f"  {'identity provider':<18} {lab.idp.base_url}  (Entra authority {lab.authority('contoso.onmicrosoft.com')}, "
                 f"Google token URI {lab.google_token_uri})")
    lines += [f"  {'CA certificate':<18} {lab.ca_file}", "", "  try:", f"    {check_command_line(lab.settings)}", "",
              f"  {s.teaching}", "", "Ctrl-C stops the lab."]
    return "\n".join(lines)


def check_command_line(settings: CheckSettings) -> str:
    """The `mailscope check` invocation matching these settings (secrets named by file or env var, never shown)."""
    words = ["mailscope", "check", "--host", settings.host, "--port", str(settings.port), "--security", str(settings.security)]
    env: list[str] = []
    if settings.user:
        words += ["--user", settings.user]
    words += ["--mechanism", str(settings.mechanism)]
    if settings.ca_file:
        words += ["--ca-file", settings.ca_file]
    if settings.provider != "generic":
        words += ["--provider", settings.provider]
    if settings.flow and settings.flow not in ("static", "password"):
        words += ["--flow", settings.flow]
    for option, value in (("--client-id", settings.client_id), ("--tenant", settings.tenant), ("--authority", settings.authority),
                          ("--service-account-file", settings.service_account_file), ("--subject", settings.subject),
                          ("--token-endpoint", settings.token_endpoint)):
        if value:
            words += [option, value]
    for scope in settings.scopes:
        words += ["--scope", scope]
    for option, variable, source in (("--password-env", "LAB_PASSWORD", settings.password),
                                     ("--client-secret-env", "LAB_CLIENT_SECRET", settings.client_secret),
                                     ("--refresh-token-env", "LAB_REFRESH_TOKEN", settings.refresh_token)):
        if source is not None and source.kind == "file":
            env.append(f'{variable}="$(cat {shlex.quote(source.ref)})"')
            words += [option, variable]
    if settings.token is not None and settings.token.kind == "file":
        words += ["--token-file", settings.token.ref]
    return " ".join([*env, *(shlex.quote(w) for w in words)])
