"""Where scenarios come from: the built-ins (package data, `builtin/*.toml`, in file-name order) and a trainer's own
directories or files, all read by the same parser. Ids are unique across everything in use."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mailscope.datafile import DataFileError, Problem, load, read
from mailscope.lab.scenarios.model import Scenario
from mailscope.lab.scenarios.schema import SCHEMA, parse

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


def load_file(path: str | Path) -> Scenario:
    """One scenario file; DataFileError listing every problem it has."""
    return load(path, parse)


def load_dir(directory: str | Path) -> tuple[Scenario, ...]:
    """Every scenario file (`*.toml` whose schema is a scenario's) in a directory, in file-name order; other TOML files
    there (a course) are left alone. DataFileError with the problems of all its files and any duplicate id."""
    scenarios, problems = _read_dir(Path(directory))
    problems += duplicate_ids(scenarios)
    if problems:
        raise DataFileError(problems)
    return scenarios


def _read_dir(folder: Path) -> tuple[tuple[Scenario, ...], list[Problem]]:
    if not folder.is_dir():
        return (), [Problem(str(folder), None, "", "not a directory")]
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.toml")):
        try:
            source = read(path)
        except DataFileError as exc:
            problems += exc.problems
            continue
        schema = source.data.get("schema")
        if isinstance(schema, str) and schema.startswith("mailscope.") and not schema.startswith(SCHEMA.split("/")[0] + "/"):
            continue  # a course or answers file next to the scenarios
        scenario, found = parse(source)
        problems += found
        if scenario is not None:
            scenarios.append(scenario)
    return tuple(scenarios), problems


def duplicate_ids(scenarios: Iterable[Scenario]) -> list[Problem]:
    """A problem for each scenario whose id an earlier one (from another file) already has."""
    seen: dict[str, Scenario] = {}
    problems = []
    for scenario in scenarios:
        first = seen.setdefault(scenario.id, scenario)
        if Path(first.source).resolve() != Path(scenario.source).resolve():
            where = "a built-in scenario" if Path(first.source).parent == BUILTIN_DIR else first.source
            problems.append(Problem(scenario.source, None, "id", f"{scenario.id!r} is already the id of {where}"))
    return problems


SCENARIOS: tuple[Scenario, ...] = load_dir(BUILTIN_DIR)


def available(dirs: Iterable[str | Path] = ()) -> tuple[Scenario, ...]:
    """The built-ins, then the scenarios of each directory; DataFileError for a bad file or an id used twice."""
    found = [*SCENARIOS]
    problems: list[Problem] = []
    for directory in dirs:
        scenarios, read_problems = _read_dir(Path(directory))
        found += scenarios
        problems += read_problems
    problems += duplicate_ids(found)
    if problems:
        raise DataFileError(problems)
    return tuple(found)


def scenario(scenario_id: str, dirs: Iterable[str | Path] = ()) -> Scenario:
    """The scenario with this id (a built-in or one in `dirs`), or the scenario file at this path (`*.toml`).
    LookupError (listing the ids) when there is none; DataFileError when a file in the way is invalid."""
    if scenario_id.endswith(".toml") and Path(scenario_id).is_file():
        return load_file(scenario_id)
    candidates = available(dirs)
    for candidate in candidates:
        if candidate.id == scenario_id:
            return candidate
    raise LookupError(f"unknown lab scenario {scenario_id!r}; known: {', '.join(s.id for s in candidates)}")
