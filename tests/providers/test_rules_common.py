"""The rules that need both providers' hosts (providers/rules_common.py): a positive and near-miss case per id."""

from __future__ import annotations

import pytest

from mailscope.diagnosis import diagnose
from mailscope.diagnosis.catalogue import RULE_HOME, RULE_SETS
from mailscope.evidence import CommandResult, SessionEvidence
from mailscope.findings import DiagnosisInput, Severity
from providers.registry import provider_rules

NOW = 1_800_000_000.0
RULES = provider_rules()
EXO_SMTP = "220 BN9PR03CA0123.outlook.office365.com Microsoft ESMTP MAIL Service ready at Sat, 28 Nov 2026 10:00:00 +0000"
ISP = "220 mail.isp-example.net ESMTP Postfix (Debian/GNU)"
REFUSED = {"mechanism": "LOGIN", "auth_result": "NO", "auth_text": "535 5.7.8 Error: authentication failed: authentication failure"}
SENT = {"mechanism": "XOAUTH2", "auth_result": "OK", "auth_text": "235 2.7.0 Authentication successful",
        "commands": [CommandResult("MAIL FROM", "OK", "250 2.1.0 Sender OK", 9), CommandResult("RCPT TO", "OK", "250 2.1.5 OK", 10)]}


def smtp(host: str, greeting: str, **evidence: object) -> DiagnosisInput:
    fields: dict[str, object] = {"host": host, "port": 587, "protocol": "smtp", "greeting": greeting, "greeting_seq": 1, **evidence}
    return DiagnosisInput(None, SessionEvidence(**fields), None, (), NOW)  # type: ignore[arg-type]


def ids(inp: DiagnosisInput) -> list[str]:
    return [f.id for f in diagnose(inp, RULES).findings]


@pytest.mark.parametrize("inp", [
    smtp("smtp.office365.com", ISP, **REFUSED),
    smtp("smtp.gmail.com", "220 mx.antivirus.local ESMTP ready", **REFUSED),
    smtp("outlook.office365.com", "* OK IMAP4 ready (scanned by MailShield)", protocol="imap", **REFUSED),
], ids=["isp-on-exchange", "antivirus-on-gmail", "proxy-on-exchange-imap"])  # fmt: skip
def test_another_server_on_the_providers_host(inp: DiagnosisInput) -> None:
    findings = diagnose(inp, RULES).findings
    assert findings[0].id == "server_not_the_providers" and findings[0].confirmed and findings[0].severity is Severity.ERROR


def test_a_relay_that_passes_the_session_on_is_a_warning() -> None:
    finding = next(f for f in diagnose(smtp("smtp.office365.com", ISP, **SENT), RULES).findings if f.id == "server_not_the_providers")
    assert finding.severity is Severity.WARNING


@pytest.mark.parametrize("inp", [
    smtp("smtp.office365.com", EXO_SMTP, **REFUSED),  # the provider's own greeting
    smtp("mail.example.net", ISP, **REFUSED),  # not a provider's host
    smtp("smtp.office365.com", "", **REFUSED),  # no greeting in the evidence: nothing to compare
    smtp("smtp.office365.com", "220 relay ESMTP", server_family="exchange",  # the replies name Exchange after all
         **{**REFUSED, "auth_text": "535 5.7.3 Authentication unsuccessful [SN4PR0601CA0012.namprd06.prod.outlook.com]"}),
], ids=["exchange-greeting", "other-host", "no-greeting", "replies-name-exchange"])  # fmt: skip
def test_near_misses(inp: DiagnosisInput) -> None:
    assert "server_not_the_providers" not in ids(inp)


def test_every_common_id_has_cases() -> None:
    assert {fid for fid, homes in RULE_HOME.items() if RULE_SETS["common"] in homes} == {"server_not_the_providers"}
