"""The scenario file format (mailscope.scenario/1): a table of good and bad files and the exact problems reported
(file, line, key, message); the knobs as they land in the lab's world and the client's settings; the built-ins."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailscope.datafile import DataFileError, read
from mailscope.lab.directory import DeviceCodeDecision
from mailscope.lab.scenarios import BUILTIN_DIR, SCENARIOS, SERVER_MODES, available, load_dir, load_file, scenario
from mailscope.lab.scenarios.schema import TABLES, parse
from mailscope.lab.scenarios.world import ALICE, DAEMON_CLIENT_ID, SALES
from mailscope.settings import Mechanism, SecretSource, Security

GOOD = """\
schema = "mailscope.scenario/1"
id = "ms-imap-disabled"
title = "Exchange Online: IMAP switched off for alice"
provider = "microsoft"
server = "exchange"
expected_finding = "ms_imap_pop_disabled"
expected_outcome = "authenticated_but_mailbox_refused"
teaching = "Set-CASMailbox -ImapEnabled $false."

[client]
flow = "device_code"
scopes = ["https://outlook.office.com/IMAP.AccessAsUser.All"]

[microsoft.mailbox.alice]
imap_enabled = false

[[hint]]
text = "Whose token, whose mailbox?"
"""


def problems_of(tmp_path: Path, text: str) -> list[str]:
    file = tmp_path / "s.toml"
    file.write_text(text, encoding="utf-8")
    found, problems = parse(read(file))
    assert (found is None) == bool(problems)
    return [str(p).replace(str(file), "s.toml") for p in problems]


def test_the_good_file_is_valid(tmp_path: Path) -> None:
    assert problems_of(tmp_path, GOOD) == []


# (replace this, with that) in GOOD -> the one problem reported
BAD = [
    (
        'schema = "mailscope.scenario/1"',
        'schema = "mailscope.scenario/2"',
        "s.toml:1: schema: version 'mailscope.scenario/2' is not supported by this mailscope (it reads 'mailscope.scenario/1')",
    ),
    ('schema = "mailscope.scenario/1"\n', "", 's.toml: schema: missing: the file must start with schema = "mailscope.scenario/1"'),
    (
        'schema = "mailscope.scenario/1"',
        'schema = "mailscope.course/1"',
        "s.toml:1: schema: 'mailscope.course/1' is not a scenario file (expected 'mailscope.scenario/1')",
    ),
    (
        'id = "ms-imap-disabled"',
        'id = "IMAP off"',
        "s.toml:2: id: 'IMAP off': use lower-case letters, digits and '-' (at most 64), starting with a letter or digit",
    ),
    ('title = "Exchange Online: IMAP switched off for alice"\n', "", "s.toml: title: required: one line saying what the case is"),
    (
        'server = "exchange"',
        'server = "exchnage"',
        "s.toml:5: server: 'exchnage' is not one of: exchange, exchange-starttls, exchange-china, exchange-pop3, exchange-smtp, gmail, "
        "gmail-pop3, gmail-smtp, gmail-smtp-starttls (did you mean 'exchange'?)",
    ),
    ('server = "exchange"', 'server = "gmail"', "s.toml:5: server: 'gmail' is a google server; this scenario's provider is 'microsoft'"),
    (
        'server = "exchange"',
        'server = "exchange"\nprotocol = "pop3"',
        "s.toml:6: protocol: 'pop3' does not match the server 'exchange', which speaks imap",
    ),
    (
        'server = "exchange"',
        'server = "exchange"\nservers = ["exchange-pop3"]',
        "s.toml:6: servers: must include the server under test, 'exchange'",
    ),
    (
        'expected_finding = "ms_imap_pop_disabled"',
        'expected_finding = "ms_imap_pop_disable"',
        "s.toml:6: expected_finding: unknown finding id 'ms_imap_pop_disable'; did you mean 'ms_imap_pop_disabled'? "
        "(docs/findings.md lists them all)",
    ),
    (
        'expected_finding = "ms_imap_pop_disabled"',
        'expected_finding = "google_imap_pop_disabled"',
        "s.toml:6: expected_finding: 'google_imap_pop_disabled' is a google failure; this scenario's provider is 'microsoft'",
    ),
    (
        'expected_finding = "ms_imap_pop_disabled"',
        'expected_finding = "session_healthy"',
        "s.toml:6: expected_finding: 'session_healthy' is not an error finding; a healthy reference has no expected_finding",
    ),
    (
        'expected_finding = "ms_imap_pop_disabled"',
        'expected_finding = "ms_imap_pop_disabled"\nreproduces = ["ms_authenticated_but_not_connected"]',
        "s.toml:7: reproduces: must include the expected finding 'ms_imap_pop_disabled'",
    ),
    (
        'expected_finding = "ms_imap_pop_disabled"\n',
        "",
        "s.toml: expected_finding: required when the session ends authenticated_but_mailbox_refused (only a healthy reference, "
        "authenticated_mailbox_reachable, has none)",
    ),
    (
        'expected_outcome = "authenticated_but_mailbox_refused"',
        'expected_outcome = "authenticated_mailbox_reachable"',
        "s.toml:7: expected_outcome: authenticated_mailbox_reachable means nothing went wrong, "
        "yet expected_finding is 'ms_imap_pop_disabled'",
    ),
    (
        'teaching = "Set-CASMailbox -ImapEnabled $false."',
        'teaching = "Set-CASMailbox -ImapEnabled $false."\ncolour = "blue"',
        "s.toml:9: colour: unknown key 'colour' (known: schema, id, title, provider, server, servers, protocol, expected_finding, "
        "reproduces, expected_outcome, teaching, wire, client, microsoft, google, hint)",
    ),
    (
        '[client]\nflow = "device_code"\nscopes = ["https://outlook.office.com/IMAP.AccessAsUser.All"]\n',
        "",
        "s.toml: client: required: the settings the user typed",
    ),
    (
        'flow = "device_code"',
        'flow = "refresh_token"',
        "s.toml:11: client.flow: 'refresh_token' is not a microsoft flow (use one of: device_code, client_credentials, password)",
    ),
    (
        'flow = "device_code"',
        'flow = "device_code"\nsasl-ir = "no"',
        "s.toml:12: client.sasl-ir: unknown key 'sasl-ir'; did you mean 'sasl_ir'? "
        "(known: flow, scopes, user, mechanism, sasl_ir, security, client_secret, subject, password)",
    ),
    (
        'scopes = ["https://outlook.office.com/IMAP.AccessAsUser.All"]',
        'scopes = "https://outlook.office.com/IMAP.AccessAsUser.All"',
        "s.toml:12: client.scopes: must be a list of strings, not a string",
    ),
    (
        'scopes = ["https://outlook.office.com/IMAP.AccessAsUser.All"]',
        "user = 'alice'",
        "s.toml:10: client.scopes: required for flow = 'device_code': the scopes the user typed are the point of such a scenario",
    ),
    (
        'flow = "device_code"',
        'flow = "device_code"\nuser = "carol"',
        "s.toml:12: client.user: unknown microsoft cast member 'carol' (known: alice, bob, sales); or write an address",
    ),
    (
        'flow = "device_code"',
        'flow = "device_code"\nsubject = "bob"',
        "s.toml:12: client.subject: only applies to flow = 'service_account'",
    ),
    (
        'flow = "device_code"',
        'flow = "device_code"\nclient_secret = "secret-id"',
        "s.toml:12: client.client_secret: only applies to flow = 'client_credentials'",
    ),
    (
        'flow = "device_code"\nscopes = ["https://outlook.office.com/IMAP.AccessAsUser.All"]',
        'flow = "password"\nscopes = ["x"]',
        "s.toml:12: client.scopes: a password sign-in requests no scopes",
    ),
    (
        'flow = "device_code"\nscopes = ["https://outlook.office.com/IMAP.AccessAsUser.All"]',
        'flow = "password"\npassword = "app-password"',
        "s.toml:12: client.password: Exchange Online has no app passwords for these protocols (basic authentication is off)",
    ),
    (
        GOOD[GOOD.index("expected_finding") : GOOD.index("[microsoft")],
        'expected_finding = "ms_consent_or_permission_missing"\nexpected_outcome = "token_acquisition_failed"\nteaching = "t"\n'
        '[client]\nflow = "password"\n',
        "s.toml:7: expected_outcome: a password sign-in obtains no token, so it cannot end token_acquisition_failed",
    ),
    ('flow = "device_code"', 'flow = "device_code"\nsasl_ir = "maybe"', "s.toml:12: client.sasl_ir: 'maybe' is not one of: auto, yes, no"),
    (
        "[microsoft.mailbox.alice]",
        "[microsoft.mailbox.alcie]",
        "s.toml:14: microsoft.mailbox.alcie: unknown mailbox 'alcie'; did you mean 'alice'? (known: alice, bob, sales)",
    ),
    ("imap_enabled = false", 'imap_enabled = "no"', "s.toml:15: microsoft.mailbox.alice.imap_enabled: must be true or false, not a string"),
    (
        "imap_enabled = false",
        'full_access = ["eve"]',
        "s.toml:15: microsoft.mailbox.alice.full_access: unknown principal 'eve' (known: alice, bob, sales, daemon)",
    ),
    (
        "imap_enabled = false",
        "imap_enabled = false\n[microsoft]\ntoken_age_seconds = -5",
        "s.toml:17: microsoft.token_age_seconds: -5 is out of range (0 to 2.592e+06)",
    ),
    (
        "imap_enabled = false",
        'imap_enabled = false\n[microsoft]\ndaemon_roles = { sharepoint = ["Sites.Read"] }',
        "s.toml:17: microsoft.daemon_roles.sharepoint: unknown resource 'sharepoint' (known: exchange, graph)",
    ),
    (
        "imap_enabled = false",
        "imap_enabled = false\n[google]\npop_enabled = false",
        "s.toml:16: google: the [google] table only applies to provider = 'google' (this scenario's provider is 'microsoft')",
    ),
    (
        'text = "Whose token, whose mailbox?"',
        'text = "Whose token, whose mailbox?"\ncost = 0.6\n[[hint]]\ntext = "more"\ncost = 0.5',
        "s.toml:17: hint: the hints together cost more than the exercise's one point",
    ),
    ('text = "Whose token, whose mailbox?"', 'text = " "', "s.toml:18: hint[0].text: must not be empty"),
]


@pytest.mark.parametrize(("old", "new", "expected"), BAD, ids=[b[2].split(": ", 2)[1] + f"-{i}" for i, b in enumerate(BAD)])
def test_bad_files_name_file_line_key_and_reason(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    assert problems_of(tmp_path, GOOD.replace(old, new, 1)) == [expected]


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        GOOD.replace('server = "exchange"', 'server = "exchnage"')
        .replace('flow = "device_code"', 'flow = "device_cod"')
        .replace("imap_enabled = false", "imap_enabled = 0")
    )
    assert [p.split(": ", 2)[1] for p in problems_of(tmp_path, text)] == ["server", "client.flow", "microsoft.mailbox.alice.imap_enabled"]


def world_and_settings(tmp_path: Path, text: str):
    file = tmp_path / "k.toml"
    file.write_text(text, encoding="utf-8")
    chosen = load_file(file)
    world = chosen.world()
    return chosen, world, chosen.settings(FakeLab(), world)


class FakeLab:
    """The LabContext a running LabSession offers, without starting anything: secrets 'written' stay visible here."""

    ca_file = "/lab/ca.pem"
    google_token_uri = "https://idp/google/token"

    def endpoint(self, server: str) -> tuple[str, int]:
        return "127.0.0.1", 40000 + list(SERVER_MODES).index(server)

    def write_secret(self, name: str, value: str) -> SecretSource:
        return SecretSource("file", f"/lab/{name}:{value}")

    def write_file(self, name: str, text: str) -> str:
        return f"/lab/{name}"

    def authority(self, tenant: str) -> str:
        return f"https://idp/{tenant}"


def test_microsoft_knobs_land_in_the_world(tmp_path: Path) -> None:
    text = (
        GOOD
        + """
[microsoft]
users_can_consent = false
consented_scopes = ["IMAP.AccessAsUser.All"]
smtp_auth_disabled = true
daemon_roles = { exchange = ["POP.AccessAsApp"], graph = ["Mail.Read"] }
daemon_service_principal = "wrong-id"
sign_in_as = "bob"
sign_in_decision = "decline"
sign_in_consents = false
pending_polls = 2
token_age_seconds = 4000

[microsoft.mailbox.sales]
send_as = ["alice", "daemon"]
full_access = []
smtp_auth_disabled = false
mfa_required = true
has_mailbox = false
"""
    )
    _, world, _ = world_and_settings(tmp_path, text)
    d = world.directory
    tenant, (client, daemon) = d.tenants[0], d.apps
    alice, bob, sales = d.users
    assert not tenant.users_can_consent and tenant.smtp_client_authentication_disabled
    assert client.consented_scopes == frozenset({"IMAP.AccessAsUser.All"})
    assert daemon.client_id == DAEMON_CLIENT_ID and daemon.app_roles == {"exchange": ("POP.AccessAsApp",), "graph": ("Mail.Read",)}
    assert daemon.exchange_service_principal_oid not in ("", None, daemon.service_principal_oid)
    assert (d.sign_in.upn, d.sign_in.decision, d.sign_in.consents, d.sign_in.approve_after_polls) == (
        "bob@contoso.onmicrosoft.com",
        DeviceCodeDecision.DECLINE,
        False,
        2,
    )
    assert d.ms_token_age_seconds == 4000
    assert not alice.imap_enabled and alice.pop_enabled and alice.full_access == (daemon.service_principal_oid,)
    assert bob.full_access == () and bob.password == "" and alice.password == world.secrets["alice_password"]
    assert sales.upn == SALES and sales.full_access == () and sales.send_as == (ALICE, daemon.service_principal_oid)
    assert sales.smtp_client_authentication_disabled is False and sales.mfa_required and not sales.has_mailbox
    assert alice.smtp_client_authentication_disabled is None  # follows the tenant


def test_google_knobs_and_building_blocks(tmp_path: Path) -> None:
    text = """\
schema = "mailscope.scenario/1"
id = "google-knobs"
title = "Gmail knobs"
provider = "google"
server = "gmail-pop3"
expected_outcome = "authenticated_mailbox_reachable"
teaching = "An app password signs in."

[client]
flow = "password"
password = "app-password"
security = "starttls"

[google]
granted_scopes = ["https://www.googleapis.com/auth/gmail.readonly"]
refresh_token_revoked = true
refresh_token_age_days = 8
testing_mode = true
blocked_by_admin_policy = true
dwd_scopes = []
imap_enabled = false
two_step_verification = false
token_age_seconds = 4000
"""
    chosen, world, settings = world_and_settings(tmp_path, text)
    d = world.directory
    user, token, client = d.google_users[0], d.google_refresh_tokens[0], d.google_clients[0]
    assert user.app_passwords == (world.secrets["app_password"],) and not user.imap_enabled and not user.two_step_verification
    assert token.revoked and token.age_days == 8 and token.scopes == ("https://www.googleapis.com/auth/gmail.readonly",)
    assert client.testing_mode and client.blocked_by_admin_policy and d.service_accounts[0].dwd_scopes == ()
    assert d.google_token_age_seconds == 4000
    assert settings.password == SecretSource("file", f"/lab/gmail-password:{world.secrets['app_password']}")
    assert (settings.protocol, settings.security, settings.port) == (
        "pop3",
        Security.STARTTLS,
        40000 + list(SERVER_MODES).index("gmail-pop3"),
    )
    assert (settings.mechanism, settings.flow, settings.user) == (Mechanism.LOGIN, "password", "alice@example-workspace.com")
    assert chosen.protocol == "pop3" and chosen.hints == ()


def test_client_settings_defaults_per_flow(tmp_path: Path) -> None:
    base = GOOD.split("[client]")[0]
    _, world, daemon = world_and_settings(tmp_path, base + '[client]\nflow = "client_credentials"\nclient_secret = "secret-id"\n')
    assert daemon.scopes == ("https://outlook.office365.com/.default",) and daemon.client_id == DAEMON_CLIENT_ID
    assert daemon.client_secret is not None and world.secrets["daemon_secret"] not in daemon.client_secret.ref  # the Secret ID instead
    assert daemon.extra == {"token_cache": "none"} and daemon.authority == "https://idp/contoso.onmicrosoft.com"
    _, _, typed = world_and_settings(
        tmp_path,
        base + '[client]\nflow = "device_code"\nscopes = ["x"]\nuser = "someone@else.example"\nsasl_ir = "no"\nmechanism = "oauthbearer"\n',
    )
    assert (typed.user, typed.sasl_ir, typed.mechanism, typed.security) == (
        "someone@else.example",
        "no",
        Mechanism.OAUTHBEARER,
        Security.TLS,
    )


def test_the_built_ins_are_the_files_in_their_directory_in_file_name_order() -> None:
    files = sorted(BUILTIN_DIR.glob("*.toml"))
    assert len(SCENARIOS) == len(files) == 42
    assert [s.source for s in SCENARIOS] == [str(f) for f in files]
    for number, (s, file) in enumerate(zip(SCENARIOS, files, strict=True), start=1):
        assert file.name == f"{number:02d}-{s.id}.toml"
    assert SCENARIOS[0].id == "ms-healthy" and SCENARIOS[1].id == "ms-seed-plain"  # the console's picker order


def test_every_built_in_has_hints_that_do_not_give_it_away() -> None:
    from mailscope.diagnosis.catalogue import CATALOGUE

    for s in SCENARIOS:
        assert len(s.hints) >= 1 and sum(h.cost for h in s.hints) <= 1, s.id
        for hint in s.hints:
            for finding_id in s.failure_ids:
                assert finding_id not in hint.text and CATALOGUE[finding_id].title.lower() not in hint.text.lower(), (s.id, hint)


def test_a_directory_of_scenarios_and_lookups(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "course.toml").write_text('schema = "mailscope.course/1"\ntitle = "c"\npass_mark = 0.5\nscenarios = ["ms-imap-disabled"]\n')
    (tmp_path / "notes.txt").write_text("not a scenario")
    assert [s.id for s in load_dir(tmp_path)] == ["ms-imap-disabled"]  # the course file next to it is left alone
    assert scenario("ms-imap-disabled", [tmp_path]).source == str(tmp_path / "a.toml")
    assert scenario(str(tmp_path / "a.toml")).id == "ms-imap-disabled"
    assert len(available([tmp_path])) == 43
    with pytest.raises(LookupError, match="unknown lab scenario 'ms-imap-disabled'; known: ms-healthy"):
        scenario("ms-imap-disabled")
    (tmp_path / "b.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "c.toml").write_text(GOOD.replace('id = "ms-imap-disabled"', 'id = "ms-graph-scope"'), encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        available([tmp_path])
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'b.toml'}: id: 'ms-imap-disabled' is already the id of {tmp_path / 'a.toml'}",
        f"{tmp_path / 'c.toml'}: id: 'ms-graph-scope' is already the id of a built-in scenario",
    ]


def test_every_key_of_the_schema_has_a_meaning() -> None:
    for table, keys in TABLES.items():
        for key in keys:
            assert key.doc.strip() and not key.doc.endswith("."), (table, key.name)


def test_control_characters_in_a_file_never_reach_a_terminal(tmp_path: Path) -> None:
    text = GOOD.replace('title = "Exchange Online: IMAP switched off for alice"', 'title = "IMAP off \\u001b[2J\\u202e"')
    assert problems_of(tmp_path, text) == ["s.toml:3: title: contains control characters: 'IMAP off \\\\e[2J\\\\u202e'"]


KEY_NAMES = sorted({key.name for keys in TABLES.values() for key in keys} | {"alice", "bob", "daemon", "exchange", "mailbox", "x"})
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=20)
    | st.sampled_from(["microsoft", "google", "exchange", "gmail", "device_code", "password", "ms_token_expired", "mailscope.scenario/1"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(KEY_NAMES), children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(KEY_NAMES), VALUES, max_size=12))
def test_any_toml_document_gets_problems_or_a_scenario_never_an_exception(tmp_path: Path, document: dict) -> None:
    document = {"schema": "mailscope.scenario/1", **document}
    file = tmp_path / "fuzz.toml"
    file.write_text(tomli_w.dumps(_no_none(document)), encoding="utf-8")
    found, problems = parse(read(file))
    assert (found is None) == bool(problems)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_any_bytes_are_read_or_refused_clearly(tmp_path: Path, raw: bytes) -> None:
    file = tmp_path / "fuzz.toml"
    file.write_bytes(raw)
    try:
        parse(read(file))
    except DataFileError as exc:
        assert exc.problems and all(p.file == str(file) for p in exc.problems)


def _no_none(value):  # type: ignore[no-untyped-def]
    """TOML has no null: drop them (and keep arrays homogeneous enough for tomli_w)."""
    if isinstance(value, dict):
        return {k: _no_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_none(v) for v in value if v is not None]
    return value
