"""LabSession: starts the scenario's world on loopback, writes the user's secrets 0600, stops fast and cleans up;
run_lab_check hands back the finished record."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path

import pytest

from mailscope.evidence import OutcomeKind
from mailscope.lab.session import LabSession, run_lab_check
from mailscope.record import SessionRecord
from mailscope.settings import Security
from providers.registry import token_source_for


async def test_session_lifecycle_secrets_and_fast_stop() -> None:
    async with LabSession("ms-app-missing-role") as lab:
        settings = lab.settings
        workdir = Path(lab.directory or "")
        assert settings.host == "127.0.0.1" and settings.port == lab.servers["exchange"].port
        assert settings.security is Security.TLS and settings.ca_file == lab.ca_file and Path(lab.ca_file).exists()
        assert settings.authority.startswith("https://127.0.0.1:")
        assert settings.client_secret is not None and settings.client_secret.kind == "file"
        secret_file = Path(settings.client_secret.ref)
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
        assert "daemon_secret" in lab.world.secrets  # type: ignore[union-attr]
        reader, writer = await asyncio.open_connection(settings.host, settings.port, ssl=lab.ca.client_context(),  # type: ignore[union-attr]
                                                       server_hostname=settings.host)
        assert (await asyncio.wait_for(reader.readline(), 3)).startswith(b"* OK The Microsoft Exchange IMAP4 service is ready.")
        started = time.perf_counter()
    stop_seconds = time.perf_counter() - started
    writer.transport.abort()
    assert stop_seconds < 0.5
    assert not workdir.exists()
    with pytest.raises(OSError):
        await asyncio.open_connection(settings.host, settings.port)


async def test_unknown_scenario_raises_lookup_error_before_starting() -> None:
    with pytest.raises(LookupError, match="ms-healthy"):
        LabSession("nope")


async def test_run_lab_check_returns_the_finished_record() -> None:
    made: list[SessionRecord] = []

    def factory(settings):  # type: ignore[no-untyped-def]
        made.append(SessionRecord(settings))
        return made[-1]

    record = await run_lab_check("google-app-password-required", factory, token_source_for)
    assert record is made[0]
    assert record.outcome is not None and record.outcome.kind is OutcomeKind.AUTH_FAILED
    assert record.lines[0].text.startswith("lab scenario google-app-password-required")
    assert record.evidence.server_family == "gmail" and record.evidence.login_used
    password_line = next(line for line in record.lines if line.direction.value == "client" and " LOGIN " in line.text)
    assert "<password" in password_line.text  # redacted by the probe before storage


def test_each_scenario_session_gets_private_files(tmp_path) -> None:
    async def paths() -> tuple[str, str]:
        async with LabSession("google-healthy") as first, LabSession("google-healthy") as second:
            assert first.settings.refresh_token is not None and second.settings.refresh_token is not None
            assert first.settings.port != second.settings.port
            return first.settings.refresh_token.ref, second.settings.refresh_token.ref

    one, two = asyncio.run(paths())
    assert one != two and not os.path.exists(one) and not os.path.exists(two)
