"""`lab workshop list | start | check | answer | solve | verify`."""

from __future__ import annotations

import argparse
from typing import List, Sequence

from lab import outfile, paths
from lab.errors import BadInput
from lab.table import format_table
from lab.workshop import session
from lab.workshop.catalogue import CATALOGUE, exercise
from lab.workshop.grading import Grade, format_grade, heading, write_json, write_junit
from lab.workshop.start import StartHooks, run_args, running_labs
from lab.workshop.usage import USAGE, parser

# the names the verbs' modules and tests used before usage.py and start.py existed
_parser, _run_args, _workshop_labs = parser, run_args, running_labs

def cmd_list(argv: List[str]) -> int:
    a = _parser("list").parse_args(argv)
    lang = a.lang or "en"
    rows = [[e.id, e.text("title", lang), e.topology, e.minutes] for e in CATALOGUE.values()]
    heads = ["ID", "TITLE", "TOPOLOGY", "MINUTES"] if lang == "en" else ["编号", "标题", "拓扑", "分钟"]
    print(format_table(heads, rows))
    return 0


def cmd_start(argv: List[str]) -> int:
    p = _parser("start")
    p.add_argument("exercise")
    p.add_argument("--script", metavar="FILE", help="run CLI commands from FILE (task, hint, answer, check...), then stop")
    a = p.parse_args(argv)
    ex = exercise(a.exercise)
    paths.check_name(a.name)
    from lab.front.runner import run_lab
    return run_lab(_run_args(ex, a.name) + (["--script", a.script] if a.script else []),
                   hooks=StartHooks(ex, a.lang or "en"))


def cmd_check(argv: List[str]) -> int:
    p = _parser("check")
    p.add_argument("--all", action="store_true", help="every running workshop lab on this machine")
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--junit", metavar="FILE")
    a = p.parse_args(argv)
    for path, flag in ((a.json, "--json"), (a.junit, "--junit")):
        if path is not None:
            outfile.check_file(path, flag)
    from lab.requirements import require_root
    require_root()
    names = _workshop_labs() if a.all else [paths.check_name(a.name)]
    if a.all and not names:
        raise BadInput("no workshop lab runs on this machine (`lab workshop start EX --name LAB`)")
    grades: List[Grade] = []
    for name in names:
        try:
            g = session.check(name, a.lang or "")
        except BadInput:
            if a.all:  # the lab stopped since it was listed
                continue
            raise
        grades.append(g)
        print(f"{heading(g)}\n{format_grade(g)}")  # format_grade names the stage
    if a.json:
        write_json(grades, a.json)
    if a.junit:
        write_junit(grades, a.junit)
    return 0 if all(g.passed for g in grades) else 1


def cmd_answer(argv: List[str]) -> int:
    p = _parser("answer")
    p.add_argument("question")
    p.add_argument("value", nargs="+")
    a = p.parse_args(argv)
    from lab.requirements import require_root
    require_root()
    print(session.answer(paths.check_name(a.name), a.question, " ".join(a.value)))
    return 0


def cmd_solve(argv: List[str]) -> int:
    p = _parser("solve")
    p.add_argument("exercise")
    a = p.parse_args(argv)
    ex = exercise(a.exercise)
    from lab.requirements import require_root
    require_root()
    lab, running = session.opened(paths.check_name(a.name))
    if running.id != ex.id:
        raise BadInput(session.say(lab.record.get("lang", "en"), "other-exercise", lab=a.name, ex=running.id, asked=ex.id))
    print(session.solve(a.name, via="shell"))  # recorded in the lab's journal, shown by check
    return 0


def cmd_reset(argv: List[str]) -> int:
    p = _parser("reset")
    p.add_argument("--stage", type=int, default=None, metavar="N", help="back to the start of stage N (one reached)")
    a = p.parse_args(argv)
    from lab.requirements import require_root
    require_root()
    session.opened(paths.check_name(a.name))  # one clear line when the lab runs no exercise
    out = session.reset(a.name, a.stage, via="shell")
    print(out)
    return 0 if "\n" not in out else 1  # more lines: something could not be put back


def cmd_stage(argv: List[str]) -> int:
    """`lab workshop stage [--name LAB] [next]`: the lab's current stage, or on to the next one."""
    p = _parser("stage")
    p.add_argument("next", nargs="?", choices=["next"])
    a = p.parse_args(argv)
    from lab.requirements import require_root
    require_root()
    session.opened(paths.check_name(a.name))
    print(session.advance(a.name, via="shell") if a.next else session.stage_text(a.name))
    return 0


def cmd_verify(argv: List[str]) -> int:
    """Each exercise's grader proven on real labs (lab.workshop.verify)."""
    p = _parser("verify")
    p.add_argument("exercises", nargs="*")
    p.add_argument("--reset", action="store_true", help=argparse.SUPPRESS)  # always done now; kept for old scripts
    a = p.parse_args(argv)
    chosen = [exercise(e) for e in a.exercises] if a.exercises else list(CATALOGUE.values())
    paths.check_name(a.name)
    from lab.workshop import verify
    return verify.main(chosen, a.name, a.lang or "en")


def cmd_handout(argv: List[str]) -> int:
    from lab.workshop.handout import cmd_handout as handout
    return handout(argv)


def cmd_report(argv: List[str]) -> int:
    from lab.workshop.report import cmd_report as report
    return report(argv)


def cmd_course(argv: List[str]) -> int:
    from lab.workshop.course import cmd_course as course
    return course(argv)


def cmd_serve(argv: List[str]) -> int:
    from lab.workshop.course import cmd_serve as serve
    return serve(argv)


def cmd_task(argv: List[str]) -> int:
    from lab.workshop.course import cmd_task as task
    return task(argv)


def cmd_hint(argv: List[str]) -> int:
    from lab.workshop.course import cmd_hint as hint
    return hint(argv)


VERBS = {"handout": cmd_handout, "list": cmd_list, "start": cmd_start, "check": cmd_check, "answer": cmd_answer, "solve": cmd_solve,
         "reset": cmd_reset, "stage": cmd_stage, "verify": cmd_verify, "report": cmd_report, "course": cmd_course,
         "serve": cmd_serve, "task": cmd_task, "hint": cmd_hint}


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {USAGE}")
        return 0 if argv else 2
    if argv[0] not in VERBS:
        raise BadInput(f"unknown workshop command {argv[0]!r} (usage: {USAGE})")
    return VERBS[argv[0]](argv[1:])
