"""Throughput of `Redactor.redact_line()`, the per-line hot path of the live transcript and of log import.

Prints lines/s and MB/s for six workloads:
* realistic IMAP traffic (greeting, capabilities, LIST/FETCH/EXAMINE results, tagged responses,
  one Gmail error challenge) with no secret registered;
* the same with a registered JWT and password (the live probe always registers its credential);
* unrelated Jira log lines (the Atlassian example file, stack traces included);
* lines that do hold secrets (SASL-IR with a JWT, Bearer headers, token endpoint JSON);
* an audit's new text, a JWT and a client secret registered: per mailbox, its tagged lines, its SASL description and
  the finding texts that name it (each a first redaction: no memo knows them);
* lines of identifiers seen once (hex, GUIDs, base64): no part of them repeats, so nothing remembered helps.

Also the one-off cost of registering a token. Figures are CPU time (the machine may be shared).
Run: `python benchmarks/redact_throughput.py [--seconds S]`.
"""

from __future__ import annotations

import argparse
import base64
import pathlib
import random
import time
import uuid

from mailscope.redact import Redactor
from mailscope.secret import Secret, SecretKind

_JIRA_LOG = pathlib.Path("/work/shared/examples/jira-incoming-mail-exchange-plain.log")
_RANDOM = random.Random(2)  # a realistic token: 1.6 kB of random base64url, like an Entra access token
_JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + base64.urlsafe_b64encode(_RANDOM.randbytes(900)).decode().rstrip("=")
_JWT += "." + base64.urlsafe_b64encode(_RANDOM.randbytes(256)).decode().rstrip("=")

IMAP_LINES = [
    "* OK The Microsoft Exchange IMAP4 service is ready. "
    "[TQBSADEAUAAyADYANABDAEEAMAAxADQANgAuAEYAUgBBAFAAMgA2ADQALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]",
    "A0001 CAPABILITY",
    "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+",
    "A0001 OK CAPABILITY completed.",
    "A0003 OK AUTHENTICATE completed.",
    '* NAMESPACE (("" "/")) NIL NIL',
    '* LIST (\\HasNoChildren \\Marked) "/" INBOX',
    "* 1234 EXISTS",
    "* 0 RECENT",
    "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)",
    "* OK [PERMANENTFLAGS ()] Permanent flags",
    "* OK [UIDVALIDITY 14] UIDVALIDITY value",
    "* OK [UIDNEXT 53417] The next unique identifier value",
    "A0006 OK [READ-ONLY] EXAMINE completed.",
    '* 12 FETCH (UID 53400 FLAGS (\\Seen) INTERNALDATE "28-Nov-2026 10:11:12 +0000" RFC822.SIZE 48213)',
    "+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==",
    "A0004 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)",
    "* BYE Microsoft Exchange Server IMAP4 server signing off.",
]

AUDIT_TEXTS = [  # {n}: the mailbox's number; {tag}: aioimaplib's random tag
    "{tag}1 AUTHENTICATE XOAUTH2 <SASL XOAUTH2 user=mbx{n:04}@contoso.onmicrosoft.com ^A auth=Bearer <jwt 1360 chars sha256:d053b899> "
    "^A^A>",
    "{tag}1 OK AUTHENTICATE completed.",
    "{tag}3 EXAMINE INBOX",
    "{tag}3 OK [READ-ONLY] EXAMINE completed.",
    "{tag}4 LOGOUT",
    "<SASL XOAUTH2 user=mbx{n:04}@contoso.onmicrosoft.com ^A auth=Bearer <jwt 1360 chars sha256:d053b899> ^A^A>",
    "mbx{n:04}@contoso.onmicrosoft.com",
    "Add-MailboxPermission -Identity mbx{n:04}@contoso.onmicrosoft.com -User 3caf69c3-6e9e-5b22-bb42-216386cfdb52 -AccessRights FullAccess",
    "SASL user= must be the mailbox address (mbx{n:04}@contoso.onmicrosoft.com).",
    "The admin runs `Get-MailboxPermission mbx{n:04}@contoso.onmicrosoft.com`: no FullAccess entry for the app's service principal "
    "(3caf69c3-6e9e-5b22-bb42-216386cfdb52) confirms it.",
    "the app-only token was accepted but the mailbox refused: the service principal has no FullAccess on mbx{n:04}@contoso.onmicrosoft.com",
]

SECRET_LINES = [
    "A0002 AUTHENTICATE XOAUTH2 " + base64.b64encode(f"user=alice@contoso.com\x01auth=Bearer {_JWT}\x01\x01".encode()).decode(),
    "> Authorization: Bearer ya29.a0AfB_byC1234567890abcdefghijklmnopqrstuvwxyz",
    '{"token_type": "Bearer", "access_token": "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA", "refresh_token": "M.C5_BAY.0.U.-Cabc"}',
    "grant_type=refresh_token&client_id=abc&refresh_token=1//0gabcdefghijklmnopqrstuvwxyz&client_secret=s3cr3t-value",
]


def measure(redactor: Redactor, lines: list[str], seconds: float) -> tuple[float, float]:
    """Lines per second and MB per second of CPU time (the machine is shared: wall time would
    measure the neighbours), over at least `seconds` of repeated passes in transcript order."""
    size = sum(len(line.encode()) for line in lines)
    done = 0
    start = time.process_time()
    while True:
        for line in lines:
            redactor.redact_line(line)
        done += 1
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return done * len(lines) / elapsed, done * size / elapsed / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="time per workload")
    args = parser.parse_args()
    jira = _JIRA_LOG.read_text(encoding="utf-8", errors="replace").splitlines() if _JIRA_LOG.exists() else []
    with_secrets = Redactor([Secret(SecretKind.ACCESS_TOKEN, _JWT)])
    with_secrets.register(Secret(SecretKind.PASSWORD, "correct horse battery"), "password")
    audit = Redactor([Secret(SecretKind.ACCESS_TOKEN, _JWT), Secret(SecretKind.CLIENT_SECRET, "lab~Q7abcdefghijklmnopqrstuvwxyz0123")])
    audit_texts = [text.format(n=n, tag="".join(_RANDOM.choices("ABCDEFGHIJKLMNOP", k=4))) for n in range(1, 1001) for text in AUDIT_TEXTS]
    seen_once = [  # 20,000 lines: more runs than the fragment memo keeps, so a second pass finds none of them there
        f"* {n} FETCH (X-GM-MSGID {_RANDOM.randbytes(12).hex()} X-ID {uuid.UUID(bytes=_RANDOM.randbytes(16))} "
        f"BLOB {base64.b64encode(_RANDOM.randbytes(18)).decode()})"
        for n in range(20_000)
    ]
    workloads = [
        ("IMAP lines, nothing registered", Redactor(), IMAP_LINES),
        ("IMAP lines, JWT + password registered", with_secrets, IMAP_LINES),
        ("Jira log lines, nothing registered", Redactor(), jira),
        ("lines holding secrets (catch-all)", Redactor(), SECRET_LINES),
        ("audit's new text, JWT + secret registered", audit, audit_texts),
        ("identifiers seen once, JWT + pw registered", with_secrets, seen_once),
    ]
    start = time.process_time()
    Redactor([Secret(SecretKind.ACCESS_TOKEN, _JWT)])
    print(f"register a {len(_JWT)}-char JWT (every form, fragments): {(time.process_time() - start) * 1000:.1f} ms CPU")
    print(f"{'workload':44} {'lines/s':>12} {'MB/s':>8}")
    for name, redactor, lines in workloads:
        if not lines:
            print(f"{name:44} {'(no input)':>12}")
            continue
        per_second, mb = measure(redactor, lines, args.seconds)
        print(f"{name:44} {per_second:12,.0f} {mb:8.1f}")


if __name__ == "__main__":
    main()
