"""The report's generated dataclass exporters: a field's declared type only orders the tests, so every value, of the
declared type or not, is exported exactly as the exporter that ignores declared types exports it (the slow path); an
audit's settings sections, exported once per generation and patched per row, equal the whole export."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields, replace
from enum import Enum, IntEnum, StrEnum
from typing import Any, get_type_hints

import pytest

from mailscope.redact import Redactor
from mailscope.report import SharedExports, _dataclass, _exported
from mailscope.secret import Secret, SecretKind
from mailscope.settings import CheckSettings, SecretSource, Security


class Colour(StrEnum):
    RED = "red"


class Plain(Enum):
    ONE = "one"


class Mixed(Enum):
    TEXT = "text"
    NUMBER = 2


class Level(IntEnum):
    LOW = 1


class Text(str):
    """A str subclass: never `type(v) is str`, still text to the walk."""


@dataclass
class Inner:
    name: str


@dataclass
class Declared:
    number: int
    ratio: float
    flag: bool
    text: str
    maybe_text: str | None
    maybe_number: int | None
    colour: Colour
    plain: Plain | None
    mixed: Mixed
    words: tuple[str, ...]
    listed: list[str] | None
    table: dict[str, Any]
    inner: Inner | None
    anything: Any


VALUES = [
    0, 7, True, False, None, 1.5, float("inf"), "", "text", "SECRET in text", Text("SECRET sub"), Colour.RED, Plain.ONE,
    Mixed.TEXT, Mixed.NUMBER, Level.LOW, (), ("SECRET", 1), [], ["a", Colour.RED], {}, {"k": "SECRET", 3: (None,)},
    Inner("SECRET name"), SecretSource("env", "SECRET_VAR"), frozenset({"SECRET"}),
]  # fmt: skip


def _redact(text: str) -> str:
    return text.replace("SECRET", "<redacted>")


@pytest.mark.parametrize("passed", [frozenset(), frozenset({"text", "SECRET in text", "red", "one"})])
def test_every_value_in_every_declared_field_is_exported_as_the_slow_path_exports_it(passed: frozenset[str]) -> None:
    names = tuple(f.name for f in fields(Declared))
    fast, slow = _dataclass(names, get_type_hints(Declared)), _dataclass(names, {})
    base = dict.fromkeys(names, None)
    for name, value in itertools.product(names, VALUES):
        instance = Declared(**(base | {name: value}))
        expected = slow(instance, _redact, passed)
        assert repr(fast(instance, _redact, passed)) == repr(expected), (name, value)  # repr: True is not 1, 1.0 not 1
    assert "SECRET" not in repr(expected)


def test_the_slow_path_is_the_walk_of_any_value() -> None:
    instance = Declared(
        1, 2.0, True, "SECRET a", None, 3, Colour.RED, Plain.ONE, Mixed.NUMBER, ("SECRET",), ["x"], {}, Inner("SECRET"), Level.LOW
    )
    exported = _exported(instance, _redact, frozenset())
    assert exported == {
        "number": 1, "ratio": 2.0, "flag": True, "text": "<redacted> a", "maybe_text": None, "maybe_number": 3, "colour": "red",
        "plain": "one", "mixed": 2, "words": ["<redacted>"], "listed": ["x"], "table": {}, "inner": {"name": "<redacted>"},
        "anything": 1,
    }  # fmt: skip


def _settings_cases() -> list[tuple[str, CheckSettings]]:
    base = CheckSettings(
        host="imap.example.test", port=993, user="a@contoso.test", tenant="contoso.test", scopes=("https://x/.default",),
        client_secret=SecretSource("env", "LAB_SECRET"), extra={"thumbprint": "AB"},
    )  # fmt: skip
    return [
        ("the first", base),
        ("another user", replace(base, user="b@contoso.test")),
        ("equal scopes, another tuple", replace(base, user="c@contoso.test", scopes=("https://x/.default",))),
        ("other scopes", replace(base, scopes=("https://y/.default", "offline_access"))),
        ("another secret source", replace(base, client_secret=SecretSource("file", "/run/secret"))),
        ("an equal number of another type", replace(base, timeout=10, port=993.0)),  # type: ignore[arg-type]
        ("an enum member", replace(base, security=Security.STARTTLS)),
        ("the base again", base),
    ]


def test_shared_settings_equal_the_whole_export_whatever_fields_differ() -> None:
    """SharedExports.settings exports again only the fields that are not the very same immutable object as the first
    settings' of the generation: every row's section equals the whole export, a dict changed in place included."""
    shared, redactor = SharedExports(), Redactor()
    cases = _settings_cases()
    for name, settings in [*cases, *cases]:
        expected = _exported(settings, redactor.redact, frozenset())
        assert repr(shared.settings(settings, redactor, redactor.redact, frozenset())) == repr(expected), name
    base = cases[0][1]
    base.extra["thumbprint"] = "CD"  # the same dict, changed: never taken from the first section
    assert shared.settings(replace(base, user="d@contoso.test"), redactor, redactor.redact, frozenset())["extra"] == {"thumbprint": "CD"}


def test_shared_settings_after_a_secret_is_registered_show_it_nowhere() -> None:
    shared, redactor = SharedExports(), Redactor()
    base = _settings_cases()[0][1]
    assert shared.settings(base, redactor, redactor.redact, frozenset())["tenant"] == "contoso.test"
    redactor.register(Secret(SecretKind.CLIENT_SECRET, "contoso.test"))  # between two records
    later = shared.settings(replace(base, user="b@example.test"), redactor, redactor.redact, frozenset())
    assert "contoso.test" not in repr(later) and later["user"] == "b@example.test"

    def learning(text: str) -> str:  # the pass meets a secret on the way (at the user, before the tenant)
        if text == "e@example.test":
            redactor.register(Secret(SecretKind.CLIENT_SECRET, "https://x/.default"))
        return redactor.redact(text)

    last = shared.settings(replace(base, user="e@example.test"), redactor, learning, frozenset())
    assert "https://x/.default" not in repr(last) and last == _exported(replace(base, user="e@example.test"), redactor.redact, frozenset())


@pytest.mark.parametrize(
    "values",
    [
        ("a", "SECRET b", "text"), ["x"] * 5, {"SECRET", "y", "z"}, frozenset({"p", "q", "r"}), (1, 2, 3), (1, True, 2.0),
        ("a", 1, None, Colour.RED), (Colour.RED,) * 3, (Plain.ONE, Plain.ONE, Plain.ONE), (Text("SECRET"),) * 3,
        (Inner("SECRET"), Inner("b"), Inner("c")), [Inner("a"), Inner("b"), "c"], ((), ("SECRET",), ("x", "y")),
        ({"k": "SECRET"}, {}, {"j": 1}), (SecretSource("env", "SECRET"),) * 3, ("a", "b"), [Inner("SECRET")],
        ("text", "y", "p"), ["y"] * 4, {"text", "y", "p"}, ("text", "y", "p", "SECRET"), ("SECRET", "text", "y"),
    ],
)  # fmt: skip
def test_a_sequence_of_one_kind_is_exported_as_the_walk_of_each_item(values: Any) -> None:
    passed = frozenset({"text", "y", "p"})
    expected = [_exported(v, _redact, passed) for v in values]
    assert repr(_exported(values, _redact, passed)) == repr(expected)
    assert repr(_exported(values, _redact, passed)) == repr(expected)  # the kinds' exporters known now
