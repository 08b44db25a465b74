"""What an attack is: what it feeds mailscope (its `run`), the secrets that must not come back, and its bounds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .oracle import Run, problems

TOKEN_ENV = "MAILSCOPE_ATTACK_TOKEN"
PASSWORD_ENV = "MAILSCOPE_ATTACK_PASSWORD"


@dataclass(frozen=True)
class Attack:
    name: str
    kind: str  # "server" | "log" | "file" | "option" | "sheet" | "scenario" | "training" | "console"
    run: Callable[[Path, Attack], list[Run]]
    secrets: tuple[str, ...] = ()
    timeout: float = 30
    max_rss_mb: float = 250
    expect_exit: int | tuple[int, ...] | None = None  # a tuple: any of these
    max_seconds: float | None = None
    fast: bool = True  # part of the CI slice
    forbidden: tuple[str, ...] = ()  # strings that must not appear decoded (an OSC 52 payload, a title)
    required: tuple[str, ...] = ()  # strings every run's output must hold: the right diagnosis

    def judge(self, runs: list[Run]) -> list[str]:
        """What the oracle finds wrong with this attack's runs; empty when it passed."""
        return problems(runs, self.secrets, timeout=self.timeout, max_rss_mb=self.max_rss_mb, expect_exit=self.expect_exit,
                        max_seconds=self.max_seconds, forbidden=self.forbidden, required=self.required)  # fmt: skip
