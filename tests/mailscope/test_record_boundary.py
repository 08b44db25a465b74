"""SessionRecord is the escaping boundary (issue 13): whatever enters as evidence, a token or a transcript line leaves
with no raw control character, at any depth and in dict keys, and a value under a secret key never stays."""

from __future__ import annotations

import base64

from mailscope.events import Direction
from mailscope.evidence import CommandResult, SaslExchange, TokenEvidence
from mailscope.protocols import conversation_for
from mailscope.record import SessionRecord
from mailscope.settings import CheckSettings
from mailscope.transcript import Transcript
from tests.attacks import payloads
from tests.attacks.oracle import RAW_CONTROL

RAW = payloads.ALL_CONTROLS


def _clean(value: object) -> bool:
    if isinstance(value, str):
        return not RAW_CONTROL.search(value) and "\x1b" not in value
    if isinstance(value, dict):
        return all(_clean(k) and _clean(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_clean(v) for v in value)
    return True


def test_token_claims_and_keys_are_escaped_at_any_depth_in_place() -> None:
    record = SessionRecord()
    token = TokenEvidence(kind="jwt", claims={"upn": "a@b" + RAW, RAW: [{"deep": {RAW: RAW}}]}, header={"kid": RAW},
                          error={"error_description": RAW}, notes=[RAW], account=RAW)  # fmt: skip
    record.set_token(token)
    assert record.token is token  # callers keep their reference: it is escaped too
    for value in (token.claims, token.header, token.error, token.notes, token.account):
        assert _clean(value), value
    assert token.claims["upn"].startswith("a@b\\e]52;c;")


def test_log_facts_never_hold_a_password_and_the_password_is_registered() -> None:
    record = SessionRecord()
    record.update_evidence(log_facts={"user": "alice" + payloads.OSC0, "password": "correct horse battery staple"})
    facts = record.evidence.log_facts
    assert facts["password"].startswith("<password 28 chars sha256:") and _clean(facts)
    line = record.add_line(Direction.INFO, "IMAPS: protocolConnect login, user=alice, password=correct horse battery staple")
    assert "horse" not in line.text


def test_in_place_changes_are_escaped_when_announced_and_keep_identity() -> None:
    record = SessionRecord()
    exchange = SaslExchange("XOAUTH2", True, challenges=[RAW], challenge_json=[{RAW: [RAW]}])
    record.evidence.sasl.append(exchange)
    record.evidence.exceptions.append(RAW)
    record.evidence_touched("sasl", "exceptions")
    assert record.evidence.sasl[0] is exchange and _clean(exchange.challenges) and _clean(exchange.challenge_json)
    assert _clean(record.evidence.exceptions)


def test_changes_announced_with_the_changed_objects_are_escaped_like_a_whole_walk() -> None:
    """The transcript names what a line appended or changed (`changed=`): those objects come out as the whole-list walk
    leaves them, in place."""
    whole, named = SessionRecord(), SessionRecord()
    for record in (whole, named):
        record.evidence.sasl.append(SaslExchange("XOAUTH2" + RAW, True, challenges=[RAW], challenge_json=[{RAW: [RAW]}]))
        record.evidence.commands.append(CommandResult("EXAMINE" + RAW, "NO", RAW))
    whole.evidence_touched("sasl", "commands")
    exchange, command = named.evidence.sasl[0], named.evidence.commands[0]
    named.evidence_touched("sasl", "commands", changed=(exchange, command))
    assert named.evidence.sasl[0] is exchange and named.evidence.commands[0] is command
    assert named.evidence.sasl == whole.evidence.sasl and named.evidence.commands == whole.evidence.commands
    assert _clean(exchange.mechanism) and _clean(exchange.challenge_json) and _clean(command.command) and _clean(command.text)


def test_a_server_line_with_controls_leaves_the_sasl_and_command_evidence_escaped() -> None:
    """Through the transcript (which announces only what each line changed), controls in a mechanism name, a challenge
    or a command's answer never stay raw in the evidence."""
    record = SessionRecord()
    transcript = Transcript(record, conversation_for("imap", record.redactor))
    transcript.line(Direction.CLIENT, "A1 AUTHENTICATE XOAUTH2" + payloads.OSC0)
    transcript.line(Direction.SERVER, "+ " + base64.b64encode(b'{"status":"400' + RAW.encode() + b'"}').decode())
    transcript.line(Direction.CLIENT, "")
    transcript.line(Direction.SERVER, "A1 NO failed" + RAW)
    transcript.line(Direction.CLIENT, "A2 LOGOUT")
    transcript.line(Direction.SERVER, "A2 OK bye" + RAW)
    evidence = record.evidence
    assert len(evidence.sasl) == 1 and evidence.commands and evidence.sasl[0].result == "NO"
    assert all(_clean(getattr(item, name)) for item in (*evidence.sasl, *evidence.commands) for name in item.__slots__)


def test_wall_times_and_settings_quoted_by_findings_are_escaped() -> None:
    record = SessionRecord(CheckSettings("h", 993, user="u" + RAW, client_id=RAW))
    line = record.add_line(Direction.SERVER, "* OK", wall_time=payloads.OSC0 + "2026")
    assert _clean(line.wall_time)
    settings = record.diagnosis_input().settings
    assert settings is not None and _clean(settings.user) and _clean(settings.client_id)
    assert record.settings is not None and record.settings.user == "u" + RAW  # the probe still uses what was typed


def test_deeply_nested_claims_are_cut_not_recursed() -> None:
    nested: object = "x"
    for _ in range(5000):
        nested = [nested]
    record = SessionRecord()
    record.set_token(TokenEvidence(claims={"deep": nested}))
    depth, value = 0, record.token.claims["deep"]  # type: ignore[union-attr]
    while isinstance(value, list):
        depth, value = depth + 1, value[0]
    assert depth < 40 and value == "<nested too deep>"
