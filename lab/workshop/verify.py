"""`lab workshop verify`: proves each exercise's grader on real labs.

Per exercise, on a fresh lab each time:
- the start: the questions answered WRONGLY (the catalogue's wrong answers, else a generated wrong value),
  every non-control criterion must FAIL (those that pass are named); the reference solution then passes
  all; `reset` (wrong answers typed again) makes the non-control criteria fail again. A staged exercise
  goes stage by stage: fails at its start, its solution passes, on to the next stage.
- each WrongFix of the exercise's catalogue, applied to a fresh start lab with its wrong answers typed
  (every other question answered right, so only the fix is judged): at least one criterion must fail.
Output reads like a test runner: one line per exercise and per wrong fix, PASS/FAIL, why, seconds."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence

from lab.workshop import session
from lab.workshop.exercise import Exercise, WrongFix
from lab.workshop.grading import Grade
from lab.workshop.live import ExerciseLab, hold, release


@dataclass
class Line:
    """One line of the report: an exercise (wrong_fix '') or one of its wrong fixes."""

    exercise: str
    wrong_fix: str
    ok: bool
    why: str
    seconds: float


@dataclass
class Report:
    lines: List[Line] = field(default_factory=list)

    @property
    def failed(self) -> List[str]:
        return sorted({ln.exercise for ln in self.lines if not ln.ok})


def wrong_value(truth: str) -> str:
    """A value that is surely not `truth` (after any normalisation a question does): its last digit
    changed (`0,20,21` -> `0,20,22`, `172.16.1.11` -> `172.16.1.12`), else a word added."""
    digits = [i for i, c in enumerate(truth) if c.isdigit()]
    if digits:
        i = digits[-1]
        return truth[:i] + str((int(truth[i]) + 1) % 10) + truth[i + 1:]
    return (truth.strip() + " not-this").strip()


def catalogue_answers(ex: Exercise) -> Dict[str, str]:
    """The first wrong answer the exercise's catalogue gives for each question key."""
    out: Dict[str, str] = {}
    for wf in ex.wrong_fixes:
        for key, value in wf.answers:
            out.setdefault(key, value)
    return out


def _stages(ex: Exercise) -> int:
    return len(ex.stages) or 1


def _type_answers(name: str, ex: Exercise, stage: int, lab: ExerciseLab, given: Dict[str, str],
                  others: Callable[[str], str]) -> None:
    """Each question of the stage answered as a student types it: `given`'s value, else others(truth)."""
    for q in ex.questions_at(stage):
        value = given.get(q.key)
        try:
            truth = q.truth(lab)
        except Exception:  # noqa: BLE001 (the lab cannot tell yet: any typed value is wrong)
            truth = None
        if value is None:
            value = "?" if truth is None else others(truth)
        elif others is wrong_value and truth is not None and q.normalize(value) == q.normalize(truth):
            # a catalogue answer that is wrong after its fix can be right at the start (global-project's NETID 0)
            value = wrong_value(truth)
        session.answer(name, q.key, value or "?")


def _passing(g: Grade, ex: Exercise, stage: int, lang: str) -> List[str]:
    """The non-control criteria (and answers) of the stage that passed."""
    control = {c.name.get(lang) or c.name["en"] for c in ex.criteria_at(stage) if c.control}
    return [r.criterion for r in g.results if r.ok and r.criterion not in control]


def _failing(g: Grade) -> List[str]:
    return [r.criterion for r in g.results if not r.ok]


@contextmanager
def built(ex: Exercise, name: str, lang: str) -> Iterator[ExerciseLab]:
    """A fresh lab of the exercise (its `lab run` options), the record written and the setup in place;
    stopped and cleaned afterwards, whatever happened."""
    import topologies
    from lab import run
    from lab.workshop.start import run_args as _run_args
    topology = topologies.load(ex.topology)
    args, model = run.from_argv(topology, _run_args(ex, name)[1:])
    net = run.start(topology, args, model, name=name)
    try:
        hold(name, topology.control_handlers(net, model))
        yield session.begin(name, ex, lang, topology.inventory(net, model))
    finally:
        release(name)
        net.stop()


def prove_start(ex: Exercise, name: str, lang: str) -> Line:
    """Start fails (non-control criteria, wrong answers), the solution passes, reset fails again; per stage."""
    t = time.monotonic()
    wrong = catalogue_answers(ex)
    problems: List[str] = []
    said: List[str] = []
    with built(ex, name, lang) as lab:
        for stage in range(_stages(ex)):
            at = f"stage {stage + 1}: " if ex.stages else ""
            _type_answers(name, ex, stage, lab, wrong, wrong_value)
            before = session.check(name, lang)
            passing = _passing(before, ex, stage, lang)
            if passing:
                problems.append(f"{at}passes at its start: {', '.join(passing)}")
            session.solve(name)
            after = session.check(name, lang)
            if not after.passed:
                problems.append(f"{at}the solution leaves failing: {', '.join(_failing(after))}")
                break
            said.append(f"{at}start {before.score}/{before.total}, solved {after.score}/{after.total}")
            if stage + 1 < _stages(ex):
                session.advance(name)
        else:
            session.reset(name)
            stage = session.current_stage(name)
            _type_answers(name, ex, stage, lab, wrong, wrong_value)
            again = session.check(name, lang)
            passing = _passing(again, ex, stage, lang)
            if passing:
                problems.append(f"after reset still passing: {', '.join(passing)}")
            said.append(f"reset {again.score}/{again.total}")
    return Line(ex.id, "", not problems, "; ".join(problems) or ", ".join(said), time.monotonic() - t)


def prove_wrong_fix(ex: Exercise, wf: WrongFix, name: str, lang: str) -> Line:
    """The wrong fix applied to a fresh start lab, its answers typed (the others right): some criterion
    of some stage must fail. A staged exercise moves on (`advance`) while a stage passes."""
    t = time.monotonic()
    given = dict(wf.answers)
    with built(ex, name, lang) as lab:
        try:
            wf.apply(lab)
        except Exception as exc:  # noqa: BLE001 (a wrong fix that cannot be applied is a catalogue bug)
            return Line(ex.id, wf.name, False, f"could not apply: {' '.join(str(exc).split())}",
                        time.monotonic() - t)
        for stage in range(_stages(ex)):
            _type_answers(name, ex, stage, lab, given, lambda truth: truth)
            g = session.check(name, lang)
            if not g.passed:
                at = f"stage {stage + 1}: " if ex.stages else ""
                first = next(r for r in g.results if not r.ok)
                return Line(ex.id, wf.name, True, f"caught ({at}{g.score}/{g.total}): FAIL {first.criterion}: "
                            f"{' '.join(first.seen.split())[:90]}", time.monotonic() - t)
            if stage + 1 < _stages(ex):
                session.advance(name)
    return Line(ex.id, wf.name, False, "NOT caught: every criterion passed", time.monotonic() - t)


def verify_exercise(ex: Exercise, name: str, lang: str = "en",
                    show: Optional[Callable[[Line], None]] = None) -> List[Line]:
    """The exercise's line, then one per wrong fix (an exercise without a catalogue fails)."""
    def run(prove: Callable[[], Line], wrong_fix: str) -> Line:
        t = time.monotonic()
        try:
            line = prove()
        except Exception as exc:  # noqa: BLE001 (a lab that did not come up, a catalogue bug: this line fails, the rest run)
            line = Line(ex.id, wrong_fix, False, " ".join(str(exc).split()) or type(exc).__name__,
                        time.monotonic() - t)
        if show:
            show(line)
        return line
    lines = [run(lambda: prove_start(ex, name, lang), "")]
    if not ex.wrong_fixes:
        lines.append(Line(ex.id, "(catalogue)", False, "no wrong fixes in the exercise's catalogue", 0.0))
        if show:
            show(lines[-1])
    for wf in ex.wrong_fixes:
        lines.append(run(lambda wf=wf: prove_wrong_fix(ex, wf, name, lang), wf.name))
    return lines


def format_line(line: Line, width: int) -> str:
    what = line.exercise + (f" ~ {line.wrong_fix}" if line.wrong_fix else "")
    return f"{'PASS' if line.ok else 'FAIL'}  {what:<{width}}  {line.seconds:5.1f} s  {line.why}"


def verify(chosen: Sequence[Exercise], name: str, lang: str = "en") -> Report:
    """Every chosen exercise, in turn, on labs named `name`; each line printed as it is known."""
    report = Report()
    width = max(len(ex.id) + max([len(f" ~ {w.name}") for w in ex.wrong_fixes] + [len(" ~ (catalogue)")]) for ex in chosen)
    total = len(chosen)
    start = time.monotonic()
    for i, ex in enumerate(chosen, 1):
        print(f"[{i}/{total}] {ex.id}", flush=True)
        report.lines += verify_exercise(ex, name, lang, lambda ln: print(format_line(ln, width), flush=True))
    failed = report.failed
    fixes = [ln for ln in report.lines if ln.wrong_fix]
    print(f"{total - len(failed)}/{total} exercises verified, {sum(ln.ok for ln in fixes)}/{len(fixes)} wrong "
          f"fixes caught, in {time.monotonic() - start:.1f} s" + (f"; failed: {' '.join(failed)}" if failed else ""),
          flush=True)
    return report


def main(chosen: Sequence[Exercise], name: str, lang: str = "en") -> int:
    """`lab workshop verify`: root, a lab name not running, signals handled (labs stopped); exit 0 or 1."""
    from lab import registry
    from lab.errors import BadInput
    from lab.requirements import require_root
    require_root()
    if any(lab["name"] == name and lab["state"] == "running" for lab in registry.labs()):
        raise BadInput(f"lab {name!r} is running; verify builds its own labs: give another --name")
    from lab.signals import SIGS, Interrupted
    SIGS.arm(name)
    try:
        return 1 if verify(chosen, name, lang).failed else 0
    except Interrupted as exc:
        SIGS.taken()
        return exc.exit_code
    finally:
        SIGS.teardown()


def ids_in(output: str) -> Dict[str, bool]:
    """What a verify run printed, per exercise: {id: passed} (tests and scripts read it back)."""
    seen: Dict[str, bool] = {}
    for m in re.finditer(r"^(PASS|FAIL)  (\S+)", output, re.M):
        seen[m.group(2)] = seen.get(m.group(2), True) and m.group(1) == "PASS"
    return seen
