"""Redaction before storage. Two layers, then control escaping:

1. Known secrets (registered by whoever obtained them: token, password, client secret, refresh
   token...; and passwords and secret values the catch-all meets on the wire or in a log, so a later
   echo is caught too) are removed in every form: raw, base64 at all three alignments (standard and
   urlsafe), URL-encoded, JSON/IMAP-quoted, hex (both cases), base64 of UTF-16LE, and as any fragment
   of `fragment_length()` or more characters (a secret split across two lines, or across a
   MIME-wrapped base64 blob). Registration costs a few bytes per character of each form
   (mailscope.fragments), not a set of every fragment. Pieces are matched after the catch-all: a
   second token from the same issuer shares the first one's header and claim prefix, and must be
   described whole by its own shape, not cut where it resembles the first.
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
import functools
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from mailscope import sasl
from mailscope.fragments import Fragments
from mailscope.patterns import Lazy, lazy
from mailscope.secret import Secret, SecretKind, fingerprint, secret_bytes

FRAGMENT = 16
SHORT_FRAGMENT = 8
SHORT_SECRET = 32  # secrets shorter than this are matched by SHORT_FRAGMENT-long runs
_MIN_DERIVED_FORM = 4  # base64 slices shorter than this would match random base64 everywhere
_MAX_DEPTH = 2  # nested base64 decoding (double base64 of a SASL string is a real client bug)
# Runs that are plain protocol or description words are not fragments: a password such as
# "alice-password" must not turn every "password" in the transcript (and in our own
# `password=<password 14 chars …>` descriptions) into a fragment marker. Only the word itself stays
# visible; any run reaching beyond it ("e-passwo") is still caught. The words count in the spellings
# the wire uses too (`_is_plain_word`): AUTH LOGIN's prompts are base64 (`334 UGFzc3dvcmQ6` is
# "Password:"), and a base64 piece of the password must not eat them.
VOCABULARY = "\0".join(  # NUL-joined: a run spanning two words is not a word
    " ".join(
        [
            "password passwords username authenticate authenticated authentication authorization authorized",
            "capability capabilities completed credential credentials successful unsuccessful invalid failure",
            "examine namespace mailbox inbox microsoft exchange outlook office365 onmicrosoft google gmail",
            "bearer xoauth2 oauthbearer fragment fragment-of sasl response secret secrets token tokens refresh",
            "access client private key line authorization code cookie chars sha256 basic cancelled",
            # SASL LOGIN's prompts, mechanism names and capability keywords of IMAP, POP3 and SMTP
            "username: password: accepted plain login xoauth cram-md5 digest-md5 scram-sha-1",
            "scram-sha-256 ntlm gssapi external anonymous plain-clienttoken imap4rev1 imap4rev2 sasl-ir literal+ idle",
            "uidplus unselect children special-use condstore qresync enable move utf8=accept compress=deflate",
            "logindisabled starttls capa stls uidl resp-codes auth-resp-code pipelining expire login-delay implementation",
            "enhancedstatuscodes 8bitmime binarymime smtputf8 chunking deliverby authenticationfailed",
        ]
    ).split()
)


# -- control characters -------------------------------------------------------------------------
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_CONTROL_RE = lazy(f"[{_CONTROLS}]")
_CONTROL_OR_NEWLINE_RE = lazy(f"[{_CONTROLS}\n]")
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
_SHAPES: tuple[tuple[str, Lazy], ...] = (
    ("jwt", lazy(r"eyJ[\w-]*\.[\w-]*\.[\w-]*(?:\.[\w-]*\.[\w-]*)?")),
    ("google access token", lazy(r"ya29\.[\w.-]+")),
    ("google refresh token", lazy(r"1//0[\w-]+")),
    ("google authorization code", lazy(r"4/0[\w-]+")),
    ("google client secret", lazy(r"GOCSPX-[\w-]+")),
    ("google api key", lazy(r"AIza[\w-]{35}")),
    ("msa token", lazy(r"Ew[AB][\w+/=!*.-]+")),
    ("msa refresh token", lazy(r"M\.[A-Z]\d{1,2}_[A-Z0-9]{2,6}\.[\w.*!$-]+")),
    ("ms refresh token", lazy(r"[01]\.A[\w.*-]{40,}")),
    ("ms client secret", lazy(r"[\w~.-]{3}\dQ~[\w~.-]{31,34}")),
)


def token_shape(value: str) -> str:
    """What a token looks like (`jwt`, `google access token`, `msa token`...), `token` if opaque."""
    for name, pattern in _SHAPES:
        if pattern().fullmatch(value):
            return name
    return "token"


def describe_secret(value: str, kind: str | None = None) -> str:
    """`<jwt 1532 chars sha256:1a2b3c4d>`: enough to tell two tokens apart, nothing to reuse."""
    return f"<{kind or token_shape(value)} {len(value)} chars {fingerprint(value)}>"


def describe_token_shapes(text: str) -> str:
    """`text` with every token-shaped run (JWT, `ya29.`, `EwA…`, refresh tokens, client secrets) described: for messages
    that quote what a user wrote (a token pasted into the wrong place), whose `key = value` words are not secrets."""
    if not _has_shape_trigger(text):
        return text
    return _SHAPE_RE().sub(lambda m: describe_secret(m.group()), text)


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """A key whose value is a secret whatever the value looks like (`password`, `client_secret`, `refresh_token`).
    Remembered: the same claim and JSON keys come back in every session and report."""
    return bool(_SECRET_KEY_RE().match(key))


def fragment_length(value: str) -> int:
    """The shortest run of a registered secret's form that is still recognised (see module doc)."""
    return FRAGMENT if len(value) >= SHORT_SECRET else SHORT_FRAGMENT


# -- catch-all patterns (each applied only when its cheap trigger is present) -----------------------
_SHAPE_TRIGGERS = ("eyJ", "ya29.", "1//0", "4/0", "GOCSPX-", "AIza", "EwA", "EwB", ".A", "M.", "Q~")


def _has_shape_trigger(text: str) -> bool:
    """Whether one of `_SHAPE_TRIGGERS` is in `text`: written out, a third cheaper than `any` over the tuple."""
    return (
        "eyJ" in text or "ya29." in text or "1//0" in text or "4/0" in text or "GOCSPX-" in text or "AIza" in text
        or "EwA" in text or "EwB" in text or ".A" in text or "M." in text or "Q~" in text
    )  # fmt: skip


_NOT_IN_TOKEN = r"(?<![\w+/.~-])"  # a shape starts where no token/base64 character precedes it
_SHAPE_RE = lazy(
    _NOT_IN_TOKEN
    + r"""(?:
        eyJ[\w-]{4,}\.[\w-]{4,}(?:\.[\w-]*(?:\.[\w-]+\.[\w-]+)?)?  # a JWT, or one cut after its payload
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
_PEM_RE = lazy(r"-----BEGIN ([A-Z ]*PRIVATE KEY)-----.*?(?:-----END \1-----|$)", re.DOTALL)
_BEARER_RE = lazy(r"(?P<head>\bbearer\s+)(?P<value>(?![<*])(?![A-Za-z_]+=[^=])[\w.~+/=!*%-]{8,})", re.IGNORECASE)
_BASIC_RE = lazy(r"(?P<head>\bbasic\s+)(?P<value>[A-Za-z0-9+/]{4,}={0,2})(?![\w+/=])", re.IGNORECASE)
_AUTHORIZATION_RE = lazy(r"(?P<head>\b(?:proxy-)?authorization:\s*[\w-]+\s+)(?P<value>(?![<*])\S+)", re.IGNORECASE)
_COOKIE_RE = lazy(r"(?P<head>\b(?:set-)?cookie:\s*)(?P<value>(?!<)\S.*)", re.IGNORECASE)
_URL_USERINFO_RE = lazy(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)(?P<value>(?!<)[^@\s/]+)(?=@)", re.IGNORECASE)


def _has_pair_keyword(lowered: str) -> bool:
    """Whether a word the secret pairs' patterns (`_PAIR_RE`, `_CODE_RE`) need is in the lower-cased text: `pass`, `pwd`,
    `secret`, `token`, `assertion`, `key` or `code`, written out as in `_has_shape_trigger`."""
    return (
        "pass" in lowered or "pwd" in lowered or "secret" in lowered or "token" in lowered or "assertion" in lowered
        or "key" in lowered or "code" in lowered
    )  # fmt: skip


_SECRET_KEY = r"(?:[\w.-]*?(?:pass(?:word|wd|phrase)?|pwd|secret|token|assertion|private[_-]?key|api[_-]?key|access[_-]?key)|device_code)"
# key=value anywhere; "key": value quoted (JSON); key: value only at a line start (YAML, headers), so
# prose such as "cannot read the password: environment variable X is not set" stays readable.
_PAIR_RE = lazy(
    rf"""(?P<head>
          (?<![\w.-])(?P<q>["']){_SECRET_KEY}(?P=q)\s*[:=]\s*
        | (?<![\w.-]){_SECRET_KEY}\s*=\s*
        | ^[\s>*-]*{_SECRET_KEY}\s*:\s*
        )
        (?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s&,;"'<>(){{}}\[\]]+)""",
    re.IGNORECASE | re.VERBOSE | re.MULTILINE,
)
_SECRET_KEY_RE = lazy(rf"^{_SECRET_KEY}$", re.IGNORECASE)
# What every `_PAIR_RE` match holds: a key's last word, a quote maybe, then `:` or `=`. Searched in the lower-cased
# text (several times faster than `_PAIR_RE`'s case-blind search over long prose), so only where lower-casing
# is exact for these words: in ASCII text (re.IGNORECASE also takes `ſ` for `s` and `ı` for `i`).
_PAIR_HINT_RE = lazy(r"""(?:pass|word|wd|phrase|secret|token|assertion|key|code)["']?\s*[:=]""")
# The same for `_BEARER_RE`: `bearer`, its spaces, and a value's first character (a described `Bearer <jwt …>` has none).
_BEARER_HINT_RE = lazy(r"bearer\s+[^<*\s]")
_CODE_RE = lazy(r"(?P<head>(?:^|[?&#])code=)(?P<value>[^\s&#\"'<>]+)")
_NOT_A_VALUE_RE = lazy(r"[<*]|(?:null|none|nil|true|false|undefined)$", re.IGNORECASE)
_LINE_PREFIX = r"^\s*(?:[CS]:\s*|[<>]+\s*)?"
_QUOTED_OR_ATOM = r'(?:"(?:[^"\\]|\\.)*"|\S+)'
_NOT_SASL = r"(?!\S*(?i:auth|authenticate)\s)"  # `AUTH LOGIN`, `250-AUTH LOGIN PLAIN`, `A1 AUTHENTICATE LOGIN`
# ... nor a mechanism list (POP3 `SASL PLAIN LOGIN XOAUTH2 OAUTHBEARER`, SMTP `250-AUTH PLAIN LOGIN ...`): no tag is a mechanism
_NOT_SASL += r"(?!(?i:sasl|plain|xoauth2?|oauthbearer|cram-md5|digest-md5|ntlm|gssapi|external|anonymous)\s)"
# ... nor a server's answer that names the command (`A1 NO LOGIN failed.`, `A1 NO LOGIN Email OAuth 2.0 Proxy: Login failed - …`);
# a "tag" ending in a colon is a log's label (`AuthenticationFailedException: LOGIN Email OAuth …`), and a LOGIN inside a line
# is a command only when one atom follows the user: prose (`authenticated with LOGIN (a password) at …`) is not one.
_NOT_SASL += r"(?!(?:OK|NO|BAD)\s)"
_LOGIN_RE = lazy(
    rf"(?P<head>(?:{_LINE_PREFIX}{_NOT_SASL}\S+(?<!:)\s+(?i:login)|(?P<inline>(?:^|\s){_NOT_SASL}[A-Za-z0-9.]+\s+LOGIN))\s+{_QUOTED_OR_ATOM}\s+)"
    r"(?P<value>\S.*?)\s*$"
)
_PASS_RE = lazy(rf"(?P<head>(?:{_LINE_PREFIX}(?i:pass)|(?:^|\s)PASS)\s+)(?P<value>(?!<)\S.*?)\s*$")
_LITERAL_RE = lazy(r"^\{\d+\+?\}$")
_ONE_ATOM_RE = lazy(_QUOTED_OR_ATOM)
# Stand-alone runs of 12+ base64 characters whose length is a multiple of 4 (SASL base64 is always
# padded; the shortest payload worth decoding is a 9-byte PLAIN triple). Possessive groups of four
# reject every other word without backtracking, so few candidates reach the (Python) decoder; a run
# right after a dot is part of a dotted name (`com.atlassian…`; JWT segments are token shapes).
_B64_RUN_RE = lazy(
    r"(?<![A-Za-z0-9+/_.-])(?:[A-Za-z0-9+/_-]{4}){3,}+(?:[A-Za-z0-9+/_-]{3}=|[A-Za-z0-9+/_-]{2}==)?+(?![A-Za-z0-9+/_=-])"
)
# `_B64_RUN_RE` is tried only where it can match: at the start of a run of 12 or more of its characters (its lookbehind
# fails inside one). The runs are found in a copy of an ASCII text marked `a` (such a character) or space (any other),
# with bytes.translate and find: sre tried the pattern at every position, ~300 instructions per character (valgrind).
_B64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-"  # the class of `_B64_RUN_RE`
_B64_MARKS = bytes(0x61 if byte in _B64_CHARS else 0x20 for byte in range(256))
_B64_MIN_RUN = 12


def _marked_runs(text: str, marks: bytes, length: int) -> Iterator[tuple[int, int]]:
    """Start and end of every maximal run of `length` or more characters that `marks` (a bytes.translate table) marks `a`
    in the ASCII `text`, left to right."""
    marked = text.encode("ascii").translate(marks)
    needle = b"a" * length
    at = marked.find(needle)
    while at >= 0:
        end = marked.find(b" ", at + length)
        if end < 0:
            end = len(marked)
        yield at, end
        at = marked.find(needle, end)


def _sub_base64_runs(text: str, replace: Callable[[re.Match[str]], str]) -> str:
    """`_B64_RUN_RE().sub(replace, text)`: in an ASCII text the pattern is matched only at the runs that can hold a match
    (`_marked_runs`); the matches, and so the result, are the same (a table test holds it to the plain `sub`)."""
    pattern = _B64_RUN_RE()
    if not text.isascii():
        return pattern.sub(replace, text)
    pieces: list[str] = []
    last = 0
    for start, _ in _marked_runs(text, _B64_MARKS, _B64_MIN_RUN):
        if (m := pattern.match(text, start)) is not None:
            pieces += (text[last:start], replace(m))
            last = m.end()
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


# -- line state: what a previous line says about the next one --------------------------------------
_LOGIN_LITERAL_RE = lazy(
    rf"{_LINE_PREFIX}\S+\s+(?i:login)\s+(?:(?P<user_literal>\{{\d+\+?\}})|{_QUOTED_OR_ATOM}\s+(?P<pw_literal>\{{\d+\+?\}}))\s*$"
)
# a server's reply where a prompt's answer was expected: `S:`/`<` lines, SMTP codes, POP3 status, IMAP untagged or tagged
_SERVER_REPLY_RE = lazy(r"^\s*(?:S:|<)|^\s*(?:C:\s*|>+\s*)?(?:\d{3}(?:[ -]|$)|[+-](?:OK|ERR)\b|\*\s|[^\s:]+ (?:OK|NO|BAD)\b)")
_PASSWORD_PROMPT_RE = lazy(r"(?:^|\s)(?:334|\+)\s*(?:UGFzc3dvcmQ6|cGFzc3dvcmQ6)\s*$")  # base64 "Password:"
_CONTINUATION_RE = lazy(r"^\s*(?:[CS]:\s*|[<>]+\s*)?\+(?:\s|$)")
_LAST_TOKEN_RE = lazy(r"(?P<value>\S+)\s*$")
_PASSWORD_DESCRIPTION_RE = lazy(r"<password \d+ chars sha256:[0-9a-f]{8}>")
_PREFIX_RE = lazy(r"^\s*(?:[CS]:\s?|[<>]+\s?)")
# header, maybe part of the payload, at the end of a text or before a closing note ("[line cut by mailscope: too long]")
_PARTIAL_JWT_AT_END_RE = lazy(r"(?<![\w.-])(?P<value>eyJ[\w-]{8,}(?:\.[\w-]*)?)\s*(?:\[[^\]]*\]\s*)?$")
_CONTINUATION_TOKEN_RE = lazy(r"^(?P<head>\s*(?:[CS]:\s?|[<>]+\s?)?)(?P<value>[A-Za-z0-9+/_=.~-]{8,})\s*$")
_PEM_BEGIN_RE = lazy(r"-----BEGIN ([A-Z ]*PRIVATE KEY)-----(?!.*-----END)")
_PEM_END_RE = lazy(r"-----END [A-Z ]*PRIVATE KEY-----")
MIN_SEEN_SECRET = 6  # a shorter password seen on the wire is not registered: it would hide every such word
_MEMO_LIMIT = 50_000  # texts a family of forks remembers (then it starts again): a few MB
_MEMO_TEXT = 4096  # characters: a longer text (rare, seldom repeated) is never remembered, so the memos stay a few MB
_BINARY_RUN = 256  # characters: a longer base64 run that decodes to no text (a blob, seldom repeated) is not remembered
_BINARY_RUNS = 10_000  # such runs a family remembers (then it starts again): at most ~3 MB
_GENERATIONS = itertools.count(1)  # shared by every family, so that a generation names one family's secrets
_STATE_LIFETIME = 4  # lines a pending expectation survives (a server `+` or an unrelated log line between)


@dataclass(slots=True)
class _SecretTables:
    """What a redactor knows of its registered secrets; a family of forks shares one."""

    short: dict[str, str] = field(default_factory=dict)  # forms too short for the fragment index -> description (matched whole)
    short_sorted: list[str] = field(default_factory=list)  # longest first, so a form never eats part of a longer one
    fragments: Fragments = field(default_factory=Fragments)  # every longer form, found in any text with its pieces
    registered: set[str] = field(default_factory=set)
    alphabet: set[str] = field(default_factory=set)
    run_re: re.Pattern[str] | None = None  # runs of the alphabet as long as the shortest fragment: where a form can lie
    run_marks: bytes = b""  # the same for an ASCII text, as `_marked_runs` finds them: a bytes.translate table
    run_length: int = 1
    memo: dict[str, str] | None = None  # what `redact` gave, for a family of forks (None: a lone redactor keeps none)
    line_memo: dict[str, str] | None = None  # what `redact_line` gave for a line that found and left no line state
    rest_memo: dict[str, str] | None = None  # the same for a tagged line's rest (`_rest_alone`), for any plain tag
    binary_runs: set[str] | None = None  # base64 runs that decode to no text (`_decoded_run`): kept across registrations
    generation: int = 0  # changes with each secret registered, never to another family's: equal generations, equal secrets


# Words that start a catch-all pattern or that one reads before a password; a tag holding one is not plain (`_is_plain_tag`).
# Searched in the lower-cased tag (exact for ASCII, and several times faster than a case-blind search).
_TAG_WORD_RE = lazy(r"pass|pwd|secret|token|key|code|bearer|basic|login|auth|cookie|eyj|ew|aiza")


def _is_plain_tag(tag: str, tables: _SecretTables) -> bool:
    """A line's first word after which its rest is redacted alike, whatever the word (see `_rest_alone`): ASCII letters
    and digits, shorter than any fragment, none of the catch-all's key words, no registered short form inside."""
    return (
        tag.isascii()
        and tag.isalnum()
        and len(tag) < SHORT_FRAGMENT
        and _TAG_WORD_RE().search(tag.lower()) is None
        and not (tables.short_sorted and any(form in tag for form in tables.short_sorted))
    )


def _rest_alone(rest: str, tables: _SecretTables) -> bool:
    """Whether the line `tag rest` is redacted as `tag`, a space, and what `rest` alone decides, after any plain tag: then
    one session's `A0003 OK done.` serves another's `B0003 OK done.` (an IMAP client's tags are new in every session).

    Why a plain tag cannot matter: no registered form holds a space (the secrets' alphabet has none), so no form or piece
    of one spans the tag and the rest, and the tag is too short to hold a piece and holds no short form whole. No
    catch-all pattern reaches from the rest into what precedes it by more than the space (a lookbehind or `\\b` sees that
    space whatever the tag; token shapes, base64 runs and cut JWTs hold no space and are longer than a tag), and a tag
    without the key words starts no pattern (`Bearer x`, `basic x`, `pass=`, `key: x`, `PASS x`). Two patterns read the
    tag itself: the LOGIN password (`NO LOGIN failed` and `XAUTH LOGIN u p` are no commands) and the `334 <Password:>`
    prompt; lines with their words in the rest are left to the whole-line memo."""
    return " " not in tables.alphabet and "login" not in rest.lower() and "3dvcmQ6" not in rest


def _remember(memo: dict[str, str] | None, text: str, redacted: str) -> None:
    """Note what `text` gave in a family's memo; a long text (rare, seldom repeated) never, so the memos stay a few MB.
    A registration forgets the memos: a secret learned later is still removed from text redacted before."""
    if memo is None or len(text) > _MEMO_TEXT:
        return
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[text] = redacted


class Redactor:
    """One per session: registered secrets plus the catch-all. `redact_line` for transcript lines in
    order (it remembers LOGIN literals, `Password:` prompts and PEM blocks); `redact` for any text."""

    def __init__(self, secrets: Iterable[Secret | str] = (), *, _family: _SecretTables | None = None) -> None:
        # Shared by a family of forks (`fork` passes its own): a secret one member learns, all remove.
        self._secrets = _family if _family is not None else _SecretTables()
        self._seen: list[tuple[str, str]] = []  # (value, kind) of secrets the catch-all met on this text: registered after it
        self._expect: tuple[str, int] | None = None  # ("password" | "user literal" | "private key"..., lines left)
        self._split_suspected = False  # this line ends inside a secret (JWT without signature, SASL without ^A^A)
        self._literal_size = 0  # characters of the user-name literal announced by `LOGIN {n}`
        for secret in secrets:
            self.register(secret)

    @property
    def has_secrets(self) -> bool:
        return bool(self._secrets.registered)

    @property
    def generation(self) -> int:
        """Which secrets the family knows: 0 for none, else a number no other family has, new at each registration (two
        redactors at one generation remove the same secrets alike). A value already redacted by a member while the generation
        was the same needs no second pass (an audit's sessions share one token's evidence)."""
        return self._secrets.generation

    # -- registration ------------------------------------------------------------------------------
    def register(self, secret: Secret | str, kind: str | None = None) -> None:
        """Remove `secret` from everything redacted from now on, in every form it can take. The cost is bounded:
        a few bytes per character of each form (see mailscope.fragments)."""
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if not value or value in self._secrets.registered:
            return
        tables = self._secrets
        tables.memo = None if tables.memo is None else {}  # what the family redacted before may now hold this secret
        tables.line_memo = None if tables.line_memo is None else {}
        tables.rest_memo = None if tables.rest_memo is None else {}
        tables.generation = next(_GENERATIONS)
        if kind is None and isinstance(secret, Secret):
            kind = {SecretKind.PASSWORD: "password", SecretKind.CLIENT_SECRET: "client secret"}.get(secret.kind)
        description = describe_secret(value, kind)
        short = fragment_length(value)
        spellings = ((short, False, _forms(value)), (FRAGMENT, True, _wide_forms(value)))
        self._secrets.registered.add(value)
        for length, dense, forms in spellings:
            for form in forms:
                self._secrets.alphabet.update(form)
                if len(form) < length:
                    self._secrets.short.setdefault(form, description)
                else:
                    self._secrets.fragments.add(form, description, length, dense=dense)
        self._secrets.short_sorted = sorted(self._secrets.short, key=len, reverse=True)
        alphabet = "".join(re.escape(c) for c in sorted(self._secrets.alphabet) if c != "\0")
        self._secrets.run_length = self._secrets.fragments.min_length or 1
        self._secrets.run_re = re.compile(f"[{alphabet}]{{{self._secrets.run_length},}}")
        marked = {ord(c) for c in self._secrets.alphabet if c != "\0"}
        self._secrets.run_marks = bytes(0x61 if byte in marked else 0x20 for byte in range(256))

    def fork(self) -> Redactor:
        """A redactor for another session that knows the same secrets without registering them again (an audit's
        hundreds of sessions share one app-only token): the secret tables are shared, so a secret registered on any
        member is removed by all (never less redaction); the line state (`redact_line`'s expectations) is its own.
        The family also shares what `redact` gave for a text, and what `redact_line` gave for a line read with no line
        state pending (the same settings, claims, greetings and capability lists recur in every session and report of
        an audit), or for such a line's rest after a plain tag (`_rest_alone`: the answers to tagged commands recur with
        other tags); a registration on any member forgets them all, and no answer made while learning a secret is kept.
        Which base64 runs decode to no text (`_decoded_run`) is shared too, and kept: no secret changes that answer.
        """
        if self._secrets.memo is None:
            self._secrets.memo, self._secrets.line_memo, self._secrets.rest_memo = {}, {}, {}
            self._secrets.binary_runs = set()
        return Redactor(_family=self._secrets)

    # -- redaction -----------------------------------------------------------------------------------
    def redact(self, text: str) -> str:
        """Any text (evidence, annotation, summary): secrets removed, controls escaped, newlines kept.
        A text that ends in the start of a JWT (a message cut at a length limit) loses that start too."""
        tables = self._secrets
        memo = tables.memo
        if memo is not None and (done := memo.get(text)) is not None:
            return done
        generation = tables.generation
        cut, _ = _without_cut_jwt(text)
        redacted = escape_controls(self._redact_text(cut, 0))
        self._register_seen()
        if tables.generation != generation:  # learned from this text: a part before where it was learned may still show it
            redacted, _ = self._redact_known(redacted, whole_only=True)
        if tables.generation == generation:  # else it learned a secret that this answer, made before, may still show
            _remember(tables.memo, text, redacted)
            _remember(tables.memo, redacted, redacted)  # redaction is idempotent: a second pass over its result is a memo hit
        return redacted

    def redact_fact(self, key: str, value: str) -> str:
        """A value whose key says what it is (`password`, `client_secret`, `token` in parsed log facts or a JSON
        object): a secret one is described and registered whatever it looks like, anything else redacted."""
        if is_secret_key(key) and value and not _NOT_A_VALUE_RE().match(value):
            kind = "password" if "pass" in key.lower() or "pwd" in key.lower() else "secret"
            self.register(value, kind)
            return describe_secret(value, kind)
        return self.redact(value)

    def redact_line(self, text: str) -> str:
        """One transcript line, fed in wire order: also uses what earlier lines announced (a LOGIN
        password sent as a literal, an AUTH LOGIN `Password:` prompt, a PEM private key block), and
        escapes a bare LF so one wire line always stays one transcript line."""
        neutral = self._expect is None  # nothing announced by earlier lines: the answer depends on this line alone
        tables = self._secrets
        memo = tables.line_memo
        tag = rest = ""
        if neutral and memo is not None:
            if (done := memo.get(text)) is not None:
                self._split_suspected = False  # only lines that left no state behind are remembered
                return done
            space = text.find(" ", 1, SHORT_FRAGMENT)
            if space > 0:  # `tag rest`: a rest remembered after another tag serves any plain one (`_rest_alone`)
                tag, rest = text[:space], text[space + 1 :]
                if (done := tables.rest_memo.get(rest)) is not None and _is_plain_tag(tag, tables):  # type: ignore[union-attr]
                    self._split_suspected = False
                    redacted = f"{tag} {done}"
                    _remember(tables.memo, redacted, redacted)  # as below: a report passes the stored line through `redact`
                    return redacted
        generation = tables.generation
        raw = text
        text = self._apply_line_state(text)
        text, self._split_suspected = _without_cut_jwt(text)
        redacted = escape_controls(self._redact_text(text, 0), keep_newlines=False)
        self._register_seen()
        if tables.generation != generation:  # as in `redact`: the secret it learned is now cut out of the whole line
            redacted, _ = self._redact_known(redacted, whole_only=True)
        if self._split_suspected and self._expect is None:
            self._expect = ("continuation", 2)  # a secret cut at the line end: its rest starts the next line
        # Remembered only when it learned no secret: this answer, made before, may still show the one it learned.
        if neutral and self._expect is None and tables.generation == generation:
            _remember(tables.line_memo, raw, redacted)
            _remember(tables.memo, redacted, redacted)  # a report passes the stored line through `redact` once more
            if tag and redacted.startswith(f"{tag} ") and _is_plain_tag(tag, tables) and _rest_alone(rest, tables):
                _remember(tables.rest_memo, rest, redacted[len(tag) + 1 :])
        return redacted

    def redact_bytes(self, data: bytes) -> str:
        """Bytes from the wire: invalid UTF-8 shows as `\\xNN`, never as a terminal control."""
        return self.redact_line(data.decode("utf-8", "backslashreplace"))

    def describe_sasl(self, b64_text: str, mechanism: str | None = None, parsed: sasl.SaslPayload | None = None) -> str:
        """A client SASL response (base64) as readable structure with secrets redacted; `parsed`: the caller's own
        `sasl.parse_response(b64_text, mechanism)`, so that the payload is not parsed twice."""
        described = escape_controls(self._describe_sasl(b64_text, mechanism, 0, parsed))
        self._register_seen()
        return described

    # -- internals -----------------------------------------------------------------------------------
    def _redact_text(self, text: str, depth: int) -> str:
        pieces = False
        # The text when a scan found no base64 run in it that decodes to text (GUIDs and words decode to binary):
        # unchanged, the catch-all's own scan would keep every run, and need not be made.
        nothing_decoded = None
        if self._secrets.registered:
            # SASL base64 first: once a registered secret inside it is cut out, the payload can no
            # longer be decoded and its readable structure (user=..., auth=Bearer <...>) would be lost.
            if depth < _MAX_DEPTH and len(text) >= 12:
                decoded: list[str] = []
                text = _sub_base64_runs(text, lambda m: self._sasl_description(m, depth, decoded) or m.group())
                nothing_decoded = None if decoded else text
            text, pieces = self._redact_known(text, whole_only=True)
        text = self._catch_all(text, depth, nothing_decoded)
        if pieces:
            # Pieces only after the catch-all: a second token from the same issuer shares the first one's header and
            # claim prefix; cut there first, it would no longer have a token's shape and its own part would show.
            text, _ = self._redact_known(text, whole_only=False)
        return text

    def _sasl_description(self, m: re.Match[str], depth: int, decoded: list[str]) -> str | None:
        """A description when the base64 run `m` is a SASL payload, else None (keep it); what it decodes to is
        appended to `decoded`."""
        text = self._decoded_run(m.group())
        if text is None:
            return None
        decoded.append(text)
        return self._describe_sasl(m.group(), None, depth) if _looks_like_sasl(text) else None

    def _decoded_run(self, candidate: str) -> str | None:
        """`_decoded_text(candidate)`. A family of forks remembers the runs that decode to no text: the GUIDs, ids and words
        (`AUTHENTICATE`) that recur in every session and report of an audit. The answer depends on the run alone, not on
        the secrets: a registration need not forget it (the registered forms are looked for apart)."""
        binary = self._secrets.binary_runs
        if binary is not None and candidate in binary:
            return None
        text = _decoded_text(candidate)
        if text is None and binary is not None and len(candidate) <= _BINARY_RUN:
            if len(binary) >= _BINARY_RUNS:
                binary.clear()
            binary.add(candidate)
        return text

    def _redact_known(self, text: str, *, whole_only: bool) -> tuple[str, bool]:
        """Registered forms: whole ones (and, unless `whole_only`, any piece of `fragment_length()` or more).
        Also says whether pieces were seen that this pass left in place."""
        tables = self._secrets
        for form in tables.short_sorted:
            if form in text:
                text = text.replace(form, tables.short[form])
        run_re = tables.run_re
        assert run_re is not None
        spans: list[tuple[int, int, str, bool]] = []
        pieces = False
        # `run_re`'s matches; in an ASCII text found by bytes.translate and find (`_marked_runs`), as `_sub_base64_runs` does:
        # sre tried the pattern at every character of a word, ~200 instructions per character (valgrind).
        runs = _marked_runs(text, tables.run_marks, tables.run_length) if text.isascii() else (m.span() for m in run_re.finditer(text))
        for run_start, run_stop in runs:
            for match in tables.fragments.find(text[run_start:run_stop]):
                start, stop = run_start + match.start, run_start + match.stop
                if not match.whole and _is_plain_word(text[start:stop]):
                    continue
                if whole_only and not match.whole:
                    pieces = True
                    continue
                spans.append((start, stop, match.description, match.whole))
        if not spans:
            return text, pieces
        spans.sort()
        merged = [spans[0]]
        for start, stop, description, whole in spans[1:]:
            last = merged[-1]
            if start <= last[1]:  # overlapping or touching runs are one fragment
                merged[-1] = (last[0], max(last[1], stop), last[2], False)
            else:
                merged.append((start, stop, description, whole))
        out, last_stop = [], 0
        for start, stop, description, whole in merged:
            out += [text[last_stop:start], description if whole else f"<fragment of {description[1:-1]}>"]
            last_stop = stop
        out.append(text[last_stop:])
        return "".join(out), pieces

    def _catch_all(self, text: str, depth: int, nothing_decoded: str | None = None) -> str:
        text = _catch_all_patterns(text, self._seen)
        if depth < _MAX_DEPTH and len(text) >= 12 and text != nothing_decoded:
            text = _sub_base64_runs(text, lambda m: self._decoded_secret(m, depth) or m.group())
        return text

    def _decoded_secret(self, m: re.Match[str], depth: int) -> str | None:
        """A description when the base64 run `m` decodes to something secret, else None (keep it)."""
        candidate = m.group()
        text = self._decoded_run(candidate)
        if text is None:
            return None
        if _looks_like_sasl(text):
            return self._describe_sasl(candidate, None, depth)
        inner = self._redact_text(text, depth + 1)
        if inner == text:
            return None
        return f"<base64 of {inner}>"

    def _describe_sasl(self, b64_text: str, mechanism: str | None, depth: int, parsed: sasl.SaslPayload | None = None) -> str:
        payload = parsed or sasl.parse_response(b64_text, mechanism)
        value = b64_text.strip()
        if payload.kind == "unknown":
            return describe_secret(value, "sasl response") if value else "<empty response>"
        label = payload.kind.upper() if payload.kind != "raw_token" else (mechanism or "SASL").upper()
        if payload.kind in ("xoauth2", "oauthbearer") and "missing_terminator" in payload.codes:
            self._split_suspected = True
        if "missing_terminator" not in payload.codes:  # a cut payload holds a prefix: registering it would hide only that
            if payload.kind == "plain" and payload.password:
                self._seen.append((payload.password, "password"))
            elif payload.token:
                self._seen.append((payload.token, ""))
        described = sasl.describe_payload(payload, describe_secret)
        # Belt and braces: a malformed payload may put part of the secret where structure is shown. One level deeper, not
        # at the limit: base64 inside the structure (a user name that is the base64 of `password=...`) is decoded here as
        # the transcript line's own pass decodes it, so the evidence keeps no more than the line shows.
        if depth < _MAX_DEPTH:
            described = self._redact_text(described, depth + 1)
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
            if _CONTINUATION_RE().match(text):
                return text  # the server's `+ go ahead` between a literal announcement and its data
            if what == "continuation":  # the rest of a secret cut at the previous line's end
                self._expect = None
                rest = _CONTINUATION_TOKEN_RE().match(text)
                if rest is None:
                    return text
                if len(rest.group("value")) >= 60:  # wrapped again: a third line may follow
                    self._expect = ("continuation", 2)
                return rest.group("head") + describe_secret(rest.group("value"), "rest of a split secret")
            if what == "password literal":  # the whole line is the literal's content
                self._expect = None
                prefix = _PREFIX_RE().match(text)
                head = prefix.group() if prefix else ""
                return head + _seen_secret(self._seen, text[len(head) :], "password") if text[len(head) :] else text
            if what == "password":  # base64 answer to a `Password:` prompt: one token
                self._expect = None
                if _SERVER_REPLY_RE().match(text):
                    return text  # the server's reply (a log that dropped the answer): its last word is no password
                if _PASSWORD_DESCRIPTION_RE().fullmatch(text.strip()):
                    return text  # the probe already described it (mailscope.protocols' SASL LOGIN)
                return _LAST_TOKEN_RE().sub(lambda m: self._prompted_password(m.group("value")), text, count=1)
            if what == "user literal":  # `{size}` characters of user name, then the password argument
                self._expect = None
                prefix = _PREFIX_RE().match(text)
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
        if _LITERAL_RE().match(value):
            self._expect = ("password literal", _STATE_LIFETIME)
            return value
        return _seen_secret(self._seen, _unquote(value), "password")

    def _prompted_password(self, value: str) -> str:
        """The base64 answer to AUTH LOGIN's `Password:` prompt; the password it decodes to is registered."""
        if value in ("*", "=") or value.startswith("<"):
            return value
        decoded = _decoded_text(value) if len(value) % 4 == 0 else None
        return _seen_secret(self._seen, decoded, "password") if decoded else _seen_secret(self._seen, _unquote(value), "password")

    def learn(self, value: str, kind: str | None = None) -> None:
        """A secret met in the text (a password a client sent, as a log shows it) is registered, so a later echo is
        redacted in every form; unless it is too short or a plain word to be told apart from the text around it."""
        if value in self._secrets.registered:  # known (an audit's shared token, met in every session's SASL payload)
            return
        if len(value) >= MIN_SEEN_SECRET and value.lower() not in VOCABULARY and not value.startswith("<"):
            self.register(value, kind)

    def _register_seen(self) -> None:
        """Secrets the catch-all met in this text are registered now: a later echo of a password the client sent
        (a server or a log repeating it) is then redacted in every form, not only where a pattern recognises it."""
        if not self._seen:
            return
        seen, self._seen = self._seen, []
        for value, kind in seen:
            self.learn(value, kind or None)


def _is_plain_word(run: str) -> bool:
    """A fragment match that lies inside a VOCABULARY word, or inside the base64, hex or UTF-16 spelling of one."""
    return run.lower() in VOCABULARY or run in _vocabulary_spellings()


@functools.cache
def _vocabulary_spellings() -> str:
    """VOCABULARY as the wire spells it too (lower, upper and capitalised): base64 at every alignment (standard and
    urlsafe, and whole as a prompt is sent), hex and base64 of UTF-16LE; NUL-joined."""
    spelled: list[str] = []
    for word in VOCABULARY.split("\0"):
        for cased in dict.fromkeys((word, word.upper(), word.capitalize())):
            raw = cased.encode()
            spelled += [*_base64_forms(raw), base64.b64encode(raw).decode().rstrip("="), *_wide_forms(cased)]
    return "\0".join(spelled)


def _without_cut_jwt(text: str) -> tuple[str, bool]:
    """`text` with the start of a JWT at its end described (a line or message cut inside a token), and whether
    there was one: its visible part has no token shape the catch-all would know."""
    partial = _PARTIAL_JWT_AT_END_RE().search(text) if "eyJ" in text else None
    if partial is None or _is_complete_base64_json(partial.group("value")):
        return text, False
    return text[: partial.start("value")] + describe_secret(partial.group("value"), "jwt fragment") + text[partial.end("value") :], True


def _catch_all_patterns(text: str, seen: list[tuple[str, str]]) -> str:
    """Token shapes, headers, key=value pairs, LOGIN/PASS: everything but base64 decoding. Passwords and secret
    values it meets are appended to `seen` (the redactor registers them, so a later echo is caught too). Each pattern
    waits behind its own substring tests (several times faster than a regex alternation over the same literals), so a
    text with none of them costs those tests alone: no gate in front tests them all a first time."""
    if _has_shape_trigger(text):
        text = _SHAPE_RE().sub(lambda m: describe_secret(m.group()), text)
    if "-----BEGIN" in text:
        text = _PEM_RE().sub(lambda m: f"<{m.group(1).lower()} {len(m.group())} chars {fingerprint(m.group())}>", text)
    lowered = text.lower()
    if "bearer" in lowered and (not text.isascii() or _BEARER_HINT_RE().search(lowered)):
        text = _BEARER_RE().sub(lambda m: m.group("head") + describe_secret(m.group("value")), text)
    if "basic" in lowered:
        text = _BASIC_RE().sub(lambda m: _replace_basic(m, seen), text)
    if "authorization:" in lowered:
        text = _AUTHORIZATION_RE().sub(lambda m: m.group("head") + describe_secret(m.group("value"), "credential"), text)
    if "cookie:" in lowered:
        text = _COOKIE_RE().sub(lambda m: m.group("head") + describe_secret(m.group("value"), "cookie"), text)
    if "://" in text:
        text = _URL_USERINFO_RE().sub(lambda m: m.group("head") + _seen_secret(seen, m.group("value"), "password"), text)
    if _has_pair_keyword(lowered):
        if not text.isascii() or _PAIR_HINT_RE().search(text.lower()):
            text = _PAIR_RE().sub(lambda m: _replace_pair(m, seen), text)
        if "code=" in text:
            text = _CODE_RE().sub(lambda m: m.group("head") + describe_secret(m.group("value"), "authorization code"), text)
    if "login" in lowered:
        text = _LOGIN_RE().sub(lambda m: _replace_login_password(m, seen), text)
    if "pass" in lowered:
        text = _PASS_RE().sub(lambda m: m.group("head") + _seen_secret(seen, _unquote(m.group("value")), "password"), text)
    return text


def _seen_secret(seen: list[tuple[str, str]], value: str, kind: str) -> str:
    """The description of a secret the catch-all found, noted for registration."""
    seen.append((value, kind))
    return describe_secret(value, kind)


def _replace_pair(m: re.Match[str], seen: list[tuple[str, str]]) -> str:
    value = m.group("value")
    inner = value[1:-1] if value[:1] in "\"'" and len(value) >= 2 else value
    if not inner or _NOT_A_VALUE_RE().match(inner):
        return m.group()
    quote = value[0] if inner is not value else ""
    return f"{m.group('head')}{quote}{_seen_secret(seen, inner, 'secret')}{quote}"


def _replace_basic(m: re.Match[str], seen: list[tuple[str, str]]) -> str:
    decoded = _b64decode(m.group("value"))
    if decoded is None or b":" not in decoded:
        return m.group()  # prose ("Basic authentication is disabled"), not a credential
    user, _, password = decoded.decode("utf-8", "backslashreplace").partition(":")
    return f"{m.group('head')}<basic user={user} password={_seen_secret(seen, password, 'password')}>"


def _replace_login_password(m: re.Match[str], seen: list[tuple[str, str]]) -> str:
    value = m.group("value")
    if _LITERAL_RE().match(value) or value.startswith("<"):
        return m.group()  # the password follows as a literal (redact_line), or is already redacted
    if m.group("inline") and not _ONE_ATOM_RE().fullmatch(value):
        return m.group()  # words after the "password": prose that names the command
    return m.group("head") + _seen_secret(seen, _unquote(value), "password")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _decoded_text(candidate: str) -> str | None:
    """A base64 run's decoded text when it is printable UTF-8 (a SASL payload or a secret), else None:
    random identifiers such as `AADSTS700016` decode to binary and must stay as they are."""
    decoded = _b64decode(candidate)
    # Its controls are looked for in the bytes (`sasl.CONTROL_BYTES`), before a decoding whose failure (an exception)
    # costs more than the look: in UTF-8 a byte under 0x80 is always its own character.
    if decoded is None or sasl.has_control_bytes(decoded):
        return None
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None


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


HUGE_SECRET = 64 * 1024  # characters: a secret this long keeps only its raw and base64 spellings
# Percent-encoding of every byte but letters, digits and `_.-~` (urllib.parse.quote with safe=""), one table per spelling:
# upper-case escapes, lower-case ones (some encoders write %2f), and a space as `+` (quote_plus). Here rather than
# urllib.parse, whose import (with ipaddress) cost every start of a check 1.5 ms.
_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_URL_UPPER = tuple(chr(b) if b in _URL_SAFE else f"%{b:02X}" for b in range(256))
_URL_LOWER = tuple(chr(b) if b in _URL_SAFE else f"%{b:02x}" for b in range(256))
_URL_PLUS = tuple("+" if b == 0x20 else escape for b, escape in enumerate(_URL_UPPER))


def _url_encoded(raw: bytes, table: tuple[str, ...] = _URL_UPPER) -> str:
    return "".join(map(table.__getitem__, raw))


def _forms(value: str) -> list[str]:
    """Every spelling a secret can take on the wire or in a log: raw, URL-encoded, JSON- and IMAP-quoted, and base64
    at the three alignments (standard and urlsafe). A huge secret keeps its raw and base64 spellings only."""
    raw = secret_bytes(value)
    forms = [value]
    if len(value) <= HUGE_SECRET:
        forms += [
            _url_encoded(raw),
            _url_encoded(raw, _URL_PLUS),
            _url_encoded(raw, _URL_LOWER),
            json.dumps(value)[1:-1],
            json.dumps(value)[1:-1].replace("/", "\\/"),
            value.replace("\\", "\\\\").replace('"', '\\"'),  # IMAP quoted string
        ]
    forms += _base64_forms(raw)
    return [form for form in dict.fromkeys(forms) if len(form) >= _MIN_DERIVED_FORM or form == value]


def _wide_forms(value: str) -> list[str]:
    """Spellings that take two or more characters per character of the secret: hex in both cases (a server echoing
    bytes) and base64 of UTF-16LE (Windows components log wide strings). Their pieces count from FRAGMENT characters
    whatever the secret's length: shorter ones are a handful of the secret's characters, and hex digits and
    UTF-16 base64 (`AGEAYgBj…`) are everywhere in logs."""
    if len(value) > HUGE_SECRET:
        return []
    raw = secret_bytes(value)
    wide = value.encode("utf-16-le", "surrogatepass")
    return list(dict.fromkeys([raw.hex(), raw.hex().upper(), *(_stable_base64(base64.b64encode, wide, offset) for offset in range(3))]))


def _base64_forms(data: bytes) -> list[str]:
    return [_stable_base64(encode, data, offset) for encode in (base64.b64encode, base64.urlsafe_b64encode) for offset in range(3)]


def _stable_base64(encode: Callable[[bytes], bytes], raw: bytes, offset: int) -> str:
    """The base64 characters that depend only on `raw` when it starts `offset` bytes into a 3-byte
    group: the ones that also carry bits of unknown neighbours, and padding, are cut off."""
    encoded = encode(b"\0" * offset + raw).decode("ascii")
    first = -(-offset * 8 // 6)  # first character whose 6 bits all come from `raw`
    last = (offset + len(raw)) * 8 // 6  # characters before this one are complete
    return encoded[first:last]
