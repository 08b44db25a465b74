#!/usr/bin/env python3
"""Mint JWTs for the Dovecot lab (stdlib only; RS256/ES256 signing shells out to `openssl`).

Dovecot 2.3 local validation requirements (src/lib-oauth2/oauth2-jwt.c):
  header: "typ" must be exactly "JWT", "alg" required, "kid" optional (missing -> "default")
  body:   "sub" and "exp" required; "nbf"/"iat" optional (must not be in the future);
          "iss" must be in `issuers` if that setting is non-empty; "azp" selects the key dir
  key file: <prefix>/<azp or default>/<ALG>/<kid or default>
            HS*: base64 of the raw secret;  RS*/PS*/ES*: PEM public key
  ES256 signature = raw r||s (64 bytes), as in RFC 7518.
CLI:  labjwt.py [--alg HS256|RS256|ES256] [--kid hs1] [--lab /tmp/dovecot-lab]
                [--claims '{"email":"alice@example.test"}'] [--ttl 3600]
"""
import argparse
import base64
import hmac
import hashlib
import json
import os
import subprocess
import time

LAB = os.environ.get("LAB", "/tmp/dovecot-lab")
ISSUER = os.environ.get("LAB_ISSUER", "https://idp.lab.test")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _der_ecdsa_to_raw(der: bytes, size: int = 32) -> bytes:
    # SEQUENCE { INTEGER r, INTEGER s }
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        ln = der[i + 1]
        v = der[i + 2:i + 2 + ln]
        i += 2 + ln
        out += v.lstrip(b"\x00").rjust(size, b"\x00")
    return out


def sign(alg: str, signing_input: bytes, lab: str = LAB) -> bytes:
    if alg == "HS256":
        with open(os.path.join(lab, "keys-private/hs256.secret"), "rb") as f:
            return hmac.new(f.read(), signing_input, hashlib.sha256).digest()
    keyfile = os.path.join(lab, "keys-private", alg.lower() + ".key")
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", keyfile],
                         input=signing_input, capture_output=True, check=True).stdout
    if alg == "RS256":
        return der
    if alg == "ES256":
        return _der_ecdsa_to_raw(der)
    raise ValueError("unsupported alg " + alg)


def mint(claims=None, alg="HS256", kid="hs1", ttl=3600, lab=LAB, header_extra=None,
         tamper=False, typ="JWT"):
    now = int(time.time())
    body = {"iss": ISSUER, "sub": "alice", "email": "alice@example.test",
            "scope": "openid email mail", "iat": now, "exp": now + ttl}
    body.update(claims or {})
    body = {k: v for k, v in body.items() if v is not None}
    header = {"alg": alg, "typ": typ}
    if kid is not None:
        header["kid"] = kid
    header.update(header_extra or {})
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(body, separators=(",", ":")).encode())).encode()
    sig = sign(alg, signing_input, lab)
    if tamper:
        sig = bytes([sig[0] ^ 0x01]) + sig[1:]
    return signing_input.decode() + "." + b64url(sig)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--alg", default="HS256")
    p.add_argument("--kid", default=None)
    p.add_argument("--lab", default=LAB)
    p.add_argument("--claims", default="{}")
    p.add_argument("--ttl", type=int, default=3600)
    a = p.parse_args()
    kid = a.kid or {"HS256": "hs1", "RS256": "rs1", "ES256": "es1"}[a.alg]
    print(mint(json.loads(a.claims), a.alg, kid, a.ttl, a.lab))
