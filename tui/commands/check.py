"""`mailscope check`: one live session (IMAP, POP3 or SMTP), headless. Prints the redacted transcript as it happens
and a one-line outcome, or with --json the versioned report. Exit 0: authenticated and mailbox reachable (SMTP: the
server accepts MAIL FROM and RCPT TO for the user); 1: the cause found (a confirmed error finding, as before); 2: usage
error; 3: it failed but only unconfirmed candidates explain it (each says what would decide). README "Exit codes".

Imports stay lazy: a static-token check must not load Textual, msal or google-auth.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from tui.commands.common import guarded_diagnoser, internal_error, silence_stdout
from tui.commands.signin import SignInPrompts, signin_timeout_argument

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from mailscope.credential import TokenSource
    from mailscope.events import Event
    from mailscope.findings import Diagnosis, DiagnosisInput
    from mailscope.record import SessionRecord
    from mailscope.settings import CheckSettings


class UsageError(Exception):
    """Bad options or unreadable settings: message to stderr, exit 2."""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check",
        help="run one live session against a mail server and diagnose it",
        description="Connect, authenticate (XOAUTH2/OAUTHBEARER/PLAIN/LOGIN), then prove the mailbox is usable (IMAP: EXAMINE "
        "INBOX; POP3: STAT; SMTP: MAIL FROM + RCPT TO, never a message unless --send-test); show the redacted transcript.",
    )
    add_settings_arguments(p)
    p.add_argument("--lab", metavar="SCENARIO", help="run a lab scenario end to end, in-process (an id, or a scenario file)")
    p.add_argument("--lab-dir", action="append", default=[], metavar="DIR", help="with --lab: a directory of scenario files")
    p.add_argument("--json", action="store_true", help="print the versioned JSON report instead of the transcript")
    p.add_argument("--save", metavar="FILE", help="also write the case file (the JSON report, 0600): `mailscope logs FILE` reopens it")


def add_settings_arguments(p: argparse.ArgumentParser) -> None:
    """The options `settings_from_args` reads (server, credential, token acquisition, --profile); `audit` shares them."""
    target = p.add_argument_group("server")
    target.add_argument("--preset", help="a known server: " + ", ".join(_preset_ids()))
    target.add_argument("--protocol", choices=("imap", "pop3", "smtp"), help="default: imap (or the preset's)")
    target.add_argument("--host", help="server host name")
    target.add_argument("--port", type=int, help="port (default per protocol and security: imap 993/143, pop3 995/110, smtp 465/587/25)")
    target.add_argument("--security", choices=("tls", "starttls", "plain"), help="implicit TLS (default), STARTTLS or none")
    target.add_argument("--user", help="mailbox user (e-mail address)")
    target.add_argument("--mechanism", choices=("auto", "xoauth2", "oauthbearer", "plain", "login"),
                        help="default: auto; 'login' is IMAP LOGIN, POP3 USER/PASS, SMTP AUTH LOGIN")
    target.add_argument("--sasl-ir", choices=("auto", "yes", "no"), help="initial response on the AUTH line: auto (IMAP: when SASL-IR "
                        "is listed; SMTP: yes; POP3: no, the two-step form Exchange needs), yes or no")
    target.add_argument("--send-test", action="store_true", help="SMTP: after the check, send one real test message to --user")
    target.add_argument("--ca-file", help="PEM file of CAs to trust instead of the system store")
    target.add_argument("--insecure", action="store_true", help="do not verify the server certificate (never the default)")
    target.add_argument("--timeout", type=timeout_argument, help="seconds per step (default 10)")
    secret = p.add_argument_group("credential").add_mutually_exclusive_group()
    secret.add_argument("--token-file", help="read the access token from this file")
    secret.add_argument("--token-env", metavar="VAR", help="read the access token from this environment variable")
    secret.add_argument("--password-env", metavar="VAR", help="read a password from this environment variable")
    provider = p.add_argument_group("token acquisition")
    provider.add_argument("--provider", choices=("microsoft", "google", "generic"))
    provider.add_argument("--flow", help="device_code, client_credentials, refresh_token, password, auth_code, service_account ...")
    provider.add_argument("--client-id")
    provider.add_argument("--tenant")
    provider.add_argument("--cloud", help="global, usgov, dod, china")
    provider.add_argument("--scope", action="append", dest="scopes", metavar="SCOPE", help="repeatable")
    provider.add_argument("--client-secret-env", metavar="VAR")
    provider.add_argument("--certificate", metavar="PEM")
    provider.add_argument("--service-account-file", metavar="JSON")
    provider.add_argument("--subject", help="Google domain-wide delegation subject")
    provider.add_argument("--refresh-token-env", metavar="VAR")
    provider.add_argument("--authority", help="explicit authority URL")
    provider.add_argument("--token-endpoint", help="generic OAuth token endpoint")
    provider.add_argument("--auth-endpoint", metavar="URL", help="authorization (consent) endpoint of --flow installed_app")
    provider.add_argument("--signin-timeout", type=signin_timeout_argument, metavar="SECONDS",
                          help="how long a browser sign-in may take (default 300)")
    p.add_argument("--profile", metavar="NAME", help="start from a saved profile; options given here override it")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except UsageError as exc:
        from mailscope.redact import escape_controls

        print(f"mailscope check: error: {escape_controls(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug of ours: one clear line, never a traceback
        return internal_error("check", exc)


def _run(args: argparse.Namespace) -> int:
    if args.lab:
        return _run_lab(args)
    if args.lab_dir:
        raise UsageError("--lab-dir goes with --lab")
    settings = settings_from_args(args)
    from providers.registry import token_source_for

    try:
        source = token_source_for(settings)
    except (ValueError, LookupError) as exc:
        raise UsageError(str(exc)) from None
    return _execute(args, _make_record(args, settings), source)


# -- settings ---------------------------------------------------------------------------------------
_OVERRIDES = (  # options copied as typed onto the CheckSettings field of the same name
    "host", "port", "user", "ca_file", "timeout", "provider", "flow", "client_id", "tenant", "cloud", "certificate",
    "service_account_file", "subject", "authority", "token_endpoint", "sasl_ir",
)  # fmt: skip


def _preset_ids() -> list[str]:
    from providers.presets import HOST_PRESETS

    return [p.id for p in HOST_PRESETS if p.host]


def timeout_argument(text: str) -> float:
    """argparse type of --timeout: positive, finite and capped for every command that takes it (with --lab too)."""
    from providers.inputs import InputError, check_timeout

    try:
        return check_timeout(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def settings_from_args(args: argparse.Namespace) -> CheckSettings:
    """CheckSettings from a profile (if any) overridden by the options given; UsageError when unusable."""
    import dataclasses

    from mailscope.protocols import default_port
    from mailscope.settings import CheckSettings, Mechanism, Protocol, SecretSource, Security

    if args.profile and args.preset:
        raise UsageError("--profile and --preset both name a server: give one")
    base = _load_profile(args.profile) if args.profile else _load_preset(args.preset) if args.preset else None
    changes: dict[str, Any] = {name: getattr(args, name) for name in _OVERRIDES if getattr(args, name) is not None}
    if args.protocol:
        changes["protocol"] = Protocol(args.protocol)
    if args.send_test:
        changes["send_test"] = True
    if args.security:
        changes["security"] = Security(args.security)
    if args.mechanism:
        changes["mechanism"] = Mechanism(args.mechanism)
    if args.scopes:
        changes["scopes"] = tuple(args.scopes)
    if args.insecure:
        changes["verify_tls"] = False
    for option, field in (("token_file", "token"), ("token_env", "token"), ("password_env", "password")):
        value = getattr(args, option)
        if value:
            changes[field] = SecretSource("file" if option == "token_file" else "env", value)
            changes.setdefault("flow", "password" if field == "password" else "static")
    if args.client_secret_env:
        changes["client_secret"] = SecretSource("env", args.client_secret_env)
    if args.refresh_token_env:
        changes["refresh_token"] = SecretSource("env", args.refresh_token_env)
    extra = {key: value for key, value in (("auth_uri", args.auth_endpoint), ("signin_timeout", args.signin_timeout)) if value}
    if extra:
        changes["extra"] = {**(base.extra if base else {}), **extra}
    if base is None:
        if not changes.get("host"):
            raise UsageError("--host is required (or --preset / --profile / --lab)")
        base = CheckSettings(host="", port=0)
    if args.port is None and (base.port == 0 or args.protocol or args.security):  # the port that goes with them
        protocol, security = changes.get("protocol", base.protocol), changes.get("security", base.security)
        changes["port"] = default_port(protocol, security)
    settings = dataclasses.replace(base, **changes)
    _validate(settings)
    return settings


def _load_preset(preset_id: str) -> CheckSettings:
    from mailscope.settings import CheckSettings
    from providers.presets import host_preset

    try:
        preset = host_preset(preset_id)
    except LookupError as exc:
        raise UsageError(str(exc)) from None
    return CheckSettings(host=preset.host, port=preset.port, security=preset.security, protocol=preset.protocol,
                         provider=preset.provider, cloud=preset.cloud)


def _load_profile(name: str) -> CheckSettings:
    from providers.profiles import load_profile

    try:
        return load_profile(name)
    except (OSError, LookupError, ValueError, TypeError) as exc:
        raise UsageError(f"cannot load profile {name!r}: {exc}") from None


def _validate(settings: CheckSettings) -> None:
    if not settings.host:
        raise UsageError("no host given")
    if not 0 < settings.port < 65536:
        raise UsageError(f"--port {settings.port} is not a TCP port")
    if settings.send_test and settings.protocol != "smtp":
        raise UsageError("--send-test sends a message: it needs --protocol smtp")
    from providers.inputs import InputError, check_settings  # files, secrets, timeout: the console checks the same

    try:
        check_settings(settings)
    except InputError as exc:
        raise UsageError(str(exc)) from None


# -- running ----------------------------------------------------------------------------------------
def _make_record(args: argparse.Namespace, settings: CheckSettings) -> SessionRecord:
    from mailscope.record import SessionRecord

    record = SessionRecord(settings)  # diagnosed once at the end: nothing here shows findings live
    record.subscribe(SignInPrompts())  # before the printer: it closes its progress line before a transcript line
    if not args.json:
        record.subscribe(_print_event)
    return record


def _execute(args: argparse.Namespace, record: SessionRecord, source: TokenSource | None) -> int:
    import asyncio

    from mailscope.check import run_check

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)  # never a traceback on screen
        assert record.settings is not None
        warm_up = _DiagnosisWarmUp(record)
        await run_check(record.settings, source, record)
        record.diagnoser = await warm_up.diagnoser()

    asyncio.run(main())
    return _finish_output(args, record)


# What the end of a check needs besides the session, one package per step.
_DIAGNOSIS_MODULES = ("mailscope.diagnosis", "providers.explain", "providers.rules_microsoft", "providers.rules_google", "mailscope.report")


class _DiagnosisWarmUp:
    """Loads the diagnosis (catalogue, engine and provider rules) while the server checks the credential: the end of
    the check needs it anyway, and that check is the longest wait of a session. It starts when the mechanism is chosen,
    just before the credential is sent, and yields to the session's I/O before each module, so an answer from the
    server waits for one module's import at most. A session that ends before authenticating loads it at the end."""

    def __init__(self, record: SessionRecord) -> None:
        self._task: asyncio.Future[Callable[[DiagnosisInput], Diagnosis]] | None = None
        self._unsubscribe = record.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        import asyncio

        from mailscope.events import EvidenceChanged

        if self._task is None and isinstance(event, EvidenceChanged) and "mechanism" in event.fields:
            self._task = asyncio.ensure_future(self._load())

    async def _load(self) -> Callable[[DiagnosisInput], Diagnosis]:
        import asyncio
        import importlib

        for name in _DIAGNOSIS_MODULES:
            await asyncio.sleep(0)
            importlib.import_module(name)
        return guarded_diagnoser()

    async def diagnoser(self) -> Callable[[DiagnosisInput], Diagnosis]:
        self._unsubscribe()
        return await self._task if self._task is not None else guarded_diagnoser()


def _run_lab(args: argparse.Namespace) -> int:
    """--lab: the lab (mailscope.lab.session.run_lab_check) builds settings and servers and calls back
    `make_record(settings)` so the output here is the same as for a live check."""
    import asyncio

    from mailscope.lab.scenarios import scenario
    from mailscope.lab.session import run_lab_check
    from providers.registry import token_source_for

    try:
        chosen = scenario(args.lab, args.lab_dir)  # an unknown id or a bad file is a usage error; a LookupError once the lab runs is not
    except (LookupError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    records: list[SessionRecord] = []

    def make_record(settings: CheckSettings) -> SessionRecord:
        records.append(_make_record(args, settings))
        return records[-1]

    asyncio.run(run_lab_check(chosen, make_record, token_source_for))
    if not records:
        raise UsageError(f"lab scenario {args.lab!r} ran no session")
    return _finish_output(args, records[-1])


def _finish_output(args: argparse.Namespace, record: SessionRecord) -> int:
    from mailscope import report

    record.diagnoser = record.diagnoser or guarded_diagnoser()
    record.rediagnose()

    try:
        code = print_result(args, record)
    except BrokenPipeError:  # `mailscope check ... | head`: the reader left, not an error of ours
        silence_stdout()
        code = report.exit_code(record)
    if args.save:  # after the result: a case file that cannot be written loses nothing already shown
        from tui.commands.casefile import save

        if not save(record, args.save, "check"):
            return report.EXIT_USAGE
    return code


def print_result(args: argparse.Namespace, record: SessionRecord) -> int:
    from mailscope import report

    if args.json:
        print(report.report_json(record))
        return report.exit_code(record)
    for finding in report.findings_of(record):
        status = "" if finding.confirmed else " (unconfirmed candidate)"
        print(f"{finding.severity.upper()}{status}: {finding.title} [{finding.id}] (owner: {finding.owner})")
        for step in finding.fix:
            print(f"    fix: {step}")
        for step in finding.decide:
            print(f"    to decide: {step}")
    outcome = record.outcome
    print(f"outcome: {outcome.kind}: {outcome.summary}" if outcome else "outcome: unknown (session not finished)")
    return report.exit_code(record)


_PREFIX = {"client": "C:", "server": "S:", "info": "* "}


def _print_event(event: Event) -> None:
    from mailscope.events import LineAdded

    if isinstance(event, LineAdded):
        line = event.line
        note = f"    [{'; '.join(line.annotations)}]" if line.annotations else ""
        channel = "" if line.channel.value in ("imap", "pop3", "smtp") else f"[{line.channel.value}] "
        try:
            print(f"{_PREFIX[line.direction.value]} {channel}{line.text}{note}", flush=True)
        except BrokenPipeError:  # `mailscope check ... | head`: the session goes on, the output stops
            silence_stdout()
