"""Regenerate the real-client corpus: run unmodified third-party mail clients, with their own debug logging on, against
`mailscope lab serve SCENARIO` for every scenario each client can reproduce, and keep their logs as fixtures.

    sudo python tests/corpus/make_corpus.py [--client NAME ...] [--scenario ID ...] [--no-install]

Root, because the clients come from Debian (apt-get), PyPI (a private venv) and npm (a private prefix), pinned below.
Everything runs on loopback with fixed ports; the lab's CA is trusted through each client's own option. A run is kept
only when the lab's own decision log shows the client reproduced the scenario (a client that does the right thing where
the scenario needs a mistake, e.g. the two-step POP3 AUTH in `ms-pop-one-line`, is reported and skipped). The script
rewrites `logs/<client>/` and the generated entries of `manifest.toml`; hand-written entries stay as they are. CI never
runs it: the fixtures are committed (see README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import log_secrets  # tests/corpus/log_secrets.py (the script's own folder is on sys.path)
import tomli_w

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LOGS = HERE / "logs"
MANIFEST = HERE / "manifest.toml"
WORK = Path("/var/tmp/mailscope-corpus")  # installed clients (node_modules, getmail venv) and per-run homes

# Debian 12's upstream versions (a security update changes only the Debian revision after the "-"); `script`, which gives
# mutt its terminal, is util-linux's and always there.
DEBIAN = {"curl": "7.88.1", "mutt": "2.2.12", "neomutt": "20220429+dfsg1", "fetchmail": "6.4.37", "msmtp": "1.8.23", "mpop": "1.4.18"}
PYPI = {"getmail6": "6.20.2"}  # emailproxy comes pinned by the project's test extra
NPM = {"imapflow": "2.10.2", "imap": "0.8.19", "emailjs-imap-client": "3.1.0"}

IDP_PORT = 24443
SERVER_PORTS = {
    "exchange": 24993,
    "exchange-starttls": 24143,
    "exchange-china": 24994,
    "exchange-pop3": 24995,
    "exchange-smtp": 24587,
    "gmail": 24992,
    "gmail-pop3": 24996,
    "gmail-smtp": 24465,
    "gmail-smtp-starttls": 24588,
}
CLIENT_TIMEOUT = 25.0
GOOGLE_FALLBACK_USER = "alice@example-workspace.com"  # MAIL FROM where the scenario's user is empty (malformed XOAUTH2)


# ------------------------------------------------------------------------------------------------ one client session


@dataclass
class Session:
    """What a client is told to do for one scenario (from the running lab's saved settings) and where it may write."""

    scenario: str
    protocol: str  # imap | pop3 | smtp
    security: str  # tls | starttls | plain
    host: str
    port: int
    user: str
    secret: str  # the lab token, or the password for a password scenario
    secret_kind: str  # token | password
    mechanism: str  # XOAUTH2 | PLAIN | LOGIN | AUTO (as the scenario's settings say)
    sasl_ir: str  # auto | yes | no
    ca_file: str
    mail_from: str
    rcpt_to: str
    home: Path = field(default=Path("/nonexistent"))
    settings: Any = field(default=None, repr=False)  # the lab's CheckSettings (scopes, client id, authority...)

    @property
    def secret_file(self) -> Path:
        path = self.home / "secret"
        if not path.exists():
            path.write_text(self.secret + "\n", encoding="utf-8")
            path.chmod(0o600)
        return path

    @property
    def scheme(self) -> str:
        secure = {"imap": "imaps", "pop3": "pop3s", "smtp": "smtps"}[self.protocol]
        return secure if self.security == "tls" else self.protocol

    def json(self) -> str:
        fields = (
            "scenario",
            "protocol",
            "security",
            "host",
            "port",
            "user",
            "secret",
            "secret_kind",
            "mechanism",
            "sasl_ir",
            "ca_file",
            "mail_from",
            "rcpt_to",
        )
        return json.dumps({name: getattr(self, name) for name in fields})


@dataclass(frozen=True)
class Client:
    name: str
    protocols: tuple[str, ...]
    version: Callable[[], str]
    run: Callable[[Session], str]  # the client's log text
    bearer_only: bool = False  # cannot send a password (a token-only tool)
    password_only: bool = False  # has no OAuth mechanism
    token_free: bool = False  # gets its own token (email-oauth2-proxy): also runs token-stage scenarios


def run(
    argv: list[str], session: Session, *, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(session.home),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "SSL_CERT_FILE": session.ca_file,
        "CORPUS_SESSION": session.json(),
        **(env or {}),
    }
    try:
        return subprocess.run(
            argv,
            env=environment,
            input=stdin,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=CLIENT_TIMEOUT,
            cwd=session.home,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return subprocess.CompletedProcess(argv, -9, out, err)


def stop(process: subprocess.Popen, grace: float) -> None:
    """SIGTERM (the lab and the proxy clean up on it), SIGKILL after `grace` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def first_line(argv: list[str]) -> str:
    out = subprocess.run(argv, capture_output=True, text=True, errors="replace")
    return (out.stdout or out.stderr).strip().splitlines()[0]


def debian_version(package: str) -> Callable[[], str]:
    return lambda: first_line(["dpkg-query", "-W", "-f", "${Version}", package])


# -- curl ---------------------------------------------------------------------------------------------


def curl(trace_ascii: bool) -> Callable[[Session], str]:
    """curl's own debug output: `-v --trace-time`, or `--trace-ascii - --trace-time` (the two forms users paste)."""

    def go(s: Session) -> str:
        argv = ["curl", "--cacert", s.ca_file, "--max-time", "15", "--trace-time"]
        argv += ["--trace-ascii", "-"] if trace_ascii else ["-v"]
        if s.security == "starttls":
            argv.append("--ssl-reqd")
        if s.secret_kind == "token":
            argv += ["--login-options", "AUTH=XOAUTH2", "--oauth2-bearer", s.secret, "--user", f"{s.user}:"]
        else:
            # a password over IMAP: curl picks the mechanism itself (7.88 has no option for the LOGIN command)
            argv += ["--user", f"{s.user}:{s.secret}"]
            if s.protocol != "imap" or s.mechanism == "PLAIN":
                argv += ["--login-options", f"AUTH={s.mechanism}"]
        if s.sasl_ir == "yes":
            argv.append("--sasl-ir")
        url = f"{s.scheme}://{s.host}:{s.port}/"
        if s.protocol == "imap":
            argv.append(url + "INBOX?ALL")
        elif s.protocol == "pop3":
            argv.append(url)
        else:
            message = s.home / "message.txt"
            message.write_text(f"From: {s.mail_from}\r\nTo: {s.rcpt_to}\r\nSubject: corpus\r\n\r\nlab test\r\n", encoding="utf-8")
            argv += ["--mail-from", s.mail_from, "--mail-rcpt", s.rcpt_to, "--upload-file", str(message), url]
        done = run(argv, s)
        return done.stdout + done.stderr if trace_ascii else done.stderr

    return go


# -- Python's standard library --------------------------------------------------------------------------


def python_stdlib(module: str) -> Callable[[Session], str]:
    def go(s: Session) -> str:
        done = run([sys.executable, str(HERE / "clients" / "python_stdlib.py"), module], s)
        return done.stdout + done.stderr

    return go


# -- Node.js IMAP libraries ---------------------------------------------------------------------------


def node_imap(library: str) -> Callable[[Session], str]:
    def go(s: Session) -> str:
        done = run(
            ["node", str(HERE / "clients" / "node_imap.js"), library],
            s,
            env={"NODE_PATH": str(WORK / "node" / "node_modules"), "NODE_EXTRA_CA_CERTS": s.ca_file},
        )
        return done.stdout + done.stderr

    return go


def npm_version(package: str) -> Callable[[], str]:
    return lambda: json.loads((WORK / "node" / "node_modules" / package / "package.json").read_text())["version"]


# -- mutt and neomutt -----------------------------------------------------------------------------------


def mutt(program: str) -> Callable[[Session], str]:
    """`mutt -d 5` / `neomutt -d 5 -l FILE`: the debug file, with an OAuth refresh command that prints the lab token
    (the way mutt_oauth2.py is wired in) or the password in the config."""

    def go(s: Session) -> str:
        proto = {"imap": "imap", "pop3": "pop", "smtp": "smtp"}[s.protocol]
        rc = [
            "set ssl_ca_certificates_file=" + shlex.quote(s.ca_file),
            "set certificate_file=~/.mutt_certificates",
            "set ssl_starttls=" + ("yes" if s.security == "starttls" else "no"),
            "set ssl_force_tls=" + ("yes" if s.security != "plain" else "no"),
            "set header_cache=",
            "set message_cachedir=",
            "set quit=yes",
            "set timeout=3",
            "set mail_check=60",
            "set imap_passive=no",
            f"set from={s.mail_from}",
            "set record=",
            "set postponed=",
        ]
        if s.secret_kind == "token":
            rc += [f"set {proto}_authenticators=xoauth2", f'set {proto}_oauth_refresh_command="cat {s.secret_file}"']
        else:
            rc += [f"set {proto}_authenticators={s.mechanism.lower()}", f'set {proto}_pass="{s.secret}"']
        rc.append(f"set {proto}_user={s.user}")
        url = f"{s.scheme.replace('pop3', 'pop')}://{s.user.replace('@', '%40')}@{s.host}:{s.port}/"
        if s.protocol == "smtp":
            rc.append(f"set smtp_url={url}")
        elif s.protocol == "imap":  # the mailbox it opens: the server's INBOX (no local Mail folder to offer to create)
            rc += [f"set folder={url}", "set spoolfile=+INBOX"]
        (s.home / "Mail").mkdir(exist_ok=True)
        muttrc = s.home / "muttrc"
        muttrc.write_text("\n".join(rc) + "\n", encoding="utf-8")
        debug = s.home / f"{program}-debug"
        argv = [program, "-n", "-F", str(muttrc), "-d", "5"]
        if program == "neomutt":
            argv += ["-l", str(debug)]
        env = {"TERM": "xterm", "COLUMNS": "100", "LINES": "30", "EDITOR": "true", "MAIL": ""}
        if s.protocol == "smtp":
            run([*argv, "-s", "corpus", "--", s.rcpt_to], s, env=env, stdin="lab test\n")
        else:
            command = shlex.join([*argv, *(["-f", url] if s.protocol == "pop3" else []), "-e", "push <quit>"])
            run(["script", "-qec", command, "/dev/null"], s, env=env, stdin="")
        files = sorted(s.home.glob(".muttdebug*" if program == "mutt" else f"{debug.name}*"))
        return "".join(f.read_text(encoding="utf-8", errors="replace") for f in files[:1])

    return go


# -- fetchmail ----------------------------------------------------------------------------------------


def fetchmail(s: Session) -> str:
    """fetchmail -v -v with an rc file. Debian 12's fetchmail 6.4 has no OAuth (its `auth oauthbearer`/`xoauth2` came with
    the 7.0 branch), so it runs the password scenarios only."""
    auth = "password"
    tls = "ssl sslcertck" if s.security == "tls" else ("sslproto auto sslcertck" if s.security == "starttls" else "sslproto ''")
    rc = s.home / "fetchmailrc"
    # fetchmail matches the certificate by name only (the lab's names localhost, not its IP address)
    rc.write_text(
        f"set no syslog\npoll localhost service {s.port} protocol {s.protocol.upper()} auth {auth} timeout 10\n"
        f"  user {json.dumps(s.user)} there with password {json.dumps(s.secret)} is root here\n"
        f'  {tls} sslcertfile {json.dumps(s.ca_file)} keep mda "/bin/true"\n',
        encoding="utf-8",
    )
    rc.chmod(0o600)
    done = run(["fetchmail", "-v", "-v", "--nodetach", "-f", str(rc)], s, env={"FETCHMAILHOME": str(s.home)})
    return done.stdout + done.stderr


# -- getmail6 -----------------------------------------------------------------------------------------


def getmail(s: Session) -> str:
    """getmail6 with its oauth2 setup (use_xoauth2, password_command printing the token), -v -v --trace."""
    kind = {"imap": "IMAP", "pop3": "POP3"}[s.protocol]
    retriever = f"Simple{kind}SSLRetriever" if s.security == "tls" else f"Simple{kind}Retriever"
    lines = ["[retriever]", f"type = {retriever}", f"server = {s.host}", f"port = {s.port}", f"username = {s.user}"]
    if s.security == "tls":
        lines.append(f"ca_certs = {s.ca_file}")
    if s.security == "starttls":
        lines.append("use_starttls = True" if kind == "IMAP" else "")
    if s.secret_kind == "token":
        lines += ["use_xoauth2 = True", f'password_command = ("/bin/cat", "{s.secret_file}")']
    else:
        lines.append(f"password = {s.secret}")
    lines += [
        "",
        "[destination]",
        "type = MDA_external",
        "path = /bin/true",
        "",
        "[options]",
        "verbose = 2",
        "read_all = false",
        "delete = false",
    ]
    (s.home / "getmailrc").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run([str(WORK / "getmail" / "bin" / "getmail"), "-v", "-v", "--trace", "--getmaildir", str(s.home), "--rcfile", "getmailrc"], s)
    return done.stdout + done.stderr


# -- msmtp and mpop -----------------------------------------------------------------------------------


def marlam_options(s: Session, auth: str) -> list[str]:
    """msmtp and mpop (one author, one option set): --debug, the lab's CA, and passwordeval printing the secret."""
    starttls = "on" if s.security == "starttls" else "off"
    return ["--debug", f"--host={s.host}", f"--port={s.port}", "--tls=on", f"--tls-starttls={starttls}", f"--tls-trust-file={s.ca_file}",
            f"--auth={auth}", f"--user={s.user}", f"--passwordeval=cat {s.secret_file}"]  # fmt: skip


def msmtp(s: Session) -> str:
    auth = "xoauth2" if s.secret_kind == "token" else s.mechanism.lower()
    argv = ["msmtp", *marlam_options(s, auth), f"--from={s.mail_from}", "--", s.rcpt_to]
    done = run(argv, s, stdin=f"From: {s.mail_from}\nTo: {s.rcpt_to}\nSubject: corpus\n\nlab test\n")
    return done.stdout + done.stderr


def mpop(s: Session) -> str:
    auth = "xoauth2" if s.secret_kind == "token" else "user"
    done = run(["mpop", "--status-only", "--delivery=mda,/bin/true", "--keep=on", *marlam_options(s, auth)], s)
    return done.stdout + done.stderr


# -- email-oauth2-proxy -------------------------------------------------------------------------------


def emailproxy(s: Session) -> str:
    """email-oauth2-proxy --debug, signing in with its own flow (device code, or client credentials) at the lab's Entra
    authority, with Python's imaplib / poplib / smtplib (no debug) signing in to it with a local password."""
    settings = s.settings
    local_port = 24000 + {"imap": 143, "pop3": 110, "smtp": 25}[s.protocol]
    section = {"imap": "IMAP", "pop3": "POP", "smtp": "SMTP"}[s.protocol]
    server = [f"[{section}-{local_port}]", f"server_address = {s.host}", f"server_port = {s.port}", "local_address = 127.0.0.1"]
    if s.protocol == "smtp" and s.security == "starttls":
        server.append("server_starttls = True")
    authority = settings.authority
    account = [f"[{s.user}]", f"token_url = {authority}/oauth2/v2.0/token", f"client_id = {settings.client_id}"]
    if settings.flow == "client_credentials":
        account += [
            "oauth2_flow = client_credentials",
            f"oauth2_scope = {' '.join(settings.scopes)}",
            f"client_secret = {Path(settings.client_secret.ref).read_text().strip()}",
        ]
    else:
        account += [
            "oauth2_flow = device",
            f"permission_url = {authority}/oauth2/v2.0/devicecode",
            f"oauth2_scope = {' '.join(settings.scopes)} offline_access",
        ]
    config = s.home / "emailproxy.config"
    config.write_text(
        "\n".join([*server, "", *account, "", "[emailproxy]", "delete_account_token_on_password_error = True", ""]), encoding="utf-8"
    )
    log = s.home / "emailproxy.log"
    script = shutil.which("emailproxy", path=str(Path(sys.executable).parent)) or "emailproxy"
    env = {"PATH": os.environ["PATH"], "HOME": str(s.home), "SSL_CERT_FILE": s.ca_file, "TZ": "UTC", "LANG": "C.UTF-8"}
    proxy = subprocess.Popen(
        [
            script,
            "--no-gui",
            "--local-server-auth",
            "--config-file",
            str(config),
            "--cache-store",
            str(s.home / "cache"),
            "--log-file",
            str(log),
            "--debug",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while "Initialised Email OAuth 2.0 Proxy" not in (log.read_text(errors="replace") if log.exists() else ""):
            if time.monotonic() > deadline or proxy.poll() is not None:
                break
            time.sleep(0.1)
        local = dataclasses.replace(
            s, host="127.0.0.1", port=local_port, security="plain", secret="local-proxy-password", secret_kind="password", mechanism="LOGIN"
        )
        run([sys.executable, "-c", _PROXY_CLIENT, s.protocol], local)
        time.sleep(0.5)
    finally:
        stop(proxy, 10)
    return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""


_PROXY_CLIENT = """
import imaplib, json, os, poplib, smtplib, sys
s = json.loads(os.environ["CORPUS_SESSION"])
try:
    if sys.argv[1] == "imap":
        c = imaplib.IMAP4(s["host"], s["port"], timeout=20); c.login(s["user"], s["secret"]); c.select("INBOX", readonly=True); c.logout()
    elif sys.argv[1] == "pop3":
        c = poplib.POP3(s["host"], s["port"], timeout=20); c.user(s["user"]); c.pass_(s["secret"]); c.stat(); c.quit()
    else:
        c = smtplib.SMTP(s["host"], s["port"], timeout=20); c.ehlo(); c.login(s["user"], s["secret"])
        c.mail(s["mail_from"]); c.rcpt(s["rcpt_to"]); c.rset(); c.quit()
except Exception as exc:
    print(type(exc).__name__, exc, file=sys.stderr)
"""


def emailproxy_version() -> str:
    from importlib.metadata import version

    return version("emailproxy")


CLIENTS: dict[str, Client] = {c.name: c for c in (
    Client("curl", ("imap", "pop3", "smtp"), debian_version("curl"), curl(trace_ascii=False)),
    Client("curl-trace-ascii", ("imap", "pop3", "smtp"), debian_version("curl"), curl(trace_ascii=True)),
    Client("imaplib", ("imap",), lambda: sys.version.split()[0], python_stdlib("imaplib")),
    Client("poplib", ("pop3",), lambda: sys.version.split()[0], python_stdlib("poplib")),
    Client("smtplib", ("smtp",), lambda: sys.version.split()[0], python_stdlib("smtplib")),
    Client("imapflow", ("imap",), npm_version("imapflow"), node_imap("imapflow")),
    Client("node-imap", ("imap",), npm_version("imap"), node_imap("node-imap")),
    Client("emailjs-imap-client", ("imap",), npm_version("emailjs-imap-client"), node_imap("emailjs-imap-client")),
    Client("mutt", ("imap", "pop3", "smtp"), debian_version("mutt"), mutt("mutt")),
    Client("neomutt", ("imap", "pop3", "smtp"), debian_version("neomutt"), mutt("neomutt")),
    Client("fetchmail", ("imap", "pop3"), debian_version("fetchmail"), fetchmail, password_only=True),
    Client("getmail6", ("imap", "pop3"), lambda: PYPI["getmail6"], getmail),
    Client("msmtp", ("smtp",), debian_version("msmtp"), msmtp),
    Client("mpop", ("pop3",), debian_version("mpop"), mpop),
    Client("emailproxy", ("imap", "pop3", "smtp"), emailproxy_version, emailproxy, bearer_only=True, token_free=True),
)}  # fmt: skip


# ------------------------------------------------------------------------------------------------ the lab


@dataclass
class RunningLab:
    process: subprocess.Popen[str]
    stderr_path: Path
    ca_file: str
    directory: Path

    def decisions_since(self, offset: int) -> list[str]:
        """The lab servers' decision lines (`<server> <peer> <command> user=<u> -> <result> (<reason>)`) logged after
        `offset` bytes of its stderr: what happened on the wire, in the lab's words (never a secret)."""
        text = self.stderr_path.read_text(encoding="utf-8", errors="replace")[offset:]
        return [line.split(" ", 1)[1] for line in text.splitlines() if " -> " in line and " user=" in line]

    @property
    def stderr_size(self) -> int:
        return len(self.stderr_path.read_text(encoding="utf-8", errors="replace"))


@contextlib.contextmanager
def lab_serve(scenario_id: str, servers: tuple[str, ...], scratch: Path) -> Iterator[RunningLab]:
    ports = [f"--port={key}={SERVER_PORTS[key]}" for key in servers]
    stderr_path = scratch / f"lab-{scenario_id}.err"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            ["mailscope", "lab", "serve", scenario_id, *ports, f"--idp-port={IDP_PORT}"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "TZ": "UTC"},
        )
    try:
        assert process.stdout is not None
        ca_file = ""
        for line in process.stdout:
            if "CA certificate" in line:
                ca_file = line.split()[2]
            if line.startswith("Ctrl-C stops the lab."):
                break
        if not ca_file:
            raise RuntimeError(f"lab serve {scenario_id} did not start: {stderr_path.read_text()[-2000:]}")
        yield RunningLab(process, stderr_path, ca_file, Path(ca_file).parents[1])
    finally:
        stop(process, 15)


def lab_token(scenario_id: str) -> str | None:
    done = subprocess.run(["mailscope", "lab", "token", scenario_id], capture_output=True, text=True, timeout=60)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


# ------------------------------------------------------------------------------------------------ judging a run


AUTH_COMMANDS = ("AUTHENTICATE", "AUTH", "LOGIN", "USER/PASS")


def observed_shape(decisions: list[str]) -> str:
    """What the lab saw: no_auth, refused, not_connected (signed in, then refused) or ok."""
    parsed = [re.match(r"\S+ \S+ (.+?) user=\S* -> (\S+)", d) for d in decisions]
    steps = [(m.group(1), m.group(2)) for m in parsed if m]
    auths = [(c, r) for c, r in steps if c.split()[0] in AUTH_COMMANDS]
    if not auths:
        return "no_auth"
    if all(r not in ("OK", "REFUSED_MAILBOX") for _, r in auths):
        return "refused"
    if any(r == "REFUSED_MAILBOX" for _, r in auths):
        return "not_connected"
    first_ok = next(i for i, (c, r) in enumerate(steps) if c.split()[0] in AUTH_COMMANDS and r == "OK")
    return "not_connected" if any(r in ("NO", "BAD") for _, r in steps[first_ok + 1 :]) else "ok"


EXPECTED_SHAPE = {
    "authenticated_mailbox_reachable": "ok",
    "authentication_failed": "refused",
    "authenticated_but_mailbox_refused": "not_connected",
    "connection_fault": "no_auth",
    "token_acquisition_failed": "no_auth",
}


def reproduced(scenario, shape: str, log: str) -> str:
    """Empty when this run reproduced the scenario, else why not."""
    expected = EXPECTED_SHAPE[str(scenario.expected_outcome)]
    if scenario.id == "ms-expired-mid-session":  # the lab accepts within its skew; the BYE comes on the next command
        return "" if shape == "ok" and "AccessTokenExpired" in log else f"lab saw {shape}, no AccessTokenExpired in the log"
    if str(scenario.expected_outcome) == "token_acquisition_failed":
        return "" if shape == "no_auth" and re.search(r"AADSTS\d+|invalid_grant|unauthorized_client", log) else "no token error logged"
    if not log.strip():
        return "the client wrote no log"
    if str(scenario.expected_outcome) == "connection_fault" and shape == "refused":
        return ""  # the client sent AUTHENTICATE although no AUTH= was offered before STARTTLS: the server refused it
    if expected == "refused" and shape == "no_auth" and re.search(r"(\+|334) eyJzdGF0dXMi", log):
        return ""  # Gmail refused the token with its error challenge and the client hung up before the final NO (neomutt)
    return "" if shape == expected else f"lab saw {shape}, the scenario needs {expected}"


# Causes the wire alone proves (a server string, the mechanism used, an error from the token endpoint); the others need
# the token's claims, which decide them only when a Microsoft JWT is in the log whole (Google's ya29. tokens are opaque).
WIRE_DECIDES = {
    "basic_auth_mechanism_used_when_disabled",
    "no_oauth_mechanism_before_starttls",
    "token_expired_mid_session",
    "pop3_xoauth2_one_line_rejected_exchange",
    "ms_smtp_auth_disabled",
    "ms_sendas_denied",
    "google_password_auth_rejected",
    "google_imap_pop_disabled",
    "xoauth2_string_malformed",
}
TOKEN_DECIDES = {
    "ms_graph_scope_or_audience",
    "ms_bare_scope_defaults_to_graph",
    "ms_protocol_scope_mismatch",
    "ms_token_expired",
    "ms_user_mismatch_token_vs_login",
    "ms_app_only_missing_role",
    "ms_national_cloud_mismatch",
}


def decidable_from_log(scenario, secret_presence: str) -> bool:
    """Whether this log holds what proves the scenario's cause (else: unconfirmed candidates are the right answer)."""
    cause = scenario.expected_finding
    if cause is None or str(scenario.expected_outcome) == "token_acquisition_failed":
        return cause is not None
    return cause in WIRE_DECIDES or (cause in TOKEN_DECIDES and secret_presence == "full")


# ------------------------------------------------------------------------------------------------ the run


def session_for(lab: RunningLab, scenario, secret: str | None, home: Path) -> Session:
    """The running lab's own settings for its scenario (the profile `lab serve` saves; secrets only named by file)."""
    from providers.profiles import load_profile

    settings = load_profile(scenario.id, lab.directory / "serve.toml")
    user = settings.user or ""
    return Session(
        scenario=scenario.id,
        protocol=str(settings.protocol),
        security=str(settings.security),
        host=settings.host,
        port=settings.port,
        user=user,
        secret=secret or "",
        secret_kind="password" if settings.flow == "password" else "token",
        mechanism=str(settings.mechanism).upper(),
        sasl_ir=settings.sasl_ir,
        ca_file=lab.ca_file,
        mail_from=user or GOOGLE_FALLBACK_USER,
        rcpt_to=user or GOOGLE_FALLBACK_USER,
        home=home,
        settings=settings,
    )


def generate(clients: list[str], scenario_ids: list[str]) -> list[dict]:
    from mailscope.lab.scenarios import SCENARIOS

    chosen = [s for s in SCENARIOS if not scenario_ids or s.id in scenario_ids]
    entries: list[dict] = []
    versions = {name: CLIENTS[name].version() for name in clients}
    with tempfile.TemporaryDirectory(prefix="corpus-", dir=WORK) as scratch_name:
        scratch = Path(scratch_name)
        for scenario in chosen:
            token_stage = str(scenario.expected_outcome) == "token_acquisition_failed"
            with lab_serve(scenario.id, scenario.servers, scratch) as lab:
                secret = None if token_stage else lab_token(scenario.id)
                for name in clients:
                    client = CLIENTS[name]
                    home = scratch / f"{name}-{scenario.id}"
                    home.mkdir()
                    session = session_for(lab, scenario, secret, home)
                    why_not = _cannot_run(client, scenario, session, token_stage)
                    if why_not:
                        continue
                    offset = lab.stderr_size
                    log = client.run(session)
                    time.sleep(0.3)
                    decisions = lab.decisions_since(offset)
                    missing = reproduced(scenario, observed_shape(decisions), log)
                    if missing:
                        print(f"  skip {name:<20} {scenario.id:<38} {missing}", *(f"\n{'':<8}{d}" for d in decisions), flush=True)
                        continue
                    entries.append(_write(client, versions[name], scenario, session, log, decisions))
                    print(f"  keep {name:<20} {scenario.id:<38} {entries[-1]['secret_in_log']}", flush=True)
    return entries


def _cannot_run(client: Client, scenario, session: Session, token_stage: bool) -> str:
    if session.protocol not in client.protocols:
        return "protocol"
    if client.token_free:
        if session.settings.provider != "microsoft" or session.settings.flow not in ("device_code", "client_credentials"):
            return "its own sign-in is set up for Microsoft device code and client credentials only"
        return ""
    if token_stage:
        return "no mail session without a token"
    if session.secret_kind == "password" and client.bearer_only:
        return "token only"
    if session.secret_kind == "token" and client.password_only:
        return "no OAuth"
    if not session.secret:
        return "no credential"
    return ""


def _write(client: Client, version: str, scenario, session: Session, log: str, decisions: list[str]) -> dict:
    path = LOGS / client.name / f"{scenario.id}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_tidy(log, session), encoding="utf-8")
    secret = session.secret if not client.token_free else ""  # the proxy's own token is not known here (its log censors it)
    presence = log_secrets.presence(log, secret) if secret else "none"
    return {
        "path": str(path.relative_to(HERE)),
        "client": client.name,
        "version": version,
        "scenario": scenario.id,
        "protocol": session.protocol,
        "source": "generated",
        "expected_id": scenario.expected_finding or "",
        "acceptable_ids": list(scenario.failure_ids),
        "failing": scenario.expected_finding is not None,
        "secret_kind": session.secret_kind,
        "secret_in_log": presence,
        "decidable_from_log": decidable_from_log(scenario, presence),
        **({"secret_prefix": secret[:12], "secret_length": len(secret)} if presence != "none" else {}),  # how tests find it
        "connections": len({d.split()[1] for d in decisions}) or 1,
        "lab_decisions": decisions,
    }


def _tidy(log: str, session: Session) -> str:
    """Per-run paths replaced by stable ones (the fixture must not change with the temp directory names); nothing else."""
    log = (
        log.replace(str(session.home), "/home/corpus").replace(session.ca_file, "/etc/ssl/lab-ca.pem").replace(str(ROOT), "/src/mailscope")
    )
    return log if log.endswith("\n") else log + "\n"


def merge_manifest(entries: list[dict], clients: list[str], scenario_ids: list[str]) -> None:
    kept = []
    if MANIFEST.exists():
        for old in tomllib.loads(MANIFEST.read_text(encoding="utf-8")).get("log", []):
            chosen = old["client"] in clients and (not scenario_ids or old["scenario"] in scenario_ids)
            if old["source"] != "generated" or not chosen:
                kept.append(old)
    merged = sorted(kept + entries, key=lambda e: (e["client"], e["scenario"]))
    header = (
        "# The real-client corpus: one entry per log (tests/corpus/README.md). Generated entries are rewritten by\n"
        '# tests/corpus/make_corpus.py; source = "hand-written" entries are kept as they are.\n\n'
    )
    MANIFEST.write_text(header + tomli_w.dumps({"log": merged}), encoding="utf-8")


# ------------------------------------------------------------------------------------------------ installing


def install() -> None:
    """The clients, pinned, from the registries (root)."""
    installed = {p: subprocess.run(["dpkg-query", "-W", "-f", "${Version}", p], capture_output=True, text=True).stdout for p in DEBIAN}
    missing = [p for p, v in DEBIAN.items() if not installed[p].startswith(v + "-")]
    if missing:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        for package in missing:
            got = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True).stdout
            if not got.startswith(DEBIAN[package] + "-"):
                raise SystemExit(f"make_corpus: {package} {got} installed, the corpus pins {DEBIAN[package]}")
    WORK.mkdir(parents=True, exist_ok=True)
    getmail_venv = WORK / "getmail"
    if not (getmail_venv / "bin" / "getmail").exists():
        subprocess.run([sys.executable, "-m", "venv", str(getmail_venv)], check=True)
    subprocess.run(
        [str(getmail_venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", *(f"{p}=={v}" for p, v in PYPI.items())],
        check=True,
    )
    node = WORK / "node"
    node.mkdir(exist_ok=True)
    if not (node / "package.json").exists():
        (node / "package.json").write_text('{"private": true}\n')
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", *(f"{p}@{v}" for p, v in NPM.items())], cwd=node, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--client", action="append", choices=sorted(CLIENTS), help="only this client (repeatable)")
    parser.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    parser.add_argument("--no-install", action="store_true", help="use the clients already installed")
    args = parser.parse_args()
    if shutil.which("mailscope") is None:
        print("make_corpus: put the project's venv first on PATH (mailscope must be the console script)", file=sys.stderr)
        return 2
    if not args.no_install:
        install()
    clients = args.client or sorted(CLIENTS)
    for name in clients:
        if not args.scenario:
            shutil.rmtree(LOGS / name, ignore_errors=True)
    entries = generate(clients, args.scenario or [])
    merge_manifest(entries, clients, args.scenario or [])
    print(f"{len(entries)} logs written; manifest: {MANIFEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
