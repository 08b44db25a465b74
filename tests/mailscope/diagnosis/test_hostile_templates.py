"""Every finding template, fed hostile text (issue 13): claims and evidence full of OSC 52 / OSC 0 / CSI / DCS / C1 /
bidi sequences enter through the SessionRecord boundary, the engine's and the providers' rules run, and no raw control
character may appear in any finding's title, explanation, fix step, evidence or link, in a check or in the summary.

Inputs: every sample log the log parsers ship (each replayed, then its evidence and token made hostile) and a grid of
token-endpoint errors (every AADSTS code and Google error providers/explain.py knows) with hostile descriptions. The
findings they raise are counted: the test also proves it reached most of the catalogue."""

from __future__ import annotations

import functools
from dataclasses import fields
from pathlib import Path

import pytest

from mailscope.evidence import Fault, FaultKind, SaslExchange, TokenEvidence
from mailscope.findings import Diagnosis
from mailscope.logs import LogScan, replay
from mailscope.record import SessionRecord
from mailscope.secret import Secret, SecretKind
from mailscope.settings import CheckSettings, Security
from providers.inspect import inspect_token
from tests.attacks import payloads
from tui.commands.common import guarded_diagnoser

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "logs" / "samples").iterdir())
RAW = payloads.ALL_CONTROLS
CODES = [16000, 28000, 500011, 50011, 50020, 500208, 50049, 50074, 50076, 50079, 50158, 50173, 50194, 53003, 530032, 530035,
         54005, 65001, 650056, 650057, 70000, 700016, 70002, 700022, 700025, 70008, 700082, 700084, 70011, 70020, 70043, 90002,
         90038, 90094, 90095]  # fmt: skip
GOOGLE_ERRORS = ["invalid_grant", "unauthorized_client", "admin_policy_enforced", "access_denied", "invalid_client", "invalid_scope"]
SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All"
ERRORS = [f"AADSTS{code}" for code in CODES] + GOOGLE_ERRORS


def _control_free(diagnosis: Diagnosis) -> None:
    texts = [diagnosis.summary, *(c.detail for c in diagnosis.checks), *(c.name for c in diagnosis.checks)]
    for finding in diagnosis.findings:
        texts += [finding.title, finding.explanation, *finding.fix, *finding.links]
        texts += [str(getattr(e, f.name)) for e in finding.evidence for f in fields(e)]
    for text in texts:
        assert not payloads_raw(text), (text[:200], diagnosis.findings[:1])


def payloads_raw(text: str) -> bool:
    from tests.attacks.oracle import RAW_CONTROL

    return bool(RAW_CONTROL.search(text)) or "\x1b" in text


VARIANTS = {  # token shapes that drive different rules: delegated, app-only, expired, another audience, another user
    "delegated": {},
    "app-only": {"idtyp": "app", "roles": ["IMAP.AccessAsApp" + RAW], "scp": None, "upn": None, "unique_name": None},
    "expired": {"exp": 1_000_000_000, "iat": 999_990_000},
    "graph audience": {"aud": "https://graph.microsoft.com" + RAW, "scp": "Mail.Read User.Read" + RAW},
    "other user": {"upn": "mallory@contoso.com" + RAW, "unique_name": "mallory@contoso.com" + RAW},
}


def _hostile_token(provider: str, user: str, variant: str) -> TokenEvidence:
    claims = payloads.hostile_claims(user) | VARIANTS[variant]
    if provider == "google":
        claims |= {"iss": "https://accounts.google.com", "aud": "1234.apps.googleusercontent.com" + RAW,
                   "scope": "https://mail.google.com/" + RAW, "email": user + RAW}
    claims = {k: v for k, v in claims.items() if v is not None}
    return inspect_token(Secret(SecretKind.ACCESS_TOKEN, payloads.jwt(claims)), source="attack", flow="static")


def _poison(record: SessionRecord) -> None:
    """Hostile text in every string field of the evidence, through the boundary."""
    ev = record.evidence
    changes: dict[str, object] = {}
    for f in fields(ev):
        value = getattr(ev, f.name)
        if isinstance(value, str) and f.name not in ("protocol", "security", "server_family"):
            changes[f.name] = value + RAW
        elif isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
            changes[f.name] = (*value, "X-" + RAW)
        elif isinstance(value, list) and f.name in ("exceptions", "token_endpoint_errors"):
            changes[f.name] = [*value, "javax.mail.AuthenticationFailedException: " + RAW]
        elif isinstance(value, dict):
            changes[f.name] = {**value, **{k: v + RAW for k, v in value.items()}, "user": "alice@contoso.com" + RAW}
    if ev.fault is not None:
        changes["fault"] = Fault(ev.fault.kind, ev.fault.detail + RAW, ev.fault.step + RAW)
    record.update_evidence(**changes)
    record.update_evidence(sasl=[*ev.sasl, SaslExchange("XOAUTH2", True, "user=x" + RAW, ["{\"status\":\"400\"" + RAW], [{RAW: RAW}],
                                                        "NO " + RAW)])  # fmt: skip


def _sample_diagnoses(sample: Path, provider: str) -> list[Diagnosis]:
    inspect = functools.partial(inspect_token, source="imported log", flow="unknown")
    out = []
    for variant in VARIANTS:
        with sample.open("rb") as stream:
            for session in LogScan(stream, "auto").sessions():
                record = SessionRecord()
                replay(session, record, inspect_token=inspect)
                _poison(record)
                record.set_token(_hostile_token(provider, record.evidence.log_facts.get("user") or "alice@contoso.com", variant))
                record.diagnoser = guarded_diagnoser()
                record.rediagnose()
                out.append(record.diagnosis)
    return out


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_sample_logs_with_hostile_evidence_and_claims(sample: Path, provider: str) -> None:
    for diagnosis in _sample_diagnoses(sample, provider):
        _control_free(diagnosis)


def _error_diagnosis(error: str, fault: FaultKind | None) -> Diagnosis:
    google = not error.startswith("AADSTS")
    host = "imap.gmail.com" if google else "outlook.office365.com"
    settings = CheckSettings(host, 993, Security.TLS, user="alice@contoso.com" + RAW, provider="google" if google else "microsoft",
                             flow="device_code", client_id=RAW, tenant=RAW)
    record = SessionRecord(settings)
    description = f"{error}: the request failed {RAW} for user {payloads.OSC52}"
    record.set_token(TokenEvidence(kind="none", provider="google" if google else "microsoft", flow="device_code" + RAW,
                                   error={"error": error if google else "invalid_grant", "error_description": description,
                                          "error_codes": [] if google else [int(error[6:])], RAW: RAW},
                                   notes=[RAW], account=RAW, requested_scopes=(SCOPE + RAW,)))  # fmt: skip
    if fault is not None:
        record.update_evidence(fault=Fault(fault, "detail " + RAW, "connect" + RAW))
    record.update_evidence(greeting="* OK " + RAW, auth_result="NO", auth_text="NO " + RAW)
    record.diagnoser = guarded_diagnoser()
    record.rediagnose()
    return record.diagnosis




@pytest.mark.parametrize("error", ERRORS)
@pytest.mark.parametrize("fault", [None, *FaultKind])
def test_token_endpoint_errors_and_faults_with_hostile_text(error: str, fault: FaultKind | None) -> None:
    _control_free(_error_diagnosis(error, fault))


def test_the_hostile_inputs_reach_most_of_the_catalogue() -> None:
    """The inputs above raise this many distinct findings: a template never reached would not be tested."""
    from mailscope.diagnosis.catalogue import CATALOGUE

    fired: set[str] = set()
    diagnoses = [d for sample in SAMPLES for provider in ("microsoft", "google") for d in _sample_diagnoses(sample, provider)]
    diagnoses += [_error_diagnosis(error, fault) for error in ERRORS for fault in (None, *FaultKind)]
    for diagnosis in diagnoses:
        fired.update(finding.id for finding in diagnosis.findings)
    assert len(fired) >= 40, sorted(set(CATALOGUE) - fired)
    assert fired <= set(CATALOGUE) | {f"fault_{kind}" for kind in FaultKind}
