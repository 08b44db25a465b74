"""Logs that carry their own time (issue 16): every supported format with timestamps, each written in its format's real
line shape, each with a real token from the lab's Entra (`mailscope.lab.idp_microsoft.EntraService`, minted as of the
log's time). The token was valid when the client used it and has long expired by today's clock; the server refused it
for another reason, which must come out first."""

from __future__ import annotations

import base64
import functools
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mailscope.findings import TimeSource
from mailscope.lab.directory import EXCHANGE, AppRegistration, Directory, MsUser, Tenant
from mailscope.lab.idp_keys import SigningKey
from mailscope.lab.idp_microsoft import ISSUED_AT_SKEW, EntraService

T_LOG = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)  # when the client used the token (the logs' own time)
CONTOSO = Tenant("contoso.onmicrosoft.com")
ALICE, BOB, SHARED = (f"{name}@contoso.onmicrosoft.com" for name in ("alice", "bob", "shared"))
PASSWORD = "Pa55-w0rd!lab"
SECRET = "Lab~Secret.Value-0123456789abcdefghij"
IMAP_APP, SMTP_APP, GRAPH_APP, DAEMON = (f"9e5f94bc-0000-4000-8000-00000000b00{i}" for i in range(1, 5))
EXPIRY_IDS = frozenset({"ms_token_expired", "google_token_expired_or_revoked", "token_expires_soon", "token_not_yet_valid"})

# The cause the server's refusal really had, by kind of lab token, and the SASL user the client sent.
CAUSES = {
    "sp_missing": ("ms_app_only_service_principal_missing_or_wrong_id", SHARED),  # app-only token, no Exchange service principal
    "user_mismatch": ("ms_user_mismatch_token_vs_login", BOB),  # alice's delegated token, the client signs in as bob
    "scope_mismatch": ("ms_protocol_scope_mismatch", ALICE),  # a token with SMTP.Send only, used for IMAP
    "graph": ("ms_graph_scope_or_audience", ALICE),  # a Microsoft Graph token
}


@functools.cache
def lab_token(kind: str, used_at: float = T_LOG.timestamp()) -> str:
    """A token the lab's Entra issues just before `used_at` (iat 5 min earlier, as Entra back-dates; exp an hour after)."""
    directory = Directory(
        tenants=[CONTOSO],
        users=[MsUser(ALICE, CONTOSO.id, password=PASSWORD)],
        apps=[
            AppRegistration(IMAP_APP, CONTOSO.id, consented_scopes=frozenset({"IMAP.AccessAsUser.All", "SMTP.Send"})),
            AppRegistration(SMTP_APP, CONTOSO.id, consented_scopes=frozenset({"SMTP.Send"})),
            AppRegistration(GRAPH_APP, CONTOSO.id, consented_scopes=frozenset({"Mail.Send"})),
            AppRegistration(
                DAEMON,
                CONTOSO.id,
                public_client=False,
                secrets=(SECRET,),
                app_roles={EXCHANGE: ("IMAP.AccessAsApp", "SMTP.SendAsApp")},
                exchange_service_principal_oid=None,
            ),
        ],
    )
    entra = EntraService(directory, SigningKey.generate(), lambda: "https://127.0.0.1:1")
    if kind == "sp_missing":
        params = {
            "grant_type": "client_credentials",
            "client_id": DAEMON,
            "client_secret": SECRET,
            "scope": "https://outlook.office365.com/.default",
        }
    else:
        client, scope = {
            "user_mismatch": (IMAP_APP, "https://outlook.office.com/IMAP.AccessAsUser.All"),
            "scope_mismatch": (SMTP_APP, "https://outlook.office.com/SMTP.Send"),
            "graph": (GRAPH_APP, "https://graph.microsoft.com/Mail.Send"),
        }[kind]
        params = {"grant_type": "password", "client_id": client, "username": ALICE, "password": PASSWORD, "scope": scope}
    for _ in range(3):  # the lab reads its clock again: retry if a second boundary fell in between
        directory.ms_token_age_seconds = int(time.time()) - int(used_at)
        reply = entra.token(CONTOSO.domain, params, "issue-16")
        assert reply.status == 200, reply.body
        token = str(reply.body["access_token"])  # type: ignore[index]
        if claims(token)["iat"] == int(used_at) - ISSUED_AT_SKEW:
            break
    return token


def claims(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def xoauth2(user: str, token: str) -> str:
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


@dataclass(frozen=True)
class TimedLog:
    name: str
    format: str
    cause: str  # key of CAUSES
    source: TimeSource  # where the time of its evidence comes from
    text: str

    @property
    def finding_id(self) -> str:
        return CAUSES[self.cause][0]

    @property
    def token(self) -> str:
        return lab_token(self.cause)


GREETING = (
    "* OK The Microsoft Exchange IMAP4 service is ready. "
    "[TQBSADEAUAAyADYANABDAEEAMAAxADQANgAuAEYAUgBBAFAAMgA2ADQALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]"
)
CAPS = "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+"
SMTP_GREETING = "220 AM0PR10CA0012.outlook.office365.com Microsoft ESMTP MAIL Service ready at Sat, 28 Nov 2026 08:00:00 +0000"
SMTP_REFUSAL = "535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]"


def imap_dialog(cause: str, tag: str = "A") -> list[tuple[float, str, str]]:
    """(seconds after T_LOG, "S"/"C", line) of an Exchange IMAP session refusing the cause's token."""
    user = CAUSES[cause][1]
    return [
        (0.0, "S", GREETING),
        (0.01, "C", f"{tag}0 CAPABILITY"),
        (0.05, "S", CAPS),
        (0.051, "S", f"{tag}0 OK CAPABILITY completed."),
        (0.06, "C", f"{tag}1 AUTHENTICATE XOAUTH2 {xoauth2(user, lab_token(cause))}"),
        (0.3, "S", f"{tag}1 NO AUTHENTICATE failed."),
    ]


def smtp_dialog(cause: str) -> list[tuple[float, str, str]]:
    user = CAUSES[cause][1]
    return [
        (0.0, "S", SMTP_GREETING),
        (0.01, "C", "EHLO client.example.org"),
        (0.05, "S", "250-AM0PR10CA0012.outlook.office365.com Hello [203.0.113.7]"),
        (0.051, "S", "250-STARTTLS"),
        (0.052, "S", "250 SMTPUTF8"),
        (0.06, "C", "STARTTLS"),
        (0.07, "S", "220 2.0.0 SMTP server ready"),
        (0.2, "C", "EHLO client.example.org"),
        (0.25, "S", "250-AM0PR10CA0012.outlook.office365.com Hello [203.0.113.7]"),
        (0.251, "S", "250-AUTH LOGIN XOAUTH2"),
        (0.252, "S", "250 SMTPUTF8"),
        (0.3, "C", f"AUTH XOAUTH2 {xoauth2(user, lab_token(cause))}"),
        (0.5, "S", SMTP_REFUSAL),
    ]


def at(offset: float, fmt: str) -> str:
    return (T_LOG + timedelta(seconds=offset)).strftime(fmt)


def _jira(cause: str) -> str:
    prefix = "[Support Mail] Caesium-1-2 anonymous Support Mail"
    lines = ["DEBUG: JavaMail version 1.6.2", 'IMAPS: trying to connect to host "outlook.office365.com", port 993, isSSL true']
    lines += [f"{at(t, '%Y-%m-%d %H:%M:%S')},{int(t * 1000) % 1000:03d}+0000 {prefix} {text}" for t, _, text in imap_dialog(cause)]
    lines.append(
        f"{at(0.31, '%Y-%m-%d %H:%M:%S')},310+0000 WARN {prefix} [10900]: javax.mail.AuthenticationFailedException: "
        'AUTHENTICATE failed. while connecting to host "outlook.office365.com" as user "shared@contoso.onmicrosoft.com"'
    )
    return "\n".join(lines)


def _imapflow(cause: str) -> str:
    ms = int(T_LOG.timestamp() * 1000)
    base = {"level": 20, "pid": 4242, "hostname": "worker-1", "component": "imap-connection", "cid": "e1a"}
    lines = [
        {
            **base,
            "level": 30,
            "time": ms,
            "host": "outlook.office365.com",
            "port": 993,
            "secure": True,
            "msg": "Established secure TLS connection",
        }
    ]
    lines += [{**base, "time": ms + int(t * 1000), "src": side.lower(), "msg": text} for t, side, text in imap_dialog(cause, "")]
    return "\n".join(json.dumps(line) for line in lines)


def _mailkit(cause: str) -> str:
    lines = [f"{at(0, '%Y-%m-%dT%H:%M:%SZ')} Connected to imaps://outlook.office365.com:993/"]
    lines += [f"{at(t, '%Y-%m-%dT%H:%M:%SZ')} {side}: {text}" for t, side, text in imap_dialog(cause, "A0000000")]
    return "\n".join(lines)


def _thunderbird(cause: str) -> str:
    stamp = "%Y-%m-%d %H:%M:%S.%f UTC - [Parent 5120: Main Thread]: D/SMTP"
    lines = [f"{at(0, stamp)} Connecting to smtp://smtp.office365.com:587"]
    lines += [f"{at(t, stamp)} {side}: {text}" for t, side, text in smtp_dialog(cause)]
    return "\n".join([*lines, f"{at(0.6, stamp)} Done with status 0x80553539"])


def _postfix(cause: str, stamp: str, reply: str) -> str:
    token, user = lab_token(cause), CAUSES[cause][1]
    lines = [
        (0.1, "postfix/qmgr[611]: 4C1A2B3D4E: from=<alerts@contoso.onmicrosoft.com>, size=1841, nrcpt=1 (queue active)"),
        (
            0.5,
            "postfix/smtp[7001]: Trusted TLS connection established to smtp.office365.com[52.96.90.34]:587: TLSv1.3 with "
            "cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
        ),
        (0.6, f"postfix/smtp[7001]: xsasl_cyrus_client_first: uncoded initial reply: user={user}\\001auth=Bearer {token}\\001\\001"),
        (0.9, f"postfix/smtp[7001]: 4C1A2B3D4E: SASL authentication failed; server smtp.office365.com[52.96.90.34] said: {reply}"),
    ]
    return "\n".join(f"{at(t, stamp)} relay01 {text}" for t, text in lines)


def _emailproxy(cause: str) -> str:
    conn = "IMAP (localhost:1993; 127.0.0.1:50511->outlook.office365.com:993)"
    lines = [f"{at(0, '%Y-%m-%d %H:%M:%S')},000: {conn} --> [ Client connected ]"]
    for t, side, text in imap_dialog(cause, "a"):
        arrow = "<--" if side == "S" else "-->"
        lines.append(f"{at(t, '%Y-%m-%d %H:%M:%S')},{int(t * 1000) % 1000:03d}: {conn}     {arrow} {(text + chr(13) + chr(10)).encode()!r}")
    return "\n".join([*lines, f"{at(0.4, '%Y-%m-%d %H:%M:%S')},400: {conn} <-> [ Server disconnected ]"])


def curl(cause: str, *, trace_time: bool = True) -> str:
    """`curl -v` (with `--trace-time`: each line starts with the local time of day)."""
    lines = [
        (0.0, "*   Trying 52.97.146.162:993..."),
        (0.01, "* Connected to outlook.office365.com (52.97.146.162) port 993 (#0)"),
        (0.02, "* SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384"),
    ]
    lines += [(t, f"{'<' if side == 'S' else '>'} {text}") for t, side, text in imap_dialog(cause)]
    lines.append((0.31, "* Connection #0 to host outlook.office365.com left intact"))
    return "\n".join(f"{at(t, '%H:%M:%S.%f')} {text}" if trace_time else text for t, text in lines)


def _transcript(cause: str) -> str:
    return "\n".join(f"{at(t, '%Y-%m-%dT%H:%M:%S')}.{int(t * 1000) % 1000:03d}Z {side}: {text}" for t, side, text in imap_dialog(cause))


def _generic(cause: str) -> str:
    return "\n".join(
        f"{at(t, '%Y-%m-%dT%H:%M:%S')}.{int(t * 1000) % 1000:03d}Z [mail-poller] worker=3 imap> {text}"
        for t, _, text in imap_dialog(cause, "a")
    )


def _smtplib(cause: str) -> str:
    lines = [(0.0, "connect: ('smtp.office365.com', 587)")]
    for t, side, text in smtp_dialog(cause):
        lines.append((t, f"send: {(text + chr(13) + chr(10))!r}" if side == "C" else f"reply: {(text + chr(13) + chr(10)).encode()!r}"))
    return "\n".join(f"{at(t, '%H:%M:%S.%f')} {text}" for t, text in lines)


def timed_logs() -> list[TimedLog]:
    syslog = "%b %d %H:%M:%S"
    stamped_reply = (
        "535 5.7.3 Authentication unsuccessful [AM0PR10CA0012.EURPRD10.PROD.OUTLOOK.COM 2026-11-28T08:00:00.880Z 08DC0F1E2A3B4C5D]"
    )
    return [
        TimedLog("jira", "javamail", "sp_missing", TimeSource.LOG, _jira("sp_missing")),
        TimedLog("imapflow", "imapflow", "user_mismatch", TimeSource.LOG, _imapflow("user_mismatch")),
        TimedLog("mailkit", "mailkit", "scope_mismatch", TimeSource.LOG, _mailkit("scope_mismatch")),
        TimedLog("thunderbird", "thunderbird", "sp_missing", TimeSource.SERVER_REPLY, _thunderbird("sp_missing")),
        TimedLog(
            "postfix-iso", "postfix", "graph", TimeSource.SERVER_REPLY, _postfix("graph", "%Y-%m-%dT%H:%M:%S.%f+00:00", stamped_reply)
        ),
        TimedLog(
            "postfix-syslog", "postfix", "user_mismatch", TimeSource.LOG_YEAR_INFERRED, _postfix("user_mismatch", syslog, SMTP_REFUSAL)
        ),
        TimedLog("emailproxy", "emailproxy", "scope_mismatch", TimeSource.LOG_LOCAL_TIME, _emailproxy("scope_mismatch")),
        TimedLog("curl-trace-time", "curl", "user_mismatch", TimeSource.TOKEN_IAT, curl("user_mismatch")),
        TimedLog("transcript", "transcript", "sp_missing", TimeSource.LOG, _transcript("sp_missing")),
        TimedLog("generic", "generic", "graph", TimeSource.LOG, _generic("graph")),
        TimedLog("smtplib", "imaplib", "user_mismatch", TimeSource.SERVER_REPLY, _smtplib("user_mismatch")),
    ]
