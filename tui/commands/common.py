"""What the headless commands share: a diagnosis that survives a crashing rule, one redacted line instead of a
traceback, and a quiet end when the reader of stdout leaves (`mailscope ... | head`)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from mailscope.findings import Diagnosis, DiagnosisInput


def guarded_diagnoser() -> Callable[[DiagnosisInput], Diagnosis]:
    """The engine's diagnosis with the provider rule plug-ins, loaded with the first diagnosis (a log's first byte is read
    before them). A rule that crashes must not end the command with a traceback: the session is still listed and its
    checks say the diagnosis failed."""
    loaded: list[Callable[[DiagnosisInput], Diagnosis]] = []

    def guarded(inp: DiagnosisInput) -> Diagnosis:
        try:
            if not loaded:
                from mailscope.diagnosis import make_diagnoser
                from providers.registry import provider_rules

                loaded.append(make_diagnoser(provider_rules()))
            return loaded[0](inp)
        except Exception as exc:  # noqa: BLE001 - shown as a failed check instead
            from mailscope.findings import Check, Diagnosis  # here: an audit diagnoses every mailbox, and this is rare

            return Diagnosis(checks=(Check("diagnosis", False, f"the diagnosis failed: {exc.__class__.__name__}"),))

    return guarded


def internal_error(command: str, exc: Exception) -> int:
    """A bug of ours: one redacted line on stderr, exit 1 (MAILSCOPE_DEBUG=1 re-raises for the traceback)."""
    if os.environ.get("MAILSCOPE_DEBUG"):
        raise exc
    from mailscope.redact import Redactor

    detail = Redactor().redact(f"{exc.__class__.__name__}: {exc}")
    print(f"mailscope {command}: internal error: {detail} (MAILSCOPE_DEBUG=1 shows the traceback)", file=sys.stderr)
    return 1


def silence_stdout() -> None:
    """The reader of stdout left: point fd 1 at /dev/null so later prints and the final flush succeed."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
