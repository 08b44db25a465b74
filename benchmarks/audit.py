"""`mailscope audit` of a lab fleet against a bare aioimaplib loop doing the same sign-ins (a client-credentials token
from msal per app of the sheet: the fleet's, and one whose secret expired; then per mailbox of an app that got one,
XOAUTH2, CAPABILITY when the answer listed none (as the probe asks, for Exchange's post-login list), EXAMINE INBOX,
and LOGOUT unless the server hung up (after a refused or throttled sign-in too, as the audit says goodbye); the
throttled ones retried after the same waits as the audit's: 50 ms, doubling per attempt, with the same jitter) at the
same concurrency, against the same kind of lab: `mailscope lab serve --fleet N` in its own process, a fresh one per run
(its throttling knob counts sign-ins). First both sides run once with their client lines recorded
(benchmarks/wire_parity.py): no ratio unless they sent the same commands, HTTP to the token endpoint included. Then
both run as fresh processes; runs are interleaved; medians side by side, their ratio, the audit's peak RSS, and whether
the audit's summary counts equal the lab's truth.
Targets (issue 14): 1,000 mailboxes in <= 10 s, peak RSS <= 300 MB, ratio <= 1.3.

    python benchmarks/audit.py [--mailboxes 1000] [--concurrency 100] [--runs 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAW = r"""
import asyncio, csv, json, random, ssl, sys
import aioimaplib, msal

info, concurrency = json.loads(sys.argv[1]), int(sys.argv[2])


def token_of(client_id, secret_source):
    # one client-credentials token per app of the sheet (its column, else the fleet's secret), or None when refused
    with open(secret_source.removeprefix("file:") or info["client_secret_file"], encoding="utf-8") as handle:
        secret = handle.read().strip()
    app = msal.ConfidentialClientApplication(client_id, client_credential=secret, authority=info["authority"],
                                             instance_discovery=False)  # trusts the lab CA through REQUESTS_CA_BUNDLE
    return app.acquire_token_for_client(scopes=info["scopes"]).get("access_token")


with open(info["mailboxes_csv"], encoding="utf-8") as handle:
    rows = list(csv.DictReader(handle))
tokens = {app: token_of(*app) for app in dict.fromkeys((row["client_id"], row["client_secret"]) for row in rows)}
# a refused app's mailboxes are not connected (the audit does not connect them either)
rows = [(row, token) for row in rows if (token := tokens[row["client_id"], row["client_secret"]])]
context = ssl.create_default_context(cafile=info["ca_file"])


async def sign_in(row, token, slots):
    for attempt in range(4):
        async with slots:
            client = aioimaplib.IMAP4_SSL(row["host"], int(row["port"]), ssl_context=context, timeout=10)
            try:
                await client.wait_hello_from_server()
                answer = await client.xoauth2(row["user"], token)
                throttled = answer.result == "NO" and b"throttled" in b"".join(answer.lines)
                connected = True
                if answer.result == "OK":
                    if not any(b"CAPABILITY" in line for line in answer.lines):
                        await asyncio.wait_for(client.protocol.capability(), 10)
                    # EXAMINE refused: Exchange said "User is authenticated but not connected." and hung up
                    connected = (await client.examine("INBOX")).result == "OK"
                if connected:
                    await client.logout()  # after a refused or throttled sign-in too, as the audit says goodbye
            except (aioimaplib.AioImapException, OSError, asyncio.TimeoutError):
                throttled = False
            finally:
                client.protocol.transport and client.protocol.transport.close()
        if not throttled:
            return
        await asyncio.sleep(0.05 * 2**attempt * random.uniform(1.0, 1.5))  # the audit's wait (--backoff 0.05), doubling


async def main():
    slots = asyncio.Semaphore(concurrency)
    await asyncio.gather(*(sign_in(row, token, slots) for row, token in rows))

asyncio.run(main())
"""


def _console() -> list[str]:
    found = shutil.which("mailscope", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "tui.cli"]


def _measure(command: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MB) of that process alone, and its stdout; exits unless the
    exit code is in `ok`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode not in ok:
        raise SystemExit(f"{command[0]} … failed (exit {process.returncode}):\n{stderr}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout


class FleetLab:
    """`mailscope lab serve --fleet N --json` in its own process."""

    def __init__(self, size: int, seed: int) -> None:
        self.process = subprocess.Popen(
            [*_console(), "lab", "serve", "--fleet", str(size), "--seed", str(seed), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("mailscope lab serve --fleet did not start")
        self.info = json.loads(line)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def audit_command(info: dict, concurrency: int, output: str) -> tuple[list[str], dict[str, str]]:
    """`mailscope audit` of the lab fleet `info` describes, and its environment (the client secret)."""
    command = [
        *_console(),
        "audit",
        info["mailboxes_csv"],
        "--provider",
        "microsoft",
        "--flow",
        "client_credentials",
        "--client-id",
        info["client_id"],
        "--tenant",
        info["tenant"],
        "--authority",
        info["authority"],
        "--ca-file",
        info["ca_file"],
        "--mechanism",
        "xoauth2",
        "--client-secret-env",
        "LAB_CLIENT_SECRET",
        "--concurrency",
        str(concurrency),
        "--backoff",
        "0.05",
        "--json",
        "--no-progress",
        "-o",
        output,
    ]
    for scope in info["scopes"]:
        command += ["--scope", scope]
    return command, {**os.environ, "LAB_CLIENT_SECRET": Path(info["client_secret_file"]).read_text(encoding="utf-8").strip()}


def run_audit(size: int, seed: int, concurrency: int, workdir: str) -> tuple[float, float, float, dict, dict]:
    lab = FleetLab(size, seed)
    try:
        info = lab.info
        command, env = audit_command(info, concurrency, os.path.join(workdir, f"audit-{time.monotonic_ns()}.jsonl"))
        elapsed, cpu, rss, stdout = _measure(command, env, ok=(0, 1))  # 1: some mailboxes failed, as the fleet intends
        truth = json.loads(Path(info["truth"]).read_text(encoding="utf-8"))
        return elapsed, cpu, rss, json.loads(stdout), truth
    finally:
        lab.stop()


def raw_command(info: dict, concurrency: int) -> tuple[list[str], dict[str, str]]:
    """The bare aioimaplib loop against the lab fleet `info` describes, and its environment (msal trusts the lab CA)."""
    return [sys.executable, "-c", RAW, json.dumps(info), str(concurrency)], {**os.environ, "REQUESTS_CA_BUNDLE": info["ca_file"]}


def run_raw(size: int, seed: int, concurrency: int) -> tuple[float, float]:
    """Wall and CPU seconds of the bare loop."""
    lab = FleetLab(size, seed)
    try:
        elapsed, cpu, _, _ = _measure(*raw_command(lab.info, concurrency))
        return elapsed, cpu
    finally:
        lab.stop()


# Ends a prelude that runs one side's Python in the prelude's own process (`python -c PRELUDE+RUN_SIDE side ...`): the
# prelude defines `begin()`, called just before the side's code starts.
RUN_SIDE = r"""
import os, sys
side, sys.argv = sys.argv[1], sys.argv[1:]
if side == "audit":
    from tui.cli import main
    sys.argv[0] = "mailscope"
    begin()
    sys.exit(main(sys.argv[1:]))
begin()
exec(compile(os.environ["BARE_LOOP"], "<bare loop>", "exec"))
"""


def run_after(prelude: str, side: str, info: dict, concurrency: int, output: str, env: dict[str, str]) -> None:
    """One run of `side` ("audit" or "raw") against the fleet `info` describes, its Python in one process after `prelude`
    (which defines `begin()`), with `env` added to its environment; exits unless it ended as the fleet intends."""
    if side == "raw":
        command, base = raw_command(info, concurrency)
        arguments, base = command[command.index(RAW) + 1 :], {**base, "BARE_LOOP": RAW}
    else:
        command, base = audit_command(info, concurrency, output)
        arguments = command[command.index("audit") :]
    result = subprocess.run([sys.executable, "-c", prelude + RUN_SIDE, side, *arguments], env={**base, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)  # fmt: skip
    if result.returncode not in (0, 1):  # audit: 1 when some mailboxes failed, as the fleet intends
        raise SystemExit(f"{side} failed ({result.returncode}): {result.stderr[-2000:]}")


def fleet_parser(description: str, *, mailboxes: int) -> argparse.ArgumentParser:
    """The options every benchmark against a lab fleet takes: its size, its seed and the sessions at once."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--mailboxes", type=int, default=mailboxes)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    return parser


def span_parser(description: str, *, mailboxes: int, base: int) -> argparse.ArgumentParser:
    """The options of a benchmark that runs each side against a small and a large lab fleet and divides the difference
    (start-up drops out)."""
    parser = fleet_parser(description, mailboxes=mailboxes)
    parser.add_argument("--base", type=int, default=base, help="the small fleet whose run is the start-up")
    return parser


def fleet_arguments(description: str) -> argparse.Namespace:
    """The options of a benchmark that runs the audit and the bare loop against lab fleets, several times."""
    parser = fleet_parser(description, mailboxes=1000)
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args()


def main() -> None:
    args = fleet_arguments(__doc__.splitlines()[0])
    audit_times, audit_cpu, audit_rss, raw_times, raw_cpu, matches = [], [], [], [], [], []
    from wire_parity import compare, same, table, verdict  # here: it imports this module's fleet and commands

    with tempfile.TemporaryDirectory(prefix="mailscope-audit-bench-") as workdir:
        wire = compare(args.mailboxes, args.seed, args.concurrency, workdir)  # also warms the page cache and the .pyc files
        if not same(*wire):
            raise SystemExit(f"the audit and the bare loop did not send the same commands, so no ratio:\n{table(*wire)}")
        for _ in range(args.runs):
            elapsed, cpu, rss, summary, truth = run_audit(args.mailboxes, args.seed, args.concurrency, workdir)
            audit_times.append(elapsed)
            audit_cpu.append(cpu)
            audit_rss.append(rss)
            matches.append(summary["counts"] == truth["counts"] and summary["retries"] == truth["throttle_retries"])
            elapsed, cpu = run_raw(args.mailboxes, args.seed, args.concurrency)
            raw_times.append(elapsed)
            raw_cpu.append(cpu)
    audit_median, raw_median = statistics.median(audit_times), statistics.median(raw_times)
    ratio = audit_median / raw_median
    print(
        f"fleet                  : {args.mailboxes} lab mailboxes (IMAP, seed {args.seed}), concurrency {args.concurrency}, "
        f"{args.runs} interleaved runs each, a fresh `lab serve --fleet` per run"
    )
    print(
        f"mailscope audit median : {audit_median:6.2f} s  (min {min(audit_times):.2f}, max {max(audit_times):.2f})  "
        f"target <= 10 s: {'met' if audit_median <= 10 else 'NOT met'}"
    )
    print(f"raw aioimaplib median  : {raw_median:6.2f} s  (min {min(raw_times):.2f}, max {max(raw_times):.2f})")
    print(f"ratio                  : {ratio:.2f}x  (target <= 1.30x: {'met' if ratio <= 1.3 else 'NOT met'})")
    cpu_audit, cpu_raw = statistics.median(audit_cpu), statistics.median(raw_cpu)
    print(f"client CPU (user+sys)  : audit {cpu_audit:.2f} s, raw {cpu_raw:.2f} s, {cpu_audit / cpu_raw:.2f}x  (lab server not counted)")
    idle_audit = statistics.median(wall - cpu for wall, cpu in zip(audit_times, audit_cpu, strict=True))
    idle_raw = statistics.median(wall - cpu for wall, cpu in zip(raw_times, raw_cpu, strict=True))
    print(f"client idle (wall-CPU) : audit {idle_audit:.2f} s, raw {idle_raw:.2f} s  (start-up I/O, the token, waits between retries)")
    print(f"audit peak RSS         : {max(audit_rss):6.1f} MB  (target <= 300 MB: {'met' if max(audit_rss) <= 300 else 'NOT met'})")
    print(
        f"summary = lab truth    : {'yes' if all(matches) else 'NO'} ({sum(matches)} of {len(matches)} runs: counts per finding "
        "and throttled retries)"
    )
    print(f"same wire              : {verdict(*wire)} (benchmarks/wire_parity.py)")


if __name__ == "__main__":
    main()
