"""Issue 16: an imported log is judged at the time of its evidence, never at today's clock. Timestamps in (each
format's shape), evidence time out; real lab tokens that were valid when logged and have expired since; frozen clocks
now, a day and a year later give the same findings; `mailscope logs` names the reference time and its source."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailscope.diagnosis import make_diagnoser
from mailscope.events import Channel, Direction
from mailscope.evidence import Outcome, OutcomeKind, TokenEvidence
from mailscope.findings import EvidenceTime, Finding, Severity, TimeSource
from mailscope.logs import LogScan, replay
from mailscope.logs.evidence_time import StampKind, of_session, read_stamp
from mailscope.logs.model import ImportedSession, ItemKind, LogItem
from mailscope.record import SessionRecord
from mailscope.report import build_report, evidence_time_of, report_markdown
from mailscope.secret import Secret, SecretKind
from providers.inspect import inspect_token
from providers.registry import provider_rules

sys.path.insert(0, str(Path(__file__).parent))
from timed_logs import ALICE, CAUSES, EXPIRY_IDS, T_LOG, TimedLog, claims, curl, imap_dialog, lab_token, timed_logs, xoauth2  # noqa: E402

DIAGNOSER = make_diagnoser(provider_rules())
INSPECT = functools.partial(inspect_token, source="imported log", flow="unknown (seen in a log)")
DAY, YEAR = 86_400.0, 365 * 86_400.0
LOGS = {log.name: log for log in timed_logs()}


def diagnosed(text: str, now: float | None = None, format: str = "auto") -> list[SessionRecord]:
    records = []
    for session in LogScan(text.splitlines(), format).sessions():
        record = SessionRecord(diagnoser=DIAGNOSER, wall_clock=(lambda: now) if now is not None else time.time)
        replay(session, record, inspect_token=INSPECT)
        records.append(record)
    return records


def shape(findings: tuple[Finding, ...]) -> list[tuple[str, str, bool, float]]:
    return [(f.id, f.explanation, f.confirmed, f.score) for f in findings]


# -- timestamps as each format writes them ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("wall_time", "kind", "utc"),
    [
        ("2026-11-28 10:00:00.001+0000", StampKind.ZONED, "2026-11-28T10:00:00.001000+00:00"),  # Jira (log4j %d with zone)
        ("2026-11-28T10:00:00Z", StampKind.ZONED, "2026-11-28T10:00:00+00:00"),  # MailKit, ISO
        ("2026-11-28 09:12:01.101223Z", StampKind.ZONED, "2026-11-28T09:12:01.101223+00:00"),  # Thunderbird's `UTC -`
        ("2026-11-28T06:00:01.100000+01:00", StampKind.ZONED, "2026-11-28T05:00:01.100000+00:00"),  # rsyslog RFC 3339
        ("2026-11-28 08:00:01.100", StampKind.LOCAL, None),  # Python asctime (email-oauth2-proxy)
        ("Nov 28 06:00:01", StampKind.NO_YEAR, None),  # classic syslog
        ("Feb 29 06:00:01", StampKind.NO_YEAR, None),  # a leap day without a year still reads
        ("10:00:01.123456", StampKind.TIME_OF_DAY, None),  # curl --trace-time, smtplib level 2
    ],
)
def test_timestamps_read_as_their_format_writes_them(wall_time: str, kind: StampKind, utc: str | None) -> None:
    stamp = read_stamp(wall_time)
    assert stamp is not None and stamp.kind is kind
    if utc is not None:
        assert stamp.moment.astimezone(UTC).isoformat() == utc


@pytest.mark.parametrize("wall_time", [None, "", "21:04.17", "Foo 31 25:61:61", "not a time", "2026-13-40 10:00:00"])
def test_unreadable_timestamps_are_none_never_an_error(wall_time: str | None) -> None:
    assert read_stamp(wall_time) is None


@pytest.mark.parametrize(
    ("line", "wall_time"),
    [
        ("2026-11-28 09:12:01.101223 UTC - [Parent 5120: IMAP]: I/IMAP 7f:host:NA:SendData: 1 capability", "2026-11-28 09:12:01.101223Z"),
        ("10:00:01.123456 > A001 CAPABILITY", "10:00:01.123456"),
        ("Nov  8 06:00:01 relay01 postfix/smtp[7001]: x", "Nov  8 06:00:01"),
    ],
)
def test_parsers_hand_over_the_timestamps_they_see(line: str, wall_time: str) -> None:
    from mailscope.logs.common import split_timestamp

    assert split_timestamp(line)[0] == wall_time


def test_a_bracketed_timestamp_in_a_pasted_transcript_is_the_lines_time() -> None:
    lines = [f"[2026-11-28 08:00:0{i}Z] {side}: {text}" for i, (_, side, text) in enumerate(imap_dialog("user_mismatch"))]
    [record] = diagnosed("\n".join(lines), format="transcript")
    assert record.judged_at().source is TimeSource.LOG
    assert record.judged_at().stated == "2026-11-28T08:00:04+00:00"  # the AUTHENTICATE line's own time


# -- the derivation: which evidence wins ---------------------------------------------------------------------------------
def session(*items: LogItem) -> ImportedSession:
    return ImportedSession(index=1, format="generic", items=list(items))


def wire(text: str, direction: Direction, wall_time: str | None = None, channel: Channel = Channel.IMAP) -> LogItem:
    return LogItem(ItemKind.WIRE, text, direction=direction, channel=channel, wall_time=wall_time)


TOKEN = TokenEvidence(
    kind="jwt", claims={"iat": 1795852500, "nbf": 1795852500, "exp": 1795856400}, issued_at=1795852500.0, expires_at=1795856400.0
)
TODAY = datetime(2026, 12, 4, tzinfo=UTC).timestamp()


def test_the_credential_lines_own_time_wins_over_the_sessions_first() -> None:
    when = of_session(
        session(
            wire("* OK ready", Direction.SERVER, "2026-11-28T07:00:00Z"),
            wire("A1 AUTHENTICATE XOAUTH2 abc", Direction.CLIENT, "2026-11-28T08:00:00Z"),
        ),
        None,
        today=TODAY,
    )
    assert (when.source, when.stated, when.earliest, when.latest) == (TimeSource.LOG, "2026-11-28T08:00:00+00:00", when.at, when.at)


def test_a_time_the_server_wrote_into_its_refusal_wins_over_the_log_clock() -> None:
    refusal = "535 5.7.3 Authentication unsuccessful [AM0PR10CA0012.EURPRD10.PROD.OUTLOOK.COM 2026-11-28T08:03:00.880Z 08DC0F1E]"
    when = of_session(
        session(
            wire("AUTH XOAUTH2 abc", Direction.CLIENT, "2026-11-28T08:00:00Z", Channel.SMTP),
            wire(refusal, Direction.SERVER, "2026-11-28T08:00:00Z", Channel.SMTP),
        ),
        None,
        today=TODAY,
    )
    assert when.source is TimeSource.SERVER_REPLY and when.stated == "2026-11-28T08:03:00+00:00" and when.exact


def test_a_local_time_without_a_zone_is_a_window_of_a_day() -> None:
    when = of_session(session(wire("a1 LOGIN x y", Direction.CLIENT, "2026-11-28 08:00:00.000")), None, today=TODAY)
    assert when.source is TimeSource.LOG_LOCAL_TIME and when.stated == "2026-11-28T08:00:00" and not when.exact
    assert when.at - when.earliest == 14 * 3600 and when.latest - when.at == 12 * 3600  # type: ignore[operator]
    assert "without a zone" in when.detail


def test_a_syslog_year_comes_from_the_token_else_it_is_assumed_and_said() -> None:
    line = wire("AUTH XOAUTH2 abc", Direction.CLIENT, "Nov 28 08:00:00", Channel.SMTP)
    from_token = of_session(session(line), TOKEN, today=TODAY + 2 * YEAR)
    assert from_token.source is TimeSource.LOG_YEAR_INFERRED and from_token.stated == "2026-11-28T08:00:00"
    assert "year 2026 taken from the token's own nbf" in from_token.detail
    new_year = of_session(
        session(wire("AUTH XOAUTH2 abc", Direction.CLIENT, "Dec 31 23:50:00", Channel.SMTP)),
        TokenEvidence(kind="jwt", issued_at=datetime(2027, 1, 1, 0, 5, tzinfo=UTC).timestamp()),
        today=TODAY,
    )
    assert new_year.stated == "2026-12-31T23:50:00"  # nearest the token's iat, across the year's end
    assumed = of_session(session(line), None, today=TODAY)
    assert assumed.stated == "2026-11-28T08:00:00" and "year 2026 assumed" in assumed.detail
    assert of_session(session(line), None, today=datetime(2027, 3, 1, tzinfo=UTC).timestamp()).stated == "2026-11-28T08:00:00"


def test_without_log_times_a_client_date_header_or_the_token_bounds_it_from_below() -> None:
    dated = session(
        wire("AUTH XOAUTH2 abc", Direction.CLIENT, channel=Channel.SMTP),
        wire("Date: Sat, 28 Nov 2026 09:00:00 +0100", Direction.CLIENT, channel=Channel.SMTP),
    )
    when = of_session(dated, TOKEN, today=TODAY)
    assert (when.source, when.stated, when.latest) == (TimeSource.DATE_HEADER, "2026-11-28T08:00:00+00:00", None)
    from_token = of_session(session(wire("A1 AUTHENTICATE XOAUTH2 abc", Direction.CLIENT)), TOKEN, today=TODAY)
    assert (from_token.source, from_token.earliest, from_token.latest) == (TimeSource.TOKEN_IAT, 1795852500.0, None)
    assert "no earlier than" in from_token.detail


def test_a_fetched_messages_date_header_is_no_time_of_use() -> None:
    fetched = session(wire("A1 AUTHENTICATE XOAUTH2 abc", Direction.CLIENT), wire("Date: Mon, 1 Jan 2024 00:00:00 +0000", Direction.SERVER))
    assert of_session(fetched, None, today=TODAY).source is TimeSource.UNKNOWN


def test_nothing_at_all_is_unknown_and_says_why() -> None:
    when = of_session(session(wire("A1 AUTHENTICATE XOAUTH2 abc", Direction.CLIENT, "10:00:01.123456")), None, today=TODAY)
    assert when.source is TimeSource.UNKNOWN and not when.known
    assert "time of day 10:00:01.123456 names no date" in when.detail


STAMPS = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(lambda d: d.isoformat()),
    st.from_regex(r"[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}|[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}", fullmatch=True),
)
CLAIM = st.one_of(st.none(), st.booleans(), st.text(max_size=5), st.integers(), st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=150, deadline=None)
@given(stamps=st.lists(STAMPS, max_size=6), server=st.text(max_size=60), iat=CLAIM, nbf=CLAIM, exp=CLAIM)
def test_any_timestamps_and_any_token_times_never_break_the_derivation_or_the_diagnosis(
    stamps: list[str | None], server: str, iat: object, nbf: object, exp: object
) -> None:
    items = [
        wire("A1 AUTHENTICATE XOAUTH2 abc" if i % 2 else "* OK x", Direction.CLIENT if i % 2 else Direction.SERVER, stamp)
        for i, stamp in enumerate(stamps)
    ]
    items.append(wire(f"535 {server}", Direction.SERVER, channel=Channel.SMTP))
    token = TokenEvidence(
        kind="jwt",
        provider="microsoft",
        claims={"iat": iat, "nbf": nbf, "exp": exp},
        issued_at=iat if isinstance(iat, float) else None,
        expires_at=exp if isinstance(exp, float) else None,
    )
    when = of_session(session(*items), token, today=TODAY)
    assert when.known == (when.earliest is not None)
    record = SessionRecord(diagnoser=DIAGNOSER)
    record.set_evidence_time(when)
    record.set_token(token)
    assert any(c.name == "time of the evidence" for c in record.diagnosis.checks)
    assert not [c for c in record.diagnosis.checks if c.name.startswith("rule ")]  # no rule failed on it


# -- every format with timestamps: valid then, expired now, the true cause first -------------------------------------
@pytest.mark.parametrize("log", LOGS.values(), ids=LOGS)
def test_a_token_valid_at_its_log_time_is_no_expiry_finding_and_the_true_cause_comes_first(log: TimedLog) -> None:
    token = claims(log.token)
    assert token["iat"] < T_LOG.timestamp() < token["exp"] < time.time()  # valid when logged, expired by today's clock
    scan = LogScan(log.text.splitlines())
    [session] = list(scan.sessions())
    assert scan.format == log.format
    record = SessionRecord(diagnoser=DIAGNOSER)
    replay(session, record, inspect_token=INSPECT)
    ids = [f.id for f in record.diagnosis.findings]
    assert ids[0] == log.finding_id, ids
    assert not EXPIRY_IDS & set(ids), ids
    assert record.judged_at().source is log.source
    record.set_evidence_time(EvidenceTime.from_clock(time.time()))  # judged at today's clock, as before issue 16 ...
    if log.source in (TimeSource.LOG, TimeSource.SERVER_REPLY):  # ... an exactly timed log flips to "expired"
        assert "ms_token_expired" in [f.id for f in record.diagnosis.findings]


@pytest.mark.parametrize("log", LOGS.values(), ids=LOGS)
def test_the_same_log_now_a_day_later_and_a_year_later_gives_the_same_findings(log: TimedLog) -> None:
    now = time.time()
    runs = [diagnosed(log.text, now + later) for later in (0.0, DAY, YEAR)]
    assert [shape(r.diagnosis.findings) for r in runs[0]] == [shape(r.diagnosis.findings) for r in runs[1]]
    assert [shape(r.diagnosis.findings) for r in runs[0]] == [shape(r.diagnosis.findings) for r in runs[2]]
    assert [r.judged_at() for r in runs[0]] == [r.judged_at() for r in runs[2]]


@pytest.mark.parametrize("name", ["emailproxy", "postfix-syslog", "curl-trace-time"])
def test_a_loose_time_says_what_it_can_about_the_expiry(name: str) -> None:
    [record] = diagnosed(LOGS[name].text)
    expiry = next(c for c in record.diagnosis.checks if c.name == "expiry")
    assert not expiry.done
    assert expiry.detail.startswith(
        "exp is 65 minutes after iat: the token was issued for 65 minutes; whether it had expired when used cannot be told from this log"
    )


def test_an_exactly_timed_log_whose_token_had_expired_then_is_still_expired_a_year_later() -> None:
    expired_before = lab_token("user_mismatch", T_LOG.timestamp() - 2 * 3600)  # issued two hours before the log's time
    lines = LOGS["mailkit"].text.splitlines()
    auth = next(i for i, line in enumerate(lines) if "AUTHENTICATE" in line)
    lines[auth] = lines[auth].split(" C: ")[0] + f" C: A00000001 AUTHENTICATE XOAUTH2 {xoauth2(CAUSES['user_mismatch'][1], expired_before)}"
    late = int(T_LOG.timestamp() - claims(expired_before)["exp"])
    for later in (0.0, YEAR):
        [record] = diagnosed("\n".join(lines), time.time() + later)
        expired = next(f for f in record.diagnosis.findings if f.id == "ms_token_expired")
        assert expired.confirmed and expired.severity is Severity.ERROR
        assert f"expired {late} s before when it was used (2026-11-28T08:00:00+00:00" in expired.explanation


def test_a_log_without_timestamps_and_a_token_expired_today_gives_no_confirmed_expiry() -> None:
    for cause in ("user_mismatch", "sp_missing"):
        for later in (0.0, YEAR):
            [record] = diagnosed(curl(cause, trace_time=False), time.time() + later)
            assert record.judged_at().source is TimeSource.TOKEN_IAT
            expiries = [f for f in record.diagnosis.findings if f.id in EXPIRY_IDS]
            assert not any(f.confirmed for f in expiries), expiries
            assert record.diagnosis.top is not None and record.diagnosis.top.id == CAUSES[cause][0]


def test_a_readable_token_with_nothing_wrong_leaves_the_expiry_open_instead_of_claiming_it_passed() -> None:
    """The expiry the log's time cannot judge is neither claimed nor hidden: it is the first unconfirmed candidate (the one
    token fault left), with what would decide it, and the mailbox candidates say the same."""
    token = lab_token("user_mismatch")
    lines = [f"{side}: {text}" for _, side, text in imap_dialog("user_mismatch")]
    lines[4] = f"C: A1 AUTHENTICATE XOAUTH2 {xoauth2(ALICE, token)}"  # alice's own token for alice: Exchange still says NO
    [record] = diagnosed("\n".join(lines), format="transcript")
    assert record.judged_at().source is TimeSource.TOKEN_IAT
    findings = record.diagnosis.findings
    assert not any(f.confirmed for f in findings)
    top = record.diagnosis.top
    assert top is not None and top.id == "ms_token_expired" and top.decide
    assert "(audience, scope, user)" in top.explanation and "could not be judged" in top.explanation
    assert "issued for 65 minutes" in top.explanation
    mailbox = next(f for f in findings if f.id == "ms_imap_pop_disabled")
    assert "unless the token had expired" in mailbox.explanation


def test_a_token_used_before_it_was_issued_by_the_logs_clock_is_a_clock_finding_not_an_expiry() -> None:
    lines = LOGS["mailkit"].text.replace("2026-11-28T08:", "2026-11-28T06:").splitlines()  # the logging machine's clock is 2 h slow
    [record] = diagnosed("\n".join(lines))
    ids = [f.id for f in record.diagnosis.findings]
    assert ids[0] == "ms_protocol_scope_mismatch" and "token_not_yet_valid" in ids and "ms_token_expired" not in ids
    skew = next(f for f in record.diagnosis.findings if f.id == "token_not_yet_valid")
    assert skew.severity is Severity.WARNING and "2026-11-28T06:00:00+00:00" in skew.explanation
    assert "at least 115 min earlier: the clock of the machine that wrote the log is behind the identity provider's" in skew.explanation


# -- what the user reads ----------------------------------------------------------------------------------------------------
def test_the_report_states_the_time_and_its_source_and_reopens_at_it() -> None:
    [record] = diagnosed(LOGS["jira"].text)
    report = build_report(record)
    assert report["schema"] == "mailscope.report/1"
    assert report["evidence_time"] == "2026-11-28T08:00:00+00:00" and report["evidence_time_source"] == "log"
    window = report["evidence_time_window"]
    assert window["latest"] == window["earliest"] == window["at"] == pytest.approx(T_LOG.timestamp() + 0.06)
    assert "**Judged at:** 2026-11-28T08:00:00+00:00 (log: the log's own timestamp" in report_markdown(record)
    reopened = SessionRecord(diagnoser=DIAGNOSER, wall_clock=lambda: time.time() + YEAR)  # a saved case, opened a year later
    reopened.evidence, reopened.token = record.evidence, record.token
    reopened.set_evidence_time(evidence_time_of(json.loads(json.dumps(report))))
    assert shape(reopened.diagnosis.findings) == shape(record.diagnosis.findings)


@pytest.mark.parametrize(
    "edited",
    [{}, {"evidence_time_source": ["log"], "evidence_time_window": "x"}, {"evidence_time_window": {"at": "soon", "earliest": True}}],
)
def test_a_hand_edited_report_reopens_at_an_unknown_time_not_an_error(edited: dict) -> None:
    when = evidence_time_of(edited)
    assert when.source is TimeSource.UNKNOWN and not when.known and when.at is None


def test_a_live_check_is_judged_at_the_clock_and_frozen_when_it_ends() -> None:
    clock = [T_LOG.timestamp()]
    record = SessionRecord(diagnoser=DIAGNOSER, wall_clock=lambda: clock[0])
    record.set_token(INSPECT(Secret(SecretKind.ACCESS_TOKEN, lab_token("user_mismatch"))))
    assert record.judged_at().source is TimeSource.CLOCK
    record.finish(Outcome(OutcomeKind.INCOMPLETE, "stopped"))
    before = shape(record.diagnosis.findings)
    clock[0] += YEAR
    record.rediagnose()
    assert shape(record.diagnosis.findings) == before and build_report(record)["evidence_time_source"] == "clock"
    assert build_report(record)["evidence_time"] == "2026-11-28T08:00:00+00:00"


def mailscope_logs(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mailscope", "logs", str(path), *args], capture_output=True, text=True, timeout=60, check=False)


def test_mailscope_logs_names_the_reference_time_and_its_source(tmp_path: Path) -> None:
    for name, expected, exit_code in (  # the jira log's cause (no service principal) needs the admin's Get-ServicePrincipal: 3
        ("jira", "reference time: 2026-11-28T08:00:00+00:00 (log: the log's own timestamp of the line that used", 3),
        ("emailproxy", "reference time: 2026-11-28T08:00:00 (log_local_time: ", 1),
        ("curl-trace-time", "reference time: 2026-11-28T07:55:00+00:00 (token_iat: the token's own nbf", 1),
    ):
        path = tmp_path / f"{name}.log"
        path.write_text(LOGS[name].text)
        result = mailscope_logs(path)
        assert result.returncode == exit_code, result.stderr
        assert expected in result.stdout, result.stdout
        assert "ms_token_expired" not in result.stdout
        assert lab_token(LOGS[name].cause) not in result.stdout  # the token itself never shows
    both = tmp_path / "two.log"
    both.write_text(LOGS["mailkit"].text + "\n" + LOGS["mailkit"].text.replace("T08:", "T10:"))
    text = mailscope_logs(both).stdout
    assert (
        "reference time: each session's own evidence, never today's clock (sources: log 2); 2026-11-28T08:00:00+00:00 to "
        "2026-11-28T10:00:00+00:00" in text
    )
    assert "ms_token_expired" in text  # the second session used the token at 10:00, an hour after it expired


def test_mailscope_logs_json_lists_each_sessions_time(tmp_path: Path) -> None:
    path = tmp_path / "postfix.log"
    path.write_text(LOGS["postfix-syslog"].text)
    result = mailscope_logs(path, "--json", "--session", "1")
    report = json.loads(result.stdout)
    [row] = report["sessions"]
    assert row["evidence_time"] == "2026-11-28T08:00:00" and row["evidence_time_source"] == "log_year_inferred"
    assert "year 2026 taken from the token's own nbf" in row["evidence_time_detail"]
    assert report["evidence_time"]["sources"] == {"log_year_inferred": 1}
    assert report["session_detail"]["evidence_time_source"] == "log_year_inferred"
    text = mailscope_logs(path, "--session", "1").stdout
    assert "  judged at 2026-11-28T08:00:00 (log_year_inferred): the log's own syslog timestamp" in text
