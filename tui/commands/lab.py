"""`mailscope lab`: the lab's scenarios. `lab list [--json]` shows them; `lab serve [SCENARIO]` starts the
scenario's servers and identity provider on loopback (ports fixable on the command line) and prints how to point
`mailscope check` or any other client at them, until Ctrl-C, SIGTERM or SIGHUP; `lab token SCENARIO` prints the
token (or password) that scenario's client obtains, from the running `lab serve` of that scenario, so a third-party
client can sign in to the lab with it.

`lab serve` leaves its settings (secrets only named by their 0600 files) as a profile in its private temporary
directory, next to its pid file, which it holds locked while it runs; `lab token` finds it there. Everything is removed
when the lab stops; a lab killed outright leaves its directory, which the free lock marks as stale.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.commands import lab_fleet
from tui.commands.common import internal_error, silence_stdout
from tui.commands.lab_files import add_validate_parser, run_validate

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mailscope.credential import Credential
    from mailscope.lab.scenarios import Scenario
    from mailscope.lab.session import LabSession
    from mailscope.settings import CheckSettings

DEFAULT_SERVE_SCENARIO = "ms-seed-plain"
SERVE_PROFILE = "serve.toml"  # in the lab's directory: the scenario's settings (a profile named after the scenario)
SERVE_PID = "serve.pid"


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("lab", help="reproducible failure scenarios against emulated Exchange Online and Gmail",
                              description="Emulated Exchange Online / Gmail servers and identity provider on loopback.")
    sub = p.add_subparsers(dest="lab_command", metavar="LAB_COMMAND")
    listing = sub.add_parser("list", help="list the scenarios")
    listing.add_argument("--json", action="store_true", help="machine-readable list")
    listing.add_argument("--dir", action="append", default=[], metavar="DIR", help="also the scenario files in DIR (repeatable)")
    serve = sub.add_parser("serve", help="run a scenario's servers until Ctrl-C")
    serve.add_argument("scenario", nargs="?", default=DEFAULT_SERVE_SCENARIO,
                       help=f"scenario id or file (default {DEFAULT_SERVE_SCENARIO})")
    serve.add_argument("--lab-dir", action="append", default=[], metavar="DIR", help="a directory of scenario files (repeatable)")
    serve.add_argument("--port", type=_server_port, action="append", default=[], metavar="[SERVER=]PORT",
                       help="fixed port for a mail server: SERVER=PORT, or PORT for the scenario's servers in order (repeatable)")
    serve.add_argument("--idp-port", type=_tcp_port, metavar="PORT", help="fixed port for the identity provider")
    token = sub.add_parser("token", help="print the token (or password) the scenario's client obtains (a lab secret)",
                           description="Print, to stdout only, the access token (or password) the scenario's client obtains. "
                                       "Taken from the running `mailscope lab serve SCENARIO`, so any client can use it there.")
    token.add_argument("scenario", help="scenario id or file")
    token.add_argument("--lab-dir", action="append", default=[], metavar="DIR", help="a directory of scenario files (repeatable)")
    lab_fleet.add_serve_arguments(serve)
    lab_fleet.add_truth_parser(sub)
    add_validate_parser(sub)


def _tcp_port(text: str) -> int:
    port = int(text) if text.isdigit() else -1
    if not 0 <= port < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (0-65535)")
    return port


def _server_port(text: str) -> tuple[str, int]:
    """`993` (next server in order, key "") or `exchange=10993`."""
    key, _, port = text.rpartition("=")
    return key.strip(), _tcp_port(port.strip())


def run(args: argparse.Namespace) -> int:
    try:
        if args.lab_command == "serve":
            return lab_fleet.serve(args) if args.fleet else _serve(args)
        if args.lab_command == "fleet-truth":
            return lab_fleet.print_truth(args)
        if args.lab_command == "token":
            return _token(args.scenario, args.lab_dir)
        if args.lab_command == "list":
            return _list(args.json, args.dir)
        if args.lab_command == "validate":
            return run_validate(args)
    except BrokenPipeError:  # `mailscope lab list | head`: the reader left
        silence_stdout()
        return 0
    except Exception as exc:  # a bug of ours: one clear line, never a traceback
        return internal_error("lab", exc)
    print("usage: mailscope lab {list [--json] [--dir DIR] | serve [SCENARIO] | serve --fleet N | fleet-truth N | token SCENARIO | "
          "validate FILE...}", file=sys.stderr)
    return 2


def _list(as_json: bool, dirs: list[str]) -> int:
    from mailscope.datafile import DataFileError
    from mailscope.lab.scenarios import available
    from mailscope.redact import escape_controls

    try:
        scenarios = available(dirs)
    except DataFileError as exc:
        print("\n".join(escape_controls(f"mailscope lab list: error: {problem}") for problem in exc.problems), file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps([{
            "id": s.id, "title": s.title, "failure_ids": list(s.failure_ids), "expected_finding": s.expected_finding,
            "expected_outcome": str(s.expected_outcome), "servers": list(s.servers), "teaching": s.teaching,
        } for s in scenarios], indent=2))
        return 0
    width = max(len(s.id) for s in scenarios)
    for s in scenarios:
        reproduces = f"  [{', '.join(s.failure_ids)}]" if s.failure_ids else ""
        print(f"{s.id:<{width}}  {s.title}{reproduces}")
    return 0


# -- serve ------------------------------------------------------------------------------------------
def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from mailscope.lab.scenarios import scenario

    try:
        chosen = scenario(args.scenario, args.lab_dir)
        ports = requested_ports(chosen.servers, args.port)
    except (LookupError, ValueError) as exc:  # an unknown id or server, or an invalid scenario file (its problems, one a line)
        from mailscope.redact import escape_controls

        print(escape_controls(f"mailscope lab serve: error: {exc}"), file=sys.stderr)
        return 2
    if args.idp_port is not None:
        ports["idp"] = args.idp_port
    try:
        asyncio.run(_serve_until_stopped(chosen, ports))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"mailscope lab serve: error: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print("lab stopped", file=sys.stderr)
    return 0


def requested_ports(servers: tuple[str, ...], given: list[tuple[str, int]]) -> dict[str, int]:
    """`--port` values as {server key: port}; bare ports go to the servers without one, in the scenario's order."""
    ports = {key: port for key, port in given if key}
    unknown = sorted(set(ports) - set(servers))
    if unknown:
        raise LookupError(f"the scenario has no server {', '.join(map(repr, unknown))}; its servers: {', '.join(servers)}")
    free = [key for key in servers if key not in ports]
    bare = [port for key, port in given if not key]
    if len(bare) > len(free):
        raise LookupError(f"{len(bare)} bare --port values for {len(free)} server(s) without a port ({', '.join(servers)})")
    ports.update(zip(free, bare, strict=False))
    return ports


async def _serve_until_stopped(chosen: Scenario, ports: dict[str, int]) -> None:
    import asyncio
    import logging
    import signal

    from mailscope.lab.session import LabSession
    from providers.profiles import save_profile

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    lab_log = logging.getLogger("mailscope.lab")
    lab_log.addHandler(handler)
    lab_log.setLevel(logging.INFO)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGHUP):  # a service manager or a closed terminal: clean up like Ctrl-C
        loop.add_signal_handler(signum, stop.set)
    try:
        async with LabSession(chosen, ports=ports) as lab:
            assert lab.directory is not None
            save_profile(lab.scenario.id, lab.settings, lab.directory / SERVE_PROFILE)
            with _alive_marker(lab.directory / SERVE_PID):
                print(describe(lab), flush=True)
                await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        lab_log.removeHandler(handler)


@contextlib.contextmanager
def _alive_marker(path: Path) -> Iterator[None]:
    """The pid file, locked for as long as the lab runs: the kernel drops the lock when the process ends however it
    ends, so a lab killed with SIGKILL is never taken for a running one (a pid alone can be reused, even by a thread)."""
    with path.open("w", encoding="ascii") as marker:
        fcntl.flock(marker, fcntl.LOCK_EX)
        marker.write(f"{os.getpid()}\n")
        marker.flush()
        yield


def _is_held(path: Path) -> bool:
    """Does a running process hold the lock of this pid file? (Probing takes the lock for an instant when it is free.)"""
    with path.open("rb") as marker:
        try:
            fcntl.flock(marker, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(marker, fcntl.LOCK_UN)
        return False


def describe(lab: LabSession) -> str:
    """What a trainer needs to point a client at the running lab."""
    from mailscope.lab.idp import lab_endpoints

    s = lab.scenario
    settings = lab.settings
    assert lab.idp is not None
    lines = [f"lab scenario {s.id}: {s.title}", f"  reproduces: {', '.join(s.failure_ids) or '(healthy reference)'}", ""]
    for key, server in lab.servers.items():
        mode = "implicit TLS" if server.implicit_tls else "plain, STARTTLS offered"
        lines.append(f"  {key:<18} {server.protocol} {lab.host}:{server.port}  ({mode})")
    authority = lab.authority(settings.tenant or "contoso.onmicrosoft.com")
    lines.append(f"  {'identity provider':<18} {lab.idp.base_url}  (Entra authority {authority}, Google token URI {lab.google_token_uri})")
    lines += [f"    {line.replace('<tenant>', settings.tenant or '<tenant>')}" for line in lab_endpoints(lab.idp.base_url)]
    lines += [f"  {'CA certificate':<18} {lab.ca_file}  (trust it: SSL_CERT_FILE=..., curl --cacert ..., REQUESTS_CA_BUNDLE=...)", "",
              "  try:", f"    {check_command_line(settings)}", "", "  any other client:", *(f"    {line}" for line in client_setup(lab)),
              "", f"  {s.teaching}", "", "Ctrl-C stops the lab."]
    return "\n".join(lines)


def client_setup(lab: LabSession) -> list[str]:
    """How a third-party client is configured for this scenario (no secret printed: files and `lab token` name them)."""
    settings = lab.settings
    assert lab.idp is not None
    host, port = lab.endpoint(lab.scenario.server_under_test)
    lines = [f"server {host}:{port} ({settings.security}), user {settings.user or '(none)'}, mechanism {settings.mechanism}"]
    if settings.provider == "microsoft" and settings.client_id:
        lines.append(f"Microsoft client id {settings.client_id}, authority {settings.authority}, scope {' '.join(settings.scopes)}; "
                     "redirect URI http://localhost (any port); the lab's user approves sign-ins and device codes by itself")
    if settings.provider == "google" and settings.client_id:
        lines.append(f"Google client id {settings.client_id}, consent URL {lab.idp.google_auth_uri}, token URL {settings.token_endpoint}, "
                     "redirect URI http://localhost (any port)")
    for label, source in (("client secret", settings.client_secret), ("refresh token", settings.refresh_token),
                          ("password", settings.password)):
        if source is not None and source.kind == "file":
            lines.append(f"{label} in {source.ref}")
    if settings.service_account_file:
        lines.append(f"service account key {settings.service_account_file}")
    lines.append(f"mailscope lab token {lab.scenario.id}   prints the token (or password) this scenario's client obtains")
    return lines


def check_command_line(settings: CheckSettings) -> str:
    """The `mailscope check` invocation matching these settings (secrets named by file or env var, never shown)."""
    words = ["mailscope", "check", "--host", settings.host, "--port", str(settings.port), "--security", str(settings.security)]
    if settings.protocol != "imap":  # POP3/SMTP scenarios (CLI options of CONTRACTS §2)
        words += ["--protocol", str(settings.protocol)]
    if settings.sasl_ir != "auto":
        words += ["--sasl-ir", settings.sasl_ir]
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


# -- token ------------------------------------------------------------------------------------------
def running_lab(scenario_id: str) -> Path | None:
    """The directory of this user's running `lab serve SCENARIO` (its pid file locked), or None."""
    prefix = f"mailscope-lab-{scenario_id}-"  # LabSession's mkdtemp prefix; the random rest never holds a '-'
    for directory in sorted(Path(tempfile.gettempdir()).glob(prefix + "*")):
        if "-" in directory.name[len(prefix):]:
            continue  # another scenario whose id starts with this one (ms-healthy-starttls)
        try:
            info = directory.stat()
            if info.st_uid != os.getuid() or info.st_mode & 0o077 or not (directory / SERVE_PROFILE).is_file():
                continue  # not ours, or open to others: never trusted
            if not _is_held(directory / SERVE_PID):
                continue  # left behind by a lab that was killed
        except OSError:
            continue
        return directory
    return None


def _token(scenario_ref: str, lab_dirs: list[str]) -> int:
    import asyncio

    from mailscope.credential import TokenAcquisitionError
    from mailscope.lab.scenarios import scenario
    from mailscope.redact import escape_controls

    try:
        chosen = scenario(scenario_ref, lab_dirs)
    except (LookupError, ValueError) as exc:
        print(escape_controls(f"mailscope lab token: error: {exc}"), file=sys.stderr)
        return 2
    scenario_id = chosen.id
    try:
        credential, where = asyncio.run(_acquire(chosen))
    except TokenAcquisitionError as exc:
        print(f"mailscope lab token: the scenario's client gets no token: {exc}", file=sys.stderr)
        return 1
    if credential is None:
        print(f"mailscope lab token: scenario {scenario_id} has no credential to print", file=sys.stderr)
        return 1
    if credential.is_password:
        what = "the password its client sends"
    else:
        token = credential.token
        what = f"the access token its client obtains ({token.flow} via {token.source})" if token else "its client's access token"
    print(f"mailscope lab token: LAB SECRET on stdout, for scenario {scenario_id}: {what}. {where} "
          "Keep it out of tickets and chats all the same.", file=sys.stderr)
    print(credential.secret.reveal(), flush=True)
    return 0


async def _acquire(chosen: Scenario) -> tuple[Credential | None, str]:
    """The scenario's credential, from the running `lab serve` if there is one, else from a lab that lives for this command."""
    from providers.profiles import load_profile

    scenario_id = chosen.id
    directory = running_lab(scenario_id)
    if directory is not None:
        settings = load_profile(scenario_id, directory / SERVE_PROFILE)
        where = f"The running lab accepts it (mailscope lab serve {scenario_id}, {settings.host}:{settings.port})."
        return await _credential(settings), where
    from mailscope.lab.session import LabSession

    print(f"mailscope lab token: no `mailscope lab serve {scenario_id}` is running: the token comes from a lab that stops "
          "with this command (only its claims are of use).", file=sys.stderr)
    async with LabSession(chosen) as lab:
        return await _credential(lab.settings), "Its lab has stopped already."


async def _credential(settings: CheckSettings) -> Credential | None:
    """What the scenario's client gets, through the real provider code (the lab's simulated user signs in by itself)."""
    from mailscope.record import SessionRecord
    from providers.registry import token_source_for
    from tui.commands.signin import SignInPrompts

    print("mailscope lab token: signing in as the scenario's client; the lab's simulated user completes the sign-in by itself",
          file=sys.stderr)
    record = SessionRecord(settings)
    record.subscribe(SignInPrompts())
    source = token_source_for(settings)
    return await source.acquire(record) if source is not None else None
