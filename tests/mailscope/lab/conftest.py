"""Fixtures for the lab server tests: a lab CA, an RS256 signing key standing in for the IdP, a small
directory, and a line-level client over real TLS (IMAP tags, POP3 lines, SMTP replies) so tests see the exact wire."""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailscope.lab.ca import LabCA
from mailscope.lab.directory import AppRegistration, Directory, MsCloud, MsUser, Tenant
from mailscope.lab.idp_keys import SigningKey, sign_jwt

READ_TIMEOUT = 3.0


@dataclass
class Wire:
    """A raw line client: send lines, read lines, with a timeout on every read."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def line(self, timeout: float = READ_TIMEOUT) -> str:
        raw = await asyncio.wait_for(self.reader.readline(), timeout)
        if not raw:
            raise EOFError("server closed the connection")
        return raw.decode("utf-8").rstrip("\r\n")

    async def send(self, text: str | bytes) -> None:
        self.writer.write((text.encode() if isinstance(text, str) else text) + b"\r\n")
        await self.writer.drain()

    async def command(self, text: str) -> list[str]:
        """Send a tagged command; the lines up to and including its tagged response."""
        tag = text.split(" ", 1)[0]
        await self.send(text)
        lines = []
        while True:
            lines.append(await self.line())
            if lines[-1].startswith(f"{tag} "):
                return lines

    async def ask(self, text: str | bytes) -> str:
        """Send one line, return the one-line answer (POP3, or a one-line SMTP reply)."""
        await self.send(text)
        return await self.line()

    async def reply(self, text: str | bytes | None = None) -> list[str]:
        """Send a line (unless None) and read one SMTP reply: every `NNN-` line up to the `NNN ` one."""
        if text is not None:
            await self.send(text)
        lines = [await self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(await self.line())
        return lines

    async def upgrade(self, lab: Lab) -> None:
        """STARTTLS/STLS after the server's go-ahead."""
        await self.writer.start_tls(lab.ca.client_context(), server_hostname="127.0.0.1")

    async def closed(self, timeout: float = READ_TIMEOUT) -> bool:
        return await asyncio.wait_for(self.reader.read(1), timeout) == b""

    async def silent(self, seconds: float = 0.2) -> bool:
        try:
            await asyncio.wait_for(self.reader.readline(), seconds)
        except TimeoutError:
            return True
        return False

    def close(self) -> None:
        self.writer.transport.abort()


@dataclass
class Lab:
    ca: LabCA
    key: SigningKey
    directory: Directory
    tenant: Tenant
    daemon: AppRegistration

    def token(self, **claims: object) -> str:
        base: dict[str, object] = {
            "aud": "https://outlook.office.com", "iss": f"https://sts.windows.net/{self.tenant.id}/", "tid": self.tenant.id,
            "iat": int(time.time()) - 300, "nbf": int(time.time()) - 300, "exp": int(time.time()) + 3600, "ver": "1.0",
            "scp": "IMAP.AccessAsUser.All", "upn": "alice@contoso.onmicrosoft.com", "unique_name": "alice@contoso.onmicrosoft.com",
        }
        base.update(claims)
        return sign_jwt(self.key, {k: v for k, v in base.items() if v is not None})

    async def connect(self, port: int, *, tls: bool = True) -> Wire:
        context = self.ca.client_context() if tls else None
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1" if tls else None)
        return Wire(reader, writer)


def xoauth2(user: str, token: str) -> str:
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def fake_tokeninfo(user: str, scopes: dict[str, str]) -> Callable[[str], dict[str, str] | None]:
    """Google's tokeninfo for a few known tokens (token -> granted scope), all of them `user`'s and alive."""

    def tokeninfo(token: str) -> dict[str, str] | None:
        scope = scopes.get(token)
        return None if scope is None else {"scope": scope, "email": user, "exp": str(int(time.time()) + 3000)}

    return tokeninfo


@pytest.fixture(scope="session")
def lab_ca(tmp_path_factory: pytest.TempPathFactory) -> LabCA:
    return LabCA.create(Path(tmp_path_factory.mktemp("lab-ca")))


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def lab(lab_ca: LabCA, signing_key: SigningKey) -> Lab:
    tenant = Tenant("contoso.onmicrosoft.com", MsCloud.GLOBAL)
    daemon = AppRegistration("5f0c3c1e-0000-4000-8000-00000000da30", tenant.id, public_client=False)
    alice = MsUser("alice@contoso.onmicrosoft.com", tenant.id, full_access=(daemon.service_principal_oid,))
    bob = MsUser("bob@contoso.onmicrosoft.com", tenant.id)
    directory = Directory(tenants=[tenant], users=[alice, bob], apps=[daemon])
    return Lab(lab_ca, signing_key, directory, tenant, daemon)


@pytest.fixture
def server_context(lab_ca: LabCA) -> ssl.SSLContext:
    return lab_ca.server_context()


@pytest.fixture
async def wires() -> AsyncIterator[list[Wire]]:
    """Connections a test opens; all aborted at the end."""
    opened: list[Wire] = []
    yield opened
    for wire in opened:
        wire.close()
