"""`mailscope audit` as a user runs it (real processes): against `mailscope lab serve --fleet` and `--lab-fleet`, the
summary equals the lab's truth; Ctrl-C or SIGTERM mid-run leaves a valid output that `--resume` completes with exactly
one record per mailbox; progress only on a terminal; bad rows and bad files get a message and an exit code, never a
traceback; no secret in any output."""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailscope.lab.fleet import make_fleet

SECRET_SHAPES = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}|lab~[\w-]{8,}|dXNlcj1[\w+/]{8,}")  # a JWT, a lab secret, base64 "user=..."
MAILSCOPE = [sys.executable, "-m", "tui.cli"]


class ServedFleet:
    def __init__(self, size: int, seed: int) -> None:
        self.process = subprocess.Popen([*MAILSCOPE, "lab", "serve", "--fleet", str(size), "--seed", str(seed), "--json"],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
        assert self.process.stdout is not None
        self.info: dict[str, Any] = json.loads(self.process.stdout.readline())
        self.secret = Path(self.info["client_secret_file"]).read_text(encoding="utf-8").strip()
        self.truth: dict[str, Any] = json.loads(Path(self.info["truth"]).read_text(encoding="utf-8"))

    def audit_args(self, *extra: str, csv_file: str | None = None) -> list[str]:
        info = self.info
        return ["audit", csv_file or info["mailboxes_csv"], "--provider", "microsoft", "--flow", "client_credentials",
                "--client-id", info["client_id"], "--tenant", info["tenant"], "--authority", info["authority"],
                "--ca-file", info["ca_file"], "--scope", info["scopes"][0], "--client-secret-env", "LAB_CLIENT_SECRET",
                "--backoff", "0.05", *extra]  # fmt: skip

    def env(self) -> dict[str, str]:
        return {**os.environ, "LAB_CLIENT_SECRET": self.secret}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=10) == 0


@pytest.fixture(scope="module")
def served() -> Iterator[ServedFleet]:
    fleet = ServedFleet(60, seed=11)
    yield fleet
    fleet.stop()


def run(args: list[str], env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MAILSCOPE, *args], env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def no_secret(*texts: str, secret: str = "") -> None:
    for text in texts:
        assert not SECRET_SHAPES.findall(text)
        assert not secret or secret not in text
        assert "Traceback" not in text


def records(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]  # every line a whole record


def test_the_summary_equals_the_truth_of_a_served_fleet(served: ServedFleet, tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    result = run(served.audit_args("--json", "-o", str(output)), served.env())
    assert result.returncode == 1, result.stderr  # the fleet has failing mailboxes
    summary = json.loads(result.stdout)
    assert summary["counts"] == served.truth["counts"] and summary["retries"] == served.truth["throttle_retries"]
    assert summary["exit_code"] == 1 and summary["total"] == 60
    written = records(output)
    assert sorted(r["audit"]["row"] for r in written) == list(range(2, 62))
    assert all(r["schema"] == "mailscope.report/1" for r in written)
    no_secret(result.stdout, result.stderr, output.read_text(encoding="utf-8"), secret=served.secret)


def test_lab_fleet_in_process_with_its_truth_and_a_markdown_summary(tmp_path: Path) -> None:
    truth_file, output = tmp_path / "truth.json", tmp_path / "fleet.jsonl"
    result = run(["audit", "--lab-fleet", "40", "--seed", "7", "--truth", str(truth_file), "-o", str(output), "--backoff", "0.05",
                  "--markdown"])  # fmt: skip
    assert result.returncode == 1, result.stderr
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    assert truth == make_fleet(40, seed=7).truth()
    assert result.stdout.startswith("# mailscope audit\n")
    for finding, count in truth["counts"].items():
        if finding != "healthy":
            assert f"`{finding}`" in result.stdout and f"| {count} |" in result.stdout
    assert len(records(output)) == 40
    no_secret(result.stdout, result.stderr, output.read_text(encoding="utf-8"))


def test_lab_fleet_truth_prints_the_same_truth() -> None:
    result = run(["lab", "fleet-truth", "40", "--seed", "7"])
    assert result.returncode == 0 and json.loads(result.stdout) == make_fleet(40, seed=7).truth()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_audit_resumed_ends_with_one_record_per_mailbox(signum: int, code: int, tmp_path: Path) -> None:
    fleet = ServedFleet(150, seed=3)
    try:
        output = tmp_path / "out.jsonl"
        # the fleet's throttled mailboxes wait 5 s for their retry: the signal always finds the audit unfinished
        audit = subprocess.Popen([*MAILSCOPE, *fleet.audit_args("--concurrency", "2", "--backoff", "5", "-o", str(output))],
                                 env=fleet.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                 text=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while (not output.exists() or output.read_text(encoding="utf-8").count("\n") < 5) and time.monotonic() < deadline:
            time.sleep(0.02)
        audit.send_signal(signum)
        stdout, stderr = audit.communicate(timeout=30)
        assert audit.returncode == code, stderr
        assert "INTERRUPTED: resume with --resume" in stdout
        first = records(output)
        assert 5 <= len(first) < 150
        resumed = run(fleet.audit_args("--json", "--resume", "-o", str(output)), fleet.env())
        assert resumed.returncode == 1, resumed.stderr
        summary = json.loads(resumed.stdout)
        assert summary["audited_now"] == 150 - len(first) and summary["total"] == 150
        assert summary["counts"] == fleet.truth["counts"]
        final = records(output)
        assert len(final) == 150 and len({r["audit"]["user"] for r in final}) == 150
        no_secret(stdout, stderr, resumed.stdout, resumed.stderr, output.read_text(encoding="utf-8"), secret=fleet.secret)
    finally:
        fleet.stop()


def test_progress_is_shown_on_a_terminal_only(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen([*MAILSCOPE, "audit", "--lab-fleet", "30", "-o", str(tmp_path / "a.jsonl"), "--backoff", "0.05"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal)  # fmt: skip
    os.close(terminal)
    seen = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        try:
            chunk = os.read(controller, 4096) if ready else b""
        except OSError:  # the terminal closed with the process
            chunk = b""
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    assert process.wait(timeout=30) == 1
    text = seen.decode("utf-8", "replace")
    assert re.search(r"\d+/30 mailboxes +\d+/s +ETA [\d:?]+ +\d+ failed +\d+ retries", text), text
    no_secret(text)
    piped = run(["audit", "--lab-fleet", "10", "-o", str(tmp_path / "b.jsonl"), "--backoff", "0.05"])
    assert "mailboxes  " not in piped.stderr and piped.stderr == ""


def test_bad_rows_are_reported_and_the_rest_audited(served: ServedFleet, tmp_path: Path) -> None:
    with open(served.info["mailboxes_csv"], encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    healthy = {m["user"] for m in served.truth["mailboxes"] if m["expected_finding"] is None}
    sheet = tmp_path / "mailboxes.csv"
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["user"] in healthy)
        writer.writerow({**rows[0], "port": "not-a-port"})
        writer.writerow({**rows[0], "user": "", "client_secret": f"{served.secret}"})
    result = run(served.audit_args(csv_file=str(sheet)), served.env())
    assert result.returncode == 3, result.stderr  # all judged mailboxes healthy, but rows were left out
    bad = len(healthy) + 2
    assert f"row {bad}: port 'not-a-port' is not a TCP port" in result.stderr
    assert f"row {bad + 1}: " in result.stderr and "ROWS LEFT OUT (2):" in result.stdout
    assert f"{len(healthy)} healthy, 0 failed" in result.stdout
    assert (tmp_path / "mailboxes.audit.jsonl").exists()  # the default output: next to the sheet
    no_secret(result.stdout, result.stderr, secret=served.secret)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a MAILBOXES.csv or --lab-fleet N"),
        (["{tmp}"], "is not a regular file"),
        (["{tmp}/missing.csv"], "cannot open"),
        (["--lab-fleet", "5", "--user", "a@b.c"], "--user: an audit takes its users from the sheet"),
        (["{tmp}/empty.csv", "--host", "imap.example.org"], "the sheet names no mailbox"),
        (["{tmp}/taken.csv", "--host", "imap.example.org", "-o", "{tmp}/taken.jsonl"], "exists: --resume continues it"),
        (["--lab-fleet", "5", "--protocols", "imap,x400"], "--protocols 'imap,x400'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("user\n# nobody yet\n")
    (tmp_path / "taken.csv").write_text("user\nalice@example.org\n")
    (tmp_path / "taken.jsonl").write_text("")
    result = run(["audit", *(a.replace("{tmp}", str(tmp_path)) for a in args)], timeout=60)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and result.stderr.count("\n") <= 2
    no_secret(result.stderr)


def test_the_output_is_never_the_sheet_and_a_full_disk_is_one_clear_line(tmp_path: Path) -> None:
    sheet = tmp_path / "mailboxes.csv"
    sheet.write_text("user\nalice@example.org\n")
    same = run(["audit", str(sheet), "--host", "imap.example.org", "-o", str(sheet), "--overwrite"])
    assert same.returncode == 2 and "is the sheet itself" in same.stderr
    assert sheet.read_text() == "user\nalice@example.org\n"
    full = run(["audit", "--lab-fleet", "5", "-o", "/dev/full", "--overwrite", "--backoff", "0.05"])
    assert full.returncode == 1 and "cannot write /dev/full: No space left on device" in full.stderr
    assert full.stderr.count("\n") == 1


def test_lab_serve_fleet_prints_an_audit_command_that_works(tmp_path: Path) -> None:
    serve = subprocess.Popen([*MAILSCOPE, "lab", "serve", "--fleet", "20", "--seed", "2"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    try:
        assert serve.stdout is not None
        lines = []
        while not lines or lines[-1] != "Ctrl-C stops the lab.":
            lines.append(serve.stdout.readline().rstrip("\n"))
        command = lines[lines.index("  audit it:") + 1].strip()
        truth_path = next(line.split()[1] for line in lines if line.strip().startswith("truth "))
        assert command.startswith('LAB_CLIENT_SECRET="$(cat ') and " mailscope audit " in command
        output = tmp_path / "out.jsonl"
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        result = subprocess.run(["bash", "-c", f"{command} --json --backoff 0.05 -o {output}"], env=env, capture_output=True,
                                text=True, timeout=120)  # fmt: skip
        assert result.returncode == 1, result.stderr
        truth = json.loads(Path(truth_path).read_text(encoding="utf-8"))
        assert json.loads(result.stdout)["counts"] == truth["counts"]
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=10)
