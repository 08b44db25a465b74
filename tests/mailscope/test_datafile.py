"""mailscope.datafile: where keys are written (lines for error messages), reading files that are not TOML or too
big, and checking a table against declared keys (every problem collected, near misses suggested)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailscope.datafile import MAX_FILE_BYTES, DataFileError, Key, Table, locate_keys, read

TEXT = '''\
# a comment
schema = "x/1"
title = """\\
two lines; a fake key below is text:
id = "not a key"
"""
id = "real"
dotted.key = 1
"quoted key" = 2

[client]
flow = "device_code"
inline = { a = 1, b = 2 }

[microsoft.mailbox."alice"]
pop_enabled = false

[[hint]]
text = "first"

[[hint]]
text = "second"
cost = 0.3
'''


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("schema",), 2),
        (("title",), 3),
        (("id",), 7),
        (("dotted", "key"), 8),
        (("quoted key",), 9),
        (("client",), 11),
        (("client", "flow"), 12),
        (("client", "inline"), 13),
        (("microsoft", "mailbox", "alice"), 15),
        (("microsoft", "mailbox", "alice", "pop_enabled"), 16),
        (("hint",), 18),
        (("hint", 0), 18),
        (("hint", 0, "text"), 19),
        (("hint", 1), 21),
        (("hint", 1, "cost"), 23),
    ],
)
def test_locate_keys(path: tuple, line: int) -> None:
    assert locate_keys(TEXT)[path] == line


def test_a_key_inside_an_inline_table_takes_its_parents_line(tmp_path: Path) -> None:
    file = tmp_path / "f.toml"
    file.write_text(TEXT, encoding="utf-8")
    source = read(file)
    assert source.line_of(("client", "inline", "a")) == 13
    assert source.line_of(("nowhere",)) is None
    assert source.problem(("hint", 1, "cost"), "too dear").__str__() == f"{file}:23: hint[1].cost: too dear"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'id = "a"\nid = "b"\n', ":2: not valid TOML: Cannot overwrite a value"),
        (b'title = "unterminated\n', ":1: not valid TOML"),
        (b"\xff\xfe not utf-8", ": not UTF-8 text"),
        (b"x" * (MAX_FILE_BYTES + 1), f": larger than {MAX_FILE_BYTES} bytes"),
    ],
)
def test_unreadable_files_are_one_clear_problem(tmp_path: Path, content: bytes, expected: str) -> None:
    file = tmp_path / "bad.toml"
    file.write_bytes(content)
    with pytest.raises(DataFileError) as caught:
        read(file)
    assert len(caught.value.problems) == 1
    assert str(caught.value).startswith(str(file)) and expected in str(caught.value)


def test_a_fifo_is_refused_at_once_and_deep_nesting_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    for file, expected in ((fifo, "not a regular file but a FIFO"), (deep, "nested too deeply")):
        with pytest.raises(DataFileError, match=expected):
            read(file)


def test_a_token_pasted_into_a_file_is_not_repeated_by_its_problem(tmp_path: Path) -> None:
    token = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlLmNvbSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    file = tmp_path / "t.toml"
    file.write_text(f'colour = "{token}"\n', encoding="utf-8")
    problems: list = []
    Table(read(file), (), read(file).data, (Key("colour", "str", "a colour", choices=("red",)),), problems).get("colour")
    assert problems and token not in str(problems[0]) and "<jwt " in str(problems[0])


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="cannot read: No such file or directory"):
        read(tmp_path / "absent.toml")


def test_table_collects_every_problem_and_suggests(tmp_path: Path) -> None:
    file = tmp_path / "t.toml"
    file.write_text('colour = "red"\nsize = "big"\nkind = "circel"\nratio = 2.5\n', encoding="utf-8")
    source = read(file)
    problems: list = []
    keys = (
        Key("color", "str", "a colour"),
        Key("size", "int", "how big"),
        Key("kind", "str", "a shape", choices=("circle", "square")),
        Key("ratio", "number", "a share", maximum=1),
        Key("name", "str", "its name", required=True),
    )
    table = Table(source, (), source.data, keys, problems)
    assert table.get("size", 7) == 7 and table.get("kind") is None and table.get("ratio") is None
    assert [str(p) for p in problems] == [
        f"{file}:1: colour: unknown key 'colour'; did you mean 'color'? (known: color, size, kind, ratio, name)",
        f"{file}: name: required: its name",
        f"{file}:2: size: must be a whole number, not a string",
        f"{file}:3: kind: 'circel' is not one of: circle, square (did you mean 'circle'?)",
        f"{file}:4: ratio: 2.5 is out of range (at most 1)",
    ]
