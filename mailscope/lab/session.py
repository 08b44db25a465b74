"""LabSession: one scenario's world, running in-process on loopback (CA, identity provider, mail servers),
and `run_lab_check`, the `mailscope check --lab ID` entry point.

Start and stop are fast (well under a second together) so every scenario runs end to end in seconds.
Secrets the scenario's user holds are written as 0600 files into the session's private temp directory,
which is removed on exit.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mailscope.lab.ca import LabCA
from mailscope.lab.directory import MsCloud
from mailscope.lab.exchange_imap import ExchangeImapServer
from mailscope.lab.exchange_pop3 import ExchangePop3Server
from mailscope.lab.exchange_smtp import ExchangeSmtpServer
from mailscope.lab.gmail_imap import GmailImapServer
from mailscope.lab.gmail_pop3 import GmailPop3Server
from mailscope.lab.gmail_smtp import GmailSmtpServer
from mailscope.lab.line_server import LineServer
from mailscope.lab.scenarios import (
    EXCHANGE_CHINA,
    EXCHANGE_POP3,
    EXCHANGE_SMTP,
    EXCHANGE_STARTTLS,
    EXCHANGE_TLS,
    GMAIL,
    GMAIL_POP3,
    GMAIL_SMTP,
    GMAIL_SMTP_STARTTLS,
    Scenario,
    World,
    scenario,
)
from mailscope.record import SessionRecord
from mailscope.settings import CheckSettings, SecretSource

if TYPE_CHECKING:
    from mailscope.credential import TokenSource
    from mailscope.lab.idp import LabIdentityProvider

LOOPBACK = "127.0.0.1"


class LabSession:
    """`async with LabSession("ms-healthy") as lab:` → `lab.settings`, `lab.scenario`, `lab.servers`, `lab.idp`."""

    def __init__(self, scenario_id: str | Scenario, *, host: str = LOOPBACK, ports: dict[str, int] | None = None) -> None:
        # a Scenario as read from its file or built elsewhere (the fleet), or a built-in's id (LookupError for an unknown one,
        # before anything starts)
        self.scenario: Scenario = scenario_id if isinstance(scenario_id, Scenario) else scenario(scenario_id)
        self.host = host
        self.requested_ports = ports or {}
        self.servers: dict[str, LineServer] = {}
        self.idp: LabIdentityProvider | None = None
        self.directory: Path | None = None
        self.ca: LabCA | None = None
        self.world: World | None = None
        self._settings: CheckSettings | None = None

    # -- LabContext (what scenario builders use) ---------------------------------------------------
    @property
    def ca_file(self) -> str:
        assert self.ca is not None
        return str(self.ca.ca_file)

    def endpoint(self, server: str) -> tuple[str, int]:
        return self.host, self.servers[server].port

    def write_file(self, name: str, text: str) -> str:
        assert self.directory is not None
        path = self.directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return str(path)

    def write_secret(self, name: str, value: str) -> SecretSource:
        return SecretSource("file", self.write_file(name, value + "\n"))

    def authority(self, tenant: str) -> str:
        assert self.idp is not None
        return self.idp.authority(tenant)

    @property
    def google_token_uri(self) -> str:
        assert self.idp is not None
        return self.idp.google_token_uri

    @property
    def settings(self) -> CheckSettings:
        assert self._settings is not None, "LabSession not started"
        return self._settings

    # -- lifecycle ----------------------------------------------------------------------------------
    async def __aenter__(self) -> LabSession:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        from mailscope.lab.idp import LabIdentityProvider

        self.directory = Path(tempfile.mkdtemp(prefix=f"mailscope-lab-{self.scenario.id}-"))  # mode 0700
        self.ca = LabCA.create(self.directory / "ca")
        self.world = self._make_world()
        self.idp = LabIdentityProvider(self.world.directory, self.ca, host=self.host, port=self.requested_ports.get("idp", 0))
        self.idp.start()
        context = self.ca.server_context((self.host,))
        for key in self.scenario.servers:
            server = self._make_server(key, context)
            self.servers[key] = server
            await server.start(self.host, self.requested_ports.get(key, 0))
        self._settings = self._make_settings(self.world)

    def _make_world(self) -> World:
        """The directory and secrets of this lab's world (a subclass with a world of its own overrides it: the fleet)."""
        return self.scenario.world()

    def _make_settings(self, world: World) -> CheckSettings:
        return self.scenario.settings(self, world)

    def _make_server(self, key: str, context: ssl.SSLContext) -> LineServer:
        assert self.world is not None and self.idp is not None
        directory, public_key, tokeninfo = self.world.directory, self.idp.signing_public_key_pem, self.idp.google_tokeninfo
        if key == EXCHANGE_TLS:
            return ExchangeImapServer(context, directory, public_key, cloud=MsCloud.GLOBAL, name=key)
        if key == EXCHANGE_STARTTLS:
            return ExchangeImapServer(context, directory, public_key, cloud=MsCloud.GLOBAL, implicit_tls=False, name=key)
        if key == EXCHANGE_CHINA:
            return ExchangeImapServer(context, directory, public_key, cloud=MsCloud.CHINA, name=key)
        if key == EXCHANGE_POP3:
            return ExchangePop3Server(context, directory, public_key, cloud=MsCloud.GLOBAL, name=key)
        if key == EXCHANGE_SMTP:
            return ExchangeSmtpServer(context, directory, public_key, cloud=MsCloud.GLOBAL, name=key)
        if key == GMAIL:
            return GmailImapServer(context, directory, tokeninfo, name=key)
        if key == GMAIL_POP3:
            return GmailPop3Server(context, directory, tokeninfo, name=key)
        if key in (GMAIL_SMTP, GMAIL_SMTP_STARTTLS):
            return GmailSmtpServer(context, directory, tokeninfo, implicit_tls=key == GMAIL_SMTP, name=key)
        raise LookupError(f"unknown lab server {key!r}")

    async def stop(self) -> None:
        await asyncio.gather(*(server.stop() for server in self.servers.values()), return_exceptions=True)
        if self.idp is not None:
            await asyncio.to_thread(self.idp.stop)
            self.idp: LabIdentityProvider | None = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


async def run_lab_check(
    scenario_id: str | Scenario,
    record_factory: Callable[[CheckSettings], SessionRecord],
    token_source_for: Callable[[CheckSettings], TokenSource | None],
) -> SessionRecord:
    """`mailscope check --lab ID`: start the lab, acquire the scenario's token through the real provider code
    (`token_source_for` is `providers.registry.token_source_for`: the engine never imports providers), run the
    probe against the lab servers, stop the lab. LookupError for an unknown scenario."""
    from mailscope.check import run_check

    async with LabSession(scenario_id) as lab:
        record = record_factory(lab.settings)
        record.info(f"lab scenario {lab.scenario.id}: {lab.scenario.title}")
        await run_check(lab.settings, token_source_for(lab.settings), record)
        return record
