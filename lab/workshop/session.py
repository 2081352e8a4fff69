"""A workshop lab's session: the exercise it runs, recorded in the lab's run directory, and what the
CLI verbs and `lab workshop` do with it (task, hint, answer, check, reset, solve)."""

from __future__ import annotations

import time
from typing import Dict, Tuple

from lab import paths
from lab.errors import BadInput, LabError
from lab.front import faults
from lab.workshop.catalogue import exercise
from lab.workshop.exercise import LANGS, Exercise
from lab.workshop.grading import Grade, format_grade, grade
from lab.workshop.live import ExerciseLab, read_record, write_record


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise BadInput(f"unknown language {lang!r} (known: {', '.join(LANGS)})")
    return lang


def begin(name: str, ex: Exercise, lang: str, inventory: dict) -> ExerciseLab:
    """Write the lab's record (which exercise, in which language), then put the exercise's setup in place."""
    write_record(name, {"exercise": ex.id, "lang": lang, "hints_shown": 0, "answers": {},
                        "inventory": inventory, "started": time.time()})
    lab = ExerciseLab(name)
    ex.setup(lab)
    return lab


def opened(name: str) -> Tuple[ExerciseLab, Exercise]:
    lab = ExerciseLab(name)
    return lab, exercise(lab.exercise_id)


def fill(textual: str, name: str) -> str:
    return textual.replace("{lab_dir}", paths.run_dir(name))


def current_stage(name: str) -> int:
    """The stage the lab's student is at (0-based; 0 for an exercise without stages)."""
    return int((read_record(name) or {}).get("stage", 0))


def task_text(ex: Exercise, lang: str, name: str) -> str:
    stage = current_stage(name)
    lines = [f"=== {ex.id}: {ex.text('title', lang)}  ({ex.topology}, ~{ex.minutes} min)", "",
             fill(ex.task_at(stage, lang), name)]
    if ex.questions_at(stage):
        lines += ["", "answer:" if lang == "en" else "作答："]
        lines += [f"  answer {q.key} VALUE   {q.text.get(lang) or q.text['en']}" for q in ex.questions_at(stage)]
    lines += ["", "task | hint | answer Q VALUE | check | reset" + ("" if lang == "en" else
                                                                      "   （任务 | 提示 | 作答 | 检查 | 重置）")]
    return "\n".join(lines)


def next_hint(name: str) -> str:
    lab, ex = opened(name)
    lang = lab.record.get("lang", "en")
    shown = lab.record.get("hints_shown", 0)
    all_hints = ex.hint_list(lang)
    if shown >= len(all_hints):
        return ("no more hints (all shown):\n" if lang == "en" else "没有更多提示（已全部显示）：\n") + "\n".join(
            f"  {i}. {fill(h, name)}" for i, h in enumerate(all_hints, 1))
    lab.record["hints_shown"] = shown + 1
    lab.save()
    return f"hint {shown + 1}/{len(all_hints)}: {fill(all_hints[shown], name)}"


def answer(name: str, key: str, value: str) -> str:
    lab, ex = opened(name)
    stage = current_stage(name)
    if ex.question(key, stage) is None:
        known = ", ".join(q.key for q in ex.questions_at(stage)) or "none: this exercise is graded on the lab alone"
        raise BadInput(f"exercise {ex.id} has no question {key!r} (questions: {known})")
    if not value.strip():
        raise BadInput(f"usage: answer {key} VALUE")
    lab.record.setdefault("answers", {})[key] = value.strip()
    lab.save()
    return f"recorded {key} = {value.strip()} (`check` grades it against the lab)"


def check(name: str, lang: str = "") -> Grade:
    lab, ex = opened(name)
    return grade(lab, ex, lang or lab.record.get("lang", "en"), current_stage(name))


def solve(name: str) -> str:
    """The reference solution: the fix applied to the lab, the questions answered from the lab's state."""
    lab, ex = opened(name)
    stage = current_stage(name)
    ex.solve_at(stage)(lab)
    for q in ex.questions_at(stage):
        lab.record.setdefault("answers", {})[q.key] = q.truth(lab)
    lab.save()
    return f"applied the reference solution of {ex.id} to lab {name!r}"


def advance(name: str) -> str:
    """`stage next`: on to the next stage once the current one's check passes (a staged exercise only)."""
    lab, ex = opened(name)
    stage = current_stage(name)
    if not ex.stages:
        raise BadInput(f"exercise {ex.id} has no stages")
    if stage + 1 >= len(ex.stages):
        raise BadInput(f"exercise {ex.id}: stage {stage + 1}/{len(ex.stages)} is the last one")
    if not check(name).passed:
        raise BadInput(f"stage {stage + 1} of {ex.id} is not done yet (`check` shows what is left)")
    lab.record["stage"] = stage + 1
    lab.save()
    return f"exercise {ex.id}: stage {stage + 2}/{len(ex.stages)}"


def reset(name: str) -> str:
    """Back to the exercise's start: injected faults repaired, answers and hints forgotten, setup again."""
    lab, ex = opened(name)
    for d in faults.injected(name):
        faults.repair(name, d["fault"])
    lab.record.update(answers={}, hints_shown=0)
    lab.save()
    ex.setup(lab)
    return f"exercise {ex.id} reset: the lab is as it was at the start; answers and hints cleared"


def cli_verbs(name: str) -> Dict[str, tuple]:
    """The verbs of `lab workshop start`'s CLI, on its own lab."""
    def do_task(line: str) -> None:
        lab, ex = opened(name)
        print(task_text(ex, lab.record.get("lang", "en"), name))

    def do_hint(line: str) -> None:
        print(next_hint(name))

    def do_answer(line: str) -> None:
        words = line.split(None, 1)
        if len(words) != 2:
            raise LabError("usage: answer QUESTION VALUE")
        print(answer(name, words[0], words[1]))

    def do_check(line: str) -> None:
        print(format_grade(check(name)))

    def do_reset(line: str) -> None:
        print(reset(name))

    return {"task": (do_task, "task: the exercise's task again"),
            "hint": (do_hint, "hint: the next hint (each call shows one more)"),
            "answer": (do_answer, "answer QUESTION VALUE: record an answer; `check` grades it against the lab"),
            "check": (do_check, "check: grade the lab as it is now (a table and a score)"),
            "reset": (do_reset, "reset: the exercise back to its start")}
