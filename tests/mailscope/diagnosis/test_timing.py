"""A token's validity at the time of the evidence (mailscope.diagnosis.timing): a table of windows in, verdicts out,
and the rules that use it never confirm an expiry the time of the evidence cannot decide."""

from __future__ import annotations

import pytest

from mailscope.diagnosis import diagnose, timing
from mailscope.evidence import SaslExchange, SessionEvidence, TokenEvidence
from mailscope.findings import DiagnosisInput, EvidenceTime, TimeSource
from providers.registry import provider_rules

NOW = 1_800_000_000.0
IAT, EXP = NOW - 4000, NOW - 100  # a token that expired 100 s before NOW, issued for 65 minutes
TOKEN = TokenEvidence(
    kind="jwt",
    shape="jwt",
    provider="microsoft",
    issued_at=IAT,
    expires_at=EXP,
    claims={
        "aud": "https://outlook.office.com",
        "scp": "IMAP.AccessAsUser.All",
        "upn": "alice@contoso.com",
        "iat": IAT,
        "nbf": IAT,
        "exp": EXP,
        "tid": "t",
    },
)


def window(at: float, before: float, after: float | None, source: TimeSource = TimeSource.LOG_LOCAL_TIME) -> EvidenceTime:
    return EvidenceTime(source, at, at - before, None if after is None else at + after, "stated", "detail")


@pytest.mark.parametrize(
    ("when", "state", "left"),
    [
        (EvidenceTime.from_clock(NOW), timing.State.EXPIRED, -100.0),  # a live check: exact
        (window(NOW, 0, 0, TimeSource.LOG), timing.State.EXPIRED, -100.0),  # a zoned log line: exact
        (window(EXP - 60, 60, 60, TimeSource.SERVER_REPLY), timing.State.VALID, 60.0),  # a server's stamp: ±60 s counts as exact
        (window(NOW, 14 * 3600, 12 * 3600), timing.State.UNDETERMINED, None),  # a local time straddling exp
        (window(EXP + 20 * 3600, 14 * 3600, 12 * 3600), timing.State.EXPIRED, -6 * 3600.0),  # even UTC+14 is after exp
        (window(EXP - 13 * 3600, 14 * 3600, 12 * 3600), timing.State.VALID, 3600.0),  # even UTC-12 is before exp
        (window(IAT, 0, None, TimeSource.TOKEN_IAT), timing.State.UNDETERMINED, None),  # "not before iat" never decides it
        (window(EXP + 3600, 0, None, TimeSource.DATE_HEADER), timing.State.EXPIRED, -3600.0),  # a Date: an hour after exp does
        (EvidenceTime(), timing.State.UNDETERMINED, None),  # unknown
        (window(IAT - 7200, 0, 0, TimeSource.LOG), timing.State.NOT_YET_VALID, None),  # the log's clock is behind the IdP's
        (window(IAT - 200, 0, 0, TimeSource.LOG), timing.State.VALID, EXP - IAT + 200),  # within the 5 min skew allowed
    ],
)
def test_validity_at_the_time_of_the_evidence(when: EvidenceTime, state: timing.State, left: float | None) -> None:
    verdict = timing.validity(TOKEN, when)
    assert (verdict.state, verdict.seconds_left) == (state, left)


def test_no_token_or_no_expiry_is_no_verdict() -> None:
    assert timing.validity(None, EvidenceTime.from_clock(NOW)).state is timing.State.NO_EXPIRY
    assert timing.validity(TokenEvidence(kind="opaque"), EvidenceTime.from_clock(NOW)).state is timing.State.NO_EXPIRY


def test_what_is_said_when_the_time_cannot_decide() -> None:
    assert timing.lifetime(TOKEN) == "exp is 65 minutes after iat: the token was issued for 65 minutes"
    assert timing.lifetime(TokenEvidence(kind="jwt", expires_at=EXP)).endswith("does not say when it was issued")
    unknown = EvidenceTime(detail="unknown: its lines carry no timestamps")
    assert timing.undetermined(TOKEN, unknown) == (
        "exp is 65 minutes after iat: the token was issued for 65 minutes; whether it had "
        "expired when used cannot be told from this log (unknown: its lines carry no "
        "timestamps)"
    )


def refused(when: EvidenceTime | None) -> DiagnosisInput:
    sasl = [
        SaslExchange(
            "XOAUTH2",
            True,
            client_payload="<SASL XOAUTH2 user=alice@contoso.com ^A auth=Bearer <jwt>>",
            result="NO",
            result_text="A1 NO AUTHENTICATE failed.",
            command_seq=5,
            result_seq=6,
        )
    ]
    evidence = SessionEvidence(
        host="outlook.office365.com",
        port=993,
        protocol="imap",
        server_family="exchange",
        mechanism="XOAUTH2",
        sasl=sasl,
        auth_result="NO",
        auth_text="A1 NO AUTHENTICATE failed.",
    )
    return DiagnosisInput(None, evidence, TOKEN, (), NOW, evidence_time=when)


@pytest.mark.parametrize("later", [0.0, 86_400.0, 365 * 86_400.0])
def test_an_undecided_expiry_is_never_a_confirmed_finding_whatever_the_clock(later: float) -> None:
    """Never claimed, never hidden: an expiry the evidence's time cannot judge is an unconfirmed candidate that says what
    would decide it, and the other candidates say it is open."""
    inp = refused(EvidenceTime(detail="unknown: its lines carry no timestamps"))
    d = diagnose(DiagnosisInput(inp.settings, inp.evidence, inp.token, (), NOW + later, evidence_time=inp.evidence_time), provider_rules())
    findings = {f.id: f for f in d.findings}
    expired = findings["ms_token_expired"]
    assert not expired.confirmed and expired.decide and "could not be judged" in expired.explanation
    checks = {c.name: c for c in d.checks}
    assert not checks["expiry"].done and "cannot be told from this log" in checks["expiry"].detail
    assert not checks["time of the evidence"].done
    assert not any(f.confirmed for f in d.findings)
    assert "unless the token had expired" in findings["ms_imap_pop_disabled"].explanation


def test_a_decided_expiry_names_the_time_it_was_judged_at() -> None:
    live = diagnose(refused(None), provider_rules())  # no evidence time: a live check, at the clock
    expired = next(f for f in live.findings if f.id == "ms_token_expired")
    assert expired.confirmed and "expired 100 s before at this check (this machine's clock)" in expired.explanation
    late = window(EXP + 20 * 3600, 14 * 3600, 12 * 3600)
    logged = diagnose(refused(late), provider_rules())
    expired = next(f for f in logged.findings if f.id == "ms_token_expired")
    assert expired.confirmed and "expired at least 21600 s before when it was used (stated, detail)" in expired.explanation
