"""Hostile local inputs of the commands that read files and numbers: `mailscope audit`'s sheet and output,
scenario/course/answers TOML for `lab validate`, `check --lab FILE`, `train` and `lab token`, and the numeric options
of every command. Each `Call` is one run of the real console script; files it writes are judged with its output."""

from __future__ import annotations

import base64
import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import payloads as p
from . import scripts
from .attack import TOKEN_ENV, Attack
from .oracle import Run, run_each, run_mailscope
from .servers import HostileServer, ServerScript, token_forms

# Control sequences a CSV cell or a TOML string can carry (a NUL makes the whole file binary: its own attack).
CONTROLS = "".join(seq for seq in p.HOSTILE if "\x00" not in seq) + "\x07\x08\x7f"
PASTED_TOKEN = p.jwt({"aud": "https://outlook.office.com", "upn": "pasted@contoso.com", "scp": "IMAP.AccessAsUser.All"}, seed=31)
PASTED_PASSWORD = "pasted-password-into-the-sheet-1!"
PASTED_SECRET = "Xy78Q~" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z"  # an Entra client secret's shape
SECRETS = (p.PLAIN_TOKEN, PASTED_TOKEN, PASTED_PASSWORD, PASTED_SECRET)
FAST_EXIT = {"expect_exit": 2, "max_seconds": 3.0, "timeout": 15}
FULL_RUN = {**FAST_EXIT, "fast": False}  # in the full run only: the CI slice has one of their kind


@dataclass(frozen=True)
class Call:
    args: list[str]
    writes: tuple[Path, ...] = ()  # files the run writes (reports, results): judged like its output
    env: dict[str, str] = field(default_factory=dict)


def _calls(make: Callable[[Path], list[Call]], servers: tuple[ServerScript, ...] = ()) -> Callable[[Path, Attack], list[Run]]:
    """Run `make(tmp)`'s calls in `tmp`, with the hostile `servers` listening (their ports in `tmp / "ports"`)."""

    def run(tmp: Path, attack: Attack) -> list[Run]:
        with contextlib.ExitStack() as stack:
            ports = [stack.enter_context(HostileServer(script, token_forms(p.PLAIN_TOKEN))).port for script in servers]
            (tmp / "ports").write_text(" ".join(map(str, ports)))
            return run_each([functools.partial(_call, call, tmp, attack.timeout) for call in make(tmp)])

    return run


def _call(call: Call, tmp: Path, timeout: float) -> Run:
    env = {"XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config"), TOKEN_ENV: p.PLAIN_TOKEN, **call.env}
    run = run_mailscope(call.args, env=env, timeout=timeout, cwd=tmp)
    for path in call.writes:
        if path.is_file():
            run.extra_outputs[path.name] = path.read_bytes().decode("utf-8", "surrogateescape")
    return run


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


# -- mailscope audit -----------------------------------------------------------------------------------
def _hostile_sheet(tmp: Path) -> list[Call]:
    """Rows whose cells hold control sequences or pasted secrets, and rows for a hostile POP3 and a hostile SMTP server."""
    pop3, smtp = (tmp / "ports").read_text().split()
    rows = [
        "user,host,port,protocol,security,token,password,client_secret",
        f'"alice{CONTROLS}@contoso.com",127.0.0.1,{pop3},pop3,plain,env:{TOKEN_ENV},,',
        f'bob@contoso.com,"127.0.0.1{CONTROLS}",{pop3},pop3,plain,env:{TOKEN_ENV},,',
        f'carol@contoso.com,127.0.0.1,"{pop3}{CONTROLS}",pop3,plain,env:{TOKEN_ENV},,',
        f'dave@contoso.com,127.0.0.1,{pop3},"pop3{CONTROLS}",plain,env:{TOKEN_ENV},,',
        f"erin@contoso.com,127.0.0.1,{pop3},pop3,plain,{PASTED_TOKEN},,",
        f"frank@contoso.com,127.0.0.1,{smtp},smtp,plain,,{PASTED_PASSWORD},",
        f"grace@contoso.com,127.0.0.1,{smtp},smtp,plain,env:{TOKEN_ENV},,{PASTED_SECRET}",
        f'"{PASTED_TOKEN}",127.0.0.1,{pop3},pop3,plain,env:{TOKEN_ENV},,',
        f"alice{p.BIDI}@contoso.com,127.0.0.1,{pop3},pop3,plain,env:{TOKEN_ENV},,",
        f"{'a' * 5000}@contoso.com,127.0.0.1,{pop3},pop3,plain,env:{TOKEN_ENV},,",
        f"mallory@contoso.com,127.0.0.1,{pop3},pop3,plain,env:{TOKEN_ENV},,",
        f"trent@contoso.com,127.0.0.1,{smtp},smtp,plain,env:{TOKEN_ENV},,",
    ]
    sheet = tmp / "mailboxes.csv"
    sheet.write_text("\n".join(rows) + "\n")
    calls = []
    for shape in ([], ["--json"], ["--markdown"]):
        output = tmp / f"out{len(calls)}.jsonl"
        calls.append(Call(["audit", str(sheet), "-o", str(output), "--timeout", "5", "--no-progress", *shape], (output,)))
    return calls


# An Exchange-like greeting whose base64 front-end name holds control sequences, and the token echoed in every spelling: met
# by every mailbox of one audit, so the later sessions go through what the earlier ones left remembered (the greeting's
# reading, the shared token's description, the fragment searches, the report's final pass).
_FRONTEND = base64.b64encode(f"MR1P264CA0146{p.OSC52}{p.CSI_CLEAR}.PROD.OUTLOOK.COM".encode("utf-16-le")).decode()
_EXCHANGE_ECHOES = ServerScript(
    "imap", f"* OK The Microsoft Exchange IMAP4 service is ready. [{_FRONTEND}]", scripts.IMAP[1].script.replies
)


def _one_server_many_mailboxes(tmp: Path) -> list[Call]:
    (imap,) = (tmp / "ports").read_text().split()
    sheet = tmp / "mailboxes.csv"
    sheet.write_text("user\n" + "".join(f"mbx{n:02d}@contoso.com\n" for n in range(12)))
    output = tmp / "out.jsonl"
    return [Call(["audit", str(sheet), "--host", "127.0.0.1", "--port", imap, "--security", "plain", "--token-env", TOKEN_ENV,
                  "--timeout", "5", "--no-progress", "--json", "-o", str(output)], (output,))]  # fmt: skip


def _sheet(text: str | bytes) -> Callable[[Path], list[Call]]:
    def make(tmp: Path) -> list[Call]:
        sheet = tmp / "mailboxes.csv"
        sheet.write_bytes(text if isinstance(text, bytes) else text.encode())
        return [Call(["audit", str(sheet), "--host", "127.0.0.1", "--token-env", TOKEN_ENV, *shape]) for shape in ([], ["--json"])]

    return make


def _sheet_at(where: Callable[[Path], Path]) -> Callable[[Path], list[Call]]:
    return lambda tmp: [Call(["audit", str(where(tmp)), "--host", "127.0.0.1", "--token-env", TOKEN_ENV])]


def _audit_output(where: Callable[[Path], Path], *extra: str) -> Callable[[Path], list[Call]]:
    def make(tmp: Path) -> list[Call]:
        sheet = tmp / "mailboxes.csv"
        sheet.write_text("user\nalice@contoso.com\n")
        return [Call(["audit", str(sheet), "--host", "127.0.0.1", "--port", "1", "--token-env", TOKEN_ENV, "-o", str(where(tmp)), *extra])]

    return make


SHEET_ATTACKS = [
    Attack("sheet: cells with control sequences and pasted secrets; hostile POP3 and SMTP rows", "sheet",
           _calls(_hostile_sheet, (scripts.POP3[1].script, scripts.SMTP[0].script)), SECRETS, expect_exit=1, timeout=60,
           forbidden=(p.OSC52_PAYLOAD,)),
    Attack("sheet: 12 mailboxes on one hostile Exchange-like IMAP server (front-end name of control sequences, the token echoed)",
           "sheet", _calls(_one_server_many_mailboxes, (_EXCHANGE_ECHOES,)), SECRETS, expect_exit=1, timeout=60,
           forbidden=(p.OSC52_PAYLOAD,)),
    Attack("sheet: a header of control sequences and a pasted token", "sheet",
           _calls(_sheet(f'user,"x{CONTROLS}",{PASTED_TOKEN}\nalice@contoso.com,1,2\n')), SECRETS, **FAST_EXIT),
    Attack("sheet: NUL bytes and invalid UTF-8", "sheet", _calls(_sheet(b"user\n\x00\xff\xfe" + bytes(range(256)))), **FULL_RUN),
    Attack("sheet: a 20 MB cell", "sheet", _calls(_sheet("user,host\n" + "a" * 20_000_000 + "@contoso.com,127.0.0.1\n")),
           expect_exit=2, timeout=30, max_seconds=10, fast=False),
    Attack("sheet: a FIFO", "sheet", _calls(_sheet_at(lambda t: _fifo(t / "sheet.csv"))), **FAST_EXIT),
    Attack("sheet: /dev/zero", "sheet", _calls(_sheet_at(lambda t: Path("/dev/zero"))), **FULL_RUN),
    Attack("sheet: a sparse 64 GB file", "sheet", _calls(_sheet_at(lambda t: _sparse(t / "big.csv", 64 << 30))), **FULL_RUN),
    Attack("sheet: a name full of control sequences", "sheet", _calls(_sheet_at(lambda t: t / f"x{CONTROLS}.csv")), **FULL_RUN),
    Attack("sheet: the output is a FIFO", "sheet", _calls(_audit_output(lambda t: _fifo(t / "out.jsonl"), "--overwrite")), **FAST_EXIT),
    Attack("sheet: --resume on a FIFO", "sheet", _calls(_audit_output(lambda t: _fifo(t / "out.jsonl"), "--resume")), **FULL_RUN),
    Attack("sheet: --resume on a file of 3,000 nested JSON arrays", "sheet",
           _calls(_audit_output(lambda t: _written(t / "out.jsonl", '{"audit": ' + "[" * 3000 + "]" * 3000 + "}\n"), "--resume")),
           **FAST_EXIT),
    Attack("sheet: --resume on a file of control sequences and a token", "sheet",
           _calls(_audit_output(lambda t: _written(t / "out.jsonl", f'{{"audit": 1}}\n{CONTROLS}{PASTED_TOKEN}\n'), "--resume")),
           SECRETS, **FAST_EXIT),
]  # fmt: skip


def _written(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape"))
    return path


# -- scenario, course and answers files -----------------------------------------------------------------
def _toml_escaped(text: str) -> str:
    """`text` as a TOML basic string's escapes: the file is valid TOML, its parsed strings hold the raw controls."""
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in text)


ESCAPED = _toml_escaped(CONTROLS)
HOSTILE_SCENARIO = f'''schema = "mailscope.scenario/1"
id = "ms-{ESCAPED}"
title = "Exchange {ESCAPED} title"
provider = "microsoft"
server = "exchange"
expected_finding = "ms_graph_scope_or_audience{ESCAPED}"
expected_outcome = "authentication_failed"
teaching = "teaching {ESCAPED} {PASTED_TOKEN}"
wire = ["NO {ESCAPED}"]
"{ESCAPED}" = "a key of controls"

[client]
flow = "device_code"
scopes = ["https://outlook.office.com/IMAP.AccessAsUser.All {ESCAPED}"]
user = "alice{ESCAPED}@contoso.com"

[microsoft.mailbox."{ESCAPED}"]
imap_enabled = false

[[hint]]
text = "hint {ESCAPED}"
cost = 1e308
'''
# The same strings as raw characters: C1 and bidi are legal in TOML strings, ESC and BEL are not.
RAW_SCENARIO = HOSTILE_SCENARIO.replace(ESCAPED, CONTROLS.replace("\x1b", "").replace("\x07", "").replace("\x08", "").replace("\x7f", ""))
COURSE = f'''schema = "mailscope.course/1"
title = "course {ESCAPED}"
description = "{ESCAPED}"
pass_mark = 0.5
scenarios = ["ms-graph-scope", "fifo.toml", "/dev/zero", "../../../../../../dev/urandom", "{ESCAPED}", "{"x" * 5000}", "sub/"]
'''
ANSWERS = f'''schema = "mailscope.answers/1"
trainee = "sam {ESCAPED}"

[[answer]]
scenario = "ms-graph-scope"
cause = "ms_graph_scope_or_audience{ESCAPED}"
owner = "client configuration{ESCAPED}"
fix = "{PASTED_TOKEN}"
hints = 99999999999999999999
'''


def _scenario_calls(name: str) -> Callable[[Path], list[Call]]:
    """Every command that reads a scenario file, on `tmp / name` (made by the attack before)."""

    def make(tmp: Path) -> list[Call]:
        path = str(tmp / name)
        results = tmp / "results.jsonl"
        return [
            Call(["lab", "validate", path]), Call(["lab", "validate", "--json", path]), Call(["lab", "validate", str(tmp)]),
            Call(["check", "--lab", path]), Call(["check", "--lab", path, "--json"]), Call(["lab", "token", path]),
            Call(["train", "--scenario", path, "--answer", "ms_graph_scope_or_audience", "--json", "--results", str(results)], (results,)),
            Call(["train", "--course", path, "--answers", path, "--results", str(results)], (results,)),
        ]  # fmt: skip

    return make


def _scenario_file(name: str, make_file: Callable[[Path], object]) -> Callable[[Path], list[Call]]:
    def make(tmp: Path) -> list[Call]:
        make_file(tmp / name)
        return _scenario_calls(name)(tmp)

    return make


def _course(tmp: Path) -> list[Call]:
    _written(tmp / "course.toml", COURSE)
    _written(tmp / "answers.toml", ANSWERS)
    _fifo(tmp / "fifo.toml")
    (tmp / "sub").mkdir()
    results = tmp / "results.jsonl"
    return [
        Call(["lab", "validate", str(tmp / "course.toml"), str(tmp / "answers.toml")]),
        Call(["lab", "validate", "--json", str(tmp / "course.toml"), str(tmp / "answers.toml")]),
        Call(["train", "--course", str(tmp / "course.toml"), "--answers", str(tmp / "answers.toml"), "--json", "--results", str(results)],
             (results,)),
    ]  # fmt: skip


def _nested(depth: int) -> str:
    return f'schema = "mailscope.scenario/1"\nx = {"[" * depth}{"]" * depth}\ny = {"{a=" * depth}1{"}" * depth}\n'


BAD_FILE = {"expect_exit": 2, "timeout": 30}
SCENARIO_ATTACKS = [
    Attack("scenario: strings, keys and tables full of control sequences (TOML escapes)", "scenario",
           _calls(_scenario_file("hostile.toml", lambda path: _written(path, HOSTILE_SCENARIO))), SECRETS, **BAD_FILE),
    Attack("scenario: raw C1 and bidi characters in strings", "scenario",
           _calls(_scenario_file("raw.toml", lambda path: _written(path, RAW_SCENARIO))), SECRETS, **BAD_FILE, fast=False),
    Attack("scenario: raw ESC/BEL bytes (not TOML)", "scenario",
           _calls(_scenario_file("esc.toml", lambda path: _written(path, HOSTILE_SCENARIO.replace(ESCAPED, CONTROLS)))), SECRETS,
           **BAD_FILE, fast=False),
    Attack("scenario: a FIFO", "scenario", _calls(_scenario_file("fifo.toml", _fifo)), **BAD_FILE, max_seconds=3),
    Attack("scenario: /dev/zero through a symlink", "scenario",
           _calls(_scenario_file("zero.toml", lambda path: path.symlink_to("/dev/zero"))), **BAD_FILE, max_seconds=3, fast=False),
    Attack("scenario: a sparse 8 GB file", "scenario", _calls(_scenario_file("big.toml", lambda path: _sparse(path, 8 << 30))),
           **BAD_FILE, max_seconds=3, fast=False),
    Attack("scenario: 2 MB of valid TOML", "scenario",
           _calls(_scenario_file("huge.toml", lambda path: _written(path, 'schema = "mailscope.scenario/1"\n' + "# padding\n" * 200_000))),
           **BAD_FILE, max_seconds=3, fast=False),
    Attack("scenario: 100,000 nested arrays and inline tables", "scenario",
           _calls(_scenario_file("deep.toml", lambda path: _written(path, _nested(100_000)))), **BAD_FILE),
    Attack("scenario: binary bytes", "scenario",
           _calls(_scenario_file("binary.toml", lambda path: _written(path, bytes(range(256)) * 64))), **BAD_FILE, fast=False),
    Attack("scenario: a course of FIFOs, devices, paths out of its directory, and answers full of control sequences", "scenario",
           _calls(_course), SECRETS, **BAD_FILE, max_seconds=8),
]  # fmt: skip


# -- numbers on the command line --------------------------------------------------------------------------
def _options(*args: str) -> Callable[[Path], list[Call]]:
    return lambda tmp: [Call([a.replace("{tmp}", str(tmp)) for a in args])]


OPTION_ATTACKS = [
    *(Attack(f"option: check --lab with --timeout {value}", "option", _calls(_options("check", "--lab", "ms-healthy", "--timeout", value)),
             **(FAST_EXIT if value == "inf" else FULL_RUN)) for value in ("inf", "nan", "-5", "1e308")),
    *(Attack(f"option: audit --timeout {value}", "option",
             _calls(_options("audit", "--lab-fleet", "2", "--timeout", value, "-o", "{tmp}/out.jsonl")), **FULL_RUN)
      for value in ("inf", "nan", "0")),
    Attack("option: audit --lab-fleet 100,000,000", "option", _calls(_options("audit", "--lab-fleet", "100000000", "-o", "{tmp}/o.jsonl")),
           **FAST_EXIT),
    Attack("option: lab serve --fleet 100,000,000", "option", _calls(_options("lab", "serve", "--fleet", "100000000")), **FULL_RUN),
    Attack("option: lab fleet-truth 100,000,000", "option", _calls(_options("lab", "fleet-truth", "100000000")), **FULL_RUN),
    *(Attack(f"option: audit {flag} {value}", "option",
             _calls(_options("audit", "--lab-fleet", "2", flag, value, "-o", "{tmp}/out.jsonl")), **FULL_RUN)
      for flag, value in (("--concurrency", "0"), ("--per-host", "-1"), ("--max-attempts", "0"),
                          ("--backoff", "nan"), ("--max-backoff", "inf"), ("--seed", "1e9"))),
    *(Attack(f"option: train --hints {value}", "option",
             _calls(_options("train", "--scenario", "ms-graph-scope", "--answer", "ms_graph_scope_or_audience", "--hints", value,
                             "--results", "{tmp}/r.jsonl")), **(FAST_EXIT if value == "-1" else FULL_RUN))
      for value in ("-1", "99999999999999999999", "nan")),
    *(Attack(f"option: lab serve {flag} {value}", "option", _calls(_options("lab", "serve", flag, value)), **FULL_RUN)
      for flag, value in (("--idp-port", "65536"), ("--port", "imap=-1"), ("--port", "99999"), ("--port", "x=1"))),
    Attack("option: train --results is a FIFO", "option",
           _calls(lambda tmp: [Call(["train", "--scenario", "ms-graph-scope", "--answer", "ms_graph_scope_or_audience",
                                     "--results", str(_fifo(tmp / "results.jsonl"))])]), timeout=30, max_seconds=10),
    Attack("option: audit --truth is a FIFO", "option",
           _calls(lambda tmp: [Call(["audit", "--lab-fleet", "2", "--truth", str(_fifo(tmp / "truth.json")), "-o", str(tmp / "o.jsonl")])]),
           **FULL_RUN),
    Attack("option: train --results is a directory", "option",
           _calls(lambda tmp: [Call(["train", "--scenario", "ms-graph-scope", "--answer", "ms_graph_scope_or_audience",
                                     "--results", str(tmp)])]), timeout=30, max_seconds=10, fast=False),
]  # fmt: skip


def attacks() -> Iterator[Attack]:
    yield from SHEET_ATTACKS
    yield from SCENARIO_ATTACKS
    yield from OPTION_ATTACKS
