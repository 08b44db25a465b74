"""The TLS client context is built once per trust setting and CA file version (an audit opens thousands of sessions)."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest

from mailscope.lab.ca import LabCA
from mailscope.probe.connect import client_context
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
