"""Redaction before storage. Two layers, then control escaping:

1. Known secrets (registered by whoever obtained them: token, password, client secret, refresh
   token...) are removed in every form: raw, base64 at all three alignments (standard and
   urlsafe), URL-encoded, JSON/IMAP-quoted, and as any fragment of `fragment_length()` or more
   characters (a secret split across two lines, or across a MIME-wrapped base64 blob).
2. A catch-all for secrets nobody registered (imported logs, server echoes): JWTs, `ya29.`,
   `EwA`/`EwB`, refresh-token and client-secret shapes, `Bearer x`, `Authorization:`/`Cookie:`
   headers, `password=`/`"access_token": "…"`-style pairs, URL user-info, IMAP LOGIN and POP3 PASS
   passwords, and base64 that decodes to an XOAUTH2/OAUTHBEARER/PLAIN payload or to any of the
   above (double base64 included). Base64 that decodes to anything else stays visible: the
   Exchange greeting's front-end name and Gmail's `+ eyJzdGF0dXMi…` error JSON are evidence.

Redacted values read `<jwt 1532 chars sha256:1a2b3c4d>` (kind, length, fingerprint); decoded SASL
structure stays visible: `<SASL XOAUTH2 user=alice@contoso.com ^A auth=Bearer <jwt …> ^A^A>`.
Finally C0/C1 controls (and bidi/line-separator characters) are escaped so server text can never
drive or spoof the terminal.

Fragment length: a secret of 32 chars or more (tokens, client secrets) is matched by any run of
FRAGMENT = 16 of its characters, a shorter one (passwords) by any run of SHORT_FRAGMENT = 8.
Shorter fragments would make structured text collide: base64 of JSON shares runs such as
`IjoiaHR0cHM6Ly9` (`":"https://`, about 14 aligned characters) between every JWT and Gmail's error
challenge, and those must stay visible; 16 is above every such shared run while leaking at most 15
characters of a token of hundreds. Passwords have no such structure, so 8 keeps split passwords of
16 or more characters fully covered. A secret shorter than its fragment length (a password under
8 characters) is matched exactly, in all forms, but a split of it cannot be recognised.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable

from mailscope import sasl
from mailscope.secret import Secret, SecretKind, fingerprint

FRAGMENT = 16
SHORT_FRAGMENT = 8
SHORT_SECRET = 32  # secrets shorter than this are matched by SHORT_FRAGMENT-long runs
_MIN_DERIVED_FORM = 4  # base64 slices shorter than this would match random base64 everywhere
_MAX_DEPTH = 2  # nested base64 decoding (double base64 of a SASL string is a real client bug)
# Runs that are plain protocol or description words are not fragments: a password such as
# "alice-password" must not turn every "password" in the transcript (and in our own
# `password=<password 14 chars …>` descriptions) into a fragment marker. Only the word itself stays
# visible; any run reaching beyond it ("e-passwo") is still caught.
VOCABULARY = "\0".join(  # NUL-joined: a run spanning two words is not a word
    " ".join(
        [
            "password passwords username authenticate authenticated authentication authorization authorized",
            "capability capabilities completed credential credentials successful unsuccessful invalid failure",
            "examine namespace mailbox inbox microsoft exchange outlook office365 onmicrosoft google gmail",
            "bearer xoauth2 oauthbearer fragment fragment-of sasl response secret secrets token tokens refresh",
            "access client private key line authorization code cookie chars sha256 basic cancelled",
        ]
    ).split()
)


# -- patterns ------------------------------------------------------------------------------------
def _lazy(pattern: str, flags: int = 0) -> Callable[[], re.Pattern[str]]:
    """A pattern compiled when first needed. Most catch-all and line-state patterns sit behind a trigger
    that a healthy session never meets; compiling them all at import cost ~5 ms of `mailscope check`'s start-up."""
    return functools.cache(lambda: re.compile(pattern, flags))


# -- control characters -------------------------------------------------------------------------
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_CONTROL_RE = _lazy(f"[{_CONTROLS}]")
_CONTROL_OR_NEWLINE_RE = _lazy(f"[{_CONTROLS}\n]")
_CONTROL_NAMES = {"\x00": "\\0", "\x1b": "\\e", "\r": "\\r", "\n": "\\n"}


def _escape_one(m: re.Match[str]) -> str:
    char = m.group()
    code = ord(char)
    if char in _CONTROL_NAMES:
        return _CONTROL_NAMES[char]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, carried by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, *, keep_newlines: bool = True) -> str:
    """Make C0/C1 controls, bidi overrides and lone surrogates visible (`\\x1b` → `\\e`).

    Tab survives; newline survives unless `keep_newlines` is False (a bare LF inside one wire line
    would otherwise fake a second transcript line)."""
    if text.isascii() and text.isprintable():
        return text
    pattern = _CONTROL_RE if keep_newlines else _CONTROL_OR_NEWLINE_RE
    return pattern().sub(_escape_one, text)


# -- describing a secret ------------------------------------------------------------------------
_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("jwt", re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*(?:\.[\w-]*\.[\w-]*)?")),
    ("google access token", re.compile(r"ya29\.[\w.-]+")),
    ("google refresh token", re.compile(r"1//0[\w-]+")),
    ("google authorization code", re.compile(r"4/0[\w-]+")),
    ("google client secret", re.compile(r"GOCSPX-[\w-]+")),
    ("google api key", re.compile(r"AIza[\w-]{35}")),
    ("msa token", re.compile(r"Ew[AB][\w+/=!*.-]+")),
    ("msa refresh token", re.compile(r"M\.[A-Z]\d{1,2}_[A-Z0-9]{2,6}\.[\w.*!$-]+")),
    ("ms refresh token", re.compile(r"[01]\.A[\w.*-]{40,}")),
    ("ms client secret", re.compile(r"[\w~.-]{3}\dQ~[\w~.-]{31,34}")),
)


def token_shape(value: str) -> str:
    """What a token looks like (`jwt`, `google access token`, `msa token`...), `token` if opaque."""
    for name, pattern in _SHAPES:
        if pattern.fullmatch(value):
            return name
    return "token"


def describe_secret(value: str, kind: str | None = None) -> str:
    """`<jwt 1532 chars sha256:1a2b3c4d>`: enough to tell two tokens apart, nothing to reuse."""
    return f"<{kind or token_shape(value)} {len(value)} chars {fingerprint(value)}>"


def fragment_length(value: str) -> int:
    """The shortest run of a registered secret's form that is still recognised (see module doc)."""
    return FRAGMENT if len(value) >= SHORT_SECRET else SHORT_FRAGMENT


# -- catch-all patterns (each applied only when its cheap trigger is present) -----------------------
_SHAPE_TRIGGERS = ("eyJ", "ya29.", "1//0", "4/0", "GOCSPX-", "AIza", "EwA", "EwB", ".A", "M.", "Q~")
_NOT_IN_TOKEN = r"(?<![\w+/.~-])"  # a shape starts where no token/base64 character precedes it
_SHAPE_RE = _lazy(
    _NOT_IN_TOKEN
    + r"""(?:
        eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*(?:\.[\w-]+\.[\w-]+)?
      | ya29\.[\w.-]{8,}
      | 1//0[\w-]{16,}
      | 4/0[\w-]{16,}
      | GOCSPX-[\w-]{16,}
      | AIza[\w-]{35}
      | Ew[AB][\w+/=!*.%-]{24,}
      | M\.[A-Z]\d{1,2}_[A-Z0-9]{2,6}\.[\w.*!$-]{16,}
      | [01]\.A[\w.*-]{40,}
      | [\w~.-]{3}\dQ~[\w~.-]{31,34}
    )(?![\w~-])""",
    re.VERBOSE,
)
_PEM_RE = _lazy(r"-----BEGIN ([A-Z ]*PRIVATE KEY)-----.*?(?:-----END \1-----|$)", re.DOTALL)
_BEARER_RE = _lazy(r"(?P<head>\bbearer\s+)(?P<value>(?![<*])(?![A-Za-z_]+=[^=])[\w.~+/=!*%-]{8,})", re.IGNORECASE)
_BASIC_RE = _lazy(r"(?P<head>\bbasic\s+)(?P<value>[A-Za-z0-9+/]{4,}={0,2})(?![\w+/=])", re.IGNORECASE)
_AUTHORIZATION_RE = _lazy(r"(?P<head>\b(?:proxy-)?authorization:\s*[\w-]+\s+)(?P<value>(?![<*])\S+)", re.IGNORECASE)
_COOKIE_RE = _lazy(r"(?P<head>\b(?:set-)?cookie:\s*)(?P<value>(?!<)\S.*)", re.IGNORECASE)
_URL_USERINFO_RE = _lazy(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)(?P<value>(?!<)[^@\s/]+)(?=@)", re.IGNORECASE)
_PAIR_KEYWORDS = ("pass", "pwd", "secret", "token", "assertion", "key", "code")
_SECRET_KEY = r"(?:[\w.-]*?(?:pass(?:word|wd|phrase)?|pwd|secret|token|assertion|private[_-]?key|api[_-]?key|access[_-]?key)|device_code)"
# key=value anywhere; "key": value quoted (JSON); key: value only at a line start (YAML, headers), so
# prose such as "cannot read the password: environment variable X is not set" stays readable.
_PAIR_RE = _lazy(
    rf"""(?P<head>
          (?<![\w.-])(?P<q>["']){_SECRET_KEY}(?P=q)\s*[:=]\s*
        | (?<![\w.-]){_SECRET_KEY}\s*=\s*
        | ^[\s>*-]*{_SECRET_KEY}\s*:\s*
        )
        (?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s&,;"'<>(){{}}\[\]]+)""",
    re.IGNORECASE | re.VERBOSE | re.MULTILINE,
)
_CODE_RE = _lazy(r"(?P<head>(?:^|[?&#])code=)(?P<value>[^\s&#\"'<>]+)")
_NOT_A_VALUE_RE = re.compile(r"[<*]|(?:null|none|nil|true|false|undefined)$", re.IGNORECASE)
_LINE_PREFIX = r"^\s*(?:[CS]:\s*|[<>]+\s*)?"
_QUOTED_OR_ATOM = r'(?:"(?:[^"\\]|\\.)*"|\S+)'
_NOT_SASL = r"(?!\S*(?i:auth|authenticate)\s)"  # `AUTH LOGIN`, `250-AUTH LOGIN PLAIN`, `A1 AUTHENTICATE LOGIN`
_LOGIN_RE = _lazy(
    rf"(?P<head>(?:{_LINE_PREFIX}{_NOT_SASL}\S+\s+(?i:login)|(?:^|\s){_NOT_SASL}[A-Za-z0-9.]+\s+LOGIN)\s+{_QUOTED_OR_ATOM}\s+)"
    r"(?P<value>\S.*?)\s*$"
)
_PASS_RE = _lazy(rf"(?P<head>(?:{_LINE_PREFIX}(?i:pass)|(?:^|\s)PASS)\s+)(?P<value>(?!<)\S.*?)\s*$")
_LITERAL_RE = re.compile(r"^\{\d+\+?\}$")
# Stand-alone runs of 12+ base64 characters whose length is a multiple of 4 (SASL base64 is always
# padded; the shortest payload worth decoding is a 9-byte PLAIN triple). Possessive groups of four
# reject every other word without backtracking, so few candidates reach the (Python) decoder; a run
# right after a dot is part of a dotted name (`com.atlassian…`; JWT segments are token shapes).
_B64_RUN_RE = re.compile(
    r"(?<![A-Za-z0-9+/_.-])(?:[A-Za-z0-9+/_-]{4}){3,}+(?:[A-Za-z0-9+/_-]{3}=|[A-Za-z0-9+/_-]{2}==)?+(?![A-Za-z0-9+/_=-])"
)
_PRINTABLE_DECODED_RE = re.compile(r"[^\x02-\x08\x0b\x0c\x0e-\x1f\x7f]*")  # text, maybe with SASL's \0 and \x01


# -- line state: what a previous line says about the next one --------------------------------------
_LOGIN_LITERAL_RE = _lazy(
    rf"{_LINE_PREFIX}\S+\s+(?i:login)\s+(?:(?P<user_literal>\{{\d+\+?\}})|{_QUOTED_OR_ATOM}\s+(?P<pw_literal>\{{\d+\+?\}}))\s*$"
)
_PASSWORD_PROMPT_RE = _lazy(r"(?:^|\s)(?:334|\+)\s*(?:UGFzc3dvcmQ6|cGFzc3dvcmQ6)\s*$")  # base64 "Password:"
_CONTINUATION_RE = re.compile(r"^\s*(?:[CS]:\s*|[<>]+\s*)?\+(?:\s|$)")
_LAST_TOKEN_RE = re.compile(r"(?P<value>\S+)\s*$")
_PREFIX_RE = re.compile(r"^\s*(?:[CS]:\s?|[<>]+\s?)")
_PARTIAL_JWT_AT_END_RE = re.compile(r"(?<![\w.-])(?P<value>eyJ[\w-]{8,}(?:\.[\w-]*)?)\s*$")  # header, maybe part of the payload
_CONTINUATION_TOKEN_RE = re.compile(r"^(?P<head>\s*(?:[CS]:\s?|[<>]+\s?)?)(?P<value>[A-Za-z0-9+/_=.~-]{8,})\s*$")
_PEM_BEGIN_RE = _lazy(r"-----BEGIN ([A-Z ]*PRIVATE KEY)-----(?!.*-----END)")
_PEM_END_RE = _lazy(r"-----END [A-Z ]*PRIVATE KEY-----")
_MEMO_LIMIT = 50_000  # texts a family of forks remembers (then it starts again): a few MB
_STATE_LIFETIME = 4  # lines a pending expectation survives (a server `+` or an unrelated log line between)


class Redactor:
    """One per session: registered secrets plus the catch-all. `redact_line` for transcript lines in
    order (it remembers LOGIN literals, `Password:` prompts and PEM blocks); `redact` for any text."""

    def __init__(self, secrets: Iterable[Secret | str] = ()) -> None:
        self._exact: dict[str, str] = {}  # form -> description
        self._exact_sorted: list[str] = []  # longest first, so a form never eats part of a longer one
        self._grams: dict[int, dict[str, str]] = {}  # fragment length -> {run of a form -> description}
        self._blocks: dict[int, set[str]] = {}  # fragment length -> every half-length run of a form
        self._alphabet: set[str] = set()
        self._run_re: re.Pattern[str] | None = None
        self._expect: tuple[str, int] | None = None  # ("password" | "user literal" | "private key"..., lines left)
        self._split_suspected = False  # this line ends inside a secret (JWT without signature, SASL without ^A^A)
        self._literal_size = 0  # characters of the user-name literal announced by `LOGIN {n}`
        self._memo: dict[str, str] | None = None  # what `redact` gave, shared by a family of forks (see fork)
        for secret in secrets:
            self.register(secret)

    @property
    def has_secrets(self) -> bool:
        return bool(self._exact)

    # -- registration ------------------------------------------------------------------------------
    def register(self, secret: Secret | str, kind: str | None = None) -> None:
        """Remove `secret` from everything redacted from now on, in every form it can take."""
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if not value:
            return
        self._memo = None  # a redactor that learns a secret of its own leaves its family's memo
        if kind is None and isinstance(secret, Secret):
            kind = {SecretKind.PASSWORD: "password", SecretKind.CLIENT_SECRET: "client secret"}.get(secret.kind)
        description = describe_secret(value, kind)
        length = fragment_length(value)
        grams = self._grams.setdefault(length, {})
        blocks = self._blocks.setdefault(length, set())
        half = length // 2
        for form in _forms(value):
            self._exact.setdefault(form, description)
            self._alphabet.update(form)
            for i in range(len(form) - length + 1):
                gram = form[i : i + length]
                if gram.lower() not in VOCABULARY:
                    grams.setdefault(gram, description)
            blocks.update(form[i : i + half] for i in range(len(form) - half + 1))
        self._exact_sorted = sorted(self._exact, key=len, reverse=True)
        alphabet = "".join(re.escape(c) for c in sorted(self._alphabet))
        self._run_re = re.compile(f"[{alphabet}]{{{min(self._grams)},}}")

    def fork(self) -> Redactor:
        """A redactor for another session that knows the same secrets without registering them again (an audit's
        hundreds of sessions share one app-only token): the secret tables are shared, so a secret registered on either
        is removed by both (never less redaction); the line state (`redact_line`'s expectations) is its own.
        The family also shares what `redact` gave for a text (the same settings, claims and server lines recur in every
        report of an audit), until one of them registers a secret of its own: that one leaves the memo.
        """
        if self._memo is None:
            self._memo = {}
        twin = copy.copy(self)
        twin._expect, twin._split_suspected, twin._literal_size = None, False, 0
        return twin

    # -- redaction -----------------------------------------------------------------------------------
    def redact(self, text: str) -> str:
        """Any text (evidence, annotation, summary): secrets removed, controls escaped, newlines kept."""
        memo = self._memo
        if memo is None:
            return escape_controls(self._redact_text(text, 0))
        done = memo.get(text)
        if done is None:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            done = memo[text] = escape_controls(self._redact_text(text, 0))
        return done

    def redact_line(self, text: str) -> str:
        """One transcript line, fed in wire order: also uses what earlier lines announced (a LOGIN
        password sent as a literal, an AUTH LOGIN `Password:` prompt, a PEM private key block), and
        escapes a bare LF so one wire line always stays one transcript line."""
        text = self._apply_line_state(text)
        self._split_suspected = False
        partial = _PARTIAL_JWT_AT_END_RE.search(text) if "eyJ" in text else None
        if partial and not _is_complete_base64_json(partial.group("value")):
            text = text[: partial.start("value")] + describe_secret(partial.group("value"), "jwt fragment") + text[partial.end("value") :]
            self._split_suspected = True
        redacted = escape_controls(self._redact_text(text, 0), keep_newlines=False)
        if self._split_suspected and self._expect is None:
            self._expect = ("continuation", 2)  # a secret cut at the line end: its rest starts the next line
        return redacted

    def redact_bytes(self, data: bytes) -> str:
        """Bytes from the wire: invalid UTF-8 shows as `\\xNN`, never as a terminal control."""
        return self.redact_line(data.decode("utf-8", "backslashreplace"))

    def describe_sasl(self, b64_text: str, mechanism: str | None = None) -> str:
        """A client SASL response (base64) as readable structure with secrets redacted."""
        return escape_controls(self._describe_sasl(b64_text, mechanism, 0))

    # -- internals -----------------------------------------------------------------------------------
    def _redact_text(self, text: str, depth: int) -> str:
        if self._exact:
            # SASL base64 first: once a registered secret inside it is cut out, the payload can no
            # longer be decoded and its readable structure (user=..., auth=Bearer <...>) would be lost.
            if depth < _MAX_DEPTH and len(text) >= 12:
                text = _B64_RUN_RE.sub(lambda m: self._sasl_description(m, depth) or m.group(), text)
            text = self._redact_known(text)
        return self._catch_all(text, depth)

    def _sasl_description(self, m: re.Match[str], depth: int) -> str | None:
        text = _decoded_text(m.group())
        return self._describe_sasl(m.group(), None, depth) if text is not None and _looks_like_sasl(text) else None

    def _redact_known(self, text: str) -> str:
        for form in self._exact_sorted:
            if form in text:
                text = text.replace(form, self._exact[form])
        assert self._run_re is not None
        spans: list[tuple[int, int, str]] = []
        for run in self._run_re.finditer(text):
            spans += self._fragments(text, run.start(), run.end())
        if not spans:
            return text
        spans.sort()
        merged = [spans[0]]
        for start, stop, description in spans[1:]:
            if start <= merged[-1][1]:  # overlapping or touching runs are one fragment
                merged[-1] = (merged[-1][0], max(merged[-1][1], stop), merged[-1][2])
            else:
                merged.append((start, stop, description))
        out, last = [], 0
        for start, stop, description in merged:
            out += [text[last:start], f"<fragment of {description[1:-1]}>"]
            last = stop
        out.append(text[last:])
        return "".join(out)

    def _fragments(self, text: str, start: int, stop: int) -> list[tuple[int, int, str]]:
        """Fragments inside one run. Any window of `length` characters contains a half-length block
        starting at a multiple of `length // 2`, so probing those blocks first is exact and cheap."""
        found = []
        for length, grams in tuple(self._grams.items()):  # snapshot: a token source may register from its thread
            half, blocks = length // 2, self._blocks[length]
            if not any(text[i : i + half] in blocks for i in range(start, stop - half + 1, half)):
                continue
            for i in range(start, stop - length + 1):
                description = grams.get(text[i : i + length])
                if description is not None:
                    found.append((i, i + length, description))
        return found

    def _catch_all(self, text: str, depth: int) -> str:
        if _may_hold_secret(text):
            text = _catch_all_patterns(text)
        if depth < _MAX_DEPTH and len(text) >= 12:
            text = _B64_RUN_RE.sub(lambda m: self._decoded_secret(m, depth) or m.group(), text)
        return text

    def _decoded_secret(self, m: re.Match[str], depth: int) -> str | None:
        """A description when the base64 run `m` decodes to something secret, else None (keep it)."""
        candidate = m.group()
        text = _decoded_text(candidate)
        if text is None:
            return None
        if _looks_like_sasl(text):
            return self._describe_sasl(candidate, None, depth)
        inner = self._redact_text(text, depth + 1)
        if inner == text:
            return None
        return f"<base64 of {inner}>"

    def _describe_sasl(self, b64_text: str, mechanism: str | None, depth: int) -> str:
        payload = sasl.parse_response(b64_text, mechanism)
        value = b64_text.strip()
        if payload.kind == "unknown":
            return describe_secret(value, "sasl response") if value else "<empty response>"
        label = payload.kind.upper() if payload.kind != "raw_token" else (mechanism or "SASL").upper()
        if payload.kind in ("xoauth2", "oauthbearer") and "missing_terminator" in payload.codes:
            self._split_suspected = True
        described = sasl.describe_payload(payload, describe_secret)
        # Belt and braces: a malformed payload may put part of the secret where structure is shown.
        if depth < _MAX_DEPTH:
            described = self._redact_text(described, _MAX_DEPTH)
        return f"<SASL {label} {described}>"

    def _apply_line_state(self, text: str) -> str:
        expect = self._expect
        if expect is not None:
            what, left = expect
            self._expect = (what, left - 1) if left > 1 else None
            if what == "private key":
                if _PEM_END_RE().search(text):
                    self._expect = None
                    return text
                return describe_secret(text.strip(), "private key line") if text.strip() else text
            if _CONTINUATION_RE.match(text):
                return text  # the server's `+ go ahead` between a literal announcement and its data
            if what == "continuation":  # the rest of a secret cut at the previous line's end
                self._expect = None
                rest = _CONTINUATION_TOKEN_RE.match(text)
                if rest is None:
                    return text
                if len(rest.group("value")) >= 60:  # wrapped again: a third line may follow
                    self._expect = ("continuation", 2)
                return rest.group("head") + describe_secret(rest.group("value"), "rest of a split secret")
            if what == "password literal":  # the whole line is the literal's content
                self._expect = None
                prefix = _PREFIX_RE.match(text)
                head = prefix.group() if prefix else ""
                return head + describe_secret(text[len(head) :], "password") if text[len(head) :] else text
            if what == "password":  # base64 answer to a `Password:` prompt: one token
                self._expect = None
                return _LAST_TOKEN_RE.sub(lambda m: _describe_unless_cancel(m.group("value")), text, count=1)
            if what == "user literal":  # `{size}` characters of user name, then the password argument
                self._expect = None
                prefix = _PREFIX_RE.match(text)
                start = prefix.end() if prefix else 0
                user, rest = text[: start + self._literal_size], text[start + self._literal_size :].strip()
                return f"{user} {self._password_or_literal(rest)}" if rest else text
        literal = _LOGIN_LITERAL_RE().match(text) if text.rstrip().endswith("}") else None
        if literal:
            self._expect = ("user literal" if literal.group("user_literal") else "password literal", _STATE_LIFETIME)
            self._literal_size = int(literal.group("user_literal")[1:].rstrip("+}")) if literal.group("user_literal") else 0
        elif "3dvcmQ6" in text and _PASSWORD_PROMPT_RE().search(text):
            self._expect = ("password", _STATE_LIFETIME)
        elif "-----BEGIN" in text and _PEM_BEGIN_RE().search(text):
            self._expect = ("private key", 200)
        return text

    def _password_or_literal(self, value: str) -> str:
        if _LITERAL_RE.match(value):
            self._expect = ("password literal", _STATE_LIFETIME)
            return value
        return describe_secret(_unquote(value), "password")


def _may_hold_secret(text: str) -> bool:
    """Cheap gate for `_catch_all_patterns`: substring tests are several times faster than one
    regex alternation over the same literals (the per-line hot path of log import)."""
    lowered = text.lower()
    return (
        "eyJ" in text or "ya29." in text or "1//0" in text or "4/0" in text or "GOCSPX-" in text or "AIza" in text
        or "Ew" in text or ".A" in text or "M." in text or "Q~" in text or "-----BEGIN" in text or "://" in text
        or "pass" in lowered or "pwd" in lowered or "secret" in lowered or "token" in lowered or "assertion" in lowered
        or "key" in lowered or "code" in lowered or "bearer" in lowered or "basic" in lowered or "login" in lowered
        or "authorization:" in lowered or "cookie:" in lowered
    )


def _catch_all_patterns(text: str) -> str:
    """Token shapes, headers, key=value pairs, LOGIN/PASS: everything but base64 decoding."""
    if any(trigger in text for trigger in _SHAPE_TRIGGERS):
        text = _SHAPE_RE().sub(lambda m: describe_secret(m.group()), text)
    if "-----BEGIN" in text:
        text = _PEM_RE().sub(lambda m: f"<{m.group(1).lower()} {len(m.group())} chars {fingerprint(m.group())}>", text)
    lowered = text.lower()
    if "bearer" in lowered:
        text = _BEARER_RE().sub(lambda m: m.group("head") + describe_secret(m.group("value")), text)
    if "basic" in lowered:
        text = _BASIC_RE().sub(_replace_basic, text)
    if "authorization:" in lowered:
        text = _AUTHORIZATION_RE().sub(lambda m: m.group("head") + describe_secret(m.group("value"), "credential"), text)
    if "cookie:" in lowered:
        text = _COOKIE_RE().sub(lambda m: m.group("head") + describe_secret(m.group("value"), "cookie"), text)
    if "://" in text:
        text = _URL_USERINFO_RE().sub(lambda m: m.group("head") + describe_secret(m.group("value"), "password"), text)
    if any(keyword in lowered for keyword in _PAIR_KEYWORDS):
        text = _PAIR_RE().sub(_replace_pair, text)
        if "code=" in text:
            text = _CODE_RE().sub(lambda m: m.group("head") + describe_secret(m.group("value"), "authorization code"), text)
    if "login" in lowered:
        text = _LOGIN_RE().sub(_replace_login_password, text)
    if "pass" in lowered:
        text = _PASS_RE().sub(lambda m: m.group("head") + describe_secret(_unquote(m.group("value")), "password"), text)
    return text


def _replace_pair(m: re.Match[str]) -> str:
    value = m.group("value")
    inner = value[1:-1] if value[:1] in "\"'" and len(value) >= 2 else value
    if not inner or _NOT_A_VALUE_RE.match(inner):
        return m.group()
    quote = value[0] if inner is not value else ""
    return f"{m.group('head')}{quote}{describe_secret(inner, 'secret')}{quote}"


def _replace_basic(m: re.Match[str]) -> str:
    decoded = _b64decode(m.group("value"))
    if decoded is None or b":" not in decoded:
        return m.group()  # prose ("Basic authentication is disabled"), not a credential
    user, _, password = decoded.decode("utf-8", "backslashreplace").partition(":")
    return f"{m.group('head')}<basic user={user} password={describe_secret(password, 'password')}>"


def _replace_login_password(m: re.Match[str]) -> str:
    value = m.group("value")
    if _LITERAL_RE.match(value) or value.startswith("<"):
        return m.group()  # the password follows as a literal (redact_line), or is already redacted
    return m.group("head") + describe_secret(_unquote(value), "password")


def _describe_unless_cancel(value: str) -> str:
    return value if value in ("*", "=") or value.startswith("<") else describe_secret(_unquote(value), "password")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _decoded_text(candidate: str) -> str | None:
    """A base64 run's decoded text when it is printable UTF-8 (a SASL payload or a secret), else None:
    random identifiers such as `AADSTS700016` decode to binary and must stay as they are."""
    decoded = _b64decode(candidate)
    if decoded is None:
        return None
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if _PRINTABLE_DECODED_RE.fullmatch(text) else None


def _b64decode(text: str) -> bytes | None:
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(text) if "+" not in text and "/" not in text else None
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _is_complete_base64_json(value: str) -> bool:
    """A dot-less `eyJ…` run that is whole base64 JSON (Gmail's error challenge), not a cut JWT."""
    if "." in value:
        return False
    decoded = _b64decode(value + "=" * (-len(value) % 4))
    return decoded is not None and decoded.rstrip().endswith(b"}")


def _looks_like_sasl(text: str) -> bool:
    lowered = text.lower()
    if "auth=" in lowered:
        return True
    if text.count("\0") == 2:
        return bool(text.rsplit("\0", 1)[1])  # a PLAIN triple with a password
    return False


def _forms(value: str) -> set[str]:
    """Every spelling a secret can take on the wire or in a log."""
    raw = value.encode()
    forms = {
        value,
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
        re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), urllib.parse.quote(value, safe="")),  # some encoders write %2f
        json.dumps(value)[1:-1],
        json.dumps(value)[1:-1].replace("/", "\\/"),
        value.replace("\\", "\\\\").replace('"', '\\"'),  # IMAP quoted string
    }
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for offset in range(3):
            forms.add(_stable_base64(encode, raw, offset))
    return {form for form in forms if len(form) >= _MIN_DERIVED_FORM or form == value}


def _stable_base64(encode: Callable[[bytes], bytes], raw: bytes, offset: int) -> str:
    """The base64 characters that depend only on `raw` when it starts `offset` bytes into a 3-byte
    group: the ones that also carry bits of unknown neighbours, and padding, are cut off."""
    encoded = encode(b"\0" * offset + raw).decode("ascii")
    first = -(-offset * 8 // 6)  # first character whose 6 bits all come from `raw`
    last = (offset + len(raw)) * 8 // 6  # characters before this one are complete
    return encoded[first:last]
