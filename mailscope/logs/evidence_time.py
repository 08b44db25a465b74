"""The time of an imported session's evidence: when the client used its credential. Time-dependent rules judge at it
instead of today's clock, because logs are read hours or days after they were written.

Parsers hand over the timestamps they see (`LogItem.wall_time`, as the log wrote them); everything about what a
timestamp means lives here. In order of preference:

1. a time the server wrote into its reply or greeting (Exchange's `535 5.7.3 ... [AM0PR10CA0012... 2026-11-28T06:00:01.880Z
   ...]`, an SMTP greeting's `Sat, 28 Nov 2026 10:00:00 +0000`): the clock of the server that judged the token;
2. the log's own timestamp nearest the line that used the credential: exact when it carries its zone (Jira `+0000`,
   MailKit/ISO `Z`, Thunderbird `UTC`, imapflow's epoch `time`), within a day when it does not (Python's asctime in
   email-oauth2-proxy, classic syslog), a syslog line's missing year taken from the other evidence or else assumed;
3. a `Date:` header the client sent, the token's own iat/nbf: the session happened no earlier than these;
4. unknown.

A time of day alone (curl `--trace-time`, smtplib at debug level 2) needs a date from elsewhere and gets none here: the
zone is unknown too, so it is only mentioned. A TLS certificate's validity is not used: it spans months.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from mailscope.events import Channel, Direction
from mailscope.evidence import TokenEvidence
from mailscope.findings import EvidenceTime, TimeSource
from mailscope.logs.model import ImportedSession, ItemKind, LogItem

LOCAL_BEFORE = 14 * 3600.0  # a local time without a zone may be UTC+14 ...
LOCAL_AFTER = 12 * 3600.0  # ... down to UTC-12
SERVER_SLACK = 60.0  # a server's stamp and the credential's use are seconds apart

_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_SYSLOG = re.compile(r"^(?P<month>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)$")
_TIME_OF_DAY = re.compile(r"^(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.(?P<f>\d{1,6}))?$")
_CREDENTIAL = re.compile(r"^(?:[A-Za-z0-9.]+ (?:AUTHENTICATE|LOGIN)|AUTH|PASS)\b", re.IGNORECASE)
_SERVER_ISO = re.compile(r"\b(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\b")
_SERVER_RFC2822 = re.compile(r"\b((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4})\b")
_DATE_HEADER = re.compile(r"^Date:\s*(?P<date>.+)$", re.IGNORECASE)
_STATUS = re.compile(r"^(?:\d{3}(?:[ -]|$)|[+-](?:OK|ERR)\b|\S+ (?:OK|NO|BAD|BYE|PREAUTH)\b)", re.IGNORECASE)  # not a message's text


class StampKind(Enum):
    ZONED = "zoned"  # an instant
    LOCAL = "local"  # a date and time without a zone
    NO_YEAR = "no_year"  # syslog: month, day and time, no year, no zone
    TIME_OF_DAY = "time_of_day"  # no date, no zone


@dataclass(frozen=True, slots=True)
class Stamp:
    """One timestamp as a log wrote it. `moment` is aware for ZONED, naive otherwise (year 2000 stands in for a
    missing year, 2000-01-01 for a missing date)."""

    kind: StampKind
    moment: dt.datetime


def read_stamp(wall_time: str | None) -> Stamp | None:
    """What a log timestamp says; None for none or an unreadable one (imaplib's minutes:seconds)."""
    if not wall_time:
        return None
    text = wall_time.strip()
    if match := _SYSLOG.match(text):
        month = _MONTHS.get(match.group("month"))
        try:
            moment = dt.datetime(2000, month or 0, int(match.group("day")), *(int(match.group(k)) for k in "hms"))
        except ValueError:
            return None
        return Stamp(StampKind.NO_YEAR, moment)
    if match := _TIME_OF_DAY.match(text):
        micro = int((match.group("f") or "0").ljust(6, "0"))
        try:
            return Stamp(StampKind.TIME_OF_DAY, dt.datetime(2000, 1, 1, *(int(match.group(k)) for k in "hms"), micro))
        except ValueError:
            return None
    try:
        moment = dt.datetime.fromisoformat(text.replace(",", "."))
    except ValueError:
        return None
    if _sane(moment) is None:
        return None
    return Stamp(StampKind.ZONED if moment.tzinfo else StampKind.LOCAL, moment)


def clock_reading(wall_time: str | None) -> float | None:
    """Seconds on the log's own clock, comparable between the lines of one log (a transcript's elapsed time)."""
    stamp = read_stamp(wall_time)
    if stamp is None:
        return None
    moment = stamp.moment
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def of_session(session: ImportedSession, token: TokenEvidence | None, *, today: float) -> EvidenceTime:
    """The time this session's credential was used, and where that comes from. `today` only picks a syslog line's
    missing year when nothing in the session names it (nothing is then judged by it: there is no token time)."""
    items = session.items
    use = _use_index(items)
    stamped = _nearest(items, use, lambda item: read_stamp(item.wall_time) is not None)
    stamp = read_stamp(stamped.wall_time) if stamped is not None else None
    day_only = (
        f"the log's time of day {stamped.wall_time} names no date" if stamped and stamp and stamp.kind is StampKind.TIME_OF_DAY else ""
    )
    server = _server_stamp(items, use)
    if server is not None:
        what = "the server's own clock, written into its reply or greeting" + (f" ({day_only})" if day_only else "")
        return _window(TimeSource.SERVER_REPLY, server, SERVER_SLACK, SERVER_SLACK, what)
    where = "nearest the credential's use" if use is not None else "of the session"
    if stamped is not None and use is not None and stamped is items[use]:
        where = "of the line that used the credential"
    bounds = _lower_bounds(items, token)
    if stamp is not None and stamp.kind is StampKind.ZONED:
        return _window(TimeSource.LOG, stamp.moment, 0, 0, f"the log's own timestamp {where}")
    if stamp is not None and stamp.kind is StampKind.LOCAL:
        return _local(TimeSource.LOG_LOCAL_TIME, stamp.moment, f"the log's own timestamp {where}, a local time without a zone")
    if stamp is not None and stamp.kind is StampKind.NO_YEAR:
        exp = _epoch(token.expires_at) if token is not None else None
        moment, how = _with_year(stamp.moment, [*bounds, *([("the token's exp", exp)] if exp else [])], today)
        return _local(TimeSource.LOG_YEAR_INFERRED, moment, f"the log's own syslog timestamp {where}, without a zone or a year ({how})")
    if bounds:
        what, moment = bounds[0]
        source = TimeSource.DATE_HEADER if what.startswith("the Date:") else TimeSource.TOKEN_IAT
        detail = f"{what}: the credential was used no earlier than this; how much later, this log does not say"
        return EvidenceTime(
            source, moment.timestamp(), moment.timestamp(), None, _iso(moment), detail + (f" ({day_only})" if day_only else "")
        )
    reason = day_only or "its lines carry no timestamps"
    return EvidenceTime(TimeSource.UNKNOWN, detail=f"unknown: {reason}, and no server time, Date: header or token time says when")


def _use_index(items: list[LogItem]) -> int | None:
    """The item where the credential was used: the client's AUTHENTICATE/LOGIN/AUTH/PASS, else the first error."""
    for index, item in enumerate(items):
        if item.kind is ItemKind.WIRE and item.direction is Direction.CLIENT and _CREDENTIAL.match(item.text):
            return index
    return next((i for i, item in enumerate(items) if item.kind in (ItemKind.EXCEPTION, ItemKind.TOKEN_ERROR)), None)


def _nearest(items: list[LogItem], use: int | None, wanted: Callable[[LogItem], bool]) -> LogItem | None:
    """The wanted item nearest `use`: at or before it (when it was sent), else after it; without `use`, the first."""
    if use is None:
        return next((item for item in items if wanted(item)), None)
    before = next((items[i] for i in range(use, -1, -1) if wanted(items[i])), None)
    return before or next((items[i] for i in range(use + 1, len(items)) if wanted(items[i])), None)


def _server_stamp(items: list[LogItem], use: int | None) -> dt.datetime | None:
    """The time in the server's answer to the credential (after it first), else in its greeting."""
    order = [*range(use, len(items)), *range(use - 1, -1, -1)] if use is not None else range(len(items))
    for index in order:
        item = items[index]
        if item.kind is not ItemKind.WIRE or item.direction is not Direction.SERVER or not _STATUS.match(item.text):
            continue
        iso = _SERVER_ISO.search(item.text)
        rfc = _SERVER_RFC2822.search(item.text)
        moment = _iso_utc(iso.group(1)) if iso else _rfc2822(rfc.group(1)) if rfc else None
        if moment is not None:
            return moment
    return None


def _lower_bounds(items: list[LogItem], token: TokenEvidence | None) -> list[tuple[str, dt.datetime]]:
    """What the session cannot have happened before, best first: a Date: header the client sent in SMTP (its message
    was written before it was sent), the token's nbf or iat (it was issued before it was used)."""
    found: list[tuple[str, dt.datetime]] = []
    for item in items:
        header = _DATE_HEADER.match(item.text) if item.channel is Channel.SMTP and item.direction is Direction.CLIENT else None
        moment = _rfc2822(header.group("date")) if header else None
        if moment is not None:
            found.append(("the Date: header of the message the client sent", moment))
            break
    if token is not None:
        nbf = token.claims.get("nbf")
        start = _epoch(nbf) if isinstance(nbf, int | float) and not isinstance(nbf, bool) else None
        iat = _epoch(token.issued_at)
        if start is not None:
            found.append(("the token's own nbf", start))
        elif iat is not None:
            found.append(("the token's own iat", iat))
    return found


def _with_year(moment: dt.datetime, anchors: list[tuple[str, dt.datetime]], today: float) -> tuple[dt.datetime, str]:
    """A syslog month/day/time in the year that puts it nearest the other evidence, else the last one before today."""
    for what, anchor in anchors:
        naive = anchor.astimezone(dt.UTC).replace(tzinfo=None)
        candidates = [c for c in (_replace_year(moment, naive.year + d) for d in (-1, 0, 1)) if c is not None]
        if candidates:
            best = min(candidates, key=lambda c: abs((c - naive).total_seconds()))
            return best, f"year {best.year} taken from {what}"
    now = dt.datetime.fromtimestamp(today, dt.UTC).replace(tzinfo=None)
    for year in range(now.year + 1, now.year - 8, -1):
        candidate = _replace_year(moment, year)
        if candidate is not None and candidate <= now + dt.timedelta(days=1):
            return candidate, f"year {year} assumed: the last {candidate:%b} {candidate.day} before the log was read"
    return moment, "year unknown"


def _local(source: TimeSource, moment: dt.datetime, what: str) -> EvidenceTime:
    """A local time without a zone: the instant lies anywhere from UTC+14 to UTC-12 of it."""
    at = moment.replace(tzinfo=dt.UTC).timestamp()
    earliest, latest = at - LOCAL_BEFORE, at + LOCAL_AFTER
    detail = f"{what}, so any moment from {_iso_short(earliest)} to {_iso_short(latest)}"
    return EvidenceTime(source, at, earliest, latest, moment.isoformat(timespec="seconds"), detail)


def _window(source: TimeSource, moment: dt.datetime, before: float, after: float, what: str) -> EvidenceTime:
    at = moment.timestamp()
    return EvidenceTime(source, at, at - before, at + after, _iso(moment), what)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _iso_short(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%MZ")


def _sane(moment: dt.datetime) -> dt.datetime | None:
    """`moment` when it is a plausible time for a log (what a log or a token says may be anything), else None; the
    margin keeps a day's window around it representable."""
    try:
        utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    except (OverflowError, ValueError):
        return None
    return moment if 1970 < utc.year < 9999 else None


def _epoch(seconds: float | None) -> dt.datetime | None:
    if seconds is None:
        return None
    try:
        return _sane(dt.datetime.fromtimestamp(seconds, dt.UTC))
    except (OverflowError, OSError, ValueError):  # inf, nan, out of range
        return None


def _iso_utc(text: str) -> dt.datetime | None:
    try:
        return _sane(dt.datetime.fromisoformat(text))
    except ValueError:
        return None


def _rfc2822(text: str) -> dt.datetime | None:
    import email.utils  # a few ms of imports (socket, charsets) that most logs, with no such date, never need

    try:
        moment = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return _sane(moment) if moment is not None and moment.tzinfo is not None else None


def _replace_year(moment: dt.datetime, year: int) -> dt.datetime | None:
    try:
        return moment.replace(year=year)
    except ValueError:  # 29 February in a common year
        return None
