"""Generates docs/lab.md from the scenario files, and the key reference of docs/scenarios.md from the scenario
schema, so neither drifts from what mailscope reads.

    python -m mailscope.lab.docs > docs/lab.md
    python -m mailscope.lab.docs keys     # the block between the markers in docs/scenarios.md
"""

from __future__ import annotations

import sys

from mailscope.lab.scenarios import SCENARIOS
from mailscope.lab.scenarios.schema import TABLES

INTRO = """\
# The lab

The lab brings Exchange Online and Gmail home: emulated IMAP, POP3 and SMTP servers on loopback that answer
with the strings the real services send (`failure-modes.md` §0, §1.3), and an identity provider over HTTPS that
unmodified msal and google-auth get real tokens from. Named scenarios reproduce the classic failures end
to end, for training, demos and tests. Nothing leaves the machine.

```
mailscope lab list [--json] [--dir DIR]    # the scenarios below (and a trainer's own in DIR)
mailscope lab serve [SCENARIO]             # servers + IdP on loopback until Ctrl-C; prints ports, CA and the check line
mailscope check --lab SCENARIO             # one scenario end to end, in-process (add --json for the report)
mailscope lab validate FILE|DIR...         # check scenario, course and answer files without running them
mailscope train --scenario SCENARIO        # the scenario as an exercise: the diagnosis hidden until you answer
```

Every scenario is a TOML file (`mailscope.scenario/1`): the built-ins are `mailscope/lab/scenarios/builtin/*.toml`,
and a trainer's own, in any directory, work the same way (`--lab-dir DIR` on `check`, `lab serve` and `train`, or
the file's path in place of an id). The format, the knobs of the lab's worlds, courses and exercises:
`docs/scenarios.md`.

Each scenario starts, in-process: a CA generated for the run (`mailscope/lab/ca.py`), the identity
provider (`idp.py`: Entra v2 + Google token endpoint), the mail servers it needs on free loopback ports,
and writes the secrets its user holds (password, client secret, refresh token, service-account key) as
0600 files in a private temp directory removed on exit. The token comes from the real provider code
(`providers/`: msal device code / client credentials, google-auth refresh / service account); the probe is
the real one; so is the diagnosis. A scenario runs in 0.2-2 s (`python benchmarks/lab_scenarios.py`).

## How the emulated servers behave

Server keys (what a scenario asks for): `exchange` (IMAP, implicit TLS, like outlook.office365.com:993),
`exchange-starttls` (IMAP 143 + STARTTLS), `exchange-china` (21Vianet IMAP), `exchange-pop3` (POP3, implicit TLS,
like outlook.office365.com:995), `exchange-smtp` (SMTP submission + STARTTLS, like smtp.office365.com:587), `gmail`
(IMAP 993), `gmail-pop3` (pop.gmail.com:995), `gmail-smtp` (smtp.gmail.com:465, implicit TLS) and
`gmail-smtp-starttls` (smtp.gmail.com:587). All of them share one line server (`line_server.py`: accept, TLS and
STARTTLS, line limits, robustness) under a protocol base each (`imap_server.py`, `pop3_server.py`,
`smtp_server.py`); the token decisions are shared per provider (`exchange_auth.py`, `gmail_auth.py`), so IMAP,
POP3 and SMTP of one provider judge a token the same way.

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
* **Exchange Online POP3** (`exchange_pop3.py`): `+OK The Microsoft Exchange POP3 service is ready. [<base64
  UTF-16LE front end>]`; CAPA `TOP` `UIDL` `SASL PLAIN XOAUTH2` `USER`. AUTH only in the two-step form the MS doc
  shows (`AUTH XOAUTH2`, `+ `, the base64 line); an initial response on the AUTH line gets
  `-ERR Protocol error. Connection is closed. 10` and the connection ends. The token is checked as for IMAP with
  `POP.AccessAsUser.All` / `POP.AccessAsApp` and the mailbox's PopEnabled; every fault, PLAIN and USER/PASS get
  `-ERR Authentication failure: unknown user name or bad password.`; success is `+OK User successfully
  authenticated.`; a valid token whose mailbox cannot be opened (no FullAccess, POP disabled, no licence) is
  accepted and STAT then gets `-ERR User is authenticated but not connected.`
* **Exchange Online SMTP** (`exchange_smtp.py`): `220 <front end>.outlook.office365.com Microsoft ESMTP MAIL Service
  ready at <date>`; EHLO before STARTTLS offers `STARTTLS` and no AUTH, after STARTTLS `AUTH LOGIN XOAUTH2`.
  XOAUTH2 with the initial response or after `334 `. SMTP AUTH switched off for the tenant
  (Set-TransportConfig) or the mailbox (Set-CASMailbox, overriding the tenant unless $null) gets
  `535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant|Mailbox. Visit
  https://aka.ms/smtp_auth_disabled for more information.` whatever the token says; every token fault (scope
  `SMTP.Send` / role `SMTP.SendAsApp` missing, audience, expiry, another user's mailbox) gets
  `535 5.7.3 Authentication unsuccessful`; AUTH LOGIN gets `535 5.7.139 Authentication unsuccessful, basic
  authentication is disabled.`; success `235 2.7.0 Authentication successful`. MAIL FROM before AUTH gets
  `530 5.7.57 Client not authenticated to send mail.`; after AUTH an address the identity may not send as
  (neither its own, nor SendAs granted, nor a service principal's FullAccess mailbox) gets
  `550 5.7.60 SMTP; Client does not have permissions to send as this sender`. Refusals end with
  `[<front end> <time> <id>]`. DATA is accepted and discarded.
* **Gmail POP3** (`gmail_pop3.py`): `+OK Gpop ready for requests from <ip> <id>`; CAPA with
  `SASL PLAIN XOAUTH2 OAUTHBEARER`; XOAUTH2/OAUTHBEARER in either form; a refused token gets the same base64 JSON
  challenge as IMAP, the server waits for the client's answer, then `-ERR [AUTH] Username and password not
  accepted.`; the account password gets `-ERR [AUTH] Application-specific password required: ...`; a good
  credential of an account with POP off gets `-ERR [SYS/PERM] Your account is not enabled for POP access. ...`;
  success `+OK Welcome.`.
* **Gmail SMTP** (`gmail_smtp.py`, 465 and 587): `220 smtp.gmail.com ESMTP <id> - gsmtp`; EHLO with
  `AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH` (587: `STARTTLS` first, AUTH only after it);
  a refused token gets `334 eyJzdGF0dXMiOiI0MDAi...`, the server waits for the empty line, then
  `535-5.7.8 Username and Password not accepted. ...`; the account password gets
  `534-5.7.9 Application-specific password required. ... InvalidSecondFactor`, an app password of the account
  signs in (also over IMAP and POP3); success `235 2.7.0 Accepted`; MAIL FROM before AUTH
  `530-5.7.0 Authentication Required.`.
* All: any garbage, a line over 64 KiB (that connection only), IMAP literals, TLS junk and abrupt closes never take
  a server down; their log (`mailscope.lab.*`, shown by `lab serve`) records each decision and its reason, never a
  token, password or SASL string.

Choices where the catalogue is silent or [BELIEVED]: an app-only token whose service principal lacks
FullAccess gets "authenticated but not connected" (the catalogue allows both answers); a wrong
ObjectId / missing `New-ServicePrincipal` gets the generic NO. The malformed-XOAUTH2 scenario leaves the
mailbox address empty (`user=^Aauth=Bearer …`), a mistake the real probe reproduces without a special
mode. `ms-expired` gets its token from msal like every Microsoft scenario; the lab IdP issues it as if an
hour ago (a cached token reused instead of refreshed).

POP3 and SMTP choices: Gmail SMTP refuses a token without `https://mail.google.com/` (Google's XOAUTH2 doc names
no other scope; one report says a gmail.modify token sent mail, so `google-smtp-narrow-scope` follows the doc,
not that report). Gmail POP's final line after a refused token is [BELIEVED] in the catalogue; the lab uses
Gpop's password refusal. Exchange POP3 treats an initial response on the AUTH line as a protocol error for every
mechanism, not only XOAUTH2. Exchange SMTP checks SMTP AUTH (tenant, then mailbox override) before the token's
scope, as the catalogue's order of checks says ("whatever the token says"); an SMTP AUTH for a mailbox the
signed-in user has no FullAccess on gets `535 5.7.3` (the MS doc's user-mismatch example), and FullAccess lets
AUTH through but is not SendAs, so MAIL FROM then gets `550 5.7.60` (`ms-smtp-send-as-denied`). Gmail accepts any
MAIL FROM after AUTH (it rewrites a From it does not own). The strings the catalogue does not hold (EHLO keyword
lists, MAIL FROM/RCPT TO/RSET/QUIT answers, Gpop's USER/QUIT lines) come from public session logs (email-oauth2-proxy
#93/#95/#142 for Exchange SMTP, vmime #267 for Exchange POP CAPA, fetchmail and node-poplib logs for Gpop).

## Scenarios

| id | server | title | reproduces (catalogue ids) | expected outcome | teaching note | hints |
|---|---|---|---|---|---|---|
"""
KIND_NAMES = {"str": "string", "bool": "true/false", "int": "whole number", "number": "number", "strings": "list of strings",
              "table": "table", "tables": "array of tables"}
KEYS_BEGIN = "<!-- keys: generated by python -m mailscope.lab.docs keys; do not edit by hand -->"
KEYS_END = "<!-- keys: end -->"


def render() -> str:
    rows = []
    for s in SCENARIOS:
        ids = ", ".join(f"`{i}`" for i in s.failure_ids) or "(healthy reference)"
        rows.append(f"| `{s.id}` | `{s.server_under_test}` | {s.title} | {ids} | {s.expected_outcome} | {s.teaching} | {len(s.hints)} |")
    return INTRO + "\n".join(rows) + "\n"


def render_keys() -> str:
    """The key reference of docs/scenarios.md: every table of a scenario file, every key, its type and meaning."""
    out = [KEYS_BEGIN]
    for table, keys in TABLES.items():
        heading = "top level" if not table else f"`[{table}]`" if table != "hint" else "`[[hint]]`"
        out += ["", f"#### {heading}", "", "| key | type | meaning |", "|---|---|---|"]
        for key in keys:
            kind = KIND_NAMES[key.kind]
            if key.choices:
                kind += ": " + ", ".join(f"`{c}`" for c in key.choices)
            out.append(f"| `{key.name}`{' (required)' if key.required else ''} | {kind} | {key.doc} |")
    return "\n".join([*out, "", KEYS_END]) + "\n"


if __name__ == "__main__":
    print(render_keys() if sys.argv[1:] == ["keys"] else render(), end="")
