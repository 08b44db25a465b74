"""Whether `mailscope audit` and the bare aioimaplib loop of benchmarks/audit.py hold the same sessions on the wire: each
connection's client lines (the command after the tag, or `(answer)` for a line that answers a continuation), recorded
where both sides' plaintext passes, `ssl.SSLObject.write` (asyncio's TLS layer and uvloop's both call it), and each
HTTPS connection's request lines (msal's, to the lab's token endpoint: `ssl.SSLSocket.sendall`), compared as a
multiset of sessions. The ratio of the two sides' times measures mailscope's cost per session only when the
sessions are the same: one more command per session on either side would move it. benchmarks/audit.py checks this
before it measures; run alone it prints both sides' sessions.

    python benchmarks/wire_parity.py [--mailboxes 300] [--concurrency 100] [--seed 0]
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path

from audit import FleetLab, fleet_parser, run_after

# The recorder, put in place before a side's code runs (audit.RUN_SIDE); the sessions go to $WIRE_OUT at exit.
RECORDED = r"""
import atexit, json, os, ssl
sessions = []
write = ssl.SSLObject.write

def lines_of(connection):
    # its complete lines, then the bytes of the line not yet ended
    lines = getattr(connection, "_wire_parity", None)
    if lines is None:
        lines = connection._wire_parity = [b""]
        sessions.append(lines)
    return lines

def recorded(self, data):
    lines = lines_of(self)
    lines[-1] += bytes(data)
    *complete, lines[-1] = lines[-1].split(b"\r\n")
    lines[-1:-1] = complete
    return write(self, data)

def shape(line):
    if line.startswith((b"GET /", b"POST /")):
        return line.decode()
    tag, _, rest = line.partition(b" ")
    verb = rest.partition(b" ")[0]
    return verb.decode() if tag.isalnum() and verb.isalpha() and verb.isupper() else "(answer)"

def requested(self, data, *args):
    # an HTTPS request (the token endpoint): its request line, as `GET /path HTTP/1.1`; headers and body are no command
    lines = lines_of(self)
    for line in bytes(data).split(b"\r\n"):
        if line.startswith((b"GET /", b"POST /")) and line.endswith((b" HTTP/1.1", b" HTTP/1.0")):
            lines.insert(-1, line.rpartition(b" ")[0])
    return send(self, data, *args)

ssl.SSLObject.write = recorded
send = ssl.SSLSocket.sendall
ssl.SSLSocket.sendall = requested
atexit.register(lambda: open(os.environ["WIRE_OUT"], "w", encoding="utf-8").write(
    json.dumps([" ".join(shape(line) for line in lines[:-1]) for lines in sessions])))

def begin():
    pass
"""


def compare(size: int, seed: int, concurrency: int, workdir: str) -> tuple[Counter[str], Counter[str]]:
    """Both sides' sessions against fresh fleets of `size` (the same seed: the same mailboxes and throttling), as counts of
    their line shapes."""
    found = []
    for side in ("audit", "raw"):
        lab = FleetLab(size, seed)
        out = os.path.join(workdir, f"wire-{side}.json")
        try:
            run_after(RECORDED, side, lab.info, concurrency, os.path.join(workdir, "wire-audit.jsonl"), {"WIRE_OUT": out})
            found.append(Counter(json.loads(Path(out).read_text(encoding="utf-8"))))
        finally:
            lab.stop()
    return found[0], found[1]


# Connections that may differ by timing alone: Exchange (and the lab) answer EXAMINE of a mailbox the app may not open
# with a tagged BAD and then `* BYE`; when the two lines come in separate reads, the audit says LOGOUT in between (it
# cannot know that the BYE is coming: `LOGOUT: the server closed the connection`), the bare loop never does. Seen on 2
# connections of about 1,700; the bare loop's missing LOGOUT after a refused sign-in, before this check, was ~20 %.
TIMING = 0.01


def differing(audit: Counter[str], raw: Counter[str]) -> int:
    """Connections of one side that the other did not hold alike."""
    return max((audit - raw).total(), (raw - audit).total())


def same(audit: Counter[str], raw: Counter[str]) -> bool:
    """The same sessions on both sides, but for what timing alone can change (`TIMING`)."""
    return differing(audit, raw) <= TIMING * max(audit.total(), raw.total())


def verdict(audit: Counter[str], raw: Counter[str]) -> str:
    """`yes (...)` or `NO (...)`, with each side's connections."""
    connections = f"{audit.total():,} connections by the audit, {raw.total():,} by the bare loop"
    if not same(audit, raw):
        return f"NO ({connections})"
    apart = differing(audit, raw)
    return f"yes ({connections}{f'; {apart} with other client lines, within what timing can change' if apart else ''})"


def table(audit: Counter[str], raw: Counter[str]) -> str:
    """Each kind of session and how many of it each side held."""
    rows = [f"  {'audit':>6} {'raw':>6}  client lines of one connection"]
    for kind in sorted(audit.keys() | raw.keys(), key=lambda kind: -max(audit[kind], raw[kind])):
        rows.append(f"  {audit[kind]:6} {raw[kind]:6}  {kind}{'' if audit[kind] == raw[kind] else '   <- differs'}")
    return "\n".join(rows)


def main() -> None:
    args = fleet_parser(__doc__.splitlines()[0], mailboxes=300).parse_args()
    with tempfile.TemporaryDirectory(prefix="mailscope-wire-parity-") as workdir:
        audit, raw = compare(args.mailboxes, args.seed, args.concurrency, workdir)
    print(f"fleet       : {args.mailboxes} lab mailboxes (IMAP, seed {args.seed}), concurrency {args.concurrency}")
    print(f"same wire   : {verdict(audit, raw)}")
    print(table(audit, raw))


if __name__ == "__main__":
    main()
