"""The seed case end to end: the Jira (JavaMail) log quoted by the Atlassian KB, imported by mailscope.logs,
diagnosed with the provider plug-ins: basic_auth_mechanism_used_when_disabled first, fix naming XOAUTH2 and the scopes."""

from __future__ import annotations

from mailscope.diagnosis import make_diagnoser
from mailscope.logs import LogScan, replay
from mailscope.record import SessionRecord
from providers.registry import provider_rules

# /work/shared/examples/jira-incoming-mail-exchange-plain.log, first 20 lines (two sessions; the stack trace is omitted).
SEED_LOG = "\n".join((
    '[Alerts Incident] Caesium-1-3 anonymous Incident ITSM * OK The Microsoft Exchange IMAP4 service is r'
    'eady. [QWxhZGRpbjpvcGVuIHNlc2FtZQ==]',
    '[Alerts Incident] Caesium-1-3 anonymous Incident ITSM IUR0 CAPABILITY',
    '[Alerts Incident] Caesium-1-3 anonymous Incident ITSM * CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=X'
    'OAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+',
    '[Alerts Incident] Caesium-1-3 anonymous Incident ITSM IUR0 OK CAPABILITY completed.',
    'IMAPS: AUTH: PLAIN',
    'IMAPS: AUTH: XOAUTH2',
    'IMAPS: protocolConnect login, host=outlook.office365.com, user=user_name@atl.onmicrosoft.com, passwo'
    'rd=<non-null>',
    'IMAPS: AUTHENTICATE PLAIN command trace suppressed',
    'IMAPS: AUTHENTICATE PLAIN command result: IUR1 NO AUTHENTICATE failed.',
    'IMAPS: trying to connect to host "outlook.office365.com", port 993, isSSL true',
    '[Alerts Incident] Caesium-1-3 anonymous Incident ITSM * OK The Microsoft Exchange IMAP4 service is r'
    'eady. [QWxhZGRpbjpvcGVuIHNlc2FtZQ==]',
    '[Alerts Incident] Caesium-1-3 anonymous Incident ITSM IUS0 CAPABILITY',
    '[Alerts Incident] Caesium-1-3 anonymous Incident ITSM * CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=X'
    'OAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+',
    '[Alerts Incident] Caesium-1-3 anonymous Incident ITSM IUS0 OK CAPABILITY completed.',
    'IMAPS: AUTH: PLAIN',
    'IMAPS: AUTH: XOAUTH2',
    'IMAPS: protocolConnect login, host=outlook.office365.com, user=user_name@atl.onmicrosoft.com, passwo'
    'rd=<non-null>',
    'IMAPS: AUTHENTICATE PLAIN command trace suppressed',
    'IMAPS: AUTHENTICATE PLAIN command result: IUS1 NO AUTHENTICATE failed.',
    'WARN [Alerts Incident] Caesium-1-3 anonymous Incident ITSM Incident ITSM [10900]: javax.mail.Authent'
    'icationFailedException: AUTHENTICATE failed. while connecting to host "outlook.office365.com" as use'
    'r "user_name@atl.onmicrosoft.com" via protocol "SECURE_IMAP": javax.mail.AuthenticationFailedExcepti'
    'on: AUTHENTICATE failed. javax.mail.AuthenticationFailedException: AUTHENTICATE failed.',
))


def test_seed_log_ranks_basic_auth_first_with_the_xoauth2_fix_in_every_session() -> None:
    diagnoser = make_diagnoser(provider_rules())
    records = []
    for session in LogScan(SEED_LOG.splitlines()).sessions():
        record = SessionRecord(diagnoser=diagnoser)
        replay(session, record)
        records.append(record)
    assert len(records) == 2
    for record in records:
        top = record.diagnosis.top
        assert top is not None and top.id == "basic_auth_mechanism_used_when_disabled" and top.confirmed
        fix = "\n".join(top.fix)
        for value in ("XOAUTH2", "mail.imaps.auth.mechanisms=XOAUTH2", "https://outlook.office.com/IMAP.AccessAsUser.All",
                      "https://outlook.office.com/POP.AccessAsUser.All", "offline_access"):
            assert value in fix, value
        assert "google" not in fix.lower()  # an Exchange session's fix names no Google scope (issue 12)
        assert top.cited_lines, "the finding cites the transcript lines it rests on"
