"""Find or start the real Dovecot lab (and the Postfix submission lab) for pytest (used by the session-scoped fixtures).

The main instance is what `tests/run.sh` starts (lab.sh defaults). A second instance hides SASL-IR:
Dovecot always advertises SASL-IR in its built-in pre-login banner, and the only way to hide it is an
explicit `imap_capability` (dovecot.md §6.7), so it runs from its own LAB directory, ports 111xx, with
local JWT validation only and its own instance name. A third instance is the SASL server of the real Postfix
(postfix.sh): its auth service listens on 127.0.0.1:12124. Nothing here skips: failing to start is an error.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAB_SH = HERE / "lab.sh"
POSTFIX_SH = HERE / "postfix.sh"


@dataclass(frozen=True)
class LabInstance:
    lab: str
    imap: int
    imaps: int
    pop3: int
    pop3s: int
    env: dict[str, str] = field(default_factory=dict)

    @property
    def ca_file(self) -> str:
        return f"{self.lab}/ssl/server.crt"

    def lab_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "LAB": self.lab,
            "LAB_IMAP_PORT": str(self.imap),
            "LAB_IMAPS_PORT": str(self.imaps),
            "LAB_POP3_PORT": str(self.pop3),
            "LAB_POP3S_PORT": str(self.pop3s),
            **self.env,
        }


MAIN = LabInstance("/tmp/dovecot-lab", 10143, 10993, 10110, 10995)
NO_SASL_IR = LabInstance(
    "/tmp/dovecot-lab-nosaslir",
    11143,
    11993,
    11110,
    11995,
    env={
        "LAB_OAUTH": "jwt",
        "LAB_EXTRA_DOVECOT": "instance_name = dovecot-lab-nosaslir\nimap_capability = IMAP4rev1 LITERAL+ ID ENABLE IDLE NAMESPACE",
    },
)


# Postfix's SASL (postfix.sh starts it with these settings; mint the SMTP tests' tokens with its keys).
POSTFIX_DOVECOT = LabInstance("/tmp/dovecot-lab-postfix", 12143, 12993, 12110, 12995)


@dataclass(frozen=True)
class PostfixLab:
    """The real Postfix submission service of postfix.sh: 12587 STARTTLS (TLS before AUTH), 12465 implicit TLS."""

    submission: int = 12587
    submissions: int = 12465
    dovecot: LabInstance = POSTFIX_DOVECOT

    @property
    def ca_file(self) -> str:
        return self.dovecot.ca_file


POSTFIX = PostfixLab()


def ensure_postfix(lab: PostfixLab = POSTFIX) -> bool:
    """Start postfix.sh's Postfix (and its Dovecot) unless both listen; True when we started it. Fails, never skips."""
    if _listening(lab.submission) and _listening(lab.submissions) and _listening(12124):
        return False
    result = subprocess.run(["bash", str(POSTFIX_SH), "start"], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if result.returncode != 0 or not _listening(lab.submission):
        raise RuntimeError(
            "the Postfix lab is not running and could not be started (run `bash tests/dovecot-lab/postfix.sh install` "
            f"as root first):\n{result.stdout}\n{result.stderr}"
        )
    return True


def stop_postfix() -> None:
    subprocess.run(["bash", str(POSTFIX_SH), "stop"], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
    except OSError:
        return False
    return True


def ensure_running(instance: LabInstance) -> bool:
    """Start the instance unless it already listens; True when we started it (so we stop it).

    Raises RuntimeError with lab.sh's output when Dovecot cannot be started: tests fail, never skip."""
    if _listening(instance.imaps) and _listening(instance.imap):
        return False
    result = subprocess.run(
        ["bash", str(LAB_SH), "start"], env=instance.lab_env(), capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL
    )
    if result.returncode != 0 or not _listening(instance.imaps):
        raise RuntimeError(
            f"the Dovecot lab ({instance.lab}) is not running and could not be started "
            f"(run `bash tests/dovecot-lab/lab.sh install` as root first):\n{result.stdout}\n{result.stderr}"
        )
    return True


def running(instance: LabInstance) -> Iterator[LabInstance]:
    """For a fixture: the instance, started if needed and then stopped again (only what this started)."""
    started = ensure_running(instance)
    yield instance
    if started:
        stop(instance)


def postfix_running() -> Iterator[PostfixLab]:
    started = ensure_postfix()
    yield POSTFIX
    if started:
        stop_postfix()


def stop(instance: LabInstance) -> None:
    subprocess.run(["bash", str(LAB_SH), "stop"], env=instance.lab_env(), capture_output=True, timeout=60, stdin=subprocess.DEVNULL)


def mint(instance: LabInstance = MAIN, **kwargs: object) -> str:
    """A JWT signed with the instance's keys (labjwt.mint: ttl=-60 expired, claims={...} overrides)."""
    import labjwt

    return labjwt.mint(lab=instance.lab, **kwargs)
