"""Key material for the lab's identity world: the IdP's token-signing key, app-registration certificates
and Google service-account keys. The directory stores only public halves; callers keep the private ones.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mailscope.lab.directory import AppCertificate, GoogleServiceAccount


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def _self_signed(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))


@dataclass(frozen=True, slots=True, repr=False)
class SigningKey:
    """The IdP's RS256 token-signing key, published in its JWKS like Entra's."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    kid: str

    @classmethod
    def generate(cls) -> SigningKey:
        key = _rsa_key()
        cert = _self_signed(key, "mailscope lab token signing")
        return cls(key, cert, b64url(cert.fingerprint(hashes.SHA1())))

    @property
    def public_key_pem(self) -> str:
        return self.private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def jwk(self) -> dict[str, object]:
        numbers = self.private_key.public_key().public_numbers()
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return {
            "kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
            "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
            "x5c": [base64.b64encode(der).decode()],
        }


@dataclass(frozen=True, slots=True, repr=False)
class GeneratedAppCertificate:
    """A certificate credential: upload `.credential` to the app registration, give msal the rest."""

    credential: AppCertificate
    private_key_pem: str
    cert_pem: str

    def msal_client_credential(self, sha256: bool = True) -> dict[str, str]:
        """msal's dict form: with the certificate it signs PS256 with x5t#S256, with only a thumbprint RS256 with x5t."""
        if sha256:
            return {"private_key": self.private_key_pem, "public_certificate": self.cert_pem}
        return {"private_key": self.private_key_pem, "thumbprint": self.credential.thumbprint_sha1}


def generate_app_certificate(common_name: str = "mailscope lab app") -> GeneratedAppCertificate:
    key = _rsa_key()
    cert = _self_signed(key, common_name)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    credential = AppCertificate.from_der(cert_pem, cert.public_bytes(serialization.Encoding.DER))
    return GeneratedAppCertificate(credential, _private_pem(key), cert_pem)


@dataclass(frozen=True, slots=True, repr=False)
class GeneratedServiceAccount:
    """A Google service account: `.account` goes into the directory, `.key_info(token_uri)` is the JSON key file."""

    account: GoogleServiceAccount
    private_key_pem: str
    project_id: str

    def key_info(self, token_uri: str) -> dict[str, str]:
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.account.key_id,
            "private_key": self.private_key_pem,
            "client_email": self.account.client_email,
            "client_id": self.account.unique_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "universe_domain": "googleapis.com",
        }

    def key_json(self, token_uri: str) -> str:
        return json.dumps(self.key_info(token_uri), indent=2)


def generate_service_account(client_email: str, dwd_scopes: tuple[str, ...] = (), project_id: str = "mailscope-lab",
                             ) -> GeneratedServiceAccount:
    key = _rsa_key()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    key_id = hashlib.sha1(public_pem.encode()).hexdigest()
    account = GoogleServiceAccount(client_email=client_email, key_id=key_id, public_key_pem=public_pem, dwd_scopes=dwd_scopes)
    return GeneratedServiceAccount(account, _private_pem(key), project_id)



def sign_jwt(key: SigningKey, claims: dict[str, object]) -> str:
    """An RS256 JWT with Entra's header shape (typ, alg, x5t, kid)."""
    import jwt  # PyJWT: a dependency of msal, imported lazily so the directory stays light

    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"typ": "JWT", "x5t": key.kid, "kid": key.kid})
