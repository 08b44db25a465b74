"""The attacks, as data: each names what it feeds mailscope, the secrets that must not come back, and its bounds."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import payloads as p
from .oracle import Run, run_mailscope
from .servers import HostileServer, ServerScript, token_forms

TOKEN_ENV = "MAILSCOPE_ATTACK_TOKEN"
PASSWORD_ENV = "MAILSCOPE_ATTACK_PASSWORD"
USER = "alice@contoso.com"
# Flags `mailscope check` takes to talk to a hostile server of each protocol (POP3/SMTP join when the probe speaks them).
PROTOCOL_ARGS = {"imap": ["--security", "plain"]}


@dataclass(frozen=True)
class Attack:
    name: str
    kind: str  # "server" | "log" | "file" | "console"
    run: Callable[[Path, Attack], list[Run]]
    secrets: tuple[str, ...] = ()
    timeout: float = 30
    max_rss_mb: float = 250
    expect_exit: int | None = None
    max_seconds: float | None = None
    fast: bool = True  # part of the CI slice
    forbidden: tuple[str, ...] = ()  # strings that must not appear decoded (an OSC 52 payload, a title)
    params: dict[str, object] = field(default_factory=dict)


# -- hostile servers ---------------------------------------------------------------------------------
def _server(script: ServerScript, *, json_too: bool = True, password: bool = False) -> Callable[[Path, Attack], list[Run]]:
    def run(tmp: Path, attack: Attack) -> list[Run]:
        secret = attack.secrets[0]
        runs = []
        with HostileServer(script, token_forms(secret)) as server:
            base = ["check", "--host", "127.0.0.1", "--port", str(server.port), "--user", USER, "--timeout", "5",
                    *PROTOCOL_ARGS[script.protocol]]  # fmt: skip
            credential = ["--password-env", PASSWORD_ENV, "--mechanism", "login"] if password else ["--token-env", TOKEN_ENV]
            env = {PASSWORD_ENV if password else TOKEN_ENV: secret}
            for extra in ([], ["--json"]) if json_too else ([],):
                runs.append(run_mailscope([*base, *credential, *extra], env=env, timeout=attack.timeout))
        return runs

    return run


HOSTILE_TOKEN = p.jwt(p.hostile_claims(), seed=11)
PLAIN_TOKEN = p.jwt({"aud": "https://outlook.office.com", "iss": p.ISSUER, "upn": USER, "scp": "IMAP.AccessAsUser.All",
                     "exp": 1_800_003_600, "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47"}, seed=12)  # fmt: skip
PASSWORD = "correct horse battery staple 42!"
CAPS = "* CAPABILITY IMAP4rev1 AUTH=XOAUTH2 AUTH=PLAIN AUTH=LOGIN SASL-IR"
ECHOES = ["* OK raw {token}", "* OK b64 {token_b64}", "* OK b64+1 {token_b64_1}", "* OK b64+2 {token_b64_2}",
          "* OK urlsafe {token_b64url}", "* OK hex {token_hex}", "* OK HEX {token_HEX}", "* OK utf16 {token_utf16}",
          "* OK first {token_head}", "{token_tail} second"]  # fmt: skip


def _flood(count: int) -> Callable[[dict[str, str]], list[str]]:
    return lambda values: [f"* {i} EXISTS" for i in range(count)] + [f"{values['tag']} OK [READ-ONLY] EXAMINE completed."]


def _controls_everywhere(values: dict[str, str]) -> list[str]:
    return [f"* OK {seq}" for seq in p.HOSTILE] + [f"{values['tag']} NO [AUTHENTICATIONFAILED] {p.OSC52}{p.CSI_CLEAR}"]


SERVERS = [
    (
        "greeting and capabilities full of control sequences",
        ServerScript(
            "imap",
            f"* OK {p.ALL_CONTROLS} ready",
            {"CAPABILITY": [f"{CAPS} X-{p.OSC0}", "{tag} OK " + p.CSI_CLEAR], "AUTHENTICATE": [_controls_everywhere]},
        ),
    ),
    (
        "the token echoed in every spelling, then refused",
        ServerScript(
            "imap",
            "* OK ready",
            {"CAPABILITY": [CAPS, "{tag} OK done"], "AUTHENTICATE": [*ECHOES, "{tag} NO [AUTHENTICATIONFAILED] bad token {token_hex}"]},
        ),
    ),
    (
        "the token inside a base64 JSON error challenge",
        ServerScript(
            "imap",
            "* OK ready",
            {
                "CAPABILITY": [CAPS, "{tag} OK done"],
                "AUTHENTICATE": [
                    lambda v: [
                        "+ " + base64.b64encode(json.dumps({"status": "401", "echo": v["token"], "x": p.OSC52}).encode()).decode(),
                        f"{v['tag']} NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)",
                    ]
                ],
            },
        ),
    ),
    (
        "authenticated, then the mailbox answers with echoes and controls",
        ServerScript(
            "imap",
            "* OK ready",
            {
                "CAPABILITY": [CAPS, "{tag} OK done"],
                "AUTHENTICATE": ["{tag} OK AUTHENTICATE completed."],
                "EXAMINE": [*ECHOES, "{tag} NO " + p.OSC0 + " {token_b64}"],
                "*": ["* BYE " + p.OSC52, "{tag} OK done"],
            },
        ),
    ),
    (
        "a thousand untagged lines in one write",
        ServerScript(
            "imap",
            "* OK ready",
            {"CAPABILITY": [CAPS, "{tag} OK done"], "AUTHENTICATE": ["{tag} OK AUTHENTICATE completed."], "EXAMINE": [_flood(1000)]},
        ),
    ),
]
PASSWORD_ECHOES = ["* OK your password was {token}", "* OK b64 {token_b64}", "* OK hex {token_hex}",
                   "{tag} NO [AUTHENTICATIONFAILED] {token}"]
PASSWORD_SERVER = ServerScript("imap", "* OK ready", {
    "CAPABILITY": ["* CAPABILITY IMAP4rev1 AUTH=PLAIN", "{tag} OK done"], "LOGIN": PASSWORD_ECHOES, "AUTHENTICATE": PASSWORD_ECHOES,
})  # fmt: skip


# -- hostile logs ---------------------------------------------------------------------------------------
def _log(
    text: str | bytes | Callable[[], bytes], *, name: str = "client.log", sessions: bool = True
) -> Callable[[Path, Attack], list[Run]]:
    def run(tmp: Path, attack: Attack) -> list[Run]:
        path = tmp / name
        data = text() if callable(text) else text
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogateescape"))
        variants = [["logs", str(path)], ["logs", str(path), "--json"]]
        if sessions:  # the rebuilt transcripts too (a session the log lacks is a clean usage error)
            variants += [["logs", str(path), "--session", n, *json] for n in ("1", "2") for json in ([], ["--json"])]
        return [run_mailscope(args, timeout=attack.timeout) for args in variants]

    return run


FIRST = p.jwt(p.hostile_claims(), seed=21)
SECOND = p.jwt(p.hostile_claims(), seed=22)  # same issuer, header and claims prefix as FIRST
LONG_MESSAGE = "x" * 150 + " "  # an exception message whose JWT straddles the 300-character cut
IMAPFLOW = "\n".join(json.dumps(line) for line in [
    {"level": 20, "time": p.OSC0 + "2026-11-28" + p.CSI_CLEAR, "pid": 1, "msg": "Connection established", "cid": "x1", "host": "imap.gmail.com", "port": 993, "secure": True},  # noqa: E501
    {"level": 10, "time": p.OSC52, "pid": 1, "msg": "C: 1 AUTHENTICATE XOAUTH2", "cid": "x1"},
    {"level": 10, "time": p.C1_CSI, "pid": 1, "msg": "S: 1 NO [AUTHENTICATIONFAILED] Invalid credentials " + p.BIDI, "cid": "x1"},
]) + "\n"  # fmt: skip
CUT_LINE = "C: A1 NOOP " + "A" * (64 * 1024 - 160) + " " + PLAIN_TOKEN + "\n"  # the 64 KiB cap cuts the JWT after ~150 chars
SASL_IR = base64.b64encode(f"user={USER}\x01auth=Bearer {PLAIN_TOKEN}\x01\x01".encode()).decode()
SASL_PREFIX_CUT = (
    "C: a1 AUTHENTICATE XOAUTH2 "
    + " " * (64 * 1024 - 30 - len(SASL_IR) // 2)
    + SASL_IR
    + "\nS: a1 NO bad\n"
    + "C: a2 AUTHENTICATE XOAUTH2 "
    + SASL_IR
    + "\nS: a2 NO [AUTHENTICATIONFAILED] Invalid credentials\n"
)
ECHO_LOG = p.imaplib_session([f"LFKD1 AUTHENTICATE XOAUTH2 {SASL_IR}"], [
    f"* NO hex {PLAIN_TOKEN.encode().hex()}", f"* BAD utf16 {base64.b64encode(PLAIN_TOKEN.encode('utf-16-le')).decode()}",
    "LFKD1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"])  # fmt: skip


def _gzip_bomb() -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as bomb:
        for _ in range(200):
            bomb.write(bytes(1024 * 1024))
    return buffer.getvalue()


# -- bad local files --------------------------------------------------------------------------------
def _bad_file(option: str, make: Callable[[Path], str], *, extra: tuple[str, ...] = (), env: dict[str, str] | None = None
              ) -> Callable[[Path, Attack], list[Run]]:  # fmt: skip
    def run(tmp: Path, attack: Attack) -> list[Run]:
        target = make(tmp)
        args = ["check", "--host", "127.0.0.1", "--port", "1", *([option, target] if option else []), *extra]
        return [run_mailscope(args, timeout=attack.timeout, env={"XDG_CONFIG_HOME": str(tmp), **(env or {})})]

    return run


def _fifo(tmp: Path, name: str = "fifo") -> str:
    path = tmp / name
    os.mkfifo(path)
    return str(path)


def _written(data: bytes, name: str = "file") -> Callable[[Path], str]:
    def make(tmp: Path) -> str:
        (tmp / name).write_bytes(data)
        return str(tmp / name)

    return make


def _profile_fifo(tmp: Path) -> str:
    (tmp / "mailscope").mkdir()
    _fifo(tmp / "mailscope", "profiles.toml")
    return "x"


# -- the console, in tmux ------------------------------------------------------------------------------
def _console(text: str) -> Callable[[Path, Attack], list[Run]]:
    def run(tmp: Path, attack: Attack) -> list[Run]:
        from .console import replay_in_tmux

        path = tmp / "hostile.log"
        path.write_text(text)
        return [replay_in_tmux(path, tmp, timeout=attack.timeout)]

    return run


HOSTILE_LOG = p.postfix_sessions([HOSTILE_TOKEN])
FILE_EXIT = {"expect_exit": 2, "max_seconds": 1.5, "timeout": 10}


def attacks() -> list[Attack]:
    out = [
        Attack(f"imap server: {name}", "server", _server(script), (PLAIN_TOKEN,), fast=i < 4) for i, (name, script) in enumerate(SERVERS)
    ]
    out += [
        Attack("imap server: a password echoed back after LOGIN", "server", _server(PASSWORD_SERVER, password=True), (PASSWORD,)),
        Attack(
            "log: JWT claims with OSC 52, OSC 0, CSI, DCS, C1 and bidi",
            "log",
            _log(HOSTILE_LOG),
            (HOSTILE_TOKEN,),
            forbidden=(p.OSC52_PAYLOAD,),
        ),
        Attack("log: imapflow time fields with control sequences", "log", _log(IMAPFLOW, name="imapflow.jsonl")),
        Attack(
            "log: JavaMail password= with spaces, then echoed", "log", _log(p.javamail_login(PASSWORD, f"echo {PASSWORD}")), (PASSWORD,)
        ),
        Attack(
            "log: a JWT across the 300-character exception cut",
            "log",
            _log(p.javamail_login("<non-null>", "ready", exception=LONG_MESSAGE + PLAIN_TOKEN)),
            (PLAIN_TOKEN,),
        ),
        Attack("log: a JWT across the 64 KiB line cap", "log", _log(CUT_LINE), (PLAIN_TOKEN,)),
        Attack("log: a SASL response cut by the line cap, then whole", "log", _log(SASL_PREFIX_CUT), (PLAIN_TOKEN,)),
        Attack("log: two tokens from one issuer", "log", _log(p.postfix_sessions([FIRST, SECOND])), (FIRST, SECOND)),
        Attack("log: the token echoed in hex and UTF-16LE base64", "log", _log(ECHO_LOG), (PLAIN_TOKEN,)),
        Attack(
            "log: 300 sessions with their own JWTs",
            "log",
            _log(lambda: p.postfix_sessions([p.jwt(p.hostile_claims(f"u{i}@contoso.com", i), seed=i) for i in range(300)]).encode(),
                 sessions=False),
            max_rss_mb=100,
            timeout=60,
            fast=False,
        ),
        Attack("log: binary garbage with NUL and C1 bytes", "log", _log(bytes(range(256)) * 400 + b"\n* OK \x1b]0;t\x07\n")),
        Attack("log: a gzip bomb (200 MB of NUL)", "log", _log(_gzip_bomb, name="bomb.log.gz", sessions=False), fast=False),
        Attack("file: --token-file is a FIFO", "file", _bad_file("--token-file", _fifo), **FILE_EXIT),
        Attack("file: --token-file /dev/zero", "file", _bad_file("--token-file", lambda t: "/dev/zero"), **FILE_EXIT),
        Attack("file: --token-file /dev/urandom", "file", _bad_file("--token-file", lambda t: "/dev/urandom"), **FILE_EXIT),
        Attack("file: --token-file a directory", "file", _bad_file("--token-file", str), **FILE_EXIT),
        Attack("file: --token-file binary", "file", _bad_file("--token-file", _written(b"\x00\x1b]0;x\x07\xff" * 10)), **FILE_EXIT),
        Attack("file: --token-file empty", "file", _bad_file("--token-file", _written(b"")), **FILE_EXIT),
        Attack(
            "file: --token-file of 4 MB",
            "file",
            _bad_file("--token-file", _written(base64.urlsafe_b64encode(os.urandom(3 * 1024 * 1024)))),
            **FILE_EXIT,
        ),
        Attack("file: --token-env unset", "file", _bad_file("--token-env", lambda t: "MAILSCOPE_ATTACK_UNSET"), **FILE_EXIT),
        Attack(
            "file: --ca-file binary",
            "file",
            _bad_file("--ca-file", _written(bytes(range(256)) * 10), extra=("--token-env", "HOME")),
            forbidden=("_ssl.c",),
            **FILE_EXIT,
        ),
        Attack(
            "file: --ca-file not a certificate",
            "file",
            _bad_file(
                "--ca-file",
                _written(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"),
                extra=("--token-env", "HOME"),
            ),
            forbidden=("_ssl.c",),
            **FILE_EXIT,
        ),
        Attack("file: --ca-file is a FIFO", "file", _bad_file("--ca-file", _fifo, extra=("--token-env", "HOME")), **FILE_EXIT),
        Attack(
            "file: --service-account-file /dev/zero",
            "file",
            _bad_file("--service-account-file", lambda t: "/dev/zero", extra=("--provider", "google", "--flow", "service_account")),
            **FILE_EXIT,
        ),
        Attack("file: profiles.toml is a FIFO", "file", _bad_file("--profile", _profile_fifo), **FILE_EXIT),
        *(
            Attack(
                f"file: --timeout {value}", "file", _bad_file("--timeout", lambda t, v=value: v, extra=("--token-env", "HOME")), **FILE_EXIT
            )
            for value in ("inf", "nan", "0", "-1")
        ),
        Attack(
            "console: replaying a log whose claims hold OSC 52 / OSC 0 / CSI",
            "console",
            _console(HOSTILE_LOG),
            (HOSTILE_TOKEN,),
            timeout=60,
            max_rss_mb=400,
            forbidden=(p.OSC52_PAYLOAD,),
        ),
    ]
    return out
