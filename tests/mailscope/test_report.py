"""The versioned report: shape, the final redaction guard, fault findings, exit codes, Markdown."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mailscope.events import Direction
from mailscope.evidence import CommandResult, Fault, FaultKind, Outcome, OutcomeKind, SaslExchange
from mailscope.findings import Diagnosis, Finding, Owner, Severity
from mailscope.record import SessionRecord
from mailscope.redact import Redactor
from mailscope.report import SCHEMA, build_report, exit_code, report_json, report_markdown
from mailscope.secret import Secret, SecretKind
from mailscope.settings import CheckSettings, SecretSource

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlLmNvbSJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
WHEN = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)


def _record() -> SessionRecord:
    settings = CheckSettings(host="imap.example.test", port=993, user="alice@example.test", token=SecretSource("env", "MAIL_TOKEN"))
    record = SessionRecord(settings)
    record.redactor.register(Secret(SecretKind.ACCESS_TOKEN, TOKEN))
    record.add_line(Direction.SERVER, "* OK Dovecot ready.")
    record.add_line(Direction.CLIENT, f"A1 AUTHENTICATE XOAUTH2 {TOKEN}", annotations=("SASL XOAUTH2 initial response",))
    record.add_line(Direction.SERVER, "A1 NO [AUTHENTICATIONFAILED] Authentication failed.")
    record.evidence.sasl.append(SaslExchange("XOAUTH2", True, challenge_json=[{"status": "401"}], result="NO"))
    record.update_evidence(auth_result="NO", auth_text="NO [AUTHENTICATIONFAILED] Authentication failed.")
    return record


def test_shape_and_settings_without_secrets() -> None:
    record = _record()
    record.finish(Outcome(OutcomeKind.AUTH_FAILED, "AUTHENTICATE XOAUTH2 refused"))
    report = json.loads(report_json(record, generated_at=WHEN))
    assert report["schema"] == SCHEMA == "mailscope.report/1"
    assert report["generated_at"] == "2026-11-29T07:00:00+00:00"
    assert report["target"] == {
        "host": "imap.example.test",
        "port": 993,
        "security": "tls",
        "protocol": "imap",
        "user": "alice@example.test",
    }
    assert report["settings"]["token"] == "env:MAIL_TOKEN" and report["settings"]["password"] is None
    # no diagnoser here, so no finding explains the refusal: undecided (3), not a cause found (1)
    assert report["outcome"] == {"kind": "authentication_failed", "summary": "AUTHENTICATE XOAUTH2 refused", "exit_code": 3}
    assert [line["seq"] for line in report["transcript"]] == [1, 2, 3]
    assert report["evidence"]["sasl"][0]["challenge_json"] == [{"status": "401"}]
    assert TOKEN not in json.dumps(report)


def test_final_guard_redacts_what_slipped_past_storage() -> None:
    record = _record()
    record.evidence.auth_text = f"NO token {TOKEN} rejected"  # written around update_evidence: unredacted
    record.evidence.sasl[0].challenge_json.append({"echo": TOKEN})
    text = report_json(record) + report_markdown(record)
    assert TOKEN not in text and "sha256:" in text


def test_a_secret_the_final_pass_meets_is_removed_from_the_rest_of_that_report() -> None:
    """The final pass leaves text its redactor gave before as it is, until a secret is registered: even one the pass
    itself meets (here in an outcome written around `finish`, before the transcript in the report)."""
    record = SessionRecord(CheckSettings(host="imap.example.test", port=993, user="bob@example.test"), redactor=Redactor().fork())
    record.info("the user typed hunter2-horse-battery at the prompt")  # stored as it is: nobody knew it was a password
    assert "hunter2-horse-battery" in report_json(record)  # the line passed once, at this generation
    record.outcome = Outcome(OutcomeKind.AUTH_FAILED, 'A1 LOGIN bob "hunter2-horse-battery"')
    report = report_json(record)
    assert "hunter2-horse-battery" not in report and "<password 21 chars sha256:" in report


def test_text_one_redactor_passed_is_redacted_again_by_another_that_knows_a_secret_in_it() -> None:
    """Each registration gives a generation no other redactor has: what one family passed is not taken as passed by a
    family with other secrets, even one that registered as many."""
    settings = CheckSettings(host="imap.example.test", port=993, user="bob@example.test")
    text = "NO the app secret Kx9-long-enough-secret-value was refused"
    first, second = SessionRecord(settings), SessionRecord(settings)
    first.redactor.register(Secret(SecretKind.CLIENT_SECRET, "a-different-secret-of-this-family"))
    second.redactor.register(Secret(SecretKind.CLIENT_SECRET, "Kx9-long-enough-secret-value"))
    for record in (first, second):
        record.evidence.auth_text = text  # written around update_evidence: only the final pass redacts it
    assert text in report_json(first)
    assert "Kx9-long-enough-secret-value" not in report_json(second) and first.redactor.generation != second.redactor.generation


def test_fault_becomes_an_error_finding_when_the_diagnosis_has_none() -> None:
    record = SessionRecord(CheckSettings(host="h", port=993))
    record.update_evidence(fault=Fault(FaultKind.TLS_ON_PLAIN_PORT, "the port answers in plain text", "TLS handshake"))
    record.finish(Outcome(OutcomeKind.FAULT, "tls_spoken_to_plain_port"))
    findings = build_report(record)["findings"]
    assert [(f["id"], f["severity"], f["owner"]) for f in findings] == [("wrong_port_or_tls_mode", "error", "client configuration")]
    assert exit_code(record) == 1


def test_exit_code_zero_only_for_a_reachable_mailbox_without_error_findings() -> None:
    record = SessionRecord(CheckSettings(host="h", port=993))
    record.evidence.commands.append(CommandResult("EXAMINE", "OK", "[READ-ONLY] done"))
    record.finish(Outcome(OutcomeKind.MAILBOX_REACHABLE, "ok"))
    assert exit_code(record) == 0
    record.diagnosis = Diagnosis(findings=(Finding("token_expires_soon", Severity.WARNING, "t", "e", Owner.USER),))
    assert exit_code(record) == 0
    record.diagnosis = Diagnosis(findings=(Finding("x", Severity.ERROR, "t", "e", Owner.USER),))
    assert exit_code(record) == 1


def test_markdown_has_outcome_findings_and_transcript() -> None:
    record = _record()
    record.add_line(Direction.SERVER, "* OK ```fence``` \x1b[2J")
    record.finish(Outcome(OutcomeKind.AUTH_FAILED, "AUTHENTICATE XOAUTH2 refused"))
    markdown = report_markdown(record, generated_at=WHEN)
    assert markdown.startswith("# mailscope report: alice@example.test @ imap.example.test:993 (tls)")
    assert "**Outcome:** authentication_failed: AUTHENTICATE XOAUTH2 refused" in markdown
    assert "   3 S: A1 NO [AUTHENTICATIONFAILED] Authentication failed." in markdown
    assert "[SASL XOAUTH2 initial response]" in markdown and "\x1b" not in markdown
    assert markdown.count("```") == 2  # server text cannot close the code fence


def test_markdown_cites_the_lines_the_console_marks_and_states_the_answer_once() -> None:
    from mailscope.findings import EvidenceKind, EvidenceRef

    record = _record()
    finding = Finding("basic_auth_mechanism_used_when_disabled", Severity.ERROR, "PLAIN where basic auth is off", "…",
                      Owner.CLIENT_CONFIGURATION, evidence=(EvidenceRef(EvidenceKind.CAPABILITY, "capabilities", "AUTH=PLAIN", 1),
                                                            EvidenceRef(EvidenceKind.LINE, "client PLAIN", seq=2),
                                                            EvidenceRef(EvidenceKind.LINE, "server reply", seq=3)))
    record.diagnosis = Diagnosis((finding,))
    record.finish(Outcome(OutcomeKind.AUTH_FAILED, "AUTHENTICATE XOAUTH2 refused"))
    markdown = report_markdown(record, generated_at=WHEN)
    assert finding.cited_lines == (2, 3)  # what the console marks with ● and highlights
    assert "  - evidence: transcript lines 2, 3\n" in markdown  # not the capability's line 1 as well
    assert "- **Authentication:** NO [AUTHENTICATIONFAILED] Authentication failed.\n" in markdown  # not "NO NO …"
    assert "verification was OFF" not in markdown


def test_markdown_warns_when_certificate_verification_was_off() -> None:
    record = SessionRecord(CheckSettings(host="127.0.0.1", port=10993, verify_tls=False))
    record.finish(Outcome(OutcomeKind.AUTH_FAILED, "refused"))
    assert "**WARNING: TLS certificate verification was OFF for this session**" in report_markdown(record)
