"""Declarative TOML files (lab scenarios, courses, answers, the training's cause table): read, check against a
declared set of keys, and report every problem with its file, line and key, so a trainer fixes a file without
reading our code. No code in the files, no eval: only the keys declared here are read.

`read(path)` parses and locates; a `Table` reads one table of it against its `Key`s, collecting `Problem`s instead of
stopping at the first; `DataFileError` carries them all.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mailscope.localfile import NotRegularFile, read_regular_file
from mailscope.redact import describe_token_shapes, escape_controls

T = TypeVar("T")
MAX_FILE_BYTES = 1_000_000  # a scenario or course is a few kB; anything bigger is not one


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    key: str  # dotted path of the key ("client.scopes", "hint[2].cost"); "" for the file as a whole
    message: str

    def __post_init__(self) -> None:
        """A message may quote what the file says: a token pasted into it is not repeated."""
        object.__setattr__(self, "message", describe_token_shapes(self.message))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class DataFileError(ValueError):
    """One or more problems in one or more files."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(map(str, self.problems)))


Path_ = tuple[str | int, ...]


@dataclass(slots=True)
class Source:
    """A parsed file and the line each key was written on."""

    path: str
    data: dict[str, Any]
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """The line of `path`, or of its nearest written parent (a key inside an inline table)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def problem(self, path: Path_, message: str) -> Problem:
        return Problem(self.path, self.line_of(path), dotted(path), message)


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read(path: str | Path) -> Source:
    """Parse a TOML file; DataFileError (with the parser's line) when it cannot be read or is not TOML."""
    name = str(path)
    try:
        raw = read_regular_file(name, MAX_FILE_BYTES + 1)
    except NotRegularFile as exc:
        raise DataFileError([Problem(name, None, "", str(exc))]) from None
    except OSError as exc:
        raise DataFileError([Problem(name, None, "", f"cannot read: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise DataFileError([Problem(name, None, "", f"larger than {MAX_FILE_BYTES} bytes: not a scenario, course or answers file")])
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise DataFileError([Problem(name, None, "", "not UTF-8 text")]) from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise DataFileError([Problem(name, None, "", "nested too deeply: not a scenario, course or answers file")]) from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        raise DataFileError([Problem(name, int(found.group(1)) if found else None, "", f"not valid TOML: {message}")]) from None
    return Source(name, data, locate_keys(text))


def by_line(problems: Iterable[Problem]) -> list[Problem]:
    """Problems in the order a reader meets them in the file; those without a line last."""
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0))


def load(path: str | Path, parse: Callable[[Source], tuple[T | None, list[Problem]]]) -> T:
    """Read `path` and parse it; DataFileError with every problem when it is not a valid file of that kind."""
    parsed, problems = parse(read(path))
    if parsed is None:
        raise DataFileError(by_line(problems))
    return parsed


# -- where keys are written ------------------------------------------------------------------------
_BARE = re.compile(r"[A-Za-z0-9_-]+")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')


def _key_parts(text: str) -> tuple[list[str], str] | None:
    """A (dotted, maybe quoted) key at the start of `text`: its parts and the rest, or None."""
    parts: list[str] = []
    rest = text.lstrip()
    while True:
        match = _BARE.match(rest) or _STRING.match(rest)
        if match is None:
            return None
        token = match.group(0)
        parts.append(token[1:-1] if token[0] in "\"'" else token)
        rest = rest[match.end():].lstrip()
        if not rest.startswith("."):
            return parts, rest
        rest = rest[1:].lstrip()


def locate_keys(text: str) -> dict[Path_, int]:
    """Line numbers (1-based) of table headers and `key =` lines, by path. Lines inside multi-line strings are skipped;
    keys inside inline tables and arrays are not located (their parent's line stands for them)."""
    lines: dict[Path_, int] = {}
    table: Path_ = ()
    array_counts: dict[Path_, int] = {}
    in_string: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if in_string is not None:
            if in_string in line:
                in_string = None
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("[["):
            parsed = _key_parts(line[2:])
            if parsed:
                base = tuple(parsed[0])
                index = array_counts.get(base, 0)
                array_counts[base] = index + 1
                table = (*base, index)
                lines.setdefault(base, number)
                lines[table] = number
            continue
        if line.startswith("["):
            parsed = _key_parts(line[1:])
            if parsed:
                table = tuple(parsed[0])
                lines[table] = number
            continue
        parsed = _key_parts(line)
        if parsed is None or not parsed[1].startswith("="):
            continue
        lines.setdefault((*table, *parsed[0]), number)
        value = parsed[1][1:].strip()
        for quote in ('"""', "'''"):
            if value.startswith(quote) and value.count(quote) == 1:
                in_string = quote
    return lines


# -- reading a table against declared keys ---------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Key:
    """One key a table may hold. kind: "str", "bool", "int", "number", "strings", "table", "tables" (array of tables)."""

    name: str
    kind: str
    doc: str
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    nonempty: bool = False  # a blank string or an empty list is refused


_TYPE_NAMES = {"str": "a string", "bool": "true or false", "int": "a whole number", "number": "a number",
               "strings": "a list of strings", "table": "a table", "tables": "an array of tables ([[...]])"}


class Table:
    """Reads one table of a Source against its keys. Problems are collected in `problems`; `get` returns the checked
    value or `default` when the key is absent or wrong (the caller goes on, so one run reports everything)."""

    def __init__(self, source: Source, path: Path_, data: object, keys: Iterable[Key], problems: list[Problem]) -> None:
        self.source, self.path, self.problems = source, path, problems
        self.keys = {key.name: key for key in keys}
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        if not isinstance(data, dict):
            self.problems.append(source.problem(path, "must be a table"))
            return
        for name in self.data:
            if name not in self.keys:
                self.problems.append(source.problem((*path, name), unknown_message("key", name, self.keys)))
        for key in self.keys.values():
            if key.required and key.name not in self.data:
                self.problems.append(source.problem((*path, key.name), f"required: {key.doc}"))

    def has(self, name: str) -> bool:
        return name in self.data

    def fail(self, name: str, message: str) -> None:
        self.problems.append(self.source.problem((*self.path, name), message))

    def get(self, name: str, default: Any = None) -> Any:
        key = self.keys[name]
        if name not in self.data:
            return default
        value = self.data[name]
        if not _is_kind(value, key.kind):
            self.fail(name, f"must be {_TYPE_NAMES[key.kind]}, not {_describe(value)}")
            return default
        if key.nonempty and not (value.strip() if isinstance(value, str) else value):
            self.fail(name, "must not be empty")
            return default
        texts = value if key.kind == "strings" else (value,) if key.kind == "str" else ()
        for text in texts:
            if escape_controls(text) != text:  # what a file says reaches terminals: never as control sequences
                self.fail(name, f"contains control characters: {escape_controls(text)!r}")
                return default
        if key.choices:
            for item in value if key.kind == "strings" else (value,):
                if item not in key.choices:
                    close = difflib.get_close_matches(str(item), key.choices, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    self.fail(name, f"{item!r} is not one of: {', '.join(key.choices)}{hint}")
                    return default
        if key.minimum is not None and value < key.minimum or key.maximum is not None and value > key.maximum:
            self.fail(name, f"{value!r} is out of range ({_range(key)})")
            return default
        return tuple(value) if key.kind == "strings" else value


def unknown_message(what: str, name: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what} {name!r}{hint} (known: {', '.join(known)})"


def _is_kind(value: object, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "strings":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if kind == "table":
        return isinstance(value, dict)
    if kind == "tables":
        return isinstance(value, list) and all(isinstance(item, dict) for item in value)
    raise ValueError(f"unknown key kind {kind!r}")


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    names = {str: "a string", int: "a whole number", float: "a number", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _range(key: Key) -> str:
    if key.minimum is not None and key.maximum is not None:
        return f"{key.minimum:g} to {key.maximum:g}"
    return f"at least {key.minimum:g}" if key.minimum is not None else f"at most {key.maximum:g}"


def check_schema(source: Source, expected: str, problems: list[Problem]) -> bool:
    """The file's `schema = "<name>/<version>"` line: False (with a problem) when it is missing or another version."""
    found = source.data.get("schema")
    if found == expected:
        return True
    name = expected.rsplit("/", 1)[0]
    if not isinstance(found, str):
        problems.append(source.problem(("schema",), f'missing: the file must start with schema = "{expected}"'))
    elif found.startswith(name + "/"):
        problems.append(source.problem(("schema",), f"version {found!r} is not supported by this mailscope (it reads {expected!r})"))
    else:
        problems.append(source.problem(("schema",), f"{found!r} is not a {name.removeprefix('mailscope.')} file (expected {expected!r})"))
    return False
