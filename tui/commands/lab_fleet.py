"""The lab fleet on the command line: `mailscope lab serve --fleet N [--seed S]` serves N mailboxes in mixed states
until Ctrl-C and prints how to audit them; `mailscope lab fleet-truth N [--seed S]` prints what the lab knows about
that fleet (the same seed, the same fleet), to check an audit's summary against.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailscope.lab.fleet import Fleet, FleetLab


def positive(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def fleet_size(text: str) -> int:
    """argparse type: how many mailboxes a lab fleet has (1 to MAX_FLEET_SIZE)."""
    from mailscope.lab.fleet import MAX_FLEET_SIZE

    size = positive(text)
    if size > MAX_FLEET_SIZE:
        raise argparse.ArgumentTypeError(f"{text!r}: a lab fleet has at most {MAX_FLEET_SIZE:,} mailboxes")
    return size


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    fleet = serve.add_argument_group("fleet (instead of a scenario)")
    fleet.add_argument("--fleet", type=fleet_size, metavar="N", help="serve a fleet of N service mailboxes in mixed states")
    add_fleet_options(fleet)
    fleet.add_argument("--truth", metavar="FILE", help="also write the fleet's truth (JSON) to FILE")
    fleet.add_argument("--json", action="store_true", help="describe the running fleet as one JSON line (paths, no secret)")


def add_truth_parser(sub: Any) -> None:
    truth = sub.add_parser(
        "fleet-truth",
        help="print what the lab knows about a fleet (JSON)",
        description="Each mailbox's state, real cause and expected primary finding, and the counts an "
        "audit's summary must show. The same N and seed give the same fleet.",
    )
    truth.add_argument("size", type=fleet_size, metavar="N", help="mailboxes in the fleet")
    add_fleet_options(truth)


def add_fleet_options(group: Any) -> None:
    """--seed and --protocols: which fleet (`lab serve --fleet`, `lab fleet-truth`, `audit --lab-fleet`)."""
    group.add_argument("--seed", type=int, default=0, help="the same seed, the same fleet (default 0)")
    group.add_argument("--protocols", default="imap", metavar="LIST", help="comma separated: imap, pop3, smtp (default imap)")


def fleet_from_args(size: int, seed: int, protocols: str) -> Fleet:
    from mailscope.lab.fleet import make_fleet
    from mailscope.settings import Protocol

    names = [p.strip().lower() for p in protocols.split(",") if p.strip()]
    unknown = [name for name in names if name not in {p.value for p in Protocol}]
    if unknown or not names:
        raise LookupError(f"--protocols {protocols!r}: give one or more of {', '.join(p.value for p in Protocol)}")
    return make_fleet(size, seed, protocols=tuple(dict.fromkeys(map(Protocol, names))))


def write_truth(fleet: Fleet, path: str) -> None:
    """The fleet's truth as JSON; OSError when it cannot be written (a FIFO is refused at once, not waited on)."""
    import os

    from mailscope.localfile import open_output

    with os.fdopen(open_output(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), "w", encoding="utf-8") as handle:
        json.dump(fleet.truth(), handle, indent=2)
        handle.write("\n")


def print_truth(args: argparse.Namespace) -> int:
    try:
        fleet = fleet_from_args(args.size, args.seed, args.protocols)
    except LookupError as exc:
        print(f"mailscope lab fleet-truth: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(fleet.truth(), indent=2))
    return 0


def serve(args: argparse.Namespace) -> int:
    import asyncio

    try:
        fleet = fleet_from_args(args.fleet, args.seed, args.protocols)
        asyncio.run(_serve_until_stopped(fleet, args))
    except KeyboardInterrupt:
        pass
    except LookupError as exc:
        print(f"mailscope lab serve: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"mailscope lab serve: error: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print("lab stopped", file=sys.stderr)
    return 0


async def _serve_until_stopped(fleet: Fleet, args: argparse.Namespace) -> None:
    import asyncio
    import signal

    from mailscope.lab.fleet import FleetLab

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGHUP):  # a service manager or a closed terminal: clean up like Ctrl-C
        loop.add_signal_handler(signum, stop.set)
    async with FleetLab(fleet) as lab:
        truth = lab.write_file("truth.json", json.dumps(fleet.truth(), indent=2) + "\n")
        if args.truth:
            try:
                write_truth(fleet, args.truth)
            except OSError as exc:
                raise OSError(f"cannot write --truth {args.truth}: {exc.strerror or exc}") from None
        print(json.dumps(describe_json(lab, truth)) if args.json else describe(lab, truth), flush=True)
        await stop.wait()


def audit_command_line(lab: FleetLab) -> str:
    """The `mailscope audit` invocation for the running fleet: the check options its rows share, the CSV for the rest."""
    from tui.commands.lab import check_command_line

    return check_command_line(lab.settings).replace("mailscope check", f"mailscope audit {shlex.quote(lab.mailboxes_csv)}", 1)


def describe(lab: FleetLab, truth: str) -> str:
    fleet = lab.fleet
    lines = [f"lab fleet: {fleet.size} mailboxes of {lab.settings.tenant} (seed {fleet.seed}; {', '.join(map(str, fleet.protocols))})", ""]
    for key, server in lab.servers.items():
        lines.append(f"  {key:<18} {lab.host}:{server.port}  ({'implicit TLS' if server.implicit_tls else 'plain, STARTTLS offered'})")
    assert lab.idp is not None
    lines += [
        f"  {'identity provider':<18} {lab.idp.base_url}",
        f"  {'CA certificate':<18} {lab.ca_file}",
        f"  {'mailboxes':<18} {lab.mailboxes_csv}",
        f"  {'truth':<18} {truth}  (`mailscope lab fleet-truth {fleet.size} --seed {fleet.seed}` prints the same)",
        "",
        "  audit it:",
        f"    {audit_command_line(lab)}",
        "",
        "Ctrl-C stops the lab.",
    ]
    return "\n".join(lines)


def describe_json(lab: FleetLab, truth: str) -> dict[str, Any]:
    """For scripts (benchmarks/audit.py): where everything is; secrets only as the paths of their 0600 files."""
    settings = lab.settings
    assert lab.idp is not None and settings.client_secret is not None
    return {
        "size": lab.fleet.size,
        "seed": lab.fleet.seed,
        "mailboxes_csv": lab.mailboxes_csv,
        "truth": truth,
        "ca_file": lab.ca_file,
        "authority": settings.authority,
        "tenant": settings.tenant,
        "client_id": settings.client_id,
        "client_secret_file": settings.client_secret.ref,
        "scopes": list(settings.scopes),
        "idp": lab.idp.base_url,
        "servers": {key: {"host": lab.host, "port": server.port} for key, server in lab.servers.items()},
    }
