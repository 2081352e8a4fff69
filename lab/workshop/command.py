"""`lab workshop list | start | check | answer | solve | verify`."""

from __future__ import annotations

import argparse
import os
import time
from typing import List, Sequence

from lab import outfile, paths
from lab.errors import BadInput, LabError
from lab.table import format_table
from lab.workshop import session
from lab.workshop.catalogue import CATALOGUE, exercise
from lab.workshop.exercise import LANGS, Exercise
from lab.workshop.grading import Grade, Result, format_grade, heading, write_json, write_junit
from lab.workshop.live import hold, release

USAGE = ("lab workshop list [--lang en|zh] | start EX [--name LAB] [--lang en|zh] [--script FILE] "
         "| check [--name LAB | --all] [--json FILE] [--junit FILE] | answer [--name LAB] Q VALUE "
         "| solve EX [--name LAB] | reset [--name LAB] [--stage N] | stage [--name LAB] [next] | verify [EX...] [--name LAB] [--reset] | handout [EX...] [--lang en|zh] -o DIR")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise BadInput(f"{message} (usage: {USAGE})")


def _parser(verb: str) -> _Parser:
    p = _Parser(prog=f"lab workshop {verb}", add_help=False)
    p.add_argument("--lang", choices=LANGS, default=None)
    if verb != "list":
        p.add_argument("--name", default=paths.lab_name())
    return p


def cmd_list(argv: List[str]) -> int:
    a = _parser("list").parse_args(argv)
    lang = a.lang or "en"
    rows = [[e.id, e.text("title", lang), e.topology, e.minutes] for e in CATALOGUE.values()]
    print(format_table(["ID", "TITLE", "TOPOLOGY", "MINUTES"], rows))
    return 0


class StartHooks:
    """What `lab run` does for an exercise: after the build, the record and the setup; then the task;
    the CLI gets the workshop verbs."""

    def __init__(self, ex: Exercise, lang: str):
        self.ex, self.lang = ex, lang

    def after_build(self, net, topology, model) -> None:
        hold(net.name, topology.control_handlers(net, model))  # the exercise's `oc` steps apply here
        session.begin(net.name, self.ex, self.lang, topology.inventory(net, model))
        print("\n" + session.task_text(self.ex, self.lang, net.name), flush=True)

    def verbs(self, net) -> dict:
        return session.cli_verbs(net.name)


def _run_args(ex: Exercise, name: str) -> List[str]:
    argv = [ex.topology, *ex.run_args, "--name", name]
    if ex.datapaths != ("system", "netdev"):
        argv += ["--datapath", ex.datapaths[0]]
    return argv


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


def _workshop_labs() -> List[str]:
    from lab import registry
    from lab.workshop.live import read_record
    return [lab["name"] for lab in registry.labs() if lab["state"] == "running" and read_record(lab["name"])]


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


def verify_one(ex: Exercise, name: str, lang: str = "en", reset: bool = False) -> tuple:
    """Start the exercise's lab without a terminal, check (must fail: the task needs action), solve,
    check (must pass), [reset, check (must fail again)], stop. Returns (ok, before, after, seconds)."""
    import topologies
    from lab import run
    start = time.monotonic()
    topology = topologies.load(ex.topology)
    args, model = run.from_argv(topology, _run_args(ex, name)[1:])
    net = run.start(topology, args, model, name=name)
    try:
        hold(name, topology.control_handlers(net, model))
        session.begin(name, ex, lang, topology.inventory(net, model))
        before = session.check(name, lang)
        session.solve(name)
        after = session.check(name, lang)
        again_ok = True
        if reset and after.passed:
            session.reset(name)
            again = session.check(name, lang)
            again_ok = not again.passed
            if not again_ok:
                after = Grade(after.lab, after.exercise, after.results
                              + [Result("reset puts the task back", False, "check passed right after reset")])
    finally:
        release(name)
        net.stop()
    return (not before.passed and after.passed and again_ok), before, after, time.monotonic() - start


def cmd_verify(argv: List[str]) -> int:
    p = _parser("verify")
    p.add_argument("exercises", nargs="*")
    p.add_argument("--reset", action="store_true", help="also: after the solution, `reset` must make check fail again")
    a = p.parse_args(argv)
    chosen = [exercise(e) for e in a.exercises] if a.exercises else list(CATALOGUE.values())
    paths.check_name(a.name)
    from lab.requirements import require_root
    require_root()
    from lab import registry
    if any(lab["name"] == a.name and lab["state"] == "running" for lab in registry.labs()):
        raise BadInput(f"lab {a.name!r} is running; verify builds its own labs: give another --name")
    from lab.signals import SIGS, Interrupted
    SIGS.arm(a.name)
    total, failed = time.monotonic(), []
    w = max(len(ex.id) for ex in chosen)  # the results line up
    try:
        for ex in chosen:
            try:
                ok, before, after, seconds = verify_one(ex, a.name, a.lang or "en", a.reset)
            except LabError as exc:  # the lab did not come up or the setup failed: this exercise fails, the rest run
                print(f"FAIL  {ex.id:<{w}} {' '.join(str(exc).split())}", flush=True)
                failed.append(ex.id)
                continue
            print(f"{'PASS' if ok else 'FAIL'}  {ex.id:<{w}} before solve {before.score}/{before.total}, "
                  f"after {after.score}/{after.total}   {seconds:.1f} s", flush=True)
            if not ok:
                failed.append(ex.id)
                if before.passed:
                    print("  check passed before any action: the exercise needs no work\n" + format_grade(before))
                if not after.passed:
                    print(format_grade(after))
    except Interrupted as exc:
        SIGS.taken()
        return exc.exit_code
    finally:
        SIGS.teardown()
    print(f"{len(chosen) - len(failed)}/{len(chosen)} exercises verified in {time.monotonic() - total:.1f} s"
          + (f"; failed: {' '.join(failed)}" if failed else ""))
    return 0 if not failed else 1


def handout(ex: Exercise, lang: str, picture: str) -> str:
    """The exercise as a Markdown page for students: the lab's picture, the task, the questions, the
    hints folded away, and how to start and check it."""
    qs = [f"- `answer {q.key} VALUE`: {q.text.get(lang) or q.text['en']}" for q in ex.questions]
    def fill(t: str) -> str:  # the lab's directory, for any lab name
        return t.replace("{lab_dir}", os.path.join(paths.RUN_DIR, "<lab name>"))
    hs = [f"{i}. {fill(h)}" for i, h in enumerate(ex.hint_list(lang), 1)]
    heads = {"en": ("Task", "Questions", "Hints", "Start and check"), "zh": ("任务", "问题", "提示", "开始与检查")}[lang]
    return "\n".join([
        f"# {ex.text('title', lang)}", "", f"`{ex.id}` · {ex.topology} · ~{ex.minutes} min", "",
        f"![{ex.topology}]({os.path.basename(picture)})", "", f"## {heads[0]}", "",
        fill(ex.text("task", lang)), "",
        *([f"## {heads[1]}", "", *qs, ""] if qs else []),
        f"## {heads[2]}", "", "<details>", "", *hs, "", "</details>", "",
        f"## {heads[3]}", "", "```sh", f"sudo lab workshop start {ex.id} --name <your name>"
        + ("" if lang == "en" else " --lang zh"),
        "sdnlab> task | hint | answer Q VALUE | check | reset",
        "sudo lab workshop check --name <your name>       # from another shell", "```", ""])


def _handout_dir(directory: str) -> str:
    """-o DIR: made if missing (under a writable directory on a real filesystem), before any work."""
    parent = os.path.abspath(directory)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    outfile.check_dir(parent, shown=directory)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"-o {directory}: {exc.strerror or exc}") from None
    return outfile.check_dir(directory)


def cmd_handout(argv: List[str]) -> int:
    p = _parser("list")
    p.add_argument("exercises", nargs="*")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="where EX.md and EX.svg go")
    a = p.parse_args(argv)
    chosen = [exercise(e) for e in a.exercises] if a.exercises else list(CATALOGUE.values())
    import topologies
    from lab import planes, run
    from lab.front import draw
    outdir = _handout_dir(a.output)
    for ex in chosen:
        topology = topologies.load(ex.topology)
        _args, model = run.from_argv(topology, _run_args(ex, "handout")[1:])
        picture = draw.write(draw.topology_dot(planes.get(topology.plane).picture(model)),
                             os.path.join(outdir, f"{ex.id}.svg"))
        page = outfile.write(os.path.join(outdir, f"{ex.id}.md"), handout(ex, a.lang or "en", picture).encode())
        print(f"wrote {page} and {picture}")
    return 0


VERBS = {"handout": cmd_handout, "list": cmd_list, "start": cmd_start, "check": cmd_check, "answer": cmd_answer, "solve": cmd_solve,
         "reset": cmd_reset, "stage": cmd_stage, "verify": cmd_verify}


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {USAGE}")
        return 0 if argv else 2
    if argv[0] not in VERBS:
        raise BadInput(f"unknown workshop command {argv[0]!r} (usage: {USAGE})")
    return VERBS[argv[0]](argv[1:])
