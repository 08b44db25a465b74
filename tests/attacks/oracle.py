"""The one judge of every attack: what must never be seen in mailscope's output, and the bounds it must keep."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

PIECE = 17  # a secret piece longer than 16 characters in any spelling fails the attack
# C0 but tab/LF/CR, DEL, C1 (U+009B is CSI), bidi overrides and isolates, line/paragraph separators
RAW_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
MAILSCOPE = Path(os.environ.get("MAILSCOPE_ATTACK_BIN") or Path(sys.executable).with_name("mailscope"))  # another build to attack


def spellings(secret: str) -> list[str]:
    """The spellings the oracle looks for: raw, base64 at the three alignments (standard and urlsafe, the characters
    that depend on the secret alone), hex in both cases, base64 of UTF-16LE at the three alignments."""
    raw = secret.encode()
    out = [secret, raw.hex(), raw.hex().upper()]
    for data in (raw, secret.encode("utf-16-le")):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            for offset in range(3):
                encoded = encode(b"\0" * offset + data).decode()
                out.append(encoded[-(-offset * 8 // 6) : (offset + len(data)) * 8 // 6])
    return out


def secret_pieces(secrets: Iterable[str]) -> set[str]:
    return {form[i : i + PIECE] for secret in secrets for form in spellings(secret) for i in range(len(form) - PIECE + 1)}


@dataclass
class Run:
    """One process of an attack: what it printed and what it cost."""

    argv: list[str]
    stdout: str = ""
    stderr: str = ""
    returncode: int | None = None
    seconds: float = 0.0
    max_rss_mb: float = 0.0
    timed_out: bool = False
    json_output: bool = False
    extra_outputs: dict[str, str] = field(default_factory=dict)  # files the run wrote, terminal screens, buffers
    failures: list[str] = field(default_factory=list)  # what the runner itself saw go wrong (a renamed pane...)


def run_mailscope(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 30, cwd: Path | None = None, stdin: bytes | None = None
) -> Run:
    """`mailscope ARGS` as a user runs it; its own peak RSS from wait4, killed (process group) past `timeout`."""
    argv = [str(MAILSCOPE), *args]
    run = Run(argv, json_output="--json" in args)
    full_env = {**os.environ, "MAILSCOPE_DEBUG": "", **(env or {})}
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=full_env, cwd=cwd, start_new_session=True)  # fmt: skip
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}
    readers = [threading.Thread(target=lambda s=stream, k=key: chunks[k].extend(iter(lambda: s.read(65536), b"")), daemon=True)
               for key, stream in (("out", proc.stdout), ("err", proc.stderr))]  # fmt: skip
    for reader in readers:
        reader.start()
    if proc.stdin is not None:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(stdin or b"")
        proc.stdin.close()
    status, peak_kb = _wait(proc.pid, start + timeout)
    if status is None:
        run.timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        _, status = os.waitpid(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(10)
    run.seconds = time.monotonic() - start
    run.returncode = proc.returncode
    run.stdout = b"".join(chunks["out"]).decode("utf-8", "surrogateescape")
    run.stderr = b"".join(chunks["err"]).decode("utf-8", "surrogateescape")
    run.max_rss_mb = peak_kb / 1024
    return run


def run_each(calls: list[Callable[[], Run]]) -> list[Run]:
    """Independent runs of one attack, two at a time (each is a process of its own: its output, time and RSS are its own)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda call: call(), calls))


def _wait(pid: int, deadline: float) -> tuple[int | None, int]:
    """The exit status (None past the deadline) and the process's peak RSS in kB, read from /proc while it runs
    (VmHWM, the new program's own high-water mark: wait4's ru_maxrss would include the forking test process)."""
    peak = 0
    while True:
        with contextlib.suppress(OSError, ValueError):
            status_text = Path(f"/proc/{pid}/status").read_text()
            hwm = status_text.split("VmHWM:", 1)[1].split()[0] if "VmHWM:" in status_text else "0"
            peak = max(peak, int(hwm))
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status, peak
        if time.monotonic() > deadline:
            return None, peak
        time.sleep(0.005)


def problems(
    runs: list[Run],
    secrets: Iterable[str],
    *,
    timeout: float,
    max_rss_mb: float,
    expect_exit: int | tuple[int, ...] | None = None,
    max_seconds: float | None = None,
    forbidden: Iterable[str] = (),
    required: Iterable[str] = (),
) -> list[str]:
    """Everything wrong with an attack's runs; empty when it passed. `required` must be in each run's output."""
    found: list[str] = []
    pieces = secret_pieces(secrets)
    for run in runs:
        name = " ".join(Path(run.argv[0]).name if i == 0 else a for i, a in enumerate(run.argv[:4]))
        outputs = {"stdout": run.stdout, "stderr": run.stderr, **run.extra_outputs}
        found += [f"{name}: {failure}" for failure in run.failures]
        if run.timed_out:
            found.append(f"{name}: did not end within {timeout:g} s")
        if max_seconds is not None and run.seconds > max_seconds:
            found.append(f"{name}: took {run.seconds:.2f} s (bound {max_seconds:g} s)")
        if run.max_rss_mb > max_rss_mb:
            found.append(f"{name}: peak RSS {run.max_rss_mb:.0f} MB (bound {max_rss_mb:g} MB)")
        allowed = (expect_exit,) if isinstance(expect_exit, int) else expect_exit
        if allowed is not None and run.returncode not in allowed and not run.timed_out:
            found.append(f"{name}: exit {run.returncode}, expected {' or '.join(map(str, allowed))}")
        for where, text in outputs.items():
            if "Traceback (most recent call last)" in text:
                found.append(f"{name}: a traceback on {where}")
            if "internal error" in text:  # the guarded form of a traceback: a bug of ours
                found.append(f"{name}: an internal error on {where}")
            control = RAW_CONTROL.search(text)
            if control:
                before = text[max(0, control.start() - 40) : control.start()]
                found.append(f"{name}: raw control {control.group()!r} on {where} after {before!r}")
            if run.json_output and where == "stdout" and not text.isascii():
                found.append(f"{name}: JSON output is not ASCII-safe")
            leaked = _leaked(text, pieces)
            if leaked:
                found.append(f"{name}: a secret piece on {where}: ...{leaked[:8]}...")
            for word in forbidden:
                if word in text:
                    found.append(f"{name}: {word!r} on {where}")
        said = "\n".join(outputs.values())
        found += [f"{name}: {word!r} is not in its output" for word in required if word not in said]
    return found


def _leaked(text: str, pieces: set[str]) -> str | None:
    if not pieces or len(text) < PIECE:
        return None
    for i in range(len(text) - PIECE + 1):
        if text[i : i + PIECE] in pieces:
            return text[i : i + PIECE]
    return None
