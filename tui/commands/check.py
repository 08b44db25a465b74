"""`mailscope check`: one live session, headless. Prints the redacted transcript as it happens and a
one-line outcome, or with --json the versioned report. Exit 0: authenticated and mailbox reachable;
1: an error finding or failed authentication; 2: usage error.

Imports stay lazy: a static-token check must not load Textual, msal or google-auth.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from tui.commands.common import guarded_diagnoser, internal_error, silence_stdout

if TYPE_CHECKING:
    from mailscope.credential import TokenSource
    from mailscope.events import Event
    from mailscope.record import SessionRecord
    from mailscope.settings import CheckSettings

DEFAULT_PORTS = {"tls": 993, "starttls": 143, "plain": 143}


class UsageError(Exception):
    """Bad options or unreadable settings: message to stderr, exit 2."""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check",
        help="run one live session against a mail server and diagnose it",
        description="Connect, authenticate (XOAUTH2/OAUTHBEARER/PLAIN/LOGIN), examine INBOX; show the redacted transcript.",
    )
    add_settings_arguments(p)
    p.add_argument("--lab", metavar="SCENARIO", help="run a lab scenario end to end, in-process")
    p.add_argument("--json", action="store_true", help="print the versioned JSON report instead of the transcript")


def add_settings_arguments(p: argparse.ArgumentParser) -> None:
    """The options `settings_from_args` reads (server, credential, token acquisition, --profile); `audit` shares them."""
    target = p.add_argument_group("server")
    target.add_argument("--host", help="server host name")
    target.add_argument("--port", type=int, help="port (default: 993 for tls, 143 otherwise)")
    target.add_argument("--security", choices=("tls", "starttls", "plain"), help="implicit TLS (default), STARTTLS or none")
    target.add_argument("--user", help="mailbox user (e-mail address)")
    target.add_argument("--mechanism", choices=("auto", "xoauth2", "oauthbearer", "plain", "login"), help="default: auto")
    target.add_argument("--ca-file", help="PEM file of CAs to trust instead of the system store")
    target.add_argument("--insecure", action="store_true", help="do not verify the server certificate (never the default)")
    target.add_argument("--timeout", type=float, help="seconds per step (default 10)")
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
    "service_account_file", "subject", "authority", "token_endpoint",
)  # fmt: skip


def settings_from_args(args: argparse.Namespace) -> CheckSettings:
    """CheckSettings from a profile (if any) overridden by the options given; UsageError when unusable."""
    import dataclasses

    from mailscope.settings import CheckSettings, Mechanism, SecretSource, Security

    base = _load_profile(args.profile) if args.profile else None
    changes: dict[str, Any] = {name: getattr(args, name) for name in _OVERRIDES if getattr(args, name) is not None}
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
    if base is None:
        if not changes.get("host"):
            raise UsageError("--host is required (or --profile / --lab)")
        security = changes.get("security", Security.TLS)
        changes.setdefault("port", DEFAULT_PORTS[str(security)])
        settings = CheckSettings(**changes)
    else:
        settings = dataclasses.replace(base, **changes)
    _validate(settings)
    return settings


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
    if not settings.timeout > 0:
        raise UsageError("--timeout must be positive")
    for label, path in (
        ("--ca-file", settings.ca_file),
        ("--certificate", settings.certificate),
        ("--service-account-file", settings.service_account_file),
        ("--token-file", settings.token.ref if settings.token and settings.token.kind == "file" else None),
    ):
        if path and not os.access(os.path.expanduser(path), os.R_OK):
            raise UsageError(f"{label} {path}: not a readable file")


# -- running ----------------------------------------------------------------------------------------
def _make_record(args: argparse.Namespace, settings: CheckSettings) -> SessionRecord:
    from mailscope.record import SessionRecord

    record = SessionRecord(settings)  # diagnosed once at the end: nothing here shows findings live
    if not args.json:
        record.subscribe(_print_event)
    record.subscribe(_answer_prompts)
    return record


def _execute(args: argparse.Namespace, record: SessionRecord, source: TokenSource | None) -> int:
    import asyncio

    from mailscope.check import run_check

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)  # never a traceback on screen
        assert record.settings is not None
        await run_check(record.settings, source, record)

    asyncio.run(main())
    return _finish_output(args, record)


def _run_lab(args: argparse.Namespace) -> int:
    """--lab: the lab (mailscope.lab.session.run_lab_check) builds settings and servers and calls back
    `make_record(settings)` so the output here is the same as for a live check."""
    import asyncio

    from mailscope.lab.scenarios import scenario
    from mailscope.lab.session import run_lab_check
    from providers.registry import token_source_for

    try:
        scenario(args.lab)  # an unknown id is a usage error; a LookupError once the lab runs is not
    except LookupError as exc:
        raise UsageError(str(exc)) from None
    records: list[SessionRecord] = []

    def make_record(settings: CheckSettings) -> SessionRecord:
        records.append(_make_record(args, settings))
        return records[-1]

    asyncio.run(run_lab_check(args.lab, make_record, token_source_for))
    if not records:
        raise UsageError(f"lab scenario {args.lab!r} ran no session")
    return _finish_output(args, records[-1])


def _finish_output(args: argparse.Namespace, record: SessionRecord) -> int:
    from mailscope import report

    record.diagnoser = guarded_diagnoser()
    record.rediagnose()

    try:
        return _print_result(args, record)
    except BrokenPipeError:  # `mailscope check ... | head`: the reader left, not an error of ours
        silence_stdout()
        return report.exit_code(record)


def _print_result(args: argparse.Namespace, record: SessionRecord) -> int:
    from mailscope import report

    if args.json:
        print(report.report_json(record))
        return report.exit_code(record)
    for finding in report.findings_of(record):
        print(f"{finding.severity.upper()}: {finding.title} [{finding.id}] (owner: {finding.owner})")
        for step in finding.fix:
            print(f"    fix: {step}")
    outcome = record.outcome
    print(f"outcome: {outcome.kind}: {outcome.summary}" if outcome else "outcome: unknown (session not finished)")
    return report.exit_code(record)


_PREFIX = {"client": "C:", "server": "S:", "info": "* "}


def _print_event(event: Event) -> None:
    from mailscope.events import LineAdded

    if isinstance(event, LineAdded):
        line = event.line
        note = f"    [{'; '.join(line.annotations)}]" if line.annotations else ""
        channel = "" if line.channel.value == "imap" else f"[{line.channel.value}] "
        try:
            print(f"{_PREFIX[line.direction.value]} {channel}{line.text}{note}", flush=True)
        except BrokenPipeError:  # `mailscope check ... | head`: the session goes on, the output stops
            silence_stdout()


def _answer_prompts(event: Event) -> None:
    """Device code: show the instructions. Paste-back: show the URL and read the answer from stdin."""
    from mailscope.events import DeviceCodePrompt, PromptRequested

    if not isinstance(event, PromptRequested):
        return
    prompt = event.prompt
    if isinstance(prompt, DeviceCodePrompt):
        print(prompt.message or f"Open {prompt.verification_uri} and enter the code {prompt.user_code}", file=sys.stderr, flush=True)
        return
    print(f"Open this URL, sign in, then paste the address you were sent to:\n{prompt.authorization_url}", file=sys.stderr, flush=True)
    answer = event.answer
    if answer is not None:
        import asyncio

        loop = asyncio.get_running_loop()
        reader = loop.run_in_executor(None, sys.stdin.readline)
        reader.add_done_callback(lambda done: None if answer.done() else answer.set_result(done.result().strip()))
