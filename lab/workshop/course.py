"""A course a teacher runs on one machine: a YAML file names the students and the exercises; each student
gets one lab named after them, running their exercise with no terminal (`lab workshop serve`: a process
in the background, kept until `lab clean NAME` or `course FILE --stop`). Students work from their own
shell: `lab workshop task|hint|answer|check --name NAME`, `ip netns exec NAME-node1 ...`.

    students: [alice, bob]            # or {name: carol, exercise: mtu} for one student's own exercise
    exercises: [flow-90, mtu]         # the course's exercises, in order; the first runs unless --exercise EX
    lang: zh                          # en (default) or zh

`lab workshop course FILE [--exercise EX]` starts the labs one after another (a lab already running the
same exercise is kept, one running another exercise is stopped and started again); `--stop` stops them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from lab import paths
from lab.errors import BadInput, LabError
from lab.workshop.exercise import LANGS
from lab.workshop.live import COURSE_DIR as LOG_DIR

START_S = 600.0  # the longest a lab may take to come up (the Docker exercises: a few minutes on 2 cores)
KEYS = ("students", "exercises", "lang")


@dataclass(frozen=True)
class Seat:
    student: str
    exercise: str


@dataclass(frozen=True)
class Course:
    seats: Sequence[Seat]
    exercises: Sequence[str]
    lang: str = "en"


def _say(lang: str, en: str, zh: str) -> str:
    return zh if lang == "zh" else en


def parse(data: object, exercise: str = "", where: str = "course file", lang_hint: str = "") -> Course:
    """The course file's content (parsed YAML), every field checked: one line naming what is wrong (in the
    course's language when the file or --lang names one)."""
    from lab.workshop.catalogue import CATALOGUE
    said = data.get("lang") if isinstance(data, dict) else None
    zh = (said if said in LANGS else lang_hint) == "zh"

    def bad(en: str, zh_text: str) -> BadInput:
        return BadInput(f"{where}: {zh_text if zh else en}")
    if not isinstance(data, dict):
        raise bad("a mapping with students: [...], exercises: [...] and optionally lang: en|zh",
                  "应为一个映射：students: [...]、exercises: [...]，可选 lang: en|zh")
    unknown = ", ".join(str(k) for k in data if k not in KEYS)
    if unknown:
        raise bad(f"unknown field(s) {unknown} (known: {', '.join(KEYS)})",
                  f"未知字段 {unknown}（可用：{', '.join(KEYS)}）")
    lang = data.get("lang", "en")
    if not isinstance(lang, str) or lang not in LANGS:
        raise bad(f"lang: {lang!r} is not one of {', '.join(LANGS)}", f"lang：{lang!r} 不是 {', '.join(LANGS)} 之一")
    exercises = data.get("exercises")
    if not isinstance(exercises, list) or not exercises or not all(isinstance(e, str) for e in exercises):
        raise bad("exercises: a non-empty list of exercise ids (see `lab workshop list`)",
                  "exercises：应为非空的练习编号列表（见 `lab workshop list`）")
    for e in exercises:
        if e not in CATALOGUE:
            raise bad(f"exercises: unknown exercise {e!r} (see `lab workshop list`)",
                      f"exercises：未知练习 {e!r}（见 `lab workshop list`）")
    dup = ", ".join(sorted({e for e in exercises if exercises.count(e) > 1}))
    if dup:
        raise bad(f"exercises: {dup} listed twice", f"exercises：{dup} 重复列出")
    if exercise and exercise not in exercises:
        raise bad(f"--exercise {exercise}: not one of the course's exercises ({', '.join(exercises)})",
                  f"--exercise {exercise}：不是本课程的练习（{', '.join(exercises)}）")
    students = data.get("students")
    if not isinstance(students, list) or not students:
        raise bad("students: a non-empty list of names (each a lab name: a-z then a-z or 0-9, at most 12)",
                  "students：应为非空的名字列表（每个都是实验名：a-z 开头，之后为 a-z 或 0-9，最多 12 个字符）")
    seats: List[Seat] = []
    for i, s in enumerate(students, 1):
        own = ""
        if isinstance(s, dict):
            extra = ", ".join(str(k) for k in s if k not in ("name", "exercise"))
            if extra:
                raise bad(f"students[{i}]: unknown field(s) {extra} (known: name, exercise)",
                          f"students[{i}]：未知字段 {extra}（可用：name, exercise）")
            own = s.get("exercise", "")
            if not isinstance(own, str) or (own and own not in exercises):
                raise bad(f"students[{i}]: exercise {own!r} is not one of the course's exercises",
                          f"students[{i}]：练习 {own!r} 不是本课程的练习")
            s = s.get("name")
        if not isinstance(s, str) or not paths.NAME_RE.fullmatch(s):
            kind = "is not a name (a string, or a mapping with name: and exercise:)" if not isinstance(s, str) else \
                "is not a valid lab name: 1 to 12 characters, a-z then a-z or 0-9"
            raise bad(f"students[{i}]: {s!r} {kind}",
                      f"students[{i}]：{s!r} 不是有效的名字（实验名：1 到 12 个字符，a-z 开头，之后为 a-z 或 0-9）")
        if any(seat.student == s for seat in seats):
            raise bad(f"students: {s!r} listed twice (one lab per student)", f"students：{s!r} 重复列出（每个学生一个实验）")
        seats.append(Seat(s, exercise or own or exercises[0]))
    return Course(tuple(seats), tuple(exercises), lang)


def load(path: str, exercise: str = "", lang_hint: str = "") -> Course:
    import yaml

    from lab.validate import check_readable_file
    check_readable_file(path, "FILE")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{path}: not YAML: {' '.join(str(exc).split())}") from None
    return parse(data, exercise, path, lang_hint)


# --- one lab in the background ----------------------------------------------------------------------------

READY = "*** ready:"  # the line `serve` prints once the lab is up, its exercise set and its socket served


def serve(exercise_id: str, name: str, lang: str) -> int:
    """Build the exercise's lab, put the exercise in place, serve the lab's control socket, then wait until a
    signal (`lab clean NAME` sends SIGTERM) and tear it down: `lab workshop start` with no terminal."""
    import topologies
    from lab import cleanup, registry, run
    from lab.front.runner import serve_requests
    from lab.signals import SIGS, Interrupted
    from lab.workshop.catalogue import exercise
    from lab.workshop.live import release
    from lab.workshop.start import StartHooks
    from lab.workshop.start import run_args as _run_args
    ex = exercise(exercise_id)
    topology = topologies.load(ex.topology)
    args, model = run.from_argv(topology, _run_args(ex, name)[1:])
    options = run.prepare(topology, args, model)
    SIGS.arm(name)
    net = server = None
    say = lambda m: print(m, flush=True)  # noqa: E731
    try:
        net = run.claim(topology, options, name=name, progress=say)
        run.build(topology, net, model, progress=say)
        StartHooks(ex, lang).after_build(net, topology, model)
        server = serve_requests(net, topology, model)
        say(f"{READY} lab {name!r} runs {ex.id} (pid {os.getpid()})")
        while True:
            time.sleep(3600)  # a signal raises Interrupted here
    except Interrupted as exc:
        SIGS.taken()
        return exc.exit_code
    finally:
        SIGS.teardown()
        release(name)
        if server is not None:
            server.stop()
        if net is not None:
            net.stop()
        elif registry.holds(name):
            cleanup.clean_lab(name)
            registry.release(name)
        say("*** stopped")


def log_path(name: str) -> str:
    return os.path.join(paths.RUN_DIR, LOG_DIR, f"{name}.log")


def start_detached(exercise_id: str, name: str, lang: str, progress=print, timeout: float = START_S) -> int:
    """`lab workshop serve` in a new session, its output in RUN_DIR/.course/NAME.log; returns its pid once
    the lab is up. A lab that fails to come up is one LabError with the end of its log."""
    log = log_path(name)
    os.makedirs(os.path.dirname(log), mode=0o700, exist_ok=True)
    with paths.open_private(log) as out:
        proc = subprocess.Popen([sys.executable, "-m", "lab", "workshop", "serve", exercise_id, "--name", name,
                                 "--lang", lang], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    deadline, shown = time.monotonic() + timeout, 0
    while True:
        text = _read(log)
        lines = text.splitlines()
        for line in lines[shown:]:
            if line.startswith("*** "):  # the bring-up's own progress lines
                progress(f"  {name}: {line[4:]}")
        shown = len(lines)
        if READY in text:
            return proc.pid
        if proc.poll() is not None:
            raise LabError(f"lab {name!r} did not come up (exit {proc.returncode}); the end of {log}:\n"
                           + "\n".join(lines[-15:]))
        if time.monotonic() > deadline:
            from lab import registry
            registry.stop(name)
            raise LabError(f"lab {name!r} not up after {timeout:.0f} s; stopped it (log: {log})")
        time.sleep(0.2)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def running() -> Dict[str, Optional[str]]:
    """Running labs: name -> the exercise each runs (None: not a workshop lab)."""
    from lab import registry
    from lab.workshop.live import read_record
    return {lab["name"]: (read_record(lab["name"]) or {}).get("exercise")
            for lab in registry.labs() if lab["state"] == "running"}


def start(course: Course, progress=print) -> List[str]:
    """Each student's lab on their exercise, one after another; returns the students whose lab failed."""
    from lab import registry
    lang, failed = course.lang, []
    for i, seat in enumerate(course.seats, 1):
        head = f"[{i}/{len(course.seats)}] {seat.student}"
        now = running()
        if seat.student in now:
            if now[seat.student] == seat.exercise:
                progress(_say(lang, f"{head}: already running {seat.exercise}", f"{head}：{seat.exercise} 已在运行"))
                continue
            if now[seat.student] is None:
                progress(_say(lang, f"{head}: lab {seat.student!r} runs no exercise: stop it first "
                                    f"(`lab clean {seat.student}`)",
                              f"{head}：实验 {seat.student!r} 没有运行练习，请先停止它（`lab clean {seat.student}`）"))
                failed.append(seat.student)
                continue
            kept = grade_before_moving_on(seat.student)
            progress(_say(lang, f"{head}: {now[seat.student]} graded for the report ({kept}); stopping it",
                          f"{head}：{now[seat.student]} 已评分并记入报告（{kept}）；停止"))
            registry.stop(seat.student)
        progress(_say(lang, f"{head}: starting {seat.exercise}", f"{head}：启动 {seat.exercise}"))
        t = time.monotonic()
        try:
            pid = start_detached(seat.exercise, seat.student, lang, progress)
        except LabError as exc:
            progress(_say(lang, f"{head}: FAILED: {exc}", f"{head}：失败：{exc}"))
            failed.append(seat.student)
            continue
        progress(_say(lang, f"{head}: up in {time.monotonic() - t:.1f} s (pid {pid})",
                      f"{head}：{time.monotonic() - t:.1f} 秒后就绪（pid {pid}）"))
    return failed


def grade_before_moving_on(name: str) -> str:
    """The lab's exercise graded now and kept for the class report (the lab is about to be rebuilt)."""
    from lab.workshop import report
    try:
        rows = report.gather([name])
    except (BadInput, LabError) as exc:
        return f"not graded: {exc}"
    for row in rows[-1:]:
        report.keep(row)
    return f"{rows[-1].passed}/{rows[-1].total}" if rows else "-"


def stop(course: Course, progress=print) -> None:
    """Each student's lab stopped (its process asked to tear down, what is left removed), its log removed."""
    from lab import registry
    from lab.cleanup import list_labs
    for seat in course.seats:
        if seat.student in list_labs():
            who = registry.owner(seat.student)
            registry.stop(seat.student)
            pid = who[0] if who else None
            progress(_say(course.lang, f"{seat.student}: stopped" + (f" (pid {pid})" if pid else ""),
                          f"{seat.student}：已停止" + (f"（pid {pid}）" if pid else "")))
        else:
            progress(_say(course.lang, f"{seat.student}: no lab", f"{seat.student}：没有实验"))
        from lab.workshop.report import graded_path
        for path in (log_path(seat.student), graded_path(seat.student)):
            try:
                os.unlink(path)
            except OSError:
                pass


def student_help(course: Course) -> str:
    name = course.seats[0].student
    if course.lang == "zh":
        return ("学生在自己的终端中：\n"
                f"  sudo lab workshop task --name {name}      # 任务\n"
                f"  sudo lab workshop hint --name {name}      # 下一条提示\n"
                f"  sudo lab workshop answer --name {name} Q VALUE\n"
                f"  sudo lab workshop check --name {name}\n"
                f"  sudo ip netns exec {name}-node1 ...\n"
                "教师：sudo lab workshop report --all --html class.html；停止：lab workshop course FILE --stop")
    return ("students, each from their own shell:\n"
            f"  sudo lab workshop task --name {name}      # the task\n"
            f"  sudo lab workshop hint --name {name}      # the next hint\n"
            f"  sudo lab workshop answer --name {name} Q VALUE\n"
            f"  sudo lab workshop check --name {name}\n"
            f"  sudo ip netns exec {name}-node1 ...\n"
            "teacher: sudo lab workshop report --all --html class.html; stop: lab workshop course FILE --stop")


# --- the verbs ---------------------------------------------------------------------------------------------

def cmd_course(argv: Sequence[str]) -> int:
    from lab.workshop.usage import parser as _parser
    p = _parser("list")
    p.add_argument("file")
    p.add_argument("--exercise", default="", metavar="EX", help="the course's exercise to run now (default the first)")
    p.add_argument("--stop", action="store_true", help="stop every student's lab")
    a = p.parse_args(list(argv))
    course = load(a.file, a.exercise, a.lang or "")
    if a.lang:
        course = Course(course.seats, course.exercises, a.lang)
    from lab.requirements import require_root
    require_root()
    say = lambda m: print(m, flush=True)  # noqa: E731
    if a.stop:
        stop(course, say)
        return 0
    failed = start(course, say)
    ok = len(course.seats) - len(failed)
    say(_say(course.lang, f"{ok}/{len(course.seats)} labs running", f"{ok}/{len(course.seats)} 个实验在运行")
        + (f"; {'failed' if course.lang == 'en' else '失败'}: {' '.join(failed)}" if failed else ""))
    if ok:
        say(student_help(course))
    return 0 if not failed else 1


def cmd_serve(argv: Sequence[str]) -> int:
    from lab.workshop.catalogue import exercise
    from lab.workshop.usage import parser as _parser
    p = _parser("serve")
    p.add_argument("exercise")
    a = p.parse_args(list(argv))
    exercise(a.exercise)
    paths.check_name(a.name)
    from lab.requirements import require_root
    require_root()
    return serve(a.exercise, a.name, a.lang or "en")


def cmd_task(argv: Sequence[str]) -> int:
    """The task of the lab's exercise, from any shell (the student's own, for a course lab)."""
    from lab.workshop import session
    from lab.workshop.usage import parser as _parser
    a = _parser("task").parse_args(list(argv))
    from lab.requirements import require_root
    require_root()
    lab, ex = session.opened(paths.check_name(a.name))
    print(session.task_text(ex, a.lang or lab.record.get("lang", "en"), a.name))
    return 0


def cmd_hint(argv: Sequence[str]) -> int:
    """The next hint, from any shell (counted as the CLI's `hint` is)."""
    from lab.workshop import session
    from lab.workshop.usage import parser as _parser
    a = _parser("hint").parse_args(list(argv))
    from lab.requirements import require_root
    require_root()
    session.opened(paths.check_name(a.name))
    print(session.next_hint(a.name))
    return 0
