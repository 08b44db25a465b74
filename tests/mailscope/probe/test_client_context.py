"""The TLS client context is built once per trust setting and CA file version (an audit opens thousands of sessions), and
the TLS facts read the certificate asyncio already decoded."""

from __future__ import annotations

import asyncio
import os
import ssl
from pathlib import Path

import pytest

from mailscope.evidence import TlsFacts
from mailscope.lab.ca import LabCA
from mailscope.probe.connect import client_context, tls_facts
from mailscope.settings import CheckSettings


def test_one_context_per_ca_file_and_trust_setting(tmp_path: Path) -> None:
    ca = LabCA.create(tmp_path / "ca")
    settings = CheckSettings("127.0.0.1", 993, ca_file=str(ca.ca_file))
    assert client_context(settings) is client_context(CheckSettings("other.example", 143, ca_file=str(ca.ca_file)))
    insecure = client_context(CheckSettings("127.0.0.1", 993, ca_file=str(ca.ca_file), verify_tls=False))
    assert insecure is not client_context(settings)
    assert insecure.verify_mode == ssl.CERT_NONE and client_context(settings).verify_mode == ssl.CERT_REQUIRED


def test_a_rewritten_ca_file_gets_a_new_context(tmp_path: Path) -> None:
    first, second = LabCA.create(tmp_path / "one"), LabCA.create(tmp_path / "two")
    path = tmp_path / "trust.pem"
    path.write_bytes(first.ca_file.read_bytes())
    before = client_context(CheckSettings("127.0.0.1", 993, ca_file=str(path)))
    path.write_bytes(second.ca_file.read_bytes() + b"\n")
    os.utime(path, ns=(1, 1))
    assert client_context(CheckSettings("127.0.0.1", 993, ca_file=str(path))) is not before


def test_a_missing_ca_file_is_an_error_every_time(tmp_path: Path) -> None:
    for _ in range(2):
        with pytest.raises(OSError):
            client_context(CheckSettings("127.0.0.1", 993, ca_file=str(tmp_path / "missing.pem")))


@pytest.mark.parametrize("verify", [True, False])
def test_tls_facts_read_the_certificate_asyncio_decoded_as_the_ssl_object_decodes_it(tmp_path: Path, verify: bool) -> None:
    """tls_facts takes the peer certificate asyncio decoded at the handshake (not a second decode): the same facts as
    the SSL object's own `getpeercert()`, and none when verification is off."""
    ca = LabCA.create(tmp_path / "ca")
    settings = CheckSettings("127.0.0.1", 993, ca_file=str(ca.ca_file), verify_tls=verify)

    async def handshake() -> tuple[TlsFacts, dict]:
        server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0, ssl=ca.server_context())
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_context(settings), server_hostname="127.0.0.1")
        try:
            ssl_object = writer.get_extra_info("ssl_object")
            return tls_facts(writer.transport, client_context(settings), "127.0.0.1"), ssl_object.getpeercert()
        finally:
            writer.close()
            server.close()

    facts, peer = asyncio.run(handshake())
    assert facts.verified is verify and facts.version and facts.cipher
    if verify:
        assert facts.peer_subject == ", ".join(f"{key}={value}" for rdn in peer["subject"] for key, value in rdn)
        assert facts.peer_issuer == "commonName=mailscope lab CA, organizationName=mailscope lab" and facts.not_after == peer["notAfter"]
    else:
        assert peer == {} and facts.peer_subject is None and facts.verify_error and "not checked" in facts.verify_error
