"""Table-driven tests of the Google rule plug-in through the whole engine: positive and near-miss per id,
Gmail's challenge JSON plus the token response's scope, and the fix values."""

from __future__ import annotations

import pytest

from mailscope.diagnosis.catalogue import RULE_HOME, RULE_SETS
from mailscope.evidence import SaslExchange, SessionEvidence, TokenEvidence
from mailscope.findings import DiagnosisInput
from mailscope.settings import CheckSettings, Mechanism
from tests.providers.rule_cases import Case, assert_does_not_name, assert_names, run

NOW = 1_800_000_000.0
USER = "alice@example-workspace.com"
MAIL = "https://mail.google.com/"
READONLY = "https://www.googleapis.com/auth/gmail.readonly"
CHALLENGE = {"status": "400", "schemes": "Bearer", "scope": MAIL}
REJECT = "A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"
GMAIL_CAPS = ("IMAP4rev1", "UNSELECT", "IDLE", "NAMESPACE", "QUOTA", "ID", "XLIST", "CHILDREN", "X-GM-EXT-1", "XYZZY", "SASL-IR",
              "AUTH=XOAUTH2", "AUTH=PLAIN", "AUTH=PLAIN-CLIENTTOKEN", "AUTH=OAUTHBEARER", "AUTH=XOAUTH")


def gmail(*, settings: CheckSettings | None = None, token: TokenEvidence | None = None, **evidence: object) -> DiagnosisInput:
    base: dict[str, object] = {"host": "imap.gmail.com", "port": 993, "protocol": "imap", "server_family": "gmail",
                               "greeting": "* OK Gimap ready for requests from 192.0.2.7 x1", "greeting_seq": 1,
                               "capabilities_pre_tls": GMAIL_CAPS}
    base.update(evidence)
    return DiagnosisInput(settings, SessionEvidence(**base), token, (), NOW)  # type: ignore[arg-type]


def refused(text: str = REJECT, user: str = USER, challenge: bool = True, mech: str = "XOAUTH2") -> dict[str, object]:
    payload = f"<SASL {mech} user={user} ^A auth=Bearer <google access token 180 chars sha256:00>>"
    return {"mechanism": mech, "auth_result": "NO", "auth_text": text,
            "sasl": [SaslExchange(mech, True, payload, challenges=[str(CHALLENGE)] if challenge else [],
                                  challenge_json=[CHALLENGE] if challenge else [], result="NO", result_text=text,
                                  command_seq=5, result_seq=8)]}


def ya29(scopes: tuple[str, ...] | None = (MAIL,), *, expires_in: float = 3000, account: str | None = USER,
         flow: str = "refresh_token", refresh: bool | None = True) -> TokenEvidence:
    return TokenEvidence(kind="opaque", shape="google-ya29", provider="google", flow=flow, granted_scopes=scopes,
                         expires_at=NOW + expires_in, account=account, has_refresh_token=refresh)


def password(text: str) -> DiagnosisInput:
    return gmail(mechanism="LOGIN", login_used=True, auth_result="NO", auth_text=text,
                 token=TokenEvidence(kind="password", shape="password", provider="google"))


POSITIVE = [
    Case("google_scope_not_full_mail", lambda: gmail(token=ya29((READONLY,)), **refused())),
    Case("google_scope_not_full_mail", lambda: gmail(token=ya29((READONLY,)), mechanism="XOAUTH2")),
    Case("google_scope_not_full_mail", lambda: gmail(token=ya29(None, account=None), **refused())),
    Case("google_token_expired_or_revoked", lambda: gmail(token=ya29(expires_in=-60), **refused())),
    Case("google_token_expired_or_revoked", lambda: gmail(token=ya29(), **refused()), first=False),
    Case("google_user_mismatch", lambda: gmail(token=ya29(account="bob@example-workspace.com"), **refused())),
    Case("google_service_account_token_not_impersonating", lambda: gmail(
        token=ya29(account="archiver@proj.iam.gserviceaccount.com", flow="service_account", refresh=None), **refused())),
    Case("google_password_auth_rejected", lambda: password(
        "A1 NO [ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)")),
    Case("google_password_auth_rejected", lambda: password("A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)")),
    Case("google_password_auth_rejected", lambda: gmail(settings=CheckSettings("imap.gmail.com", 993, user=USER, provider="google",
                                                                               mechanism=Mechanism.LOGIN))),
    Case("google_imap_pop_disabled", lambda: gmail(token=ya29(), mechanism="XOAUTH2", auth_result="NO",
                                                   auth_text="A1 NO [ALERT] IMAP access is disabled for your domain. (Failure)")),
    Case("google_no_refresh_token_returned", lambda: gmail(
        token=ya29(refresh=False, flow="installed_app"), mechanism="XOAUTH2", auth_result="OK", auth_text="A1 OK Success"),
        first=False),
    Case("google_account_lookup_failed", lambda: gmail(**refused("A1 NO Lookup failed cf29mb85450632edb"))),
]

NEAR_MISS = [
    Case("google_scope_not_full_mail", lambda: gmail(token=ya29(), **refused())),
    Case("google_scope_not_full_mail", lambda: gmail(token=ya29((READONLY,)), **refused("A1 NO Invalid SASL argument. x1"))),
    Case("google_token_expired_or_revoked", lambda: gmail(token=ya29((READONLY,)), **refused())),
    Case("google_user_mismatch", lambda: gmail(token=ya29(account="Alice@Example-Workspace.com"), **refused())),
    Case("google_service_account_token_not_impersonating", lambda: gmail(
        settings=CheckSettings("imap.gmail.com", 993, user=USER, provider="google", flow="service_account", subject=USER),
        token=ya29(account=USER, flow="service_account", refresh=None), **refused())),
    Case("google_password_auth_rejected", lambda: gmail(token=ya29(), **refused())),
    Case("google_password_auth_rejected", lambda: DiagnosisInput(None, SessionEvidence(
        host="outlook.office365.com", server_family="exchange", mechanism="PLAIN", auth_result="NO",
        auth_text="A1 NO AUTHENTICATE failed."), None, (), NOW)),
    Case("google_password_auth_rejected", lambda: gmail(mechanism="LOGIN", login_used=True, auth_result="OK",
                                                        auth_text="A1 OK alice authenticated (Success)")),
    Case("google_imap_pop_disabled", lambda: gmail(token=ya29((READONLY,)), **refused())),
    Case("google_no_refresh_token_returned", lambda: gmail(token=ya29(refresh=False, flow="static"), mechanism="XOAUTH2",
                                                           auth_result="OK", auth_text="A1 OK Success")),
    Case("google_account_lookup_failed", lambda: gmail(token=ya29((READONLY,)), **refused())),
]


@pytest.mark.parametrize("case", POSITIVE, ids=lambda c: c.finding_id)
def test_positive_case_names_the_id(case: Case) -> None:
    assert_names(case)


@pytest.mark.parametrize("case", NEAR_MISS, ids=lambda c: c.finding_id)
def test_near_miss_does_not_name_the_id(case: Case) -> None:
    assert_does_not_name(case)


def test_every_google_id_has_a_positive_and_a_near_miss_case() -> None:
    ours = {fid for fid, homes in RULE_HOME.items() if RULE_SETS["google"] in homes}
    assert ours <= {c.finding_id for c in POSITIVE}
    assert ours <= {c.finding_id for c in NEAR_MISS}


def test_narrow_scope_is_confirmed_by_challenge_plus_granted_scope_and_cites_both() -> None:
    top = run(gmail(token=ya29((READONLY,)), **refused())).top
    assert top is not None and top.id == "google_scope_not_full_mail" and top.confirmed
    assert READONLY in top.explanation and "Gmail's challenge names the scope it requires" in top.explanation
    assert any(MAIL in step for step in top.fix)
    assert 8 in top.cited_lines and any(e.name == "scope" and e.value == READONLY for e in top.evidence)


def test_unknown_scope_gives_ranked_candidates_not_a_confident_answer() -> None:
    d = run(gmail(token=ya29(None, account=None), **refused()))
    assert not any(f.confirmed for f in d.findings if f.id.startswith("google_"))
    assert [f.id for f in d.findings][:2] == ["google_scope_not_full_mail", "google_token_expired_or_revoked"]
    assert not {c.name: c for c in d.checks}["scope https://mail.google.com/"].done


def test_refused_google_token_at_exchange_is_a_provider_mismatch() -> None:
    inp = DiagnosisInput(None, SessionEvidence(
        host="outlook.office365.com", server_family="exchange", greeting="* OK The Microsoft Exchange IMAP4 service is ready.",
        mechanism="XOAUTH2", sasl=[SaslExchange("XOAUTH2", True, result="NO", result_text="A1 NO AUTHENTICATE failed.", result_seq=6)]),
        ya29(), (), NOW)
    top = run(inp).top
    assert top is not None and top.id == "provider_host_token_mismatch"


def test_imported_log_without_a_token_gets_ranked_unconfirmed_candidates() -> None:
    d = run(gmail(host="", **refused()))
    assert [f.id for f in d.findings][:3] == ["google_scope_not_full_mail", "google_token_expired_or_revoked", "google_user_mismatch"]
    assert not any(f.confirmed for f in d.findings)
    assert "no token is known here" in d.findings[0].explanation
