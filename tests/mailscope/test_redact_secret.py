"""Secret never shows its value by accident: repr/str/format/%/logging/tracebacks, pickle, copy,
dataclasses.asdict of a holder, json."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import pickle
import traceback

import pytest

from mailscope.credential import Credential
from mailscope.evidence import TokenEvidence
from mailscope.secret import Secret, SecretKind, fingerprint

VALUE = "ya29.a0AfB_byC1x2Y3z4W5v6U7t8S9r0Q-very-secret"
SAFE = f"<Secret access_token {len(VALUE)} chars {fingerprint(VALUE)}>"


@pytest.fixture
def secret() -> Secret:
    return Secret(SecretKind.ACCESS_TOKEN, VALUE)


def test_reveal_is_the_only_way_to_the_value(secret: Secret) -> None:
    assert secret.reveal() == VALUE
    assert secret.kind is SecretKind.ACCESS_TOKEN and len(secret) == len(VALUE)
    assert secret.fingerprint == fingerprint(VALUE)


def test_every_string_conversion_is_the_safe_repr(secret: Secret) -> None:
    renderings = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret!s}",
        f"{secret!a}",
        f"{secret:>80}",
        "%s %r" % (secret, secret),  # noqa: UP031 - the old styles are what we test
        "{} {!r}".format(secret, secret),  # noqa: UP032
        format(secret),
        repr([secret, {"token": secret}]),
    ]
    for text in renderings:
        assert VALUE not in text
        assert SAFE in text


def test_logging_and_tracebacks_show_the_safe_repr(secret: Secret, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("mailscope.test").debug("token %s / %r", secret, secret)
    assert VALUE not in caplog.text and SAFE in caplog.text
    try:
        token = secret  # noqa: F841 - a local the traceback captures
        raise ValueError(f"refused {secret}")
    except ValueError as exc:
        rendered = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    assert VALUE not in rendered and SAFE in rendered


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickling_is_refused_without_showing_the_value(secret: Secret, protocol: int) -> None:
    with pytest.raises(TypeError) as raised:
        pickle.dumps(secret, protocol=protocol)
    assert VALUE not in str(raised.value)
    with pytest.raises(TypeError):
        pickle.dumps({"nested": [secret]}, protocol=protocol)


def test_copies_are_the_same_immutable_object(secret: Secret) -> None:
    assert copy.copy(secret) is secret and copy.deepcopy({"s": secret})["s"] is secret
    with pytest.raises(AttributeError):
        secret._value = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del secret.kind
    assert not hasattr(secret, "__dict__")


def test_dataclass_walkers_and_json_never_reach_the_value(secret: Secret) -> None:
    assert not dataclasses.is_dataclass(secret)
    credential = Credential(secret=secret, is_password=False, token=TokenEvidence(kind="jwt"))
    as_dict = dataclasses.asdict(credential)
    assert as_dict["secret"] is secret
    assert VALUE not in json.dumps(as_dict, default=str)
    assert VALUE not in repr(credential) and VALUE not in str(dataclasses.astuple(credential))
    with pytest.raises(TypeError) as raised:
        json.dumps({"token": secret})
    assert VALUE not in str(raised.value)


@pytest.mark.parametrize("value", [VALUE, "", "pässwörd", "\udcff byte that is not UTF-8", b"raw \xff bytes"])
def test_the_fingerprint_is_the_sha256_hashlib_gives(value: str | bytes) -> None:
    """secret.py takes the interpreter's own SHA-256 where there is one (hashlib is slow to import): the same digest."""
    import hashlib

    from mailscope.secret import secret_bytes

    data = value if isinstance(value, bytes) else secret_bytes(value)
    assert fingerprint(value) == "sha256:" + hashlib.sha256(data).hexdigest()[:8]
