"""Wall time of `mailscope check --protocol smtp|pop3` against minimal scripts doing the same session with the bare
libraries, on the same real servers, as fresh processes, N runs each (interleaved), medians side by side:

* SMTP: Postfix submission on Dovecot's SASL (tests/dovecot-lab/postfix.sh), implicit TLS, EHLO, AUTH XOAUTH2 with
  the initial response, MAIL FROM, RCPT TO, RSET, QUIT; the raw side is aiosmtplib's own `SMTP` client.
* POP3: Dovecot's POP3S, CAPA, AUTH XOAUTH2 in the two-step form, STAT, QUIT; the raw side is the stdlib's poplib.

Needs both labs running: `bash tests/dovecot-lab/lab.sh start && bash tests/dovecot-lab/postfix.sh start`.

    python benchmarks/pop_smtp_check_vs_raw.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from check_vs_raw import ROOT, USER, compare

sys.path.insert(0, str(ROOT / "tests" / "dovecot-lab"))

import labfixture  # noqa: E402

RAW_SMTP = """
import asyncio, base64, os, ssl, sys
from aiosmtplib import SMTP

async def main(host, port, cafile):
    user, token = os.environ["USER_NAME"], os.environ["MS_TOKEN"]
    smtp = SMTP(hostname=host, port=int(port), use_tls=True, tls_context=ssl.create_default_context(cafile=cafile))
    await smtp.connect()
    await smtp.ehlo()
    blob = base64.b64encode(f"user={user}\\x01auth=Bearer {token}\\x01\\x01".encode()).decode()
    assert (await smtp.execute_command(b"AUTH", b"XOAUTH2", blob.encode())).code == 235
    await smtp.mail(user)
    await smtp.rcpt(user)
    await smtp.rset()
    await smtp.quit()

asyncio.run(main(*sys.argv[1:]))
"""

RAW_POP3 = """
import base64, os, poplib, ssl, sys

host, port, cafile = sys.argv[1:]
user, token = os.environ["USER_NAME"], os.environ["MS_TOKEN"]
pop = poplib.POP3_SSL(host, int(port), context=ssl.create_default_context(cafile=cafile))
pop.capa()
pop._shortcmd("AUTH XOAUTH2")
assert pop._shortcmd(base64.b64encode(f"user={user}\\x01auth=Bearer {token}\\x01\\x01".encode()).decode()).startswith(b"+OK")
pop.stat()
pop.quit()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    labfixture.ensure_running(labfixture.MAIN)
    labfixture.ensure_postfix()
    console = shutil.which("mailscope", path=str(Path(sys.executable).parent)) or ""
    check = ([console] if console else [sys.executable, "-m", "tui.cli"]) + ["check", "--security", "tls", "--user", USER,
                                                                           "--mechanism", "xoauth2", "--token-env", "MS_TOKEN"]  # fmt: skip
    print(f"runs each: {args.runs} (interleaved, fresh processes), load {os.getloadavg()[0]:.2f}")
    postfix = labfixture.POSTFIX
    env = {**os.environ, "MS_TOKEN": labfixture.mint(postfix.dovecot), "USER_NAME": USER}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an ordinary installation, as check_vs_raw.py measures it
    target = ["--host", "127.0.0.1", "--port", str(postfix.submissions), "--ca-file", postfix.ca_file]
    compare("SMTP ", [*check, "--protocol", "smtp", *target],
             [sys.executable, "-c", RAW_SMTP, "127.0.0.1", str(postfix.submissions), postfix.ca_file], env, args.runs)  # fmt: skip
    dovecot = labfixture.MAIN
    env["MS_TOKEN"] = labfixture.mint(dovecot)
    target = ["--host", "127.0.0.1", "--port", str(dovecot.pop3s), "--ca-file", dovecot.ca_file]
    compare("POP3 ", [*check, "--protocol", "pop3", *target],
             [sys.executable, "-c", RAW_POP3, "127.0.0.1", str(dovecot.pop3s), dovecot.ca_file], env, args.runs)  # fmt: skip


if __name__ == "__main__":
    main()
