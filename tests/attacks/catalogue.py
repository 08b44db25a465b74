"""The attacks, as data: each names what it feeds mailscope, the secrets that must not come back, and its bounds."""

from __future__ import annotations

import base64
import functools
import gzip
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

from . import casefiles, inputs, scripts, training
from . import payloads as p
from .attack import PASSWORD_ENV, TOKEN_ENV, Attack
from .oracle import Run, run_each, run_mailscope
from .payloads import HOSTILE_TOKEN, PLAIN_TOKEN, USER
from .scripts import Hostile
from .servers import HostileServer, token_forms


# -- hostile servers ---------------------------------------------------------------------------------
def _server(hostile: Hostile) -> Callable[[Path, Attack], list[Run]]:
    """`mailscope check` against the hostile server, as text and as --json."""

    def run(tmp: Path, attack: Attack) -> list[Run]:
        secret = attack.secrets[0]
        with HostileServer(hostile.script, token_forms(secret)) as server:
            base = ["check", "--protocol", hostile.script.protocol, "--security", hostile.security, "--host", "127.0.0.1",
                    "--port", str(server.port), "--user", USER, "--timeout", "5", *hostile.options]  # fmt: skip
            credential = ["--password-env", PASSWORD_ENV, "--mechanism", "login"] if hostile.password else ["--token-env", TOKEN_ENV]
            env = {PASSWORD_ENV if hostile.password else TOKEN_ENV: secret}
            return run_each([functools.partial(run_mailscope, [*base, *credential, *extra], env=env, timeout=attack.timeout)
                             for extra in ([], ["--json"])])  # fmt: skip

    return run


def _server_attacks() -> list[Attack]:
    return [
        Attack(
            f"{hostile.script.protocol} server: {hostile.name}",
            "server",
            _server(hostile),
            (hostile.password or PLAIN_TOKEN,),
            expect_exit=hostile.expect_exit,
            required=hostile.required,
            forbidden=hostile.forbidden,
            timeout=hostile.timeout,
            fast=hostile.fast,
        )  # fmt: skip
        for hostile in (*scripts.IMAP, *scripts.POP3, *scripts.SMTP)
    ]


# -- hostile logs ---------------------------------------------------------------------------------------
BOTH = ("1", "2")  # a log of two sessions; or one, and asking for a second is a clean usage error


def _log(
    text: str | bytes | Callable[[], bytes], *, name: str = "client.log", sessions: tuple[str, ...] = ("1",), summary: bool = True
) -> Callable[[Path, Attack], list[Run]]:
    """`mailscope logs` on the log: its summary (unless not `summary`) and the rebuilt `sessions`, each as text and --json
    (a session the log lacks is a clean usage error). An attack whose `required` is transcript text runs the sessions only."""

    def run(tmp: Path, attack: Attack) -> list[Run]:
        path = tmp / name
        data = text() if callable(text) else text
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogateescape"))
        variants = [["logs", str(path)], ["logs", str(path), "--json"]] if summary else []
        variants += [["logs", str(path), "--session", n, *json] for n in sessions for json in ([], ["--json"])]
        return run_each([functools.partial(run_mailscope, args, timeout=attack.timeout) for args in variants])

    return run


_LATIN1_PASSWORD = b"S\xe9cr\xe8t-latin1-pass-42"
LATIN1_LOG = (
    b"S: * OK Dovecot ready.\nC: a1 LOGIN alice@example.test " + _LATIN1_PASSWORD
    + b"\nS: a1 NO [AUTHENTICATIONFAILED] Authentication failed.\n"
    b"C: a2 AUTHENTICATE PLAIN " + base64.b64encode(b"\0alice@example.test\0" + _LATIN1_PASSWORD)
    + b"\nS: a2 NO [AUTHENTICATIONFAILED] Authentication failed.\n"
)
FIRST = p.jwt(p.hostile_claims(), seed=21)
SECOND = p.jwt(p.hostile_claims(), seed=22)  # same issuer, header and claims prefix as FIRST
LONG_MESSAGE = "x" * 150 + " "  # an exception message whose JWT straddles the 300-character cut
IMAPFLOW = "\n".join(json.dumps(line) for line in [
    {"level": 20, "time": p.OSC0 + "2026-11-28" + p.CSI_CLEAR, "pid": 1, "msg": "Connection established", "cid": "x1", "host": "imap.gmail.com", "port": 993, "secure": True},  # noqa: E501
    {"level": 10, "time": p.OSC52, "pid": 1, "msg": "C: 1 AUTHENTICATE XOAUTH2", "cid": "x1"},
    {"level": 10, "time": p.C1_CSI, "pid": 1, "msg": "S: 1 NO [AUTHENTICATIONFAILED] Invalid credentials " + p.BIDI, "cid": "x1"},
]) + "\n"  # fmt: skip
CUT_LINE = "C: A1 NOOP " + "A" * (64 * 1024 - 160) + " " + PLAIN_TOKEN + "\n"  # the 64 KiB cap cuts the JWT after ~150 chars
SASL_IR = p.sasl_ir(PLAIN_TOKEN)
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


CAPA = [("C", "CAPA"), ("S", "+OK"), ("S", "USER"), ("S", "SASL PLAIN XOAUTH2"), ("S", ".")]
POP3_LOG = p.curl([
    ("S", f"+OK {p.ALL_CONTROLS} The Microsoft Exchange POP3 service is ready."), ("C", "CAPA"), ("S", "+OK " + p.OSC0),
    ("S", f"X-{p.OSC52}"), ("S", "SASL PLAIN XOAUTH2"), ("S", "."), ("C", "AUTH XOAUTH2"), ("S", "+"), ("C", SASL_IR),
    ("S", "+ " + p.json_challenge(PLAIN_TOKEN)), ("C", ""), *(("S", line) for line in p.echoes(PLAIN_TOKEN)),
    ("S", f"-ERR [AUTH] {p.OSC52}{p.CSI_CLEAR} {PLAIN_TOKEN.encode().hex()}"),
])  # fmt: skip
LOGIN_USER, LOGIN_PASSWORD = (base64.b64encode(v.encode()).decode() for v in (USER, p.SHORT_PASSWORD))
AUTH_LOGIN = [("C", "AUTH LOGIN"), ("S", "334 VXNlcm5hbWU6"), ("C", LOGIN_USER), ("S", "334 UGFzc3dvcmQ6"), ("C", LOGIN_PASSWORD)]
SMTP_LOGIN_LOG = p.transcript([
    ("S", "220 mx.contoso.com ESMTP Postfix"), ("C", "EHLO client"), ("S", "250-mx.contoso.com"), ("S", "250 AUTH LOGIN PLAIN"),
    *AUTH_LOGIN, ("S", "535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6"),
    *AUTH_LOGIN, *(("S", f"535-5.7.8 {line}") for line in p.echoes(p.SHORT_PASSWORD)), ("S", "535 5.7.8 Error: authentication failed"),
])  # fmt: skip
SMTP_GMAIL_LOG = p.thunderbird_smtp([
    ("S", f"220 smtp.gmail.com ESMTP {p.OSC0} gsmtp"), ("C", "EHLO [127.0.0.1]"), ("S", f"250-smtp.gmail.com {p.CSI_CLEAR}"),
    ("S", "250-AUTH LOGIN PLAIN XOAUTH2 OAUTHBEARER"), ("S", f"250 {p.DCS}"), ("C", f"AUTH XOAUTH2 {SASL_IR}"),
    ("S", "334 " + p.json_challenge(PLAIN_TOKEN)), ("C", ""), *(("S", f"535-5.7.8 {line}") for line in p.echoes(PLAIN_TOKEN)),
    ("S", f"535 5.7.8 Username and Password not accepted. {p.OSC52}"),
])  # fmt: skip
DEEP_CHALLENGES = p.transcript([
    ("S", "220 smtp.gmail.com ESMTP"), ("C", "EHLO x"), ("S", "250 AUTH XOAUTH2"), ("C", f"AUTH XOAUTH2 {SASL_IR}"),
    ("S", "334 " + p.json_challenge(PLAIN_TOKEN, depth=3000)), ("C", ""), ("S", "535 5.7.8 Password not accepted."),
]) + "\n" + p.curl([("S", "+OK ready"), ("C", "AUTH XOAUTH2"), ("S", "+"), ("C", SASL_IR),
                    ("S", "+ " + p.json_challenge(PLAIN_TOKEN, depth=3000)), ("C", ""), ("S", "-ERR [AUTH] failed.")])  # fmt: skip
POP3_FLOOD_LOG = p.curl([("S", "+OK ready"), *CAPA[:2], *(("S", f"X-CAPABILITY-{i}") for i in range(5000)), *CAPA[2:],
                         ("C", "AUTH XOAUTH2"), ("S", "+"), ("C", SASL_IR), ("S", "+OK User successfully authenticated."),
                         ("C", "STAT"), ("S", "+OK 3 1024")])  # fmt: skip


def _long_pop3_session() -> bytes:
    """One POP3 session of 300,000 lines: a mailbox listing that never seems to end."""
    lines = [("S", "+OK ready"), ("C", "AUTH XOAUTH2"), ("S", "+"), ("C", SASL_IR), ("S", "+OK authenticated"), ("C", "LIST"), ("S", "+OK")]
    return p.curl([*lines, *(("S", f"{i} {1000 + i}") for i in range(300_000)), ("S", ".")]).encode()


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
NOT_UTF8_TOKEN = os.fsdecode(b"eyJ0.e30.sig\xffmore-token")  # the child's environment gets the byte 0xff back


def attacks() -> list[Attack]:
    out = _server_attacks()
    out += inputs.attacks()
    out += training.ATTACKS
    out += casefiles.ATTACKS
    out += [
        Attack(
            "log: JWT claims with OSC 52, OSC 0, CSI, DCS, C1 and bidi",
            "log",
            _log(HOSTILE_LOG),
            (HOSTILE_TOKEN,),
            forbidden=(p.OSC52_PAYLOAD,),
        ),
        Attack("log: imapflow time fields with control sequences", "log", _log(IMAPFLOW, name="imapflow.jsonl")),
        Attack(
            "log: JavaMail password= with spaces, then echoed",
            "log",
            _log(p.javamail_login(p.PASSWORD, f"echo {p.PASSWORD}")),
            (p.PASSWORD,),
        ),
        Attack(
            "log: a JWT across the 300-character exception cut",
            "log",
            _log(p.javamail_login("<non-null>", "ready", exception=LONG_MESSAGE + PLAIN_TOKEN)),
            (PLAIN_TOKEN,),
        ),
        Attack("log: a JWT across the 64 KiB line cap", "log", _log(CUT_LINE), (PLAIN_TOKEN,)),
        Attack("log: a SASL response cut by the line cap, then whole", "log", _log(SASL_PREFIX_CUT, sessions=BOTH), (PLAIN_TOKEN,)),
        Attack("log: two tokens from one issuer", "log", _log(p.postfix_sessions([FIRST, SECOND]), sessions=BOTH), (FIRST, SECOND)),
        Attack("log: the token echoed in hex and UTF-16LE base64", "log", _log(ECHO_LOG), (PLAIN_TOKEN,), fast=False),
        Attack(
            "log: 300 sessions with their own JWTs",
            "log",
            _log(
                lambda: p.postfix_sessions([p.jwt(p.hostile_claims(f"u{i}@contoso.com", i), seed=i) for i in range(300)]).encode(),
                sessions=(),
            ),
            max_rss_mb=100,
            timeout=60,
            fast=False,
        ),
        Attack(
            "log: POP3 (curl) with control sequences, a JSON challenge and the token echoed in every spelling",
            "log",
            _log(POP3_LOG),
            (PLAIN_TOKEN,),
            forbidden=(p.OSC52_PAYLOAD,),
        ),
        Attack(
            "log: SMTP AUTH LOGIN with Postfix's prompts and a short password, then its echoes",
            "log",
            _log(SMTP_LOGIN_LOG, summary=False),
            (p.SHORT_PASSWORD,),
            required=("334 UGFzc3dvcmQ6", "334 VXNlcm5hbWU6"),
            forbidden=(p.SHORT_PASSWORD,),
        ),
        Attack(
            "log: JavaMail SMTP debug with AUTH LOGIN answers on lines of their own and the password echoed",
            "log",
            _log(p.javamail_smtp_login(p.SHORT_PASSWORD), summary=False),
            (p.SHORT_PASSWORD,),
            required=("334 UGFzc3dvcmQ6",),
            forbidden=(p.SHORT_PASSWORD, "<password 9 chars"),  # "Password:" taken for the password
            fast=False,
        ),
        Attack(
            "log: SMTP (Thunderbird) with control sequences and Gmail's challenge echoing the token",
            "log",
            _log(SMTP_GMAIL_LOG),
            (PLAIN_TOKEN,),
            forbidden=(p.OSC52_PAYLOAD,),
            fast=False,
        ),
        Attack("log: SMTP and POP3 challenges of 3,000 nested JSON arrays", "log", _log(DEEP_CHALLENGES, sessions=BOTH), (PLAIN_TOKEN,)),
        Attack(
            "log: a POP3 session with 5,000 CAPA lines, SASL after them",
            "log",
            _log(POP3_FLOOD_LOG, summary=False),
            (PLAIN_TOKEN,),
            required=("authenticated_mailbox_reachable",),
        ),
        Attack("log: one POP3 session of 300,000 lines", "log", _log(_long_pop3_session), (PLAIN_TOKEN,), timeout=120, fast=False),
        Attack(
            "log: a Latin-1 password (bytes that are not UTF-8) in LOGIN and in AUTHENTICATE PLAIN",
            "log",
            _log(LATIN1_LOG),
            forbidden=("latin1-pass", "\\xe9cr\\xe8t", "LXBhc3MtNDI", "6WNy6HQtbGF0aW4x"),  # raw, escaped, base64 pieces
        ),
        Attack("log: binary garbage with NUL and C1 bytes", "log", _log(bytes(range(256)) * 400 + b"\n* OK \x1b]0;t\x07\n", sessions=BOTH)),
        Attack("log: a gzip bomb (200 MB of NUL)", "log", _log(_gzip_bomb, name="bomb.log.gz", sessions=()), fast=False),
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
            "file: --token-env holds a byte that is not UTF-8",
            "file",
            _bad_file("--token-env", lambda t: "MAILSCOPE_ATTACK_BYTES", env={"MAILSCOPE_ATTACK_BYTES": NOT_UTF8_TOKEN}),
            forbidden=("more-token", "sig\\xff"),
            **FILE_EXIT,
        ),
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
