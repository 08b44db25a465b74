"""The dataclass code cache: classes made through it behave as without it, a second process compiles nothing, and a
cache file that is not trustworthy (someone else's, writable by others, a FIFO, garbage) is ignored, never fatal."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# A child process: install the cache at `path`, define dataclasses of every kind the engine uses, print how they
# behave and how many sources it compiled.
CHILD = textwrap.dedent(
    """
    import dataclasses, json, sys
    from mailscope import codecache
    if sys.argv[1] != "-":
        codecache.install(sys.argv[1])
    from dataclasses import dataclass, field

    @dataclass(frozen=True, slots=True)
    class Point:
        x: int
        y: int = 0
        tags: tuple[str, ...] = ()

    @dataclass
    class Box:
        items: list[int] = field(default_factory=list)
        label: str = "box"

        def __post_init__(self) -> None:
            self.label = self.label.upper()

    @dataclass(order=True)
    class Ranked:
        rank: int
        name: str = field(compare=False, default="")

    p = Point(1)
    try:
        p.x = 3
        frozen = False
    except dataclasses.FrozenInstanceError:
        frozen = True
    box = Box()
    box.items.append(1)
    cache = vars(dataclasses).get("exec")
    print(json.dumps({
        "repr": [repr(p), repr(Box()), repr(Ranked(2, "b"))],
        "eq": [p == Point(1, 0), p == Point(2), hash(p) == hash(Point(1)), Box() == Box()],
        "order": sorted([Ranked(3), Ranked(1), Ranked(2)]) == [Ranked(1), Ranked(2), Ranked(3)],
        "frozen": frozen,
        "factory": [box.items, Box().items, box.label],
        "init_return": dataclasses.fields(Point)[0].name,
        "annotations": {k: str(v) for k, v in Point.__init__.__annotations__.items()},
        "compiled": None if cache is None else len(cache.__self__.codes) if cache.__self__.dirty else 0,
    }))
    """
)


def _run(cache: str, env: dict[str, str] | None = None) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, cache], capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)


def _behaviour(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "compiled"}


def test_classes_behave_as_without_the_cache_and_a_second_run_compiles_nothing(tmp_path: Path) -> None:
    path = tmp_path / "mailscope" / "code.marshal"
    plain = _run("-")
    first = _run(str(path))
    second = _run(str(path))
    assert _behaviour(first) == _behaviour(second) == _behaviour(plain)
    assert plain["compiled"] is None
    assert first["compiled"] > 10  # __init__, __repr__, __eq__, __hash__, __setattr__ ... of the three classes
    assert second["compiled"] == 0
    assert plain["annotations"]["return"] == "None"  # the generated `-> None` is not turned into a string
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda p: p.write_bytes(b"\x00garbage, not marshal"), id="garbage"),
        pytest.param(lambda p: p.write_bytes(b""), id="empty"),
        pytest.param(lambda p: p.write_bytes(marshal.dumps({"def f(): pass": 1, 2: "x"})), id="wrong-types"),
        pytest.param(lambda p: p.write_bytes(marshal.dumps(["a list"])), id="not-a-dict"),
        pytest.param(lambda p: os.mkfifo(p), id="fifo"),
        pytest.param(lambda p: p.mkdir(), id="directory"),
    ],
)
def test_a_bad_cache_file_is_ignored(tmp_path: Path, spoil) -> None:  # noqa: ANN001 - a lambda
    path = tmp_path / "code.marshal"
    spoil(path)
    result = _run(str(path))
    assert _behaviour(result) == _behaviour(_run("-"))


def test_entries_that_are_not_code_are_compiled_again(tmp_path: Path) -> None:
    path = tmp_path / "code.marshal"
    _run(str(path))
    sources = marshal.loads(path.read_bytes())
    spoilt = {source: (b"\x00junk" if i % 2 else marshal.dumps(("a tuple",))) for i, source in enumerate(sources)}
    path.write_bytes(marshal.dumps(spoilt))
    result = _run(str(path))
    assert _behaviour(result) == _behaviour(_run("-"))
    assert result["compiled"] == len(sources)


def test_a_cache_others_may_write_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "code.marshal"
    _run(str(path))
    path.chmod(0o666)  # anyone could have put code in it
    assert _run(str(path))["compiled"] > 10  # read as empty: everything compiled again, then saved privately
    assert path.stat().st_mode & 0o777 == 0o600
    assert _run(str(path))["compiled"] == 0


def test_no_place_to_write_the_cache_costs_nothing_but_the_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    result = _run(str(blocker / "mailscope" / "code.marshal"))
    assert _behaviour(result) == _behaviour(_run("-"))


def test_the_cache_lives_under_xdg_cache_home_and_needs_an_absolute_one(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    probe = "from mailscope import codecache; print(codecache.default_path()); print(codecache.default_path('check'))"
    names = [f"dataclass-code.v2.{sys.implementation.cache_tag}.marshal", f"dataclass-code.v2.check.{sys.implementation.cache_tag}.marshal"]
    where = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True).stdout.split()
    assert where == [str(tmp_path / "mailscope" / name) for name in names]
    env["XDG_CACHE_HOME"] = "relative/dir"  # the XDG spec: a relative path is invalid and ignored
    where = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True).stdout.split()
    assert where == [os.path.join(os.path.expanduser("~"), ".cache", "mailscope", name) for name in names]


def test_mailscope_commands_fill_and_reuse_a_cache_of_their_own(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    tag = sys.implementation.cache_tag
    lab = ["mailscope", "lab", "list"]
    subprocess.run(lab, capture_output=True, env=env, check=True, timeout=60)
    lab_cache = tmp_path / "mailscope" / f"dataclass-code.v2.lab.{tag}.marshal"
    assert lab_cache.is_file()
    before = lab_cache.stat().st_mtime_ns
    subprocess.run(lab, capture_output=True, env=env, check=True, timeout=60)
    assert lab_cache.stat().st_mtime_ns == before  # nothing new compiled: not rewritten
    # another command fills its own file (a run reads only the code of the classes its command loads), and reuses it
    check = ["mailscope", "check", "--lab", "ms-healthy"]
    subprocess.run(check, capture_output=True, env=env, check=True, timeout=120)
    check_cache = tmp_path / "mailscope" / f"dataclass-code.v2.check.{tag}.marshal"
    assert check_cache.is_file() and lab_cache.stat().st_mtime_ns == before
    assert not (tmp_path / "mailscope" / f"dataclass-code.v2.{tag}.marshal").exists()  # the console's
    check_entries, lab_entries = (set(marshal.loads(cache.read_bytes())) for cache in (check_cache, lab_cache))
    assert any(key.startswith("<regex ") for key in check_entries - lab_entries)  # the session's patterns, for one
    before = check_cache.stat().st_mtime_ns
    subprocess.run(check, capture_output=True, env=env, check=True, timeout=120)
    assert check_cache.stat().st_mtime_ns == before


# A child process: the engine's generated functions (a report exporter, a record cleaner) built through `compiled`, with
# the cache installed at argv[1] (or none: "-"); prints what they return and how many sources this run compiled.
GENERATED = textwrap.dedent(
    """
    import json, sys
    from mailscope import codecache
    if sys.argv[1] != "-":
        codecache.install(sys.argv[1])
    from mailscope import report
    from mailscope.record import clean_deep
    from mailscope.settings import CheckSettings, SecretSource
    settings = CheckSettings(host="imap.example.test", port=993, user="a@example.test", token=SecretSource("env", "T"))
    exported = report._exported(settings, lambda text: text.replace("example", "EXAMPLE"), frozenset())
    cleaned = clean_deep(settings, lambda value, name: value, lambda text: text.replace("imap.", "IMAP."))
    code = codecache.compiled("def f():\\n    return 41 + 1\\n", "<a generated function>")
    namespace = {}
    exec(code, namespace)
    cache = codecache._installed
    print(json.dumps({
        "exported": exported, "cleaned": [cleaned.host, cleaned.user], "f": namespace["f"](), "filename": code.co_filename,
        "compiled": None if cache is None else sum(key.startswith("<") for key in cache.codes) if cache.dirty else 0,
    }))
    """
)


def test_generated_functions_work_as_compiled_plainly_and_a_second_run_compiles_none_of_them(tmp_path: Path) -> None:
    path = tmp_path / "code.marshal"
    runs = []
    for cache in ("-", str(path), str(path)):
        done = subprocess.run([sys.executable, "-c", GENERATED, cache], capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout))
    plain, first, second = runs
    assert plain["exported"]["host"] == "imap.EXAMPLE.test" and plain["cleaned"] == ["IMAP.example.test", "a@example.test"]
    assert plain["f"] == 42 and plain["filename"] == "<a generated function>"
    assert {k: v for k, v in first.items() if k != "compiled"} == {k: v for k, v in second.items() if k != "compiled"}
    assert {k: v for k, v in first.items() if k != "compiled"} == {k: v for k, v in plain.items() if k != "compiled"}
    assert plain["compiled"] is None
    assert first["compiled"] >= 3  # the settings' exporter and cleaner, and f
    assert second["compiled"] == 0


def test_a_generated_function_and_a_dataclass_method_of_the_same_source_keep_their_own_code(tmp_path: Path) -> None:
    from mailscope import codecache

    cache = codecache._CodeCache(str(tmp_path / "code.marshal"))
    source = "def f():\n    return 1\n"
    dataclass_code = cache.code(source, "<string>", source)
    generated = cache.code(source, "<generated>", f"<generated>\n{source}")
    assert (dataclass_code.co_filename, generated.co_filename) == ("<string>", "<generated>")
    assert len(cache.codes) == 2


# A child process: every fixed pattern of the engine and the providers (`patterns.lazy`, `Signature`, found in every
# module, in tuples and dicts too) compiled with the cache installed at argv[1] (or none: "-"); prints, per pattern text
# and flags, whether it equals what `re.compile` makes of it (a Pattern compares its flags and its whole program), and
# how many regex programs this run compiled.
REGEXES = textwrap.dedent(
    """
    import importlib, json, pkgutil, re, sys
    from mailscope import codecache
    if sys.argv[1] != "-":
        codecache.install(sys.argv[1])
    import mailscope, providers
    from mailscope.patterns import Signature

    def patterns(value, depth=0):
        if isinstance(value, Signature) or getattr(getattr(value, "__wrapped__", None), "__qualname__", "") == "lazy.<locals>.<lambda>":
            yield value()
        elif depth < 3 and isinstance(value, (tuple, list, dict)):
            for item in value.values() if isinstance(value, dict) else value:
                yield from patterns(item, depth + 1)

    found = {}
    for package in (mailscope, providers):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            for value in vars(importlib.import_module(info.name)).values():
                for pattern in patterns(value):
                    found[f"{pattern.flags} {pattern.pattern}"] = pattern == re.compile(pattern.pattern, pattern.flags)
    cache = codecache._installed
    print(json.dumps({
        "patterns": found,
        "compiled": None if cache is None else sum(key.startswith("<regex ") for key in cache.codes) if cache.dirty else 0,
    }))
    """
)


def _regexes(cache: str) -> dict:
    done = subprocess.run([sys.executable, "-c", REGEXES, cache], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_engine_pattern_from_the_cache_is_the_pattern_re_compile_makes_and_a_second_run_compiles_none(tmp_path: Path) -> None:
    path = tmp_path / "code.marshal"
    plain, first, second = _regexes("-"), _regexes(str(path)), _regexes(str(path))
    assert len(plain["patterns"]) > 150  # redaction, protocols, log formats, diagnosis signatures, provider rules
    assert plain["patterns"] == first["patterns"] == second["patterns"]
    assert all(first["patterns"].values())
    assert plain["compiled"] is None
    assert first["compiled"] == len(first["patterns"])
    assert second["compiled"] == 0


def test_regex_entries_that_are_not_a_usable_program_are_compiled_again(tmp_path: Path) -> None:
    path = tmp_path / "code.marshal"
    expected = _regexes(str(path))["patterns"]
    entries = marshal.loads(path.read_bytes())
    junk = [
        b"\x00junk",
        marshal.dumps(("a tuple",)),
        marshal.dumps((0, [999999], 0, {}, (None,))),  # code `_sre` refuses
        marshal.dumps((0, [-1], 0, {}, (None,))),
        marshal.dumps((0, [], 0, ["not", "a", "dict"], ())),
    ]
    regex_keys = [key for key in entries if key.startswith("<regex ")]
    spoilt = {**entries, **{key: junk[i % len(junk)] for i, key in enumerate(regex_keys)}}
    path.write_bytes(marshal.dumps(spoilt))
    result = _regexes(str(path))
    assert result["patterns"] == expected
    assert all(result["patterns"].values())
    assert result["compiled"] == len(regex_keys)


def test_a_program_is_kept_per_pattern_flags_and_python() -> None:
    import re

    from mailscope import codecache

    cache = codecache._CodeCache("/nonexistent/code.marshal")
    plain, ignoring_case = cache.regex("abc", 0), cache.regex("abc", int(re.IGNORECASE))
    assert (plain, ignoring_case) == (re.compile("abc"), re.compile("abc", re.IGNORECASE))
    assert plain != ignoring_case
    assert all(f"of Python {sys.hexversion:x}>" in key for key in cache.codes)
    assert len(cache.codes) == 2
