"""`mailscope logs FILE --json` against `grep -c AUTHENTICATE FILE` on a generated 500 MB Jira-style log.

The log is mostly unrelated application lines with a few hundred JavaMail sessions (failing AUTHENTICATE PLAIN as in
the Atlassian seed, and successful XOAUTH2 ones) spread through it. Generated fast by repeating blocks.
Prints wall time and peak RSS of both (via /usr/bin/time -v when present, else getrusage of children) and the ratio.
Targets: mailscope <= 10x grep's wall time, peak RSS <= 200 MB.

    python benchmarks/logs_vs_grep.py [--size-mb 500] [--sessions 400] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "[Alerts Incident] {thread} anonymous Incident ITSM"
# base64 UTF-16LE of MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM, as Exchange puts it in its greeting
FRONTEND = "[TQBSADEAUAAyADYANABDAEEAMAAxADQANgAuAEYAUgBBAFAAMgA2ADQALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]"


def unrelated_lines(n: int, day: str) -> list[str]:
    out = []
    for i in range(n):
        ts = f"{day} {10 + i % 12:02d}:{i % 60:02d}:{(i * 7) % 60:02d},{i % 1000:03d}+0000"
        kind = i % 5
        if kind == 0:
            out.append(
                f"{ts} http-nio-8080-exec-{i % 25} INFO admin 600x{i}x1 1abc2d 10.0.0.{i % 255} /rest/api/2/issue/ABC-{i} "
                f"[c.a.jira.issue.managers.DefaultIssueManager] Updated issue ABC-{i}: summary 'Quarterly report {i}'"
            )
        elif kind == 1:
            out.append(
                f"{ts} Caesium-1-{i % 4} DEBUG ServiceRunner [c.a.jira.service.ServiceRunner] Running job com.atlassian.jira."
                f"service.services.DebugService id {i}"
            )
        elif kind == 2:
            out.append(
                f"{ts} http-nio-8080-exec-{i % 25} WARN anonymous 601x{i}x2 - 10.1.2.{i % 255} /secure/Dashboard.jspa "
                f"[c.a.j.web.action.JiraWebActionSupport] Slow request: 1{i % 900} ms for gadget rendering"
            )
        elif kind == 3:
            out.append(f"{ts} indexer-{i % 3} INFO [c.a.jira.index.ha.DefaultNodeReindexService] Reindexed {i % 97} issues in {i % 13} ms")
        else:
            out.append(f"{ts} mail-queue INFO [c.a.mail.queue.MailQueueImpl] Sent 0 messages; queue size {i % 7}, retries 0")
    return out


def _opening(p: str, tag: str, user: str, mechanism: str) -> list[str]:
    """JavaMail's greeting, capabilities and AUTHENTICATE trace, the part every session in this log shares."""
    return [
        'IMAPS: trying to connect to host "outlook.office365.com", port 993, isSSL true',
        f"{p} * OK The Microsoft Exchange IMAP4 service is ready. {FRONTEND}",
        f"{p} {tag}0 CAPABILITY",
        f"{p} * CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+",
        f"{p} {tag}0 OK CAPABILITY completed.",
        "IMAPS: AUTH: PLAIN",
        "IMAPS: AUTH: XOAUTH2",
        f"IMAPS: protocolConnect login, host=outlook.office365.com, user={user}, password=<non-null>",
        f"IMAPS: AUTHENTICATE {mechanism} command trace suppressed",
    ]


def failing_session(thread: str, tag: str) -> list[str]:
    p = PREFIX.format(thread=thread)
    return [
        *_opening(p, tag, "helpdesk@contoso.onmicrosoft.com", "PLAIN"),
        f"IMAPS: AUTHENTICATE PLAIN command result: {tag}1 NO AUTHENTICATE failed.",
        f"WARN {p} Incident ITSM [10900]: javax.mail.AuthenticationFailedException: AUTHENTICATE failed. while connecting to host "
        '"outlook.office365.com" as user "helpdesk@contoso.onmicrosoft.com" via protocol "SECURE_IMAP": '
        "javax.mail.AuthenticationFailedException: AUTHENTICATE failed.",
        "\tat com.sun.mail.imap.IMAPStore.protocolConnect(IMAPStore.java:708) [jakarta.mail-1.6.5.jar:1.6.5]",
        "\tat javax.mail.Service.connect(Service.java:364) [jakarta.mail-1.6.5.jar:1.6.5]",
    ]


def healthy_session(thread: str, tag: str) -> list[str]:
    p = PREFIX.format(thread=thread)
    return [
        *_opening(p, tag, "support@contoso.onmicrosoft.com", "XOAUTH2"),
        f"IMAPS: AUTHENTICATE XOAUTH2 command result: {tag}1 OK AUTHENTICATE completed.",
        f"{p} {tag}2 EXAMINE INBOX",
        f"{p} * 12 EXISTS",
        f"{p} {tag}2 OK [READ-ONLY] EXAMINE completed.",
        f"{p} {tag}3 LOGOUT",
        f"{p} * BYE Microsoft Exchange Server IMAP4 server signing off.",
        f"{p} {tag}3 OK LOGOUT completed.",
    ]


def generate(path: Path, size_mb: int, sessions: int, *, distinct: bool = False) -> tuple[int, int]:
    """Write ~size_mb MB with `sessions` sessions; returns (bytes, sessions written). With `distinct`, every session
    differs (its own mailbox user and tag prefix), so none can reuse another's diagnosis."""
    target = size_mb * 1024 * 1024
    filler = "\n".join(unrelated_lines(max(50, target // max(1, sessions) // 150), "2026-11-28")) + "\n"
    middle = filler.index("\n", len(filler) // 2) + 1  # sessions go between whole lines
    head, tail = filler[:middle].encode(), filler[middle:].encode()
    written = count = 0
    with path.open("wb", buffering=16 * 1024 * 1024) as out:
        while written < target:
            healthy = count % 4 == 0  # 3 failing for every healthy one
            suffix = f"{count:04d}" if distinct else ""
            lines = (healthy_session if healthy else failing_session)(f"Caesium-1-{count % 4}", ("IUS" if healthy else "IUR") + suffix)
            if distinct:
                lines = [line.replace("@contoso", f"{count}@contoso") for line in lines]
            block = head + ("\n".join(lines) + "\n").encode() + tail
            out.write(block)
            written += len(block)
            count += 1
    return written, count


def measure(cmd: list[str]) -> tuple[float, float, float, bytes]:
    """(wall seconds, CPU seconds user+sys, peak RSS MB, stdout) of one command."""
    if Path("/usr/bin/time").exists():
        t0 = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, check=False)
        wall = time.perf_counter() - t0
        stats = dict(line.strip().rsplit(": ", 1) for line in proc.stderr.decode(errors="replace").splitlines() if ": " in line)
        cpu = float(stats.get("User time (seconds)", 0)) + float(stats.get("System time (seconds)", 0))
        return wall, cpu, int(stats.get("Maximum resident set size (kbytes)", 0)) / 1024, proc.stdout
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, after.ru_maxrss / 1024, proc.stdout  # maxrss of the largest child so far: run ours first


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; the best wall time counts")
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    parser.add_argument("--distinct", action="store_true", help="make every session different (no repeated failure to reuse)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mailscope-logs-bench-"))
    log = tmp / "atlassian-jira-incoming-mail.log"
    t0 = time.perf_counter()
    size, sessions = generate(log, args.size_mb, args.sessions, distinct=args.distinct)
    kind = "all different" if args.distinct else "repeating, as failures do"
    print(f"generated {log} ({size / 1e6:.0f} MB, {sessions} mail sessions, {kind}) in {time.perf_counter() - t0:.1f} s")
    try:
        subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache for both
        # An ordinary installation, as check_vs_raw.py measures it: the console script next to this interpreter (`-m tui.cli`
        # from here would import this source tree), and .pyc files written (with PYTHONDONTWRITEBYTECODE set, as on the CI
        # machine, a source tree would be recompiled on every run, which no installation does).
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        console = shutil.which("mailscope", path=str(Path(sys.executable).parent))
        command = [console] if console else [sys.executable, "-m", "tui.cli"]
        print(f"measuring {' '.join(command)} (the console script next to this interpreter, else the source tree)")
        ours = [measure([*command, "logs", str(log), "--json"]) for _ in range(args.repeat)]
        grep = [measure(["grep", "-c", "AUTHENTICATE", str(log)]) for _ in range(args.repeat)]
        grep_wall, grep_cpu, grep_rss = min(g[0] for g in grep), min(g[1] for g in grep), max(g[2] for g in grep)
        wall, cpu, rss = min(o[0] for o in ours), min(o[1] for o in ours), max(o[2] for o in ours)
        report = json.loads(ours[0][3])
        found = report["summary"]["sessions"]
        top = report["findings"][0] if report["findings"] else {}
        print(
            f"grep -c AUTHENTICATE : wall {grep_wall:6.2f} s  cpu {grep_cpu:6.2f} s  peak RSS {grep_rss:6.1f} MB  "
            f"(count {grep[0][3].decode().strip()})"
        )
        print(
            f"mailscope logs --json: wall {wall:6.2f} s  cpu {cpu:6.2f} s  peak RSS {rss:6.1f} MB  "
            f"({found} sessions, {report['summary']['healthy']} healthy; top finding {top.get('id')} x{top.get('count')})"
        )
        ratio = wall / grep_wall if grep_wall else float("inf")
        cpu_ratio = cpu / grep_cpu if grep_cpu else float("inf")
        print(
            f"ratio mailscope/grep: wall {ratio:.1f}x, cpu {cpu_ratio:.1f}x (best of {args.repeat}); "
            f"target <= 10x: {'met' if ratio <= 10 else 'NOT met'}; peak RSS <= 200 MB: {'met' if rss <= 200 else 'NOT met'}"
        )
        if found != sessions:
            print(f"WARNING: generated {sessions} sessions, mailscope found {found}")
    finally:
        if args.keep:
            print(f"kept {log}")
        else:
            log.unlink(missing_ok=True)
            tmp.rmdir()
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
