"""The redactor's shortcuts for new text change no output: with every one of them turned off (the slow path) a redactor
gives the same text, on random texts made of pieces of registered secrets, their base64 and split forms, SASL payloads,
secret pairs and the words an audit's reports repeat. Each shortcut's own claim is tested too."""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Iterator
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailscope import redact
from mailscope.fragments import Fragments
from mailscope.patterns import lazy
from mailscope.redact import Redactor
from mailscope.secret import Secret, SecretKind
from tests.attacks import payloads
from tests.attacks.oracle import spellings

TOKEN = payloads.jwt({"aud": "https://outlook.office.com", "iss": payloads.ISSUER, "upn": "alice@contoso.com"}, seed=7)
PASSWORD = "correct-horse-9-battery"
CLIENT_SECRET = "lab~Q7abcdefghijklmnopqrstuvwxyz0123"
WORDS = [
    "mbx0147@contoso.onmicrosoft.com",
    "3caf69c3-6e9e-5b22-bb42-216386cfdb52",
    "Get-MailboxPermission",
    "A0003 OK",
    "* OK",
    "the app-only token was accepted",
    "SASL user=",
    "auth=Bearer",
    "Bearer",
    "password",
    "password=",
    "PassWord: ",
    "'secret': ",
    '"client_secret":',
    "token:",
    "paſſword=",
    "api-key = ",
    "code=",
    "key",
    " ",
    " ",
    ":",
    "=",
    "\n",
    "QUJDREVGR0hJSktM",
]


@contextlib.contextmanager
def slow_path() -> Iterator[None]:
    """Every shortcut off: fragments searched afresh, the pair and bearer patterns tried on every text their keywords
    allow, the catch-all's base64 scan made whatever the first scan found."""
    catch_all = Redactor._catch_all
    with (
        mock.patch.object(Fragments, "find", Fragments._search),
        mock.patch.object(redact, "_sub_base64_runs", lambda text, replace: redact._B64_RUN_RE().sub(replace, text)),
        mock.patch.object(redact, "_marked_runs", _runs_by_pattern),
        mock.patch.object(redact, "_PAIR_HINT_RE", lazy("")),
        mock.patch.object(redact, "_BEARER_HINT_RE", lazy("")),
        mock.patch.object(Redactor, "_catch_all", lambda self, text, depth, nothing_decoded=None: catch_all(self, text, depth)),
    ):
        yield


def _runs_by_pattern(text: str, marks: bytes, length: int) -> Iterator[tuple[int, int]]:
    """What `redact._marked_runs` finds, by the regex it stands for: `length` or more of the marked characters."""
    marked = "".join(re.escape(chr(byte)) for byte in range(256) if marks[byte] == ord("a"))
    return (m.span() for m in re.finditer(f"[{marked}]{{{length},}}", text)) if marked else iter(())


def _redactor() -> Redactor:
    return Redactor(
        [Secret(SecretKind.ACCESS_TOKEN, TOKEN), Secret(SecretKind.PASSWORD, PASSWORD), Secret(SecretKind.CLIENT_SECRET, CLIENT_SECRET)]
    )


@st.composite
def texts(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["word", "word", "piece", "sasl", "base64", "pair"]))
        if kind == "word":
            parts.append(draw(st.sampled_from(WORDS)))
        elif kind == "piece":  # a piece of any spelling of a secret: whole, or cut as a split line is
            form = draw(st.sampled_from([*spellings(TOKEN), *spellings(PASSWORD), *spellings(CLIENT_SECRET)]))
            start = draw(st.integers(0, len(form) - 1))
            parts.append(form[start : start + draw(st.integers(1, len(form)))])
        elif kind == "sasl":
            user = draw(st.sampled_from(["mbx0147@contoso.onmicrosoft.com", "alice"]))
            payload = draw(st.sampled_from([f"user={user}\x01auth=Bearer {TOKEN}\x01\x01", f"\0{user}\0{PASSWORD}"]))
            encoded = base64.b64encode(payload.encode()).decode()
            parts.append(encoded[: draw(st.integers(1, len(encoded)))])
        elif kind == "base64":  # base64 of text that holds a secret, or of a word, or of bytes
            inner = draw(
                st.sampled_from(
                    [
                        PASSWORD,
                        CLIENT_SECRET,
                        "password=" + PASSWORD,
                        "password=hunter22x",
                        "Bearer ya29.unregistered-0",
                        "hello world!",
                        "\x00\xff\x10binary",
                    ]
                )
            )
            parts.append(base64.b64encode(inner.encode()).decode())
        else:
            key = draw(st.sampled_from(["password", "client_secret", "token", "PASS", "paſſword", "api_key", "Token"]))
            separator = draw(st.sampled_from(["=", ": ", " = ", '": "', "\t:"]))
            parts.append(f"{key}{separator}{draw(st.sampled_from([PASSWORD, 'hunter22x', TOKEN[:30], '<kept>']))}")
    return draw(st.sampled_from(["", " ", "\n"])).join(parts)


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(texts(), min_size=1, max_size=4))
def test_the_shortcuts_give_what_the_slow_path_gives(batch: list[str]) -> None:
    fast, fast_lines = _redactor(), _redactor()
    with slow_path():
        slow, slow_lines = _redactor(), _redactor()
        expected = [slow.redact(text) for text in batch]
        expected_lines = [slow_lines.redact_line(text) for text in batch]
        expected_again = [slow.redact(text) for text in batch]  # with the secrets the first pass met registered too
    assert [fast.redact(text) for text in batch] == expected
    assert [fast_lines.redact_line(text) for text in batch] == expected_lines
    assert [fast.redact(text) for text in batch] == expected_again  # now with the fragment memo's answers


@settings(max_examples=100, deadline=None)
@given(
    batch=st.lists(texts(), min_size=1, max_size=3), later=st.sampled_from(["s3cret-Value-77", "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA"])
)
def test_a_secret_registered_later_is_removed_from_text_seen_before(batch: list[str], later: str) -> None:
    def history() -> list[str]:
        family = _redactor().fork()  # with every memo of an audit's sessions
        for text in batch:
            family.redact(text)
            family.redact_line(text)
        family.register(later)
        return [family.fork().redact(f"{text} {later[2:]} {text}") for text in batch]

    with slow_path():
        expected = history()
    assert history() == expected


@settings(max_examples=800, deadline=None)
@example(text="PASSWORD=x")
@example(text="'api-KEY' :x")
@example(text="passwd\t= x")
@example(text="Bearer abcdefgh1234")
@example(text="auth=Bearer <jwt 1360 chars sha256:1125df6b>")
@example(text="BEARER\t\t*x bearer  zzzzzzzz")
@given(
    text=st.lists(
        st.sampled_from(["pass", "PASSWORD", "pWd", "secret", "token", "assertion", "private_key", "api-KEY", "device_code", "code"])
        | st.sampled_from(["bearer", "Bearer", "BEARER", "beArer", "abcdefgh", "x=y", "<", "é"])
        | st.sampled_from(['"', "'", " ", "\t", ":", "=", "x", "-", ".", "\n", ">", "*", "ſ", "ı", "K", "İ", "value"])
        | st.text(max_size=3),
        max_size=10,
    ).map("".join)
)
def test_a_text_without_the_pair_hint_holds_no_secret_pair(text: str) -> None:
    """The hints are searched in the lower-cased text only where that is exact (ASCII): there, every pair holds the pair
    hint, and every `Bearer x` the bearer pattern redacts holds the bearer hint."""
    for pattern, hint in ((redact._PAIR_RE, redact._PAIR_HINT_RE), (redact._BEARER_RE, redact._BEARER_HINT_RE)):
        if pattern().search(text):
            assert not text.isascii() or hint().search(text.lower()), text


def test_base64_that_decodes_only_to_binary_is_scanned_once() -> None:
    """A GUID or a word of base64 length decodes to binary: the catch-all need not scan the text for base64 again."""
    r = _redactor()
    text = "the service principal 3caf69c3-6e9e-5b22-bb42-216386cfdb52 may have no FullAccess"
    with mock.patch.object(redact, "_decoded_text", wraps=redact._decoded_text) as decoded:
        assert r.redact(text) == text
    assert decoded.call_count == 1


@settings(max_examples=500, deadline=None)
@example(data=b"\x01D\xc4M\x10\x84\t0\x84")  # `AUTHENTICATE`: binary
@example(data=b"user=a@b.c\x01auth=Bearer x\x01\x01")
@example(data="pässwörd\x7f".encode())
@given(data=st.binary(max_size=40) | st.text(max_size=20).map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_a_base64_run_decodes_to_text_as_the_decoder_and_the_text_pattern_say(data: bytes) -> None:
    """The control bytes are looked for before decoding: the answer is still printable UTF-8's, or None."""
    candidate = base64.b64encode(data).decode()
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    expected = text if text is not None and re.fullmatch(r"[^\x02-\x08\x0b\x0c\x0e-\x1f\x7f]*", text) else None
    assert redact._decoded_text(candidate) == expected


B64_TEXT = st.text(st.sampled_from("AQab09+/_-=.=@ <:é\u2028\x00"), max_size=80)


@settings(max_examples=2000, deadline=None)
@given(text=st.one_of(B64_TEXT, texts()))
@example("AUTHENTICATE")
@example("x.QUJDREVGR0hJSktM QUJDREVGR0hJSk==AQ QUJDREVGR0hJSktMTQ=a QUJDREVGR0hJSktM=")
@example("é QUJDREVGR0hJSktM")
def test_base64_runs_are_replaced_where_the_plain_sub_replaces_them(text: str) -> None:
    """`_sub_base64_runs` tries the pattern at the starts of marked runs only: it replaces what the plain `sub` does."""

    def replace(m: re.Match[str]) -> str:
        return f"<{m.group()}>"

    assert redact._sub_base64_runs(text, replace) == redact._B64_RUN_RE().sub(replace, text)


@settings(max_examples=1000, deadline=None)
@given(
    alphabet=st.sets(st.characters(max_codepoint=0x7F), min_size=1, max_size=40),
    length=st.integers(1, 17),
    text=st.text(st.characters(max_codepoint=0x7F), max_size=80),
)
@example(alphabet=set("ab"), length=2, text="abab a ab aab")
def test_the_marked_runs_are_the_run_patterns_matches(alphabet: set[str], length: int, text: str) -> None:
    """A redactor's run table finds in an ASCII text the spans its `run_re` matches, for any secrets' alphabet."""
    redactor = Redactor()
    tables = redactor._secrets
    tables.alphabet = alphabet
    tables.fragments = mock.Mock(min_length=length)
    redactor.register("unused-secret-value")  # builds run_re and run_marks from the alphabet it extends
    pattern = tables.run_re
    assert pattern is not None
    assert list(redact._marked_runs(text, tables.run_marks, tables.run_length)) == [m.span() for m in pattern.finditer(text)]
