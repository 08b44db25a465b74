"""CPU of the per-line path of one audit session, offline: the lines an audit's healthy Exchange lab session has (greeting,
CAPABILITY, AUTHENTICATE XOAUTH2 with the shared app-only token, EXAMINE, LOGOUT; fresh tags and user per session) fed through
`Transcript.line` (conversation, record, redaction, evidence) of a fork of one redactor family, as `mailscope audit` does.
No I/O: what `benchmarks/audit.py` cannot resolve on a busy machine, the share of the wire path that is ours.

    python benchmarks/session_lines.py [--sessions 3000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time

from mailscope.events import Direction
from mailscope.protocols import conversation_for
from mailscope.record import SessionRecord
from mailscope.redact import Redactor
from mailscope.sasl import xoauth2_payload
from mailscope.transcript import Transcript

CLAIMS = {"aud": "https://outlook.office365.com", "roles": ["IMAP.AccessAsApp"], "tid": "a2b8c73a-a4e2-5c5b-b4d0-e20bf64d93e1"}
CLAIMS_B64 = base64.urlsafe_b64encode(json.dumps(CLAIMS | {"pad": "x" * 700}).encode()).decode().rstrip("=")
TOKEN = f"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{CLAIMS_B64}.{'s' * 342}"  # ~1,360 characters, as the lab's app-only token
FRONTEND = base64.b64encode("MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM".encode("utf-16-le")).decode()
GREETING = f"* OK The Microsoft Exchange IMAP4 service is ready. [{FRONTEND}]"
CAPS = "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+"
C, S = Direction.CLIENT, Direction.SERVER


def session(root: Redactor, number: int) -> None:
    redactor = root.fork()
    record = SessionRecord(redactor=redactor)
    transcript = Transcript(record, conversation_for("imap", redactor))
    tag = "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[(number // 26**k) % 26] for k in range(4))  # aioimaplib's tags: new per session
    payload = base64.b64encode(xoauth2_payload(f"mbx{number:05d}@contoso.onmicrosoft.com", TOKEN)).decode()
    record.info("connecting to 127.0.0.1:10993 (tls)")
    lines = [
        (S, GREETING), (C, f"{tag}0 CAPABILITY"), (S, CAPS), (S, f"{tag}0 OK CAPABILITY completed."),
        (C, f"{tag}1 AUTHENTICATE XOAUTH2 {payload}"), (S, f"{tag}1 OK AUTHENTICATE completed."),
        (C, f"{tag}2 CAPABILITY"), (S, CAPS), (S, f"{tag}2 OK CAPABILITY completed."),
        (C, f"{tag}3 EXAMINE INBOX"), (S, "* 0 EXISTS"), (S, "* 0 RECENT"), (S, "* OK [UIDVALIDITY 14] UIDVALIDITY value"),
        (S, f"{tag}3 OK [READ-ONLY] EXAMINE completed."),
        (C, f"{tag}4 LOGOUT"), (S, "* BYE Microsoft Exchange Server IMAP4 server signing off."), (S, f"{tag}4 OK LOGOUT completed."),
    ]  # fmt: skip
    for direction, text in lines:
        transcript.line(direction, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Redactor([TOKEN])
    for number in range(200):  # the family's memos warm, as after an audit's first sessions
        session(root, number)
    figures = []
    for run in range(args.repeat):
        start = time.process_time()
        for number in range(args.sessions):
            session(root, 1000 + run * args.sessions + number)
        figures.append((time.process_time() - start) / args.sessions * 1e6)
    print(f"per-line path of one audit session (18 lines): median {statistics.median(figures):.0f} us CPU, min {min(figures):.0f} us")
    print(f"per 1,000 mailboxes: {statistics.median(figures) / 1000:.3f} s CPU")


if __name__ == "__main__":
    main()
