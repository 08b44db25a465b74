"""A lab fleet: N service mailboxes of one Exchange Online tenant in mixed, seeded states, so that `mailscope audit`
can be checked against a known truth (`lab serve --fleet N`, `audit --lab-fleet N`, `lab fleet-truth N`).

The states are what an admin finds after a migration or a secret rotation: healthy mailboxes, mailboxes the daemon's
service principal has no FullAccess on, IMAP/POP or SMTP AUTH switched off per mailbox, addresses that do not exist
(wrong user), mailboxes without a licence, rows still using an app whose only secret expired, and healthy mailboxes
the front end throttles for their first sign-ins. The same seed gives the same fleet.

The truth names, per row, the real cause (`cause_finding`) and what the wire lets a diagnosis rank first
(`expected_finding`): with an app-only token Exchange answers "User is authenticated but not connected." alike for a
missing FullAccess, a disabled protocol and a missing licence, so those rank the permission first and list the real
cause among the candidates. Everything runs on the lab's usual servers and IdP; the fleet adds only an indexed
directory (one lookup per sign-in, not a scan of N users), a token verifier that checks each distinct token once, and
the throttling knob.
"""

from __future__ import annotations

import base64
import binascii
import csv
import functools
import io
import random
import secrets
import ssl
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mailscope.evidence import OutcomeKind
from mailscope.lab.directory import EXCHANGE, AppRegistration, Directory, MsCloud, MsUser, Tenant, stable_id
from mailscope.lab.exchange_auth import verify_signature
from mailscope.lab.exchange_imap import ExchangeImapServer
from mailscope.lab.imap_server import Command, Connection, ImapServer
from mailscope.lab.scenarios import EXCHANGE_TLS, LabContext, Scenario, World
from mailscope.lab.scenarios.spec import ClientSpec
from mailscope.lab.scenarios.world import TENANT_DOMAIN
from mailscope.lab.session import LOOPBACK, LabSession
from mailscope.settings import CheckSettings, Mechanism, Protocol, Security

TRUTH_SCHEMA = "mailscope.fleet-truth/1"
MAX_FLEET_SIZE = 100_000  # mailboxes: an audit of them runs for hours already; more only fills memory
HEALTHY = "healthy"  # the truth's and the audit summary's key for mailboxes without an error finding
APP_SCOPE = "https://outlook.office365.com/.default"
ACTIVE_CLIENT_ID = stable_id("app", "fleet-mail-daemon")
RETIRED_CLIENT_ID = stable_id("app", "fleet-mail-daemon-2023")
# Exchange Online's answer to a throttled client (seen on real tenants, e.g. imapsync #198); the lab suggests a short wait.
EXCHANGE_THROTTLED = "NO Request is throttled. Suggested Backoff Time: {ms} milliseconds"
# The lab server key per protocol (contract §4) and how the fleet reaches it.
PROTOCOL_SERVERS: dict[Protocol, tuple[str, Security]] = {
    Protocol.IMAP: (EXCHANGE_TLS, Security.TLS),
    Protocol.POP3: ("exchange-pop3", Security.TLS),
    Protocol.SMTP: ("exchange-smtp", Security.STARTTLS),
}
CSV_COLUMNS = ("user", "protocol", "host", "port", "security", "client_id", "client_secret")


class MailboxState(StrEnum):
    HEALTHY = "healthy"
    NO_FULL_ACCESS = "no_full_access"  # nobody ran Add-MailboxPermission for the daemon's service principal
    PROTOCOL_DISABLED = "protocol_disabled"  # Set-CASMailbox -ImapEnabled/-PopEnabled $false; SMTP rows: SMTP AUTH disabled
    WRONG_USER = "wrong_user"  # the row names an address that has no mailbox in the tenant
    NO_LICENCE = "no_licence"  # the mailbox lost its Exchange Online licence
    EXPIRED_SECRET = "expired_secret"  # the row still uses the retired app, whose only client secret expired
    THROTTLED = "throttled"  # healthy, but the front end throttles its first sign-ins

    @property
    def weight(self) -> int:
        """How often the state occurs in a fleet, in percent (healthy mailboxes are the majority, as after a real change)."""
        return {
            "healthy": 52,
            "no_full_access": 10,
            "protocol_disabled": 9,
            "wrong_user": 7,
            "no_licence": 7,
            "expired_secret": 7,
            "throttled": 8,
        }[self.value]


@dataclass(frozen=True, slots=True)
class FleetMailbox:
    row: int  # the row in the mailboxes CSV as a spreadsheet numbers it (the header is row 1)
    user: str
    protocol: Protocol
    state: MailboxState

    @property
    def retired_app(self) -> bool:
        return self.state is MailboxState.EXPIRED_SECRET

    @property
    def cause_finding(self) -> str | None:
        """The finding that names the real cause (None: healthy)."""
        smtp = self.protocol is Protocol.SMTP
        return {
            MailboxState.NO_FULL_ACCESS: "ms_sendas_denied" if smtp else "ms_app_only_mailbox_permission_missing",
            MailboxState.PROTOCOL_DISABLED: "ms_smtp_auth_disabled" if smtp else "ms_imap_pop_disabled",
            MailboxState.WRONG_USER: "ms_app_only_mailbox_permission_missing",  # its fix: user= must be the mailbox address
            MailboxState.NO_LICENCE: "ms_mailbox_license_or_type",
            MailboxState.EXPIRED_SECRET: "ms_client_credential_config",
        }.get(self.state)

    @property
    def expected_finding(self) -> str | None:
        """What the evidence lets a diagnosis rank first: Exchange refuses a mailbox the same way whatever the reason, and
        a sign-in to an address without a mailbox the same way as a token of an unregistered service principal."""
        if self.protocol is not Protocol.SMTP and self.state in (MailboxState.PROTOCOL_DISABLED, MailboxState.NO_LICENCE):
            return "ms_app_only_mailbox_permission_missing"
        if self.state is MailboxState.WRONG_USER:
            return "ms_app_only_service_principal_missing_or_wrong_id"
        return self.cause_finding

    @property
    def expected_outcome(self) -> OutcomeKind:
        if self.state in (MailboxState.HEALTHY, MailboxState.THROTTLED):
            return OutcomeKind.MAILBOX_REACHABLE
        if self.state is MailboxState.EXPIRED_SECRET:
            return OutcomeKind.TOKEN_FAILED
        if self.state is MailboxState.WRONG_USER or (self.state is MailboxState.PROTOCOL_DISABLED and self.protocol is Protocol.SMTP):
            return OutcomeKind.AUTH_FAILED
        return OutcomeKind.AUTHENTICATED_NOT_CONNECTED


@dataclass(frozen=True, slots=True)
class Fleet:
    size: int
    seed: int
    protocols: tuple[Protocol, ...]
    throttled_attempts: int  # sign-ins a throttled mailbox gets throttled before it is let in
    mailboxes: tuple[FleetMailbox, ...]

    def truth(self) -> dict[str, Any]:
        """What the lab knows: per row the state, the real cause and the expected primary finding, and the counts an
        audit's summary must show (keyed by primary finding id, `healthy` for mailboxes without an error finding)."""
        return {
            "schema": TRUTH_SCHEMA,
            "size": self.size,
            "seed": self.seed,
            "protocols": [str(p) for p in self.protocols],
            "counts": dict(Counter(m.expected_finding or HEALTHY for m in self.mailboxes).most_common()),
            "states": dict(Counter(str(m.state) for m in self.mailboxes).most_common()),
            "throttle_retries": self.throttled_attempts * sum(m.state is MailboxState.THROTTLED for m in self.mailboxes),
            "mailboxes": [
                {
                    "row": m.row,
                    "user": m.user,
                    "protocol": str(m.protocol),
                    "state": str(m.state),
                    "cause_finding": m.cause_finding,
                    "expected_finding": m.expected_finding,
                    "expected_outcome": str(m.expected_outcome),
                }
                for m in self.mailboxes
            ],
        }

    def world(self) -> World:
        """The tenant as the fleet's rows find it; a fresh client secret per lab start."""
        tenant = Tenant(TENANT_DOMAIN, MsCloud.GLOBAL)
        roles = {EXCHANGE: ("IMAP.AccessAsApp", "POP.AccessAsApp", "SMTP.SendAsApp")}
        active_secret, retired_secret = f"lab~{secrets.token_urlsafe(24)}", f"lab~{secrets.token_urlsafe(24)}"
        active = AppRegistration(
            ACTIVE_CLIENT_ID, tenant.id, "Fleet mail daemon", public_client=False, secrets=(active_secret,), app_roles=roles
        )
        retired = AppRegistration(
            RETIRED_CLIENT_ID,
            tenant.id,
            "Fleet mail daemon (2023)",
            public_client=False,
            expired_secrets=(retired_secret,),
            app_roles=roles,
        )
        users = [
            _directory_user(m, tenant.id, (active.service_principal_oid, retired.service_principal_oid))
            for m in self.mailboxes
            if m.state is not MailboxState.WRONG_USER
        ]
        directory = FleetDirectory(tenants=[tenant], users=users, apps=[active, retired])
        return World(directory, {"active_secret": active_secret, "retired_secret": retired_secret})

    def scenario(self) -> Scenario:
        """The fleet as a lab scenario: LabSession starts its servers and IdP like any other (FleetLab brings the world)."""
        return Scenario(
            id=f"fleet-{self.size}-seed-{self.seed}",
            title=f"Exchange Online fleet of {self.size} service mailboxes (seed {self.seed})",
            provider="microsoft",
            protocol=self.protocols[0],
            failure_ids=(),
            expected_finding=None,
            expected_outcome=OutcomeKind.MAILBOX_REACHABLE,
            teaching="An app-only daemon reads many mailboxes; some were left behind by a migration or a secret rotation.",
            servers=tuple(PROTOCOL_SERVERS[p][0] for p in self.protocols),
            server_under_test=EXCHANGE_TLS,
            client=ClientSpec("client_credentials"),
        )

    def throttled_users(self) -> dict[str, int]:
        return {m.user.lower(): self.throttled_attempts for m in self.mailboxes if m.state is MailboxState.THROTTLED}


def make_fleet(size: int, seed: int = 0, *, protocols: tuple[Protocol, ...] = (Protocol.IMAP,), throttled_attempts: int = 2) -> Fleet:
    """`size` mailboxes; every state occurs at least once when the fleet is big enough, the rest drawn by weight."""
    if not 1 <= size <= MAX_FLEET_SIZE:
        raise ValueError(f"a lab fleet has 1 to {MAX_FLEET_SIZE:,} mailboxes, not {size:,}")
    if not protocols:
        raise ValueError("a fleet needs at least one protocol")
    rng = random.Random(seed)
    states = list(MailboxState)[: min(size, len(MailboxState))]
    states += rng.choices(list(MailboxState), weights=[s.weight for s in MailboxState], k=size - len(states))
    rng.shuffle(states)
    width = max(4, len(str(size)))
    mailboxes = tuple(
        FleetMailbox(i + 2, f"mbx{i + 1:0{width}d}@{TENANT_DOMAIN}", rng.choice(protocols), state) for i, state in enumerate(states)
    )
    return Fleet(size, seed, tuple(protocols), throttled_attempts, mailboxes)


def _directory_user(mailbox: FleetMailbox, tenant_id: str, daemons: tuple[str, ...]) -> MsUser:
    user = MsUser(
        mailbox.user,
        tenant_id,
        full_access=() if mailbox.state is MailboxState.NO_FULL_ACCESS else daemons,
        has_mailbox=mailbox.state is not MailboxState.NO_LICENCE,
    )
    if mailbox.state is MailboxState.PROTOCOL_DISABLED:
        if mailbox.protocol is Protocol.IMAP:
            user.imap_enabled = False
        elif mailbox.protocol is Protocol.POP3:
            user.pop_enabled = False
        else:
            user.smtp_client_authentication_disabled = True  # Set-CASMailbox -SmtpClientAuthenticationDisabled $true
    return user


def _base_settings(ctx: LabContext, world: World) -> CheckSettings:
    """What every row shares: the daemon's client-credentials sign-in against the lab's IdP and CA (rows add the rest)."""
    host, port = ctx.endpoint(EXCHANGE_TLS)
    return CheckSettings(
        host,
        port,
        Security.TLS,
        mechanism=Mechanism.XOAUTH2,
        ca_file=ctx.ca_file,
        timeout=10.0,
        provider="microsoft",
        flow="client_credentials",
        client_id=ACTIVE_CLIENT_ID,
        tenant=TENANT_DOMAIN,
        authority=ctx.authority(TENANT_DOMAIN),
        scopes=(APP_SCOPE,),
        client_secret=ctx.write_secret("client-secret", world.secrets["active_secret"]),
    )


@dataclass(slots=True)
class FleetDirectory(Directory):
    """A directory of thousands of mailboxes: users found by one dict lookup (the fleet never changes its user list)."""

    _by_upn: dict[str, MsUser] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_upn = {u.upn.lower(): u for u in self.users}

    def user(self, upn: str) -> MsUser | None:
        return self._by_upn.get(upn.lower())


class FleetExchangeImapServer(ExchangeImapServer):
    """Exchange Online IMAP with the throttling knob: a throttled mailbox's first sign-ins (XOAUTH2 with SASL-IR) get
    Exchange's throttling answer instead of a verdict."""

    def __init__(self, *args: Any, throttle: dict[str, int], throttle_text: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.throttle = dict(throttle)  # user (lower case) -> sign-ins still to throttle
        self.throttle_text = throttle_text
        self.throttled = 0

    async def dispatch(self, conn: Connection, cmd: Command) -> None:
        user = _sasl_ir_user(cmd) if cmd.name == "AUTHENTICATE" else ""
        if self.throttle.get(user, 0) > 0:
            self.throttle[user] -= 1
            self.throttled += 1
            self.record(conn, "AUTHENTICATE XOAUTH2", user, "NO", "throttled (lab knob)")
            conn.write_line(f"{cmd.tag} {self.throttle_text}")
            return
        await super().dispatch(conn, cmd)


def _sasl_ir_user(cmd: Command) -> str:
    """The `user=` of an XOAUTH2 initial response sent on the command line, lower case ("" when there is none)."""
    if len(cmd.args) < 2:
        return ""
    try:
        payload = base64.b64decode(cmd.args[1], validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""
    return payload.removeprefix("user=").partition("\x01")[0].lower() if payload.startswith("user=") else ""


class FleetLab(LabSession):
    """The fleet's world running on loopback, plus the sheet an audit reads (`mailboxes_csv`, in the lab's 0700 directory;
    rows of the retired app name its secret's 0600 file)."""

    def __init__(
        self,
        fleet: Fleet,
        *,
        host: str = LOOPBACK,
        ports: dict[str, int] | None = None,
        throttle_text: str = EXCHANGE_THROTTLED.format(ms=50),
    ) -> None:
        super().__init__(fleet.scenario(), host=host, ports=ports)
        self.fleet = fleet
        self.throttle_text = throttle_text
        self.mailboxes_csv = ""

    def _make_world(self) -> World:
        return self.fleet.world()

    def _make_settings(self, world: World) -> CheckSettings:
        return _base_settings(self, world)

    async def start(self) -> None:
        await super().start()
        assert self.world is not None
        retired = self.write_secret("client-secret-retired", self.world.secrets["retired_secret"])
        self.mailboxes_csv = self.write_file("mailboxes.csv", self._csv_text(f"file:{retired.ref}"))

    def _make_server(self, key: str, context: ssl.SSLContext) -> ImapServer:
        if key != EXCHANGE_TLS:
            return super()._make_server(key, context)
        assert self.world is not None and self.idp is not None
        public_key = self.idp.signing_public_key_pem
        verify = functools.lru_cache(maxsize=64)(lambda token: verify_signature(token, public_key))  # one token serves N sign-ins
        return FleetExchangeImapServer(
            context,
            self.world.directory,
            verify,
            cloud=MsCloud.GLOBAL,
            name="exchange",
            throttle=self.fleet.throttled_users(),
            throttle_text=self.throttle_text,
        )

    def _csv_text(self, retired_secret: str) -> str:
        """One row per mailbox: where it is served and, for rows of the retired app, its client id and secret source."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for m in self.fleet.mailboxes:
            key, security = PROTOCOL_SERVERS[m.protocol]
            host, port = self.endpoint(key)
            client_id, secret = (RETIRED_CLIENT_ID, retired_secret) if m.retired_app else (ACTIVE_CLIENT_ID, "")
            writer.writerow((m.user, m.protocol, host, port, security, client_id, secret))
        return out.getvalue()
