"""The report's generated dataclass exporters: a field's declared type only orders the tests, so every value, of the
declared type or not, is exported exactly as the exporter that ignores declared types exports it (the slow path)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields
from enum import Enum, IntEnum, StrEnum
from typing import Any, get_type_hints

import pytest

from mailscope.report import _dataclass, _exported
from mailscope.settings import SecretSource


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
