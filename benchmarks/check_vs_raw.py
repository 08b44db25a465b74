"""Wall time of `mailscope check` against a minimal raw aioimaplib script doing the same session
(implicit TLS, CAPABILITY, AUTHENTICATE XOAUTH2, EXAMINE INBOX, LOGOUT: the commands both send to Dovecot, which
lists its post-login capabilities with the OK) on the same Dovecot lab, both as fresh processes, N runs each
(interleaved), medians side by side and their ratio. Target: ratio ≤ 1.3. CPU time (user + system) is printed
too: on a shared machine it varies less than wall time.

Needs the Dovecot lab running: `bash tests/dovecot-lab/lab.sh start`.

    python benchmarks/check_vs_raw.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "dovecot-lab"))

import labfixture  # noqa: E402

USER = "alice@example.test"

RAW = """
import asyncio, os, ssl, sys
import aioimaplib

async def main(host, port, cafile):
    client = aioimaplib.IMAP4_SSL(host, int(port), ssl_context=ssl.create_default_context(cafile=cafile))
    await client.wait_hello_from_server()
    response = await client.xoauth2(os.environ["USER_NAME"], os.environ["MS_TOKEN"])
    assert response.result == "OK", response
    assert (await client.examine("INBOX")).result == "OK"
    await client.logout()

asyncio.run(main(*sys.argv[1:]))
"""


def time_run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one fresh process; exits when it fails."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"{command[0]} … failed (exit {os.waitstatus_to_exitcode(status)}):\n{err.read().decode()}")
    return elapsed, usage.ru_utime + usage.ru_stime


def compare(name: str, check_cmd: list[str], raw_cmd: list[str], env: dict[str, str], runs: int) -> None:
    """Both commands `runs` times, interleaved, after one warm-up run each (page cache, .pyc files); medians printed."""
    time_run(check_cmd, env), time_run(raw_cmd, env)
    check, raw = [], []
    for _ in range(runs):
        check.append(time_run(check_cmd, env))
        raw.append(time_run(raw_cmd, env))
    wall = [statistics.median(t[0] for t in side) for side in (check, raw)]
    cpu = [statistics.median(t[1] for t in side) for side in (check, raw)]
    for label, side, w, c in ((f"{name}mailscope check", check, wall[0], cpu[0]), (f"{name}bare library   ", raw, wall[1], cpu[1])):
        low, high = min(t[0] for t in side), max(t[0] for t in side)
        print(f"{label} median : {w * 1000:7.1f} ms  (min {low * 1000:.1f}, max {high * 1000:.1f}), CPU {c * 1000:.1f} ms")
    ratio = wall[0] / wall[1]
    met = "met" if ratio <= 1.3 else "NOT met"
    print(f"{name}ratio                 : {ratio:.2f}x wall (target <= 1.30x: {met}), {cpu[0] / cpu[1]:.2f}x CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    lab = labfixture.MAIN
    labfixture.ensure_running(lab)
    env = {**os.environ, "MS_TOKEN": labfixture.mint(lab), "USER_NAME": USER}
    # Measure an ordinary installation: with PYTHONDONTWRITEBYTECODE set (as on the CI machine) every
    # run would recompile mailscope's sources while aioimaplib's .pyc files came with pip.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    console = shutil.which("mailscope", path=str(Path(sys.executable).parent)) or ""
    check_cmd = [console] if console else [sys.executable, "-m", "tui.cli"]
    check_cmd += ["check", "--host", "127.0.0.1", "--port", str(lab.imaps), "--security", "tls", "--user", USER]
    check_cmd += ["--mechanism", "xoauth2", "--token-env", "MS_TOKEN", "--ca-file", lab.ca_file]
    raw_cmd = [sys.executable, "-c", RAW, "127.0.0.1", str(lab.imaps), lab.ca_file]

    load = os.getloadavg()[0]
    print(f"runs each: {args.runs} (interleaved, fresh processes, Dovecot {lab.imaps}/tls, XOAUTH2 + EXAMINE), load {load:.2f}")
    compare("", check_cmd, raw_cmd, env, args.runs)


if __name__ == "__main__":
    main()
