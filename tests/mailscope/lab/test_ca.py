"""The lab CA: real TLS handshakes with hostname checking, as a real client does them."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from mailscope.lab.ca import LabCA


async def _handshake(ca: LabCA, server_hostnames: tuple[str, ...], connect_as: str) -> str:
    """Serve TLS with a leaf for `server_hostnames`; connect verifying as `connect_as`. Returns what the server said."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK ready\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=ca.server_context(server_hostnames))
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=ca.client_context(), server_hostname=connect_as), timeout=5)
        line = await asyncio.wait_for(reader.readline(), timeout=5)
        writer.close()
        return line.decode()
    finally:
        server.close()
        await server.wait_closed()


def test_create_writes_a_ca_certificate_that_is_a_ca(tmp_path: Path) -> None:
    ca = LabCA.create(tmp_path / "tls")
    cert = x509.load_pem_x509_certificate(ca.ca_file.read_bytes())
    assert ca.ca_file.parent == tmp_path / "tls"
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert ca.ca_pem == ca.ca_file.read_bytes()


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
async def test_client_context_verifies_loopback_names(tmp_path: Path, name: str) -> None:
    ca = LabCA.create(tmp_path)
    assert await _handshake(ca, ("localhost", "127.0.0.1"), name) == "* OK ready\r\n"


async def test_extra_hostnames_are_in_the_leaf_and_loopback_stays(tmp_path: Path) -> None:
    ca = LabCA.create(tmp_path)
    assert await _handshake(ca, ("outlook.office365.com",), "outlook.office365.com") == "* OK ready\r\n"
    leaf = ca.leaf(("outlook.office365.com",))
    san = x509.load_pem_x509_certificate(leaf.cert_file.read_bytes()).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert set(san.value.get_values_for_type(x509.DNSName)) == {"localhost", "outlook.office365.com"}
    assert [str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


async def test_a_name_not_in_the_certificate_fails_verification(tmp_path: Path) -> None:
    ca = LabCA.create(tmp_path)
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch|doesn't match"):
        await _handshake(ca, ("localhost",), "imap.gmail.com")


async def test_a_client_trusting_another_lab_rejects_this_one(tmp_path: Path) -> None:
    ours, theirs = LabCA.create(tmp_path / "a"), LabCA.create(tmp_path / "b")

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=ours.server_context())
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=theirs.client_context(), server_hostname="localhost"), 5)
    finally:
        server.close()
        await server.wait_closed()


def test_leaves_are_issued_once_per_name_set_and_the_key_is_private(tmp_path: Path) -> None:
    ca = LabCA.create(tmp_path)
    first = ca.leaf(("imap.gmail.com",))
    assert ca.leaf(["IMAP.gmail.com", "localhost"]) is first
    assert ca.leaf(("outlook.office365.com",)) is not first
    assert first.key_file.stat().st_mode & 0o077 == 0
    assert first.cert_file.read_bytes().endswith(ca.ca_pem)  # the server presents the chain
