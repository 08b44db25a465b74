"""Pieces every format parser shares: timestamps, which side sent a bare protocol line, exceptions and
token-endpoint errors quoted in logs."""

from __future__ import annotations

import ast
import base64
import functools
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

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
    r"|[45]\d\d[ -][245]\.\d\.\d+\b.*"  # any other refusal with an enhanced status code (430 4.2.0, 555 5.5.2)
    r"|(?:EHLO|HELO|AUTH|STARTTLS|CAPA|USER|PASS|QUIT)\b(?: .*)?"
)
WIRE_IN_LINE = re.compile(rf"(?:^|(?<=\s))({_WIRE_ALTERNATIVES})$")
# After a known prefix the whole rest is the line: continuation requests (`+ ...`) count there too.
WIRE_LINE = re.compile(rf"(?:{_WIRE_ALTERNATIVES}|\+ .*|\+)")

_EXCEPTION = re.compile(
    r"\b((?:javax|jakarta)\.mail\.[\w.]*Exception|com\.sun\.mail\.[\w.]*Exception|MailKit\.[\w.]*Exception|"
    r"System\.Security\.Authentication\.[\w.]*Exception|imaplib\.(?:IMAP4\.)?(?:error|abort)|"
    r"(?:smtplib\.)?SMTP(?:\w*Error|SenderRefused|RecipientsRefused|ServerDisconnected|Exception)|"
    r"poplib\.error_proto|ssl\.SSL\w*Error|java\.net\.\w*Exception|javax\.net\.ssl\.\w*Exception|"
    r"(?:AuthenticationFailure|AuthenticationException|IMAP4\.error))\b(?::\s*(?P<msg>.*))?"
)
_WHILE_CONNECTING = re.compile(r'while connecting to host "(?P<host>[^"]+)" as user "(?P<user>[^"]*)"(?: via protocol "(?P<proto>[^"]+)")?')
_AADSTS = re.compile(r"\b(AADSTS\d{4,6}\b[^\"\\\r\n]{0,300})")
_OAUTH_ERROR = re.compile(r"\b((?:invalid_grant|unauthorized_client|invalid_scope|invalid_client)\b[^\r\n'\"{}]{0,200})")
# A client that gives up before signing in because the server offers no mechanism it can use (JavaMail, smtplib, curl,
# mutt/neomutt, fetchmail, msmtp/mpop, node-imap, imapflow word it differently): with the capability line, that is evidence.
NO_MECHANISM = re.compile(
    r"\bno (?:known |supported |suitable |usable |common )?(?:authentication |SASL )?(?:mechanisms?|methods?|authenticators?)"
    r"(?: supported| available| found| (?:supported )?by both)|\bauthenticators? available|"
    r"(?:does not|doesn't|not) support(?:s|ed)? (?:the )?(?:authentication (?:method|mechanism) )?(?:XOAUTH2|OAUTHBEARER|SASL)\b|"
    r"\b(?:XOAUTH2|OAUTHBEARER)(?: authentication)? (?:is )?not (?:available|supported|offered|advertised)|"
    r"Required (?:XOAUTH2|OAUTHBEARER) capability not supported|AUTH extension not supported|Unsupported authentication mechanism|"
    r"Logging in is disabled on this server",  # node-imap lib/Connection.js _login: LOGINDISABLED listed, nothing else tried
    re.IGNORECASE,
)
# UW c-client (PHP's imap_open, Alpine): imap4r1.c `imap_auth` logs `Retrying %s authentication after %.80s` (the
# mechanism it falls back to, the server's refusal of the one before); PHP joins its errors with "; " after
# `Couldn't open stream {host:port/imap/ssl}`.
_C_CLIENT_RETRY = re.compile(r"Retrying (?P<mechanism>[A-Z0-9-]+) authentication after (?P<reply>[^;\r\n]{1,80})")
_C_CLIENT_MAILBOX = re.compile(r"\{(?P<host>[^:/}\s]+)(?::(?P<port>\d+))?/(?P<proto>imap|pop3)\b")
# email-oauth2-proxy could not decrypt its cached token with the local password the client gave it.
_PROXY_DECRYPT = re.compile(r"exception while decrypting OAuth 2\.0 credentials[^\r\n]*", re.IGNORECASE)
# `Get-CASMailbox <mailbox> | fl ImapEnabled,PopEnabled,SmtpClientAuthenticationDisabled` as an admin pastes it.
_MAILBOX_SETTING = re.compile(r"^\s*(?P<name>ImapEnabled|PopEnabled|SmtpClientAuthenticationDisabled)\s*:\s*(?P<value>\S*)\s*$")
# The mechanism a client was set to use: JavaMail properties, mutt/neomutt, offlineimap/getmail; msmtp/mpop and fetchmail
# configuration lines are lower case (`auth oauthbearer`), unlike the protocol's `AUTH XOAUTH2`.
_CONFIGURED = re.compile(
    r"(?i:mail\.(?:imaps?|pop3s?|smtps?)\.auth\.mechanisms|(?:imap|smtp|pop)_authenticators|auth_mechanisms)"
    r"\s*[=:]\s*[\"']?(?P<list>[A-Za-z0-9_:, -]+)|^\s*(?:auth(?:entication)?|--auth)\s+(?P<one>xoauth2|oauthbearer)\s*$"
)
_MECHANISM_NAMES = re.compile(r"XOAUTH2|OAUTHBEARER|PLAIN|LOGIN", re.IGNORECASE)
MAX_LITERAL = 20_000  # characters of a quoted repr or JSON body parsed (literal_eval/json: bounded, nothing runs)
_STRUCTURE_START = re.compile(r"[{(\[]")


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


_SMTP_ONLY_COMMAND = re.compile(r"^(?:EHLO|HELO|MAIL FROM:|RCPT TO:)", re.IGNORECASE)
_POP3_ONLY_COMMAND = re.compile(r"^(?:CAPA|STLS|STAT|UIDL|USER \S+)$", re.IGNORECASE)


def protocol_of(text: str) -> Channel | None:
    """Which protocol a bare line belongs to, when the line itself says so (a POP3 status line, an SMTP reply, a
    command only one protocol has: EHLO, CAPA...)."""
    if pop3.status_of(text) is not None or _POP3_ONLY_COMMAND.match(text):
        return Channel.POP3
    if smtp.is_reply(text) or _SMTP_ONLY_COMMAND.match(text):
        return Channel.SMTP
    return None


_DIRECTION = {Channel.IMAP: imap.line_direction, Channel.POP3: pop3.line_direction, Channel.SMTP: smtp.line_direction}


_STANDS_ALONE = {Channel.IMAP: imap.stands_alone, Channel.POP3: pop3.stands_alone, Channel.SMTP: smtp.stands_alone}


def stands_alone(text: str, channel: Channel) -> bool:
    """A server line that is evidence on its own, as the protocol's grammar says (a pasted fragment has no greeting)."""
    return _STANDS_ALONE.get(channel, imap.stands_alone)(text)


def classify(text: str, channel: Channel) -> Direction | None:
    """Direction of a bare protocol line (logs such as JavaMail's do not mark it): the protocol's grammar decides."""
    return _DIRECTION.get(channel, imap.line_direction)(text)


def evidence_items(text: str, *, stream: str, wall_time: str | None, lineno: int) -> list[LogItem]:
    """What decides between candidate causes when pasted with a log (the admin's `Get-CASMailbox` output, the mechanism
    a client is configured with), exceptions (with the server answer they quote), a client giving up for want of a
    mechanism, an OAuth proxy that could not decrypt its cached token, and token-endpoint
    errors (a JSON body or Python dict repr is parsed; else the AADSTS code or OAuth error name is cut out) in a log line."""
    found = _evidence(text)
    return [LogItem(kind, summary, stream=stream, wall_time=wall_time, lineno=lineno, facts=dict(facts)) for kind, summary, facts in found]


# A client that polls a mailbox logs the same failure every few minutes: the same line text, analysed once. Bounded: the
# latest MEMO_SIZE texts of at most MEMO_TEXT characters are remembered.
MEMO_SIZE = 512
MEMO_TEXT = 4096
_T = TypeVar("_T")


def remembered(analyse: Callable[[str], _T]) -> Callable[[str], _T]:
    """`analyse`, a pure function of one line's text (what it holds, not where it stands), run once per distinct text."""
    cached = functools.lru_cache(maxsize=MEMO_SIZE)(analyse)

    def lookup(text: str) -> _T:
        return cached(text) if len(text) <= MEMO_TEXT else analyse(text)

    return functools.wraps(analyse)(lookup)


Evidence = tuple[tuple[ItemKind, str, dict[str, str]], ...]  # (kind, text, facts) of each item a line gives


@remembered
def _evidence(text: str) -> Evidence:
    """`evidence_items` of one line, without the line's place in the log: a pure function of the text."""
    fact = settings_fact(text)
    if fact is not None:
        return ((ItemKind.FACT, text.strip(), fact),)
    items: list[tuple[ItemKind, str, dict[str, str]]] = []
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
        facts.update(quoted_reply(exception.group(1), message))
        summary = exception.group(1) + (f": {cut(message, 300)}" if message else "")
        items.append((ItemKind.EXCEPTION, summary, facts))
    elif not WIRE_IN_LINE.search(text) and (gave_up := NO_MECHANISM.search(text)):  # a server's own "Unsupported ..." is wire
        items.append((ItemKind.EXCEPTION, cut(text[max(0, gave_up.start() - 120) :].strip(), 300), {}))
    elif retried := _C_CLIENT_RETRY.search(text):
        items.append((ItemKind.EXCEPTION, cut(text.strip(), 300), _c_client_retry(text, retried)))
    elif proxy := _PROXY_DECRYPT.search(text):
        items.append((ItemKind.EXCEPTION, cut(proxy.group(0), 300), {}))
    elif challenge := decoded_challenge(text):
        items.append((ItemKind.EXCEPTION, cut(text.strip(), 300), challenge))
    items.extend((ItemKind.TOKEN_ERROR, error, {}) for error in token_errors(text))
    return tuple(items)


def _c_client_retry(text: str, retried: re.Match[str]) -> dict[str, str]:
    """c-client's fallback: it signed in with `mechanism` and the server refused with `reply` (rebuilt with a stand-in tag)."""
    mechanism, reply = retried.group("mechanism"), retried.group("reply").strip()
    facts = _facts("imap", f"A0 NO {reply}", credential=True, command=f"A0 AUTHENTICATE {mechanism}")
    if mailbox := _C_CLIENT_MAILBOX.search(text):
        facts |= {"host": mailbox.group("host"), "port": mailbox.group("port") or "", "log_protocol": mailbox.group("proto")}
    return {k: v for k, v in facts.items() if v}


def settings_fact(text: str) -> dict[str, str] | None:
    """A mailbox setting from the admin's `Get-CASMailbox` output, or the mechanism a client is configured with."""
    setting = _MAILBOX_SETTING.match(text)
    if setting is not None:
        return {"mailbox_setting": f"{setting.group('name')}={setting.group('value').lstrip('$').capitalize()}"}
    configured = _CONFIGURED.search(text)
    if configured is not None:
        names = _MECHANISM_NAMES.findall(configured.group("list") or configured.group("one") or "")
        if names:
            return {"mechanism_configured": " ".join(dict.fromkeys(n.upper() for n in names))}
    return None


def token_errors(text: str) -> list[str]:
    """Token-endpoint errors in a line as `error: description` (`AADSTSnnn: description (error)` for Entra's): a JSON
    body or Python dict repr is parsed, not pattern-matched; else AADSTS codes, else an OAuth error name."""
    body = error_body(text)
    if body is not None:
        return [body]
    errors = [_through_word(text, m).strip() for m in _AADSTS.finditer(text)]  # Microsoft's code says the most
    if not errors and (generic := _OAUTH_ERROR.search(text)):
        errors = [_through_word(text, generic).strip()]
    return errors


def error_body(text: str) -> str | None:
    """The first OAuth error object (`{"error": …, "error_description": …}`, msal's dict, Google's RefreshError tuple,
    a nested `{"error": {"code", "message"}}`) in a line, as one string (see `token_errors`)."""
    if "error" not in text or len(text) > MAX_LITERAL:
        return None
    for match in _STRUCTURE_START.finditer(text):
        value = structured(text, match.start())
        found = _find_error(value, depth=0) if value is not None else None
        if found is not None:
            return found
    return None


def structured(text: str, start: int) -> Any:
    """The JSON value or Python literal (dict, tuple, list) that begins at `start`, else None. `json.raw_decode` reads a
    prefix; a repr is tried up to each closing bracket from the end (a few tries: bounded)."""
    try:
        return json.JSONDecoder().raw_decode(text, start)[0]
    except (ValueError, RecursionError):
        pass
    closer = {"{": "}", "(": ")", "[": "]"}[text[start]]
    end = len(text)
    for _ in range(8):
        end = text.rfind(closer, start, end)
        if end < 0:
            return None
        try:
            return ast.literal_eval(text[start : end + 1])
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            continue
    return None


def _find_error(value: Any, depth: int) -> str | None:
    if depth > 4:
        return None
    if isinstance(value, dict):
        error = value.get("error")
        if isinstance(error, dict):  # {"error": {"code": "...", "message": "..."}}
            error, description = error.get("code"), error.get("message")
        else:
            description = value.get("error_description") or value.get("message")
        if isinstance(error, str) and re.fullmatch(r"[A-Za-z_]{3,60}", error):
            first = str(description or "").replace("\r", "").split("\n")[0].strip()
            codes = [c for c in value.get("error_codes") or () if isinstance(c, int)]
            if codes and "AADSTS" not in first:
                first = f"AADSTS{codes[0]}: {first}".rstrip(": ")
            if first.startswith("AADSTS"):  # Microsoft's code says the most: it leads, as everywhere else
                return cut(f"{first} ({error})", 400)
            return cut(f"{error}: {first}" if first else error, 400)
        values = list(value.values())
    elif isinstance(value, list | tuple):
        values = list(value)
    else:
        return None
    for item in values[:16]:
        found = _find_error(item, depth + 1)
        if found is not None:
            return found
    return None


# -- the server's answer a client library's exception quotes ------------------------------------------------------
_COMMAND_ERROR = re.compile(r"^(?P<command>[A-Z]+) command error: (?P<status>OK|NO|BAD) (?P<data>\[.*\])$", re.DOTALL)
_NOT_A_REPLY = re.compile(r"illegal in state|socket error|^EOF|Unknown IMAP4 command|^failed to connect|no password specified", re.I)
_SMTP_REPLY = re.compile(r"^(?P<code>[2-5]\d\d)(?::\s*|[ -])(?P<text>\d\.\d\.\d+\b.*)$", re.DOTALL)
_QUOTED_IMAP_ANSWER = re.compile(r"^(?:[A-Za-z]*\d[A-Za-z0-9.]* )?(?P<status>OK|NO|BAD) (?P<text>.+)$")
_POP3_AUTH_WORDS = re.compile(r"authenticat|logon failure|\[AUTH\]|\[SYS/PERM\]|password|Protocol error\. Connection is closed", re.I)
_SMTP_COMMANDS = {"SMTPSenderRefused": "MAIL FROM", "SMTPRecipientsRefused": "RCPT TO"}  # smtplib names who was refused
# A decoded error challenge a client quotes (node-imap: `Error: {"status":"400","schemes":"Bearer","scope":"…"}`).
_DECODED_CHALLENGE = re.compile(r'\{"status":\s*"[\w.-]{1,40}"[^{}]{0,400}\}')


def quoted_reply(exception: str, message: str) -> dict[str, str]:
    """The server answer an exception message quotes, in the protocol's own shape, as log facts for the replayer to
    rebuild the wire line: `quoted_reply` (`NO …` for IMAP without its tag, a POP3 status line, an SMTP reply with its
    code, `* BYE …`), `quoted_protocol` ("" when it is the session's own), `quoted_answers` ("credential" when it answers
    the sign-in) and `quoted_command` (the client line smtplib names: `MAIL FROM:<sender>`). Empty when it quotes none."""
    message = message.strip().rstrip(";").strip()
    if not message or _NOT_A_REPLY.search(message):
        return {}
    facts = _quoted(exception, message[:MAX_LITERAL])
    if facts:
        facts["quoted_reply"] = cut(" ".join(facts["quoted_reply"].split()), 1000)  # multi-line replies as one line
    return facts


def _quoted(exception: str, message: str) -> dict[str, str]:
    smtplib = re.fullmatch(r"(?:smtplib\.)?(SMTP\w*)", exception)
    if smtplib:
        return _smtplib_reply(smtplib.group(1), message)
    literal = python_literal(message)
    text = literal if literal is not None else message
    credential = "Authentication" in exception
    if exception.startswith("poplib"):
        if not text.startswith(("-ERR", "+OK")):
            return {}
        return _facts("pop3", text, credential=bool(_POP3_AUTH_WORDS.search(text)))
    if text.startswith(("* ", "+ ")):  # an untagged line or a continuation, quoted whole
        return _facts("imap" if exception.startswith("imaplib") or "IMAP4" in exception else "", text,
                      credential=credential and text.startswith("* NO"))
    if exception.startswith("imaplib") or "IMAP4" in exception:
        if exception.endswith("abort"):  # a BYE: imaplib raises its text
            return _facts("imap", f"* BYE {text}")
        command = _COMMAND_ERROR.match(text)
        if command:
            items = structured(command.group("data"), 0)
            parts = [python_literal(repr(v)) or str(v) for v in items] if isinstance(items, list) else [command.group("data")]
            answer = f"{command.group('status')} {' '.join(parts)}"
            return _facts("imap", answer, credential=command.group("command") in ("LOGIN", "AUTHENTICATE"))
        return _facts("imap", f"NO {text}", credential=True)  # login() and authenticate() raise the NO's text
    if (smtp := _SMTP_REPLY.match(text)) is not None:
        return _facts("smtp", f"{smtp.group('code')} {smtp.group('text')}", credential=credential)
    if text.startswith(("-ERR", "+OK")):
        return _facts("pop3", text, credential=credential)
    if (tagged := _QUOTED_IMAP_ANSWER.match(text)) is not None:
        return _facts("imap", f"{tagged.group('status')} {tagged.group('text')}", credential=credential)
    if "AuthenticationFailed" in exception:  # JavaMail: the answer's text without tag and status (POP3: without -ERR)
        return _facts("", text, credential=True)
    return {}


# A client's own error line that quotes the server after its words: PHPMailer `SMTP ERROR: Password command failed: 535-…`,
# nodemailer `Error: Invalid login: 535-5.7.8 …`, `LoginError: NO [AUTHENTICATIONFAILED] …`.
# getmail6 nests it in parentheses: `getmailOperationError error (POP error (-ERR Protocol error. ...))`.
_QUOTING_PREFIX = re.compile(r"\b(?:error|failed|failure|exception|invalid login)\b[^:]{0,40}:\s*$", re.IGNORECASE)
_ERROR_WORD = re.compile(r"\b(?:error|failed|failure|exception)\b", re.IGNORECASE)
_PARENTHESISED_REPLY = re.compile(r"\((-ERR\b[^()]*|[45]\d\d[ -]\d\.\d\.\d+\b[^()]*|[A-Za-z]*\d[A-Za-z0-9.]* (?:NO|BAD)\b[^()]*)\)+\s*$")


def quoted_in_error(text: str) -> tuple[str, dict[str, str]] | None:
    """(the client's words, quoted-reply facts) for an error line that ends in a server reply, else None."""
    match = WIRE_IN_LINE.search(text)
    if match is None or not _QUOTING_PREFIX.search(text[: match.start(1)]):
        match = _PARENTHESISED_REPLY.search(text)
        if match is None or not _ERROR_WORD.search(text[: match.start(1)]):
            return None
    reply = match.group(1).strip()
    protocol = "pop3" if reply.startswith(("-ERR", "+OK")) else "smtp" if smtp.is_reply(reply) else "imap"
    if protocol == "imap" and (tagged := _QUOTED_IMAP_ANSWER.match(reply)) is not None:
        reply = f"{tagged.group('status')} {tagged.group('text')}"
    return text[: match.start(1)].strip(), _facts(protocol, reply, credential=True)


def _facts(protocol: str, reply: str, *, credential: bool = False, command: str = "") -> dict[str, str]:
    facts = {"quoted_reply": reply, "quoted_protocol": protocol, "quoted_answers": "credential" if credential else ""}
    if command:
        facts["quoted_command"] = command
    return facts


def _smtplib_reply(kind: str, message: str) -> dict[str, str]:
    """smtplib's exceptions carry `(code, b'text'[, sender])` (RCPT: `{recipient: (code, b'text')}`): each line of a
    multi-line reply without its code, joined by newlines."""
    start = 0 if message[:1] in "({" else message.find("(")  # SMTPException: "... Last response: (334, b'...')"
    value = structured(message, start) if start >= 0 else None
    who = ""
    if isinstance(value, dict) and value:
        who, value = next(iter(value.items()))
    elif isinstance(value, tuple) and len(value) >= 3:
        who = value[2]
    if not (isinstance(value, tuple) and len(value) >= 2 and isinstance(value[0], int)):
        return {}
    text = value[1].decode("utf-8", "replace") if isinstance(value[1], bytes) else str(value[1])
    command = f"{_SMTP_COMMANDS[kind]}:<{who.decode('utf-8', 'replace') if isinstance(who, bytes) else who}>" if (
        kind in _SMTP_COMMANDS and who) else ""
    return _facts("smtp", f"{value[0]} {text}", credential=kind == "SMTPAuthenticationError", command=command)


def decoded_challenge(text: str) -> dict[str, str]:
    """An error challenge a client quotes decoded, as the continuation the server sent (`+ <base64>`; SMTP: 334)."""
    match = _DECODED_CHALLENGE.search(text)
    if match is None:
        return {}
    try:
        value = json.loads(match.group(0))
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    rfc7628 = str(value.get("status", "")) in ("invalid_request", "invalid_token", "insufficient_scope")
    if not (rfc7628 or {"schemes", "scope", "openid-configuration"} & value.keys()):
        return {}
    payload = base64.b64encode(match.group(0).encode()).decode("ascii")
    return _facts("", f"+ {payload}")


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
