"""Pieces every format parser shares: timestamps, which side sent a bare protocol line, exceptions and
token-endpoint errors quoted in logs."""

from __future__ import annotations

import ast
import re

from mailscope.events import Channel, Direction
from mailscope.logs.model import ItemKind, LogItem
from mailscope.protocols import imap, pop3, smtp

# 2026-11-28 10:00:01,234+0000 | 2026-11-28T10:00:01.234Z | 2024-03-28 10:28:10.307508 UTC - | Feb 24 10:00:01 |
# 10:00:01.123456 (curl --trace-time, smtplib at debug level 2: a time of day). What each means: logs.evidence_time.
_TIMESTAMP = re.compile(
    r"^\s*(?P<ts>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d| UTC)?"
    r"|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d\d:\d\d:\d\d\.\d{6})(?:\s+-)?:?\s+"
)

# A protocol line inside a log line, after whatever prefix the product adds (leftmost match wins). Kept strict so
# ordinary log text does not pass for protocol: commands and statuses in upper case as clients send them, tags
# with a digit (a1, IUR0, A00000001, 1.11), SMTP replies followed by a status code, a keyword, a host or base64.
_WIRE_ALTERNATIVES = (
    r"\* (?:OK|NO|BAD|BYE|PREAUTH|CAPABILITY|ENABLED|ID|NAMESPACE|LIST|\d+ EXISTS)\b.*"
    r"|[A-Za-z]*\d[A-Za-z0-9.]* (?:OK|NO|BAD)\b.*"
    r"|[A-Za-z]*\d[A-Za-z0-9.]* (?:CAPABILITY|AUTHENTICATE|LOGIN|LOGOUT|STARTTLS|SELECT|EXAMINE|LIST|NAMESPACE|NOOP|ID|ENABLE)\b.*"
    r"|\+OK\b.*|-ERR\b.*"
    r"|(?:220|221|235|250|334|421|432|454|500|501|502|503|504|530|534|535|550|554)[ -]"
    r"(?:\d\.\d\.\d+\b|[A-Z][A-Z0-9-]+\b|[\w-]+\.[\w.-]+\b|[A-Za-z0-9+/]{8,}=*$).*"
    r"|(?:EHLO|HELO|AUTH|STARTTLS|CAPA|USER|PASS|QUIT)\b(?: .*)?"
)
WIRE_IN_LINE = re.compile(rf"(?:^|(?<=\s))({_WIRE_ALTERNATIVES})$")
# After a known prefix the whole rest is the line: continuation requests (`+ ...`) count there too.
WIRE_LINE = re.compile(rf"(?:{_WIRE_ALTERNATIVES}|\+ .*|\+)")

_EXCEPTION = re.compile(
    r"\b((?:javax|jakarta)\.mail\.[\w.]*Exception|com\.sun\.mail\.[\w.]*Exception|MailKit\.[\w.]*Exception|"
    r"System\.Security\.Authentication\.[\w.]*Exception|imaplib\.IMAP4\.(?:error|abort)|smtplib\.SMTP\w*Error|"
    r"poplib\.error_proto|ssl\.SSL\w*Error|java\.net\.\w*Exception|javax\.net\.ssl\.\w*Exception|"
    r"(?:AuthenticationFailure|AuthenticationException|IMAP4\.error))\b(?::\s*(?P<msg>.*))?"
)
_WHILE_CONNECTING = re.compile(r'while connecting to host "(?P<host>[^"]+)" as user "(?P<user>[^"]*)"(?: via protocol "(?P<proto>[^"]+)")?')
_AADSTS = re.compile(r"\b(AADSTS\d{4,6}\b[^\"\\\r\n]{0,300})")
_OAUTH_ERROR = re.compile(r"\b((?:invalid_grant|unauthorized_client|invalid_scope|invalid_client)\b[^\r\n]{0,200})")


_WORD_REST = re.compile(r"[\w.+/=~%-]*")


def cut(text: str, limit: int) -> str:
    """`text` cut near `limit` characters, never inside a word: a token cut in half would no longer have a token's
    shape, and its visible half would escape redaction (which runs later, on what is kept)."""
    if len(text) <= limit:
        return text
    rest = _WORD_REST.match(text, limit)
    return text[: rest.end() if rest else limit]


def _through_word(text: str, match: re.Match[str]) -> str:
    """A length-capped match's group, continued to the end of the word it stops in (see `cut`)."""
    rest = _WORD_REST.match(text, match.end(1))
    return text[match.start(1) : rest.end() if rest else match.end(1)]


def split_timestamp(text: str) -> tuple[str | None, str]:
    match = _TIMESTAMP.match(text)
    if not match:
        return None, text
    stamp = match.group("ts").replace(",", ".")
    return (stamp[:-4] + "Z" if stamp.endswith(" UTC") else stamp), text[match.end() :]


def whole_timestamp(text: str) -> str | None:
    """`text` as a timestamp when it is nothing else (a bracketed `[2026-11-28 10:00:01]`)."""
    stamp, rest = split_timestamp(text + " ")
    return stamp if stamp is not None and not rest else None


def protocol_of(text: str) -> Channel | None:
    """Which protocol a bare line belongs to, when the line itself says so (a POP3 status line, an SMTP reply)."""
    if pop3.status_of(text) is not None:
        return Channel.POP3
    if smtp.is_reply(text):
        return Channel.SMTP
    return None


_DIRECTION = {Channel.IMAP: imap.line_direction, Channel.POP3: pop3.line_direction, Channel.SMTP: smtp.line_direction}


def classify(text: str, channel: Channel) -> Direction | None:
    """Direction of a bare protocol line (logs such as JavaMail's do not mark it): the protocol's grammar decides."""
    return _DIRECTION.get(channel, imap.line_direction)(text)


def evidence_items(text: str, *, stream: str, wall_time: str | None, lineno: int) -> list[LogItem]:
    """Exceptions and token-endpoint errors quoted anywhere in a log line."""
    items: list[LogItem] = []
    exception = _EXCEPTION.search(text)
    if exception:
        message = (exception.group("msg") or "").split(" while connecting")[0]
        message = re.split(r":\s*(?:javax|jakarta)\.mail\.", message)[0].strip()
        facts: dict[str, str] = {}
        where = _WHILE_CONNECTING.search(text)
        if where:
            facts = {"host": where.group("host"), "user": where.group("user")}
            if where.group("proto"):
                facts["log_protocol"] = where.group("proto")
        summary = exception.group(1) + (f": {cut(message, 300)}" if message else "")
        items.append(LogItem(ItemKind.EXCEPTION, summary, stream=stream, wall_time=wall_time, lineno=lineno, facts=facts))
    errors = [_through_word(text, m).strip() for m in _AADSTS.finditer(text)]  # Microsoft's code says the most
    if not errors and (generic := _OAUTH_ERROR.search(text)):
        errors = [_through_word(text, generic).strip()]
    items.extend(LogItem(ItemKind.TOKEN_ERROR, error, stream=stream, wall_time=wall_time, lineno=lineno) for error in errors)
    return items


def python_literal(text: str) -> str | None:
    """The text of a Python bytes or str repr as debug output prints it (`b'* OK ...\\r\\n'`); None when it is not
    one. `ast.literal_eval` evaluates literals only: nothing in a log line can run."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def looks_like_stack_frame(text: str) -> bool:
    return text.lstrip().startswith(("at ", "... "))
