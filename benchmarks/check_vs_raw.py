"""Wall time of `mailscope check` against a minimal raw aioimaplib script doing the same session
(implicit TLS, AUTHENTICATE XOAUTH2, EXAMINE INBOX, LOGOUT) on the same Dovecot lab, both as fresh
processes, N runs each (interleaved), medians side by side and their ratio. Target: ratio ≤ 1.3.

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


def time_run(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} … failed (exit {result.returncode}):\n{result.stderr}")
    return elapsed


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

    time_run(check_cmd, env), time_run(raw_cmd, env)  # warm the page cache and write the .pyc files
    check_times, raw_times = [], []
    for _ in range(args.runs):
        check_times.append(time_run(check_cmd, env))
        raw_times.append(time_run(raw_cmd, env))
    check_median, raw_median = statistics.median(check_times), statistics.median(raw_times)
    print(f"runs each               : {args.runs} (interleaved, fresh processes, Dovecot {lab.imaps}/tls, XOAUTH2 + EXAMINE)")
    print(
        f"mailscope check  median : {check_median * 1000:7.1f} ms  (min {min(check_times) * 1000:.1f}, max {max(check_times) * 1000:.1f})"
    )
    print(f"raw aioimaplib   median : {raw_median * 1000:7.1f} ms  (min {min(raw_times) * 1000:.1f}, max {max(raw_times) * 1000:.1f})")
    ratio = check_median / raw_median
    print(f"ratio                   : {ratio:.2f}x  (target <= 1.30x: {'met' if ratio <= 1.3 else 'NOT met'})")


if __name__ == "__main__":
    main()
