"""Peak RSS and wall time of `mailscope logs` on a Postfix log of N sessions, each quoting its own ordinary JWT
(about 1.6 kB, Entra-like claims) in the SASL initial reply, as sasl-xoauth2 debug logging does. Every session
registers its token with its redactor, so this measures what registering secrets costs per session.
Target: under 100 MB for 300 sessions (the 576 KB log of the attack run took 390 MB before bounded registration).

    python benchmarks/logs_memory.py [--sessions 300] [--keep]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(rng: random.Random, user: str) -> str:
    header = {"typ": "JWT", "alg": "RS256", "x5t": "kWbkaa6qs8wsTnBwiiNYOhHbnAw", "kid": "kWbkaa6qs8wsTnBwiiNYOhHbnAw"}
    claims = {
        "aud": "https://outlook.office.com", "iss": "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
        "iat": 1_800_000_000, "nbf": 1_800_000_000, "exp": 1_800_003_600, "acr": "1", "aio": _b64url(rng.randbytes(60)),
        "amr": ["pwd", "mfa"], "app_displayname": "Relay", "appid": "00000000-1111-2222-3333-444444444444",
        "family_name": "Ops", "given_name": "Relay", "ipaddr": "203.0.113.7", "name": "Relay Ops",
        "oid": str(rng.getrandbits(128)), "puid": "10032001" + str(rng.getrandbits(32)), "scp": "SMTP.Send",
        "sid": str(rng.getrandbits(128)), "sub": _b64url(rng.randbytes(32)), "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "unique_name": user, "upn": user, "uti": _b64url(rng.randbytes(16)), "ver": "1.0",
    }  # fmt: skip
    return f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}.{_b64url(rng.randbytes(256))}"


def write_log(path: Path, sessions: int) -> None:
    rng = random.Random(7)
    lines = []
    for i in range(sessions):
        ts = f"2026-11-28T{6 + i // 3600 % 12:02d}:{i // 60 % 60:02d}:{i % 60:02d}.100000+00:00"
        pid, user = 7000 + i, f"relay{i}@contoso.com"
        lines += [
            f"{ts} relay01 postfix/smtp[{pid}]: Trusted TLS connection established to smtp.office365.com[52.96.90.34]:587: "
            "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
            f"{ts} relay01 postfix/smtp[{pid}]: xsasl_cyrus_client_first: uncoded initial reply: "
            f"user={user}\\001auth=Bearer {jwt(rng, user)}\\001\\001",
            f"{ts} relay01 postfix/smtp[{pid}]: 4C1A{i:06X}: SASL authentication failed; server smtp.office365.com[52.96.90.34] "
            "said: 535 5.7.3 Authentication unsuccessful [AM0PR10CA0012.EURPRD10.PROD.OUTLOOK.COM]",
        ]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="mailscope-logs-memory-"))
    log = directory / "postfix.log"
    write_log(log, args.sessions)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    start = time.perf_counter()
    done = subprocess.run(["mailscope", "logs", str(log), "--json"], capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    sessions = json.loads(done.stdout)["summary"]["sessions"] if done.stdout.startswith("{") else "?"
    print(f"log: {log.stat().st_size / 1024:.0f} KB, {args.sessions} sessions with their own JWTs; mailscope found {sessions}")
    print(f"mailscope logs --json: {wall:.2f} s wall, peak RSS {peak_mb:.0f} MB (target < 100 MB), exit {done.returncode}")
    if not args.keep:
        log.unlink()
        directory.rmdir()


if __name__ == "__main__":
    main()
