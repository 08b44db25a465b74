"""A family of forks remembers the base64 runs that decode to no text (`Redactor._decoded_run`): redaction stays what
decoding every run gives, and a run remembered so is still removed once it is registered as a secret."""

from __future__ import annotations

from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from mailscope import redact
from mailscope.redact import Redactor
from mailscope.secret import Secret, SecretKind
from tests.mailscope.test_redact_shortcuts import CLIENT_SECRET, PASSWORD, TOKEN, texts

GUID = "3caf69c3-6e9e-5b22-bb42-216386cfdb52"
FINDING = f"the app-only token was accepted but the mailbox refused: the service principal {GUID} may have no FullAccess"


def _family(*, remember_runs: bool) -> Redactor:
    root = Redactor([Secret(SecretKind.ACCESS_TOKEN, TOKEN), Secret(SecretKind.PASSWORD, PASSWORD)])
    root.register(Secret(SecretKind.CLIENT_SECRET, CLIENT_SECRET))
    member = root.fork()
    if not remember_runs:
        member._secrets.binary_runs = None  # the slow path: every run decoded every time
    return member


def _forget_texts(redactor: Redactor) -> None:
    """Every remembered text forgotten (a full pass each time), the remembered runs kept."""
    tables = redactor._secrets
    for memo in (tables.memo, tables.line_memo, tables.rest_memo):
        if memo is not None:
            memo.clear()


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(texts(), min_size=1, max_size=6))
def test_remembered_runs_give_what_decoding_every_run_gives(batch: list[str]) -> None:
    fast, slow = _family(remember_runs=True), _family(remember_runs=False)
    for text in batch:  # both learn the same secrets; the fast one remembers its binary runs
        assert fast.redact(text) == slow.redact(text)
    for text in batch:
        _forget_texts(fast)
        _forget_texts(slow)
        assert fast.fork().redact(text) == slow.fork().redact(text)
        assert fast.fork().redact_line(text) == slow.fork().redact_line(text)
    assert fast._secrets.registered == slow._secrets.registered


def test_a_run_that_decodes_to_no_text_is_decoded_once_per_family() -> None:
    family = _family(remember_runs=True)
    first = family.redact(FINDING)
    assert GUID in first and GUID in family._secrets.binary_runs  # type: ignore[operator]
    _forget_texts(family)
    with mock.patch.object(redact, "_decoded_text", wraps=redact._decoded_text) as decoded:
        assert family.fork().redact(FINDING) == first
    assert decoded.call_count == 0


def test_a_run_remembered_as_binary_is_removed_once_registered() -> None:
    family = _family(remember_runs=True)
    assert GUID in family.redact(FINDING) and GUID in family._secrets.binary_runs  # type: ignore[operator]
    family.fork().register(GUID)  # another session learns it as a secret
    assert GUID in family._secrets.binary_runs  # type: ignore[operator]
    assert GUID not in family.fork().redact(FINDING)
    assert GUID not in family.fork().redact_line(f"* OK {FINDING}")
