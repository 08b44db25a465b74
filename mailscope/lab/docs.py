"""Generates docs/lab.md from the scenario definitions, so the table never drifts from the code.

    python -m mailscope.lab.docs > docs/lab.md
"""

from __future__ import annotations

from mailscope.lab.scenarios import SCENARIOS

INTRO = """\
# The lab

The lab brings Exchange Online and Gmail home: emulated IMAP servers on loopback that answer with the
strings the real services send (`failure-modes.md` §0, §1.3), and an identity provider over HTTPS that
unmodified msal and google-auth get real tokens from. Named scenarios reproduce the classic failures end
to end, for training, demos and tests. Nothing leaves the machine.

```
mailscope lab list [--json]          # the scenarios below
mailscope lab serve [SCENARIO]       # servers + IdP on loopback until Ctrl-C; prints ports, CA and the check line
mailscope check --lab SCENARIO       # one scenario end to end, in-process (add --json for the report)
```

Each scenario starts, in-process: a CA generated for the run (`mailscope/lab/ca.py`), the identity
provider (`idp.py`: Entra v2 + Google token endpoint), the IMAP servers it needs on free loopback ports,
and writes the secrets its user holds (password, client secret, refresh token, service-account key) as
0600 files in a private temp directory removed on exit. The token comes from the real provider code
(`providers/`: msal device code / client credentials, google-auth refresh / service account); the probe is
the real one; so is the diagnosis. A scenario runs in 0.2-2 s (`python benchmarks/lab_scenarios.py`).

## How the emulated servers behave

* **Exchange Online** (`exchange_imap.py`, decisions in `exchange_auth.py`): greeting
  `* OK The Microsoft Exchange IMAP4 service is ready. [<base64 UTF-16LE front end>]` (a worldwide,
  GCC High or 21Vianet front-end name); capabilities after TLS
  `IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+`,
  on the STARTTLS listener before TLS `... LOGINDISABLED STARTTLS ...` with no `AUTH=`, after
  authentication `+ CLIENTACCESSRULES CLIENTNETWORKPRESENCELOCATION BACKENDAUTHENTICATE`.
  A bearer token is checked the way the service does: RS256 signature by the lab IdP, `aud` an Exchange
  resource of the server's cloud, `tid` a tenant of that cloud, `exp`/`nbf` (5 min skew), then
  `scp` ∋ `IMAP.AccessAsUser.All` (delegated) or `roles` ∋ `IMAP.AccessAsApp` (app-only, whose service
  principal must be registered in Exchange with the token's `oid`). Every one of those faults, PLAIN and
  a malformed string give `NO AUTHENTICATE failed.` (no error challenge); LOGIN gives `NO LOGIN failed.`.
  A valid token whose mailbox cannot be opened (another user's mailbox without FullAccess, a service
  principal without FullAccess, no mailbox/licence, IMAP disabled) gets `OK AUTHENTICATE completed.`, then
  the first mailbox command gets `BAD User is authenticated but not connected.` and `* BYE Connection closed. 14`.
  A session whose token expires gets `* BYE Session invalidated - AccessTokenExpired` on its next command.
* **Gmail** (`gmail_imap.py`): `* OK Gimap ready for requests from <ip> <id>`, Gimap's capability list
  with `AUTH=OAUTHBEARER`, implicit TLS only. The token is looked up in the IdP's tokeninfo (`scope` must
  contain `https://mail.google.com/`, `email` must be the SASL user, not expired). A refusal sends
  `+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==` and
  **waits** for the client's empty line (`AQ==` for OAUTHBEARER) before
  `NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)`; a malformed XOAUTH2 string gets the same
  challenge and then `NO Invalid SASL argument. <id>`; `*` gets `BAD Client aborted AUTHENTICATE command. <id>`;
  an XOAUTH2 payload under OAUTHBEARER gets `BAD Invalid SASL argument. <id>`; LOGIN/PLAIN get
  `NO [ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)`.
* Both: any garbage, a line over 64 KiB (BYE, that connection only), literals, TLS junk and abrupt
  closes never take a server down; their log (`mailscope.lab.*`, shown by `lab serve`) records each
  decision and its reason, never a token, password or SASL string.

Choices where the catalogue is silent or [BELIEVED]: an app-only token whose service principal lacks
FullAccess gets "authenticated but not connected" (the catalogue allows both answers); a wrong
ObjectId / missing `New-ServicePrincipal` gets the generic NO. The malformed-XOAUTH2 scenario leaves the
mailbox address empty (`user=^Aauth=Bearer …`), a mistake the real probe reproduces without a special
mode. `ms-expired` gets its token from msal like every Microsoft scenario; the lab IdP issues it as if an
hour ago (a cached token reused instead of refreshed).

## Scenarios

| id | title | reproduces (catalogue ids) | expected outcome | teaching note |
|---|---|---|---|---|
"""


def render() -> str:
    rows = []
    for s in SCENARIOS:
        ids = ", ".join(f"`{i}`" for i in s.failure_ids) or "(healthy reference)"
        rows.append(f"| `{s.id}` | {s.title} | {ids} | {s.expected_outcome} | {s.teaching} |")
    return INTRO + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render(), end="")
