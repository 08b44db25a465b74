"""diagnose()/make_diagnoser(): merging, ranking, the token-stage rule, the checks list, and the incremental
diagnosis a SessionRecord runs on every change."""

from __future__ import annotations

from collections.abc import Iterator

from mailscope.diagnosis import diagnose, make_diagnoser
from mailscope.diagnosis.context import Context
from mailscope.diagnosis.rule import WIRE_PROOF, finding
from mailscope.events import DiagnosisUpdated, Direction
from mailscope.evidence import Fault, FaultKind, SaslExchange, SessionEvidence, TokenEvidence
from mailscope.findings import Check, DiagnosisInput, EvidenceKind, EvidenceRef, Finding
from mailscope.record import SessionRecord
from mailscope.secret import Secret, SecretKind
from mailscope.settings import CheckSettings

NOW = 1_800_000_000.0


def _inp(token: TokenEvidence | None = None, **evidence: object) -> DiagnosisInput:
    return DiagnosisInput(None, SessionEvidence(host="mail.example.net", **evidence), token, (), NOW)  # type: ignore[arg-type]


def test_one_finding_per_id_keeps_the_strongest_and_all_evidence() -> None:
    def weak(ctx: Context) -> Iterator[Finding]:
        yield finding("ms_imap_pop_disabled", "weak", score=10, confirmed=False, evidence=(EvidenceRef(EvidenceKind.LINE, "a", "", 1),))

    def strong(ctx: Context) -> Iterator[Finding]:
        yield finding("ms_imap_pop_disabled", "strong", score=50, confirmed=True, evidence=(EvidenceRef(EvidenceKind.LINE, "b", "", 2),))

    d = diagnose(_inp(), (weak, strong))
    [f] = [f for f in d.findings if f.id == "ms_imap_pop_disabled"]
    assert f.explanation == "strong" and f.confirmed and f.cited_lines == (2, 1)


def test_findings_are_sorted_by_score_and_rules_can_add_checks() -> None:
    def rule(ctx: Context) -> Iterator[Finding | Check]:
        yield finding("ms_mailbox_license_or_type", "low", score=5, confirmed=False)
        yield finding("ms_imap_pop_disabled", "high", score=70, confirmed=False)
        yield Check("audience", True, "aud ok")

    d = diagnose(_inp(), (rule,))
    assert [f.id for f in d.findings] == ["ms_imap_pop_disabled", "ms_mailbox_license_or_type"]
    assert Check("audience", True, "aud ok") in d.checks
    assert d.summary.startswith("most likely:") and "(not confirmed)" in d.summary


def test_a_failed_token_stage_ranks_the_explained_error_first() -> None:
    token = TokenEvidence(kind="none", provider="microsoft", error={"error": "invalid_grant", "error_codes": [65001]})

    def explainer(inp: DiagnosisInput) -> list[Finding]:  # written against DiagnosisInput, as providers/explain.py is
        assert inp.token is not None and inp.token.error
        return [finding("ms_mixed_resource_scopes", "AADSTS28000", score=0.5, confirmed=True,
                        evidence=(EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "error", "invalid_scope"),)),
                finding("ms_consent_or_permission_missing", "AADSTS65001", score=0.95, confirmed=True,
                        evidence=(EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "error", "invalid_grant"),))]

    def loud(ctx: Context) -> Iterator[Finding]:
        yield finding("dns_failure", "loud", score=WIRE_PROOF, confirmed=True)

    d = diagnose(_inp(token, fault=Fault(FaultKind.TOKEN_ACQUISITION, "AADSTS65001", "token")), (loud, explainer))
    assert [f.id for f in d.findings][:2] == ["ms_consent_or_permission_missing", "ms_mixed_resource_scopes"]
    assert "token_acquisition_failed" not in [f.id for f in d.findings]


def test_a_failed_token_stage_without_an_explainer_still_says_so_first() -> None:
    token = TokenEvidence(kind="none", error={"error": "temporarily_unavailable", "error_description": "try later"})
    d = diagnose(_inp(token))
    assert d.top is not None and d.top.id == "token_acquisition_failed" and "try later" in d.top.explanation


def test_a_failing_rule_becomes_a_check_not_a_traceback() -> None:
    def broken(ctx: Context) -> Iterator[Finding]:
        raise KeyError("aud")

    d = diagnose(_inp(), (broken,))
    assert Check("rule broken", False, "rule failed on this evidence: KeyError") in d.checks


def test_checks_say_what_could_not_be_checked() -> None:
    refused = [SaslExchange("XOAUTH2", True, result="NO", result_text="A1 NO AUTHENTICATE failed.", result_seq=4)]
    no_token = {c.name: c for c in diagnose(_inp(None, sasl=refused)).checks}
    assert not no_token["token"].done and "cannot be checked" in no_token["token"].detail
    opaque = TokenEvidence(kind="opaque", shape="msa-compact", provider="microsoft")
    checks = {c.name: c for c in diagnose(_inp(opaque, sasl=refused)).checks}
    assert not checks["token claims"].done and "opaque" in checks["token claims"].detail
    assert checks["server answer"].done
    refusal = diagnose(_inp(None, sasl=refused, server_family="dovecot"))
    assert refusal.top is not None and refusal.top.id == "auth_refused_cause_unknown" and not refusal.top.confirmed
    assert "no token was available" in refusal.top.explanation


def test_session_record_rediagnoses_as_evidence_arrives_and_never_leaks_the_token() -> None:
    token_value = "ya29.a0AfB_byC-lab-secret-token-value-123456"
    record = SessionRecord(CheckSettings("mail.example.net", 993, user="alice@example.net"), diagnoser=make_diagnoser(),
                           wall_clock=lambda: NOW)
    record.redactor.register(Secret(SecretKind.ACCESS_TOKEN, token_value))
    updates: list[DiagnosisUpdated] = []
    record.subscribe(lambda ev: updates.append(ev) if isinstance(ev, DiagnosisUpdated) else None)

    record.update_evidence(capabilities_pre_tls=("IMAP4rev1", "AUTH=XOAUTH2", "SASL-IR"))
    assert record.diagnosis.findings == ()
    line = record.add_line(Direction.CLIENT, f"A1 AUTHENTICATE XOAUTH2 {token_value}")
    exchange = SaslExchange("XOAUTH2", True, client_payload=line.text, command_seq=line.seq,
                            defects=["the raw access token was sent as the SASL argument, not wrapped in user=…^Aauth=Bearer …^A^A"])
    record.update_evidence(mechanism="XOAUTH2", sasl=[exchange])
    predicted = record.diagnosis.top
    assert predicted is not None and predicted.id == "xoauth2_string_malformed" and not predicted.confirmed
    reply = record.add_line(Direction.SERVER, "A1 NO Invalid SASL argument. x1")
    exchange.result, exchange.result_text, exchange.result_seq = "NO", reply.text, reply.seq
    record.evidence_touched("sasl")
    confirmed = record.diagnosis.top
    assert confirmed is not None and confirmed.confirmed and reply.seq in confirmed.cited_lines
    assert len(updates) == 3
    assert token_value not in repr(record.diagnosis)


def test_the_commands_diagnoser_turns_a_failing_diagnosis_into_a_failed_check() -> None:
    """What `logs` and `audit` run: the engine with the provider plug-ins, loaded with the first diagnosis; evidence the
    engine cannot read at all (here no evidence object) is one failed check, never a traceback."""
    from tui.commands.common import guarded_diagnoser

    diagnose_guarded = guarded_diagnoser()
    healthy = diagnose_guarded(_inp(auth_result="OK", auth_text="A1 OK done", mechanism="XOAUTH2"))
    assert not [c for c in healthy.checks if c.name == "diagnosis"]
    broken = diagnose_guarded(DiagnosisInput(None, None, None, (), NOW))  # type: ignore[arg-type]
    assert broken.findings == () and broken.checks == (Check("diagnosis", False, "the diagnosis failed: AttributeError"),)
