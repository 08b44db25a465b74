"""`mailscope train`: exercises on lab scenarios with the diagnosis hidden until the trainee answers.

Headless (`--answer FINDING_ID`, or `--course FILE --answers FILE`) runs, scores and reveals at once, for trainers'
tooling; without an answer it asks on the terminal, line by line (the console's Exercise view, `g`, asks on screen:
tui/exercise_view.py). Every answered exercise appends one line to the results file. Exit 0: right (a course: passed); 1: wrong
(failed); 2: usage error or no answer given.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.commands.common import guarded_diagnoser, internal_error, silence_stdout

if TYPE_CHECKING:
    from mailscope.lab.scenarios import Scenario
    from mailscope.training.choices import Option
    from mailscope.training.course import Answers, Course, CourseSummary
    from mailscope.training.exercise import Exercise, Presented, Result
    from mailscope.training.scoring import Answer


class UsageError(Exception):
    """Bad options or files: message to stderr, exit 2."""


class NoAnswer(Exception):
    """The terminal closed before an answer was given: nothing is recorded."""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("train", help="exercises on lab scenarios: find the cause, the diagnosis is hidden until you answer",
                              description="Run a lab scenario with its diagnosis hidden; answer the cause, who must fix it and "
                                          "the fix; get a score and the reveal. Without --answer it asks on the terminal.")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--scenario", metavar="ID", help="a scenario id or a scenario file (default: one drawn at random)")
    what.add_argument("--course", metavar="FILE", help="a course file (mailscope.course/1): its scenarios in order")
    p.add_argument("--lab-dir", action="append", default=[], metavar="DIR", help="a directory of scenario files (repeatable)")
    headless = p.add_argument_group("headless answer")
    headless.add_argument("--answer", metavar="FINDING_ID", help="the cause, as a finding id (docs/findings.md)")
    headless.add_argument("--owner", help="who must fix it: user, tenant admin, app registration, client configuration, server, network")
    headless.add_argument("--fix", metavar="FINDING_ID", help="the fix chosen, named by the finding id it belongs to")
    headless.add_argument("--hints", type=int, default=0, metavar="N", help="hints taken (each costs its share of the point)")
    headless.add_argument("--answers", metavar="FILE", help="with --course: the answers (mailscope.answers/1)")
    p.add_argument("--trainee", default="", metavar="NAME", help="name recorded with the results")
    p.add_argument("--results", metavar="FILE", help="JSON Lines file the results are appended to "
                                                     "(default $XDG_DATA_HOME/mailscope/training/results.jsonl)")
    p.add_argument("--seed", type=int, metavar="N", help="fixes the draw and the order of the answer lists")
    p.add_argument("--json", action="store_true", help="headless: print the result with its reveal as JSON")


def run(args: argparse.Namespace) -> int:
    from mailscope.datafile import DataFileError
    from mailscope.redact import escape_controls

    try:
        return _run(args)
    except (UsageError, LookupError, ValueError) as exc:
        problems = exc.problems if isinstance(exc, DataFileError) else (exc,)
        print("\n".join(escape_controls(f"mailscope train: error: {problem}") for problem in problems), file=sys.stderr)
        return 2
    except NoAnswer:
        print("mailscope train: no answer given: nothing recorded", file=sys.stderr)
        return 2
    except BrokenPipeError:
        silence_stdout()
        return 1
    except Exception as exc:  # a bug of ours: one clear line, never a traceback
        return internal_error("train", exc)


def _run(args: argparse.Namespace) -> int:
    from mailscope.training.results import default_results_file
    from mailscope.training.scoring import Answer

    results = Path(args.results) if args.results else default_results_file()
    if args.course:
        from mailscope.training.course import load_answers, load_course

        if args.answer or args.owner or args.fix:
            raise UsageError("--answer/--owner/--fix answer one scenario; a course takes --answers FILE")
        course = load_course(args.course)
        scenarios = course.scenarios(args.lab_dir)
        answers = load_answers(args.answers) if args.answers else None
        if answers is None and args.json:
            raise UsageError("--json goes with --answers (without them, train asks on the terminal)")
        return _course(args, course, scenarios, answers, results)
    if args.answers:
        raise UsageError("--answers goes with --course")
    chosen = _draw(args)
    if args.answer is None:
        if args.owner or args.fix or args.hints or args.json:
            raise UsageError("--owner, --fix, --hints and --json go with --answer (without it, train asks on the terminal)")
        return 0 if _interactive(args, chosen, results, course=None).score.cause_right else 1
    result = _headless(args, chosen, Answer(args.answer, args.owner, args.fix), args.hints, results, course=None, trainee=args.trainee)
    _print_result(args, result)
    return 0 if result.score.cause_right else 1


def _draw(args: argparse.Namespace) -> Scenario:
    import random

    from mailscope.lab.scenarios import available, scenario

    if args.scenario:
        return scenario(args.scenario, args.lab_dir)
    pool = available(args.lab_dir)
    return (random.Random(args.seed) if args.seed is not None else random.SystemRandom()).choice(pool)


# -- running one exercise -----------------------------------------------------------------------------
def _exercise(args: argparse.Namespace, scenario: Scenario) -> Exercise:
    import asyncio

    from mailscope.training.exercise import Exercise
    from providers.registry import token_source_for

    exercise = Exercise(scenario, seed=args.seed)

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)  # never a traceback on screen
        await exercise.run(token_source_for, guarded_diagnoser())

    asyncio.run(main())
    return exercise


def _headless(args: argparse.Namespace, scenario: Scenario, answer: Answer, hints: int, results: Path, *, course: str | None,
              trainee: str) -> Result:
    from mailscope.diagnosis.catalogue import CATALOGUE

    for name, value in (("--answer", answer.cause), ("--fix", answer.fix)):
        if value is not None and value not in CATALOGUE:
            raise UsageError(f"{name} {value!r} is not a finding id (docs/findings.md lists them)")
    if not 0 <= hints <= len(scenario.hints):
        raise UsageError(f"--hints {hints}: scenario {scenario.id} has {len(scenario.hints)} hint(s)")
    exercise = _exercise(args, scenario)
    exercise.take_hints(hints)
    return _record(exercise.answer(answer, trainee=trainee), results, course)


def _record(result: Result, results: Path, course: str | None) -> Result:
    from mailscope.redact import escape_controls
    from mailscope.training.results import append, result_line

    try:
        append(results, result_line(result, course=course))
    except OSError as exc:  # mailscope.localfile's NotRegularFile too (a FIFO)
        reason = exc.strerror or f"it {exc}"
        print(escape_controls(f"mailscope train: warning: cannot append to {results}: {reason}"), file=sys.stderr)
    return result


def _course(args: argparse.Namespace, course: Course, scenarios: tuple[Scenario, ...], answers: Answers | None, results: Path) -> int:
    from mailscope.training.course import CourseSummary
    from mailscope.training.results import result_json

    if answers is not None:
        missing = [s.id for s in scenarios if s.id not in answers.by_scenario]
        if missing:
            raise UsageError(f"{answers.source} has no answer for {', '.join(missing)}")
        for s in scenarios:  # checked before any exercise runs, so a bad answers file records nothing
            if answers.by_scenario[s.id][1] > len(s.hints):
                raise UsageError(f"{answers.source}: {answers.by_scenario[s.id][1]} hints for {s.id}, which has {len(s.hints)}")
    done: list[Result] = []
    for number, scenario in enumerate(scenarios, start=1):
        if answers is None:
            print(f"\n== {course.title}: exercise {number} of {len(scenarios)} ==")
            done.append(_interactive(args, scenario, results, course=course.title))
        else:
            answer, hints = answers.by_scenario[scenario.id]
            done.append(_headless(args, scenario, answer, hints, results, course=course.title, trainee=args.trainee or answers.trainee))
    summary = CourseSummary(course, tuple((r.scenario, r.score.value) for r in done))
    if args.json and answers is not None:
        print(json.dumps({"schema": "mailscope.training-course/1", "course": course.title, "pass_mark": course.pass_mark,
                          "average": summary.average, "passed": summary.passed,
                          "results": [result_json(r, course=course.title) for r in done]}, indent=2))
    else:
        if answers is not None:
            for result in done:
                print(render_result(result))
        print(render_summary(summary))
    return 0 if summary.passed else 1


def _print_result(args: argparse.Namespace, result: Result) -> None:
    from mailscope.training.results import result_json

    print(json.dumps(result_json(result), indent=2) if args.json else render_result(result))


# -- the line prompt ----------------------------------------------------------------------------------
def _interactive(args: argparse.Namespace, scenario: Scenario, results: Path, *, course: str | None) -> Result:
    """Show the session (concealed), ask cause, owner and fix on stdin, then score, reveal and record."""
    from mailscope.training.scoring import Answer

    print("Preparing the exercise in the lab ...", flush=True)
    exercise = _exercise(args, scenario)
    print(render_presented(exercise.presented))
    form = exercise.form
    cause = _ask("What is the cause?", form.causes, exercise)
    owner = fix = None
    if form.asks_owner_and_fix:
        owner = _ask("Who must fix it?", form.owners, exercise)
        fix = _ask("Which fix?", form.fixes, exercise)
    result = _record(exercise.answer(Answer(cause, owner, fix), trainee=args.trainee), results, course)
    print(render_result(result))
    print(f"\nResult appended to {results}")
    return result


def _ask(question: str, options: tuple[Option, ...], exercise: Exercise) -> str:
    print(f"\n{question}")
    for number, option in enumerate(options, start=1):
        print(f"  {number}. {option.text}")
    while True:
        left = exercise.hints_left
        more = f"; h for a hint, {left} left, the next costs {exercise.scenario.hints[exercise.hints_taken].cost:g}" if left else ""
        try:
            text = input(f"Your choice (1-{len(options)}{more}): ").strip().lower()
        except EOFError:
            raise NoAnswer from None
        if text == "h" and left:
            hint = exercise.take_hint()
            assert hint is not None
            print(f"  Hint: {hint.text}")
        elif text.isdigit() and 1 <= int(text) <= len(options):
            return options[int(text) - 1].id
        else:
            print(f"  Type a number from 1 to {len(options)}" + (" or h." if left else "."))


# -- rendering ------------------------------------------------------------------------------------------
_PREFIX = {"client": "C:", "server": "S:", "info": "* "}
_CLAIMS = ("aud", "scp", "roles", "upn", "preferred_username", "unique_name", "idtyp", "appid", "oid", "tid", "iss", "ver", "exp")


def render_presented(presented: Presented) -> str:
    from mailscope.diagnosis.timing import stamp

    out = [f"\n== Exercise: {presented.heading} ==", "Read the session, the token and the settings; the diagnosis is hidden.", ""]
    for line in presented.lines:
        channel = "" if line.channel.value == "imap" else f"[{line.channel.value}] "
        note = f"    [{'; '.join(line.annotations)}]" if line.annotations else ""
        out.append(f"{line.seq:>3} {_PREFIX[line.direction.value]} {channel}{line.text}{note}")
    token = presented.token
    out += ["", "Token:"]
    if token is None or token.kind == "none":
        out.append("  none was issued")
    else:
        out.append(f"  {token.kind} ({token.shape}), {token.length} chars, from {token.source or 'unknown'} ({token.flow})")
        for name in _CLAIMS:
            if name in token.claims:
                value = token.claims[name]
                shown = stamp(value) if name == "exp" and isinstance(value, int | float) else value
                out.append(f"  {name}: {' '.join(map(str, shown)) if isinstance(shown, list) else shown}")
        if token.granted_scopes is not None:
            out.append(f"  granted scope: {' '.join(token.granted_scopes)}")
        if token.error:
            out.append(f"  token endpoint error: {json.dumps(token.error, ensure_ascii=False)}")
    settings = presented.settings
    if settings is not None:
        out += ["", "Settings the user typed:"]
        for name in ("protocol", "security", "user", "mechanism", "sasl_ir", "provider", "flow", "client_id", "tenant", "scopes",
                     "subject"):
            value = getattr(settings, name)
            if value not in ("", (), None):
                out.append(f"  {name}: {' '.join(value) if isinstance(value, tuple) else value}")
    outcome = presented.outcome
    out += ["", f"Outcome: {outcome.kind}: {outcome.summary}" if outcome else "Outcome: the session did not finish"]
    return "\n".join(out)


def render_result(result: Result) -> str:
    score, reveal, answer = result.score, result.reveal, result.answer
    verdict = {True: "right", False: "wrong", None: "not answered"}
    out = ["", f"== Reveal: {result.scenario} ({result.title}) ==",
           f"Your cause: {answer.cause}: {verdict[score.cause_right]}"]
    if result.right.owner is not None:
        out.append(f"Your owner: {answer.owner or '-'}: {verdict[score.owner_right]}")
        out.append(f"Your fix: {answer.fix or '-'}: {verdict[score.fix_right]}")
    out.append(f"Score: {score.value:g}" + (f" (hints: {result.hints}, costing {score.hint_cost:g})" if result.hints else ""))
    out += ["", f"The cause: {reveal.title} [{reveal.finding_id}]", f"  owner: {reveal.owner}"]
    if reveal.explanation:
        out.append(f"  why: {reveal.explanation}")
    out += [f"  fix: {step}" for step in reveal.fix]
    if reveal.ranked_first and reveal.ranked_first != reveal.finding_id:
        out.append(f"  note: mailscope's diagnosis ranked {reveal.ranked_first} first; the scenario expects {reveal.finding_id}")
    if reveal.decisive_lines:
        out += ["", "Decisive lines:"]
        for line in reveal.decisive_lines:
            out.append(f"  {line.seq:>3} {_PREFIX.get(line.direction, '  ')} {line.text}")
            if line.explanation:
                out.append(f"        {line.explanation}")
    if reveal.evidence:
        out += ["", "Evidence:", *(f"  {item}" for item in reveal.evidence)]
    out += ["", f"Teaching note: {reveal.teaching}"]
    if reveal.wrong_choices:
        out += ["", "Why the other choices were wrong:"]
        for choice in reveal.wrong_choices:
            out.append(f"  {'x (your choice)' if choice.chosen else '-'} {choice.choice} [{choice.id}]")
            if choice.tell:
                out.append(f"      would have shown: {choice.tell}")
            out += [f"      here: {item}" for item in choice.here]
            if choice.note:
                out.append(f"      {choice.note}")
    return "\n".join(out)


def render_summary(summary: CourseSummary) -> str:
    course = summary.course
    out = ["", f"== Course: {course.title} ==", *(f"  {scenario:<40} {value:g}" for scenario, value in summary.scores),
           f"Average {summary.average:g} (pass mark {course.pass_mark:g}): {'passed' if summary.passed else 'not passed'}"]
    return "\n".join(out)
