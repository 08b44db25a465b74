"""Session-scoped fixtures for the real Dovecot lab: use the running one (tests/run.sh starts it) or
start it with lab.sh; fail, never skip, when that is impossible."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dovecot-lab"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # fakeimap

import labfixture  # noqa: E402


@pytest.fixture(scope="session")
def dovecot() -> Iterator[labfixture.LabInstance]:
    yield from labfixture.running(labfixture.MAIN)


@pytest.fixture(scope="session")
def dovecot_no_sasl_ir() -> Iterator[labfixture.LabInstance]:
    yield from labfixture.running(labfixture.NO_SASL_IR)
