"""Compiled dataclass methods kept across runs, as Python keeps compiled modules in `__pycache__`.

`@dataclass` writes the source of `__init__`, `__repr__`, `__eq__`, `__hash__` and the frozen `__setattr__` of every
class and compiles it with `exec` when the module is imported: for the ~45 classes a check loads, that compilation is
a fifth of its start-up (issue 14). `install()` gives the `dataclasses` module an `exec` that compiles each distinct
source once per machine and reuses the code object from then on. Nothing else changes: the same source compiled with
the same flags is the same code, and a source never seen before is compiled as `exec` would. `compiled()` does the same
for the functions the engine generates itself (the report's exporters, the record's cleaners), and `regex()` for the
engine's fixed regular expressions: Python's regex compiler is Python code, and the ~25 patterns a check compiles cost
~20M instructions (~4 ms) of every run; the cache keeps the program it makes of each, which `_sre` takes as it is.

The cache is a marshal file under `$XDG_CACHE_HOME/mailscope/` (default `~/.cache/mailscope/`), named after the
interpreter's bytecode tag, like a .pyc. Since it is code, it is read only when it is a regular file owned by this
user that no one else may write (the trust Python gives `__pycache__`); anything else is ignored. It holds no secret,
only generated method source and its code, and the engine's own pattern texts and their programs.
"""

from __future__ import annotations

import _sre
import atexit
import builtins
import dataclasses
import marshal
import os
import re
import stat
import sys
from types import CodeType

MAX_ENTRIES = 4096  # one per distinct method source or regex in a command's file: the console's, with Textual, ~1,000
MAX_BYTES = 8 * 1024 * 1024
FORMAT = 2  # in the file name: a mailscope of another format keeps its own file instead of rewriting this one

_installed: _CodeCache | None = None  # the cache `install()` put in place, for `compiled()`


class _CodeCache:
    """Source text -> marshalled code, unmarshalled on first use (the file also holds the classes of commands this
    run does not load: the console's, Textual's); `dirty` once a source was compiled here, `used` for this run's."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.codes: dict[str, bytes] = _load(path)
        self.used: set[str] = set()
        self.dirty = False

    def exec(self, source: object, globals: dict | None = None, locals: dict | None = None, /) -> None:
        """`exec` as `dataclasses` calls it, with a string source compiled at most once."""
        if type(source) is str:
            source = self.code(source, "<string>", source)
        builtins.exec(source, globals, locals)  # type: ignore[arg-type]

    def code(self, source: str, filename: str, key: str) -> CodeType:
        """`source` compiled under `filename`, from the cache entry `key` when it holds code."""
        cached = self.codes.get(key)
        code = _unmarshalled(cached) if cached is not None else None
        if code is None:
            # dont_inherit: compile() would otherwise take this module's `from __future__ import annotations`,
            # which exec called from dataclasses.py never has (it would turn `-> _return_type` into a string)
            code = compile(source, filename, "exec", dont_inherit=True)
            self.codes[key] = marshal.dumps(code)
            self.dirty = True
        self.used.add(key)
        return code

    def regex(self, pattern: str, flags: int) -> re.Pattern[str]:
        """`re.compile(pattern, flags)`, from the cached program when there is a usable one."""
        key = f"<regex {flags} of Python {sys.hexversion:x}>\n{pattern}"  # a program is only good for the compiler that made it
        cached = self.codes.get(key)
        compiled = _from_program(pattern, cached) if cached is not None else None
        if compiled is None:
            try:
                program = _program(pattern, flags)
                compiled = _sre.compile(pattern, *program)
            except Exception:  # noqa: BLE001 - a Python whose private regex steps changed: compiled as it is, not kept
                return re.compile(pattern, flags)
            self.codes[key] = marshal.dumps(program)
            self.dirty = True
        self.used.add(key)
        return compiled

    def save(self) -> None:
        """Write when something new was compiled, atomically and private; a full cache keeps only what this run used."""
        if not self.dirty:
            return
        codes = self.codes if len(self.codes) <= MAX_ENTRIES else {s: self.codes[s] for s in self.used}
        temporary = f"{self.path}.{os.getpid()}.tmp"  # tempfile would import shutil and random: start-up time
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(handle, "wb") as out:
                    marshal.dump(codes, out)
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise
        except (OSError, ValueError):  # a read-only home, a full disk: the next run compiles again, nothing more
            return


def compiled(source: str, filename: str) -> CodeType:
    """`compile(source, filename, "exec")` for the engine's own generated functions (the report's exporters, the record's
    cleaners: a dozen per run, compiled from field names as `dataclasses` compiles `__init__`), kept in the same cache
    once `install()` ran; compiled as it is without it. The entry's key starts with the file name, which no dataclass
    source does (they start with `def`), so neither kind can take the other's code."""
    if _installed is None:
        return compile(source, filename, "exec", dont_inherit=True)
    return _installed.code(source, filename, f"{filename}\n{source}")


def regex(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """`re.compile(pattern, flags)` for the engine's fixed patterns (`mailscope.patterns`), kept in the cache once `install()`
    ran; compiled as it is without it. Never for a pattern built from input: the cache file is no place for what a user
    typed, a server sent or a secret's alphabet."""
    if _installed is None:
        return re.compile(pattern, flags)
    return _installed.regex(pattern, int(flags))


def _program(pattern: str, flags: int) -> tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]:
    """What `re.compile` hands `_sre.compile` after `pattern`: its flags, code, group count and group names (the steps of
    re._compiler.compile, which returns only the finished pattern)."""
    from re import _compiler, _parser  # the regex compiler's own steps (Python 3.11+): here, so importing this never fails

    parsed = _parser.parse(pattern, flags)
    code = [int(word) for word in _compiler._code(parsed, flags)]  # plain ints: its opcodes are named int constants
    names: list[str | None] = [None] * parsed.state.groups
    for name, index in parsed.state.groupdict.items():
        names[index] = name
    return int(flags | parsed.state.flags), code, parsed.state.groups - 1, dict(parsed.state.groupdict), tuple(names)


def _from_program(pattern: str, data: bytes) -> re.Pattern[str] | None:
    """The pattern from a cached program; None when the entry is not one (`_sre` checks the code it is given)."""
    try:
        return _sre.compile(pattern, *marshal.loads(data))
    except (EOFError, ValueError, TypeError, RuntimeError, OverflowError):
        return None


def default_path(part: str = "") -> str | None:
    """Where the cache lives; None without a cache directory to put it in (no $XDG_CACHE_HOME and no home). A `part` (a
    command's name) has a file of its own: a run reads the whole file, and the console's holds Textual's ~900 methods,
    which a `mailscope check` would read for nothing (a third of its reading of the cache, ~3M instructions)."""
    cache_home = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(cache_home):  # unset, or relative, which the XDG spec says to ignore
        cache_home = os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(cache_home):  # no home either ("~" left unexpanded)
        return None
    name = f"dataclass-code.v{FORMAT}.{f'{part}.' if part else ''}{sys.implementation.cache_tag}.marshal"
    return os.path.join(cache_home, "mailscope", name)


def _unmarshalled(data: bytes) -> CodeType | None:
    try:
        code = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    return code if type(code) is CodeType else None


def _load(path: str) -> dict[str, bytes]:
    """The cached codes, or an empty cache when the file is missing, not ours, writable by others, too big or bad."""
    try:  # O_NONBLOCK: a FIFO put where the cache belongs must not hang the start
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            info = os.fstat(handle.fileno())
            trusted = stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o022
            if not trusted or info.st_size > MAX_BYTES:
                return {}
            # loads over the whole file, not load(handle): load reads the file object once per string it holds,
            # which made reading this cache cost ~4x the instructions (~2 ms of every start)
            codes = marshal.loads(handle.read())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(codes, dict):
        return {}
    return {s: c for s, c in codes.items() if type(s) is str and type(c) is bytes}


def install(path: str | None = None, *, part: str = "") -> None:
    """Route `dataclasses`' compilation through the cache at `path` (default: `default_path(part)`) for the rest of the
    process, saved at exit. Once only."""
    if "exec" in vars(dataclasses):  # installed already (dataclasses itself never defines the name)
        return
    path = path or default_path(part)
    if path is None:
        return
    global _installed
    cache = _installed = _CodeCache(path)
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]  # found before the builtin: module globals first
    atexit.register(cache.save)
