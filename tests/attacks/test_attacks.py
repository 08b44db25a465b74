"""The CI slice of the attack suite (every attack marked fast): each one through the real console script or the
real console in tmux, judged by the oracle. The full run, with its table: `python -m tests.attacks --all`."""

from __future__ import annotations

from pathlib import Path

import pytest

from .catalogue import Attack, attacks
from .oracle import problems, secret_pieces, spellings

FAST = [attack for attack in attacks() if attack.fast]


@pytest.mark.parametrize("attack", FAST, ids=[attack.name for attack in FAST])
def test_attack(attack: Attack, tmp_path: Path) -> None:
    runs = attack.run(tmp_path, attack)
    assert runs
    assert attack.judge(runs) == []


def test_the_oracle_sees_every_spelling_and_every_control() -> None:
    """The judge itself: a leak in any spelling, a raw control, a traceback, a non-ASCII JSON are all reported."""
    from .oracle import Run

    secret = "s3cr3t-" + "x7Qz" * 10
    pieces = secret_pieces([secret])
    assert all(form[:17] in pieces for form in spellings(secret))
    leaking = [Run(["mailscope", "logs"], stdout=f"ok {form[3:25]} ok") for form in spellings(secret)]
    assert all(problems([run], [secret], timeout=1, max_rss_mb=1e9) for run in leaking)
    for text in ("\x1b]52;c;eA==\x07", "\x9b2J", "\u202e", "\x00", "Traceback (most recent call last):"):
        assert problems([Run(["mailscope", "x"], stderr=text)], [], timeout=1, max_rss_mb=1e9)
    assert problems([Run(["mailscope", "x", "--json"], stdout='{"a": "é"}', json_output=True)], [], timeout=1, max_rss_mb=1e9)
    assert problems([Run(["mailscope", "x"], stdout="fine")], [secret], timeout=1, max_rss_mb=1e9) == []
