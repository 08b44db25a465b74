"""The lab's own certificate authority: every lab server speaks real TLS that real clients verify.

Generated at each lab start (EC P-256 keys, a few milliseconds), written to a directory so that
tools outside the process (`openssl s_client -CAfile`, another `mailscope check`) can trust it too.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTNAMES = ("localhost", "127.0.0.1")
_VALIDITY = dt.timedelta(days=7)
_BACKDATE = dt.timedelta(minutes=5)  # tolerate small clock differences between the lab and its clients


def _subject_alt_names(hostnames: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in hostnames:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _normalise(hostnames: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Always include loopback names, keep order, drop duplicates: one leaf per distinct set."""
    seen: dict[str, None] = {}
    for name in (*DEFAULT_HOSTNAMES, *hostnames):
        if name:
            seen.setdefault(name.strip().lower(), None)
    return tuple(seen)


@dataclass(frozen=True, slots=True)
class LeafCertificate:
    hostnames: tuple[str, ...]
    cert_file: Path  # leaf certificate followed by the CA certificate (the chain a server presents)
    key_file: Path


@dataclass(slots=True)
class LabCA:
    directory: Path
    ca_file: Path
    _key: ec.EllipticCurvePrivateKey
    _cert: x509.Certificate
    _leaves: dict[tuple[str, ...], LeafCertificate] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, directory: Path, common_name: str = "mailscope lab CA") -> LabCA:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mailscope lab")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        ca_file = directory / "ca.pem"
        ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(directory=directory, ca_file=ca_file, _key=key, _cert=cert)

    @property
    def ca_pem(self) -> bytes:
        return self._cert.public_bytes(serialization.Encoding.PEM)

    def leaf(self, hostnames: tuple[str, ...] | list[str] = DEFAULT_HOSTNAMES) -> LeafCertificate:
        """A server certificate for these names (plus loopback), issued once per distinct name set."""
        names = _normalise(hostnames)
        with self._lock:
            if names not in self._leaves:
                self._leaves[names] = self._issue(names, index=len(self._leaves))
            return self._leaves[names]

    def _issue(self, names: tuple[str, ...], index: int) -> LeafCertificate:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _VALIDITY)
            .add_extension(_subject_alt_names(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        cert_file = self.directory / f"server-{index}.pem"
        key_file = self.directory / f"server-{index}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + self.ca_pem)
        key_file.touch(mode=0o600)
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return LeafCertificate(names, cert_file, key_file)

    def server_context(self, hostnames: tuple[str, ...] | list[str] = DEFAULT_HOSTNAMES) -> ssl.SSLContext:
        leaf = self.leaf(hostnames)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(leaf.cert_file, leaf.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Verifies the server against this CA only, with hostname checking on (as a real client would)."""
        return ssl.create_default_context(cafile=str(self.ca_file))
