"""A workshop lab's session: the exercise it runs, recorded in the lab's run directory, and what the
CLI verbs and `lab workshop` do with it (task, hint, answer, check, reset, solve)."""

from __future__ import annotations

import os
import time
from typing import Dict, Optional, Tuple

from lab import paths
from lab.errors import BadInput, LabError
from lab.front import faults
from lab.workshop import checkpoint, journal
from lab.workshop.catalogue import exercise
from lab.workshop.exercise import LANGS, Exercise
from lab.workshop.grading import Grade, format_grade, grade
from lab.workshop.live import ExerciseLab, read_record, write_record


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise BadInput(f"unknown language {lang!r} (known: {', '.join(LANGS)})")
    return lang


def begin(name: str, ex: Exercise, lang: str, inventory: dict) -> ExerciseLab:
    """Write the lab's record (which exercise, in which language), put the exercise's setup in place, then
    take the checkpoint `reset` restores (lab.workshop.checkpoint)."""
    write_record(name, {"exercise": ex.id, "lang": lang, "hints_shown": 0, "answers": {},
                        "inventory": inventory, "started": time.time(), "stage": 0})
    lab = ExerciseLab(name)
    ex.setup(lab)
    checkpoint.take(lab, 0)
    journal.note(name, "start", exercise=ex.id, lang=lang)
    return lab


def opened(name: str) -> Tuple[ExerciseLab, Exercise]:
    lab = ExerciseLab(name)
    return lab, exercise(lab.exercise_id)


def fill(textual: str, name: str) -> str:
    return textual.replace("{lab_dir}", paths.run_dir(name))


def current_stage(name: str) -> int:
    """The stage the lab's student is at (0-based; 0 for an exercise without stages)."""
    return int((read_record(name) or {}).get("stage", 0))


# every line a student or a teacher reads from a session, in the lab's language
MESSAGES = {
    "en": {
        "answer-head": "answer:",
        "verbs": "task | hint | answer Q VALUE | check | reset",
        "verbs-staged": "task | hint | answer Q VALUE | check | stage [next] | reset [--stage N]",
        "no-more-hints": "no more hints (all shown):",
        "hint": "hint {n}/{m}: {text}",
        "no-question": "exercise {ex} has no question {key!r} (questions: {known})",
        "no-questions": "none: this exercise is graded on the lab alone",
        "answer-usage": "usage: answer {key} VALUE",
        "recorded": "recorded {key} = {value} (`check` grades it against the lab)",
        "solved": "applied the reference solution of {ex} to lab {lab!r} (recorded in the lab's journal)",
        "no-stages": "exercise {ex} has no stages",
        "last-stage": "exercise {ex}: stage {n}/{m} is the last one",
        "not-done": "stage {n} of {ex} is not done yet (`check` shows what is left)",
        "stage-now": "exercise {ex}: stage {n}/{m}: {title}",
        "advanced": "exercise {ex}: on to stage {n}/{m}: {title} (checkpoint taken: `reset` comes back here)",
        "stage-range": "exercise {ex} has stages 1 to {m}; stage {n} has not been reached yet",
        "restored": "exercise {ex} reset{stage}: restored from the checkpoint taken at {when}; every node's and pod's "
                    "state (flows, iptables, addresses, routes, rules, links, neighbours, sysctls) equals it again; "
                    "answers cleared, hints used stay counted",
        "not-restored": "exercise {ex} reset{stage}: restored from the checkpoint taken at {when}, but not all of it:",
        "cannot": "  cannot be put back: {what}",
        "differs": "  still differs: {what}",
        "start-over": "  to start afresh: `lab clean {lab}` then `lab workshop start {ex} --name {lab}`",
        "no-checkpoint": "exercise {ex} reset: this lab has no checkpoint (started by an older release): its faults "
                         "were repaired and the setup applied again; what was changed by hand may remain",
        "at-stage": " to stage {n}",
        "usage-reset": "usage: reset [--stage N]",
        "usage-stage": "usage: stage [next]",
        "usage-answer": "usage: answer QUESTION VALUE",
        "other-exercise": "lab {lab!r} runs exercise {ex}, not {asked}",
        "help-task": "task: the exercise's task again",
        "help-hint": "hint: the next hint (each call shows one more; every hint is recorded)",
        "help-answer": "answer QUESTION VALUE: record an answer; `check` grades it against the lab",
        "help-check": "check: grade the lab as it is now (a table, a score, the lab's record)",
        "help-stage": "stage [next]: the current stage; `next` moves on once its check passes",
        "help-reset": "reset [--stage N]: the lab back to the start of the (current or Nth) stage",
    },
    "zh": {
        "answer-head": "作答：",
        "verbs": "task | hint | answer Q VALUE | check | reset   （任务 | 提示 | 作答 | 检查 | 重置）",
        "verbs-staged": "task | hint | answer Q VALUE | check | stage [next] | reset [--stage N]   "
                        "（任务 | 提示 | 作答 | 检查 | 阶段 | 重置）",
        "no-more-hints": "没有更多提示（已全部显示）：",
        "hint": "提示 {n}/{m}：{text}",
        "no-question": "练习 {ex} 没有问题 {key!r}（问题：{known}）",
        "no-questions": "无：本练习只根据实验环境评分",
        "answer-usage": "用法：answer {key} 值",
        "recorded": "已记录 {key} = {value}（`check` 会对照实验环境评分）",
        "solved": "已将练习 {ex} 的参考答案应用到实验 {lab!r}（已记入实验日志）",
        "no-stages": "练习 {ex} 没有阶段",
        "last-stage": "练习 {ex}：阶段 {n}/{m} 已是最后一个",
        "not-done": "练习 {ex} 的阶段 {n} 尚未完成（`check` 显示还差什么）",
        "stage-now": "练习 {ex}：阶段 {n}/{m}：{title}",
        "advanced": "练习 {ex}：进入阶段 {n}/{m}：{title}（已保存检查点：`reset` 会回到这里）",
        "stage-range": "练习 {ex} 的阶段为 1 到 {m}；尚未到达阶段 {n}",
        "restored": "练习 {ex} 已重置{stage}：已从 {when} 保存的检查点恢复；每个节点和 pod 的状态（流表、iptables、"
                    "地址、路由、策略路由、链路、邻居表、sysctl）与检查点一致；答案已清除，已用提示仍计数",
        "not-restored": "练习 {ex} 已重置{stage}：已从 {when} 保存的检查点恢复，但并非全部：",
        "cannot": "  无法恢复：{what}",
        "differs": "  仍有差异：{what}",
        "start-over": "  重新开始：`lab clean {lab}`，然后 `lab workshop start {ex} --name {lab}`",
        "no-checkpoint": "练习 {ex} 已重置：该实验没有检查点（由旧版本启动）：已修复故障并重新执行初始设置；"
                         "手动修改的内容可能仍然存在",
        "at-stage": "到阶段 {n}",
        "usage-reset": "用法：reset [--stage N]",
        "usage-stage": "用法：stage [next]",
        "usage-answer": "用法：answer 问题 值",
        "other-exercise": "实验 {lab!r} 运行的是练习 {ex}，不是 {asked}",
        "help-task": "task：再次显示练习任务",
        "help-hint": "hint：下一条提示（每次多显示一条；每条提示都会被记录）",
        "help-answer": "answer 问题 值：记录答案；`check` 会对照实验环境评分",
        "help-check": "check：按实验环境当前状态评分（表格、得分与实验记录）",
        "help-stage": "stage [next]：当前阶段；当前阶段检查通过后，`next` 进入下一阶段",
        "help-reset": "reset [--stage N]：将实验恢复到当前阶段（或第 N 阶段）的起点",
    },
}


def say(lang: str, message: str, **fields) -> str:
    return (MESSAGES.get(lang) or MESSAGES["en"])[message].format(**fields)


def lang_of(name: str) -> str:
    return (read_record(name) or {}).get("lang", "en")


def task_text(ex: Exercise, lang: str, name: str) -> str:
    stage = current_stage(name)
    lines = [f"=== {ex.id}: {ex.text('title', lang)}  ({ex.topology}, ~{ex.minutes} min)", "",
             fill(ex.task_at(stage, lang), name)]
    if ex.questions_at(stage):
        lines += ["", say(lang, "answer-head")]
        lines += [f"  answer {q.key} VALUE   {q.text.get(lang) or q.text['en']}" for q in ex.questions_at(stage)]
    lines += ["", say(lang, "verbs-staged" if ex.stages else "verbs")]
    return "\n".join(lines)


def hints_used(name: str, record: dict) -> int:
    """Counted from the lab's journal (reset never sets it back); the record's own count for a lab without one."""
    return max(journal.summary(name)["hint"], int(record.get("hints_shown", 0)))


def next_hint(name: str) -> str:
    lab, ex = opened(name)
    lang = lab.record.get("lang", "en")
    shown = hints_used(name, lab.record)
    all_hints = ex.hint_list(lang)
    if shown >= len(all_hints):
        return say(lang, "no-more-hints") + "\n" + "\n".join(
            f"  {i}. {fill(h, name)}" for i, h in enumerate(all_hints, 1))
    lab.record["hints_shown"] = shown + 1
    lab.save()
    journal.note(name, "hint", n=shown + 1, stage=current_stage(name))
    return say(lang, "hint", n=shown + 1, m=len(all_hints), text=fill(all_hints[shown], name))


def answer(name: str, key: str, value: str) -> str:
    lab, ex = opened(name)
    lang = lab.record.get("lang", "en")
    stage = current_stage(name)
    if ex.question(key, stage) is None:
        known = ", ".join(q.key for q in ex.questions_at(stage)) or say(lang, "no-questions")
        raise BadInput(say(lang, "no-question", ex=ex.id, key=key, known=known))
    if not value.strip():
        raise BadInput(say(lang, "answer-usage", key=key))
    lab.record.setdefault("answers", {})[key] = value.strip()
    lab.save()
    journal.note(name, "answer", key=key, value=value.strip(), stage=stage)
    return say(lang, "recorded", key=key, value=value.strip())


def check(name: str, lang: str = "") -> Grade:
    """The grade of the current stage, with what the lab's journal holds (hints, resets, solves, faults)."""
    lab, ex = opened(name)
    g = grade(lab, ex, lang or lab.record.get("lang", "en"), current_stage(name))
    g.journal = journal.summary(name)
    return g


def solve(name: str, via: str = "shell") -> str:
    """The reference solution: the fix applied to the lab, the questions answered from the lab's state."""
    lab, ex = opened(name)
    stage = current_stage(name)
    journal.note(name, "solve", exercise=ex.id, stage=stage, via=via)
    ex.solve_at(stage)(lab)
    for q in ex.questions_at(stage):
        lab.record.setdefault("answers", {})[q.key] = q.truth(lab)
    lab.save()
    return say(lab.record.get("lang", "en"), "solved", ex=ex.id, lab=name)


def stage_text(name: str) -> str:
    lab, ex = opened(name)
    lang = lab.record.get("lang", "en")
    if not ex.stages:
        raise BadInput(say(lang, "no-stages", ex=ex.id))
    n = current_stage(name)
    return say(lang, "stage-now", ex=ex.id, n=n + 1, m=len(ex.stages), title=_title(ex, n, lang)) + "\n\n" + \
        task_text(ex, lang, name)


def _title(ex: Exercise, stage: int, lang: str) -> str:
    t = ex.stages[stage].title
    return t.get(lang) or t["en"]


def advance(name: str, via: str = "shell") -> str:
    """`stage next`: on to the next stage once the current one's check passes (a staged exercise only);
    the new stage starts from a checkpoint of the lab as the student left it."""
    lab, ex = opened(name)
    lang = lab.record.get("lang", "en")
    stage = current_stage(name)
    if not ex.stages:
        raise BadInput(say(lang, "no-stages", ex=ex.id))
    if stage + 1 >= len(ex.stages):
        raise BadInput(say(lang, "last-stage", ex=ex.id, n=stage + 1, m=len(ex.stages)))
    if not check(name).passed:
        raise BadInput(say(lang, "not-done", ex=ex.id, n=stage + 1))
    lab.record["stage"] = stage + 1
    lab.record["answers"] = {}
    lab.save()
    checkpoint.take(lab, stage + 1)
    journal.note(name, "stage", stage=stage + 1, via=via)
    return say(lang, "advanced", ex=ex.id, n=stage + 2, m=len(ex.stages), title=_title(ex, stage + 1, lang))


def reset(name: str, stage: Optional[int] = None, via: str = "shell") -> str:
    """Back to the start of the current stage (or of `stage`, 1-based, one the student reached): every host
    restored from its checkpoint and compared with it again; answers forgotten, hints used kept."""
    lab, ex = opened(name)
    lang = lab.record.get("lang", "en")
    target = current_stage(name) if stage is None else stage - 1
    cp = checkpoint.load(name, target)
    if stage is not None and (not ex.stages and stage != 1 or target < 0 or target >= max(len(ex.stages), 1)
                              or cp is None and target > 0):
        raise BadInput(say(lang, "stage-range", ex=ex.id, m=max(len(ex.stages), 1), n=stage))
    lab.record.update(answers={}, stage=target)
    lab.save()
    at = say(lang, "at-stage", n=target + 1) if ex.stages else ""
    setup_failed = []
    if target == 0:  # what the setup keeps outside the kernel (API objects, etcd keys): its start again
        try:
            setup_again(lab, ex)
        except LabError as exc:  # a lab the student changed a lot: the checkpoint still puts the kernel back
            setup_failed.append(f"the exercise's setup: {' '.join(str(exc).split())}")
    if cp is None:  # a lab started before checkpoints existed: the old way
        journal.note(name, "reset", stage=target, via=via, restored=False)
        return say(lang, "no-checkpoint", ex=ex.id)
    lost, differs = checkpoint.restore(lab, cp)  # then every host's kernel and switch state as the checkpoint
    lost = setup_failed + lost
    journal.note(name, "reset", stage=target, via=via, restored=not lost and not differs, lost=lost,
                 differs=differs)
    when = time.strftime("%H:%M:%S", time.localtime(cp["time"]))
    if not lost and not differs:
        return say(lang, "restored", ex=ex.id, stage=at, when=when)
    return "\n".join([say(lang, "not-restored", ex=ex.id, stage=at, when=when)]
                     + [say(lang, "cannot", what=w) for w in lost]
                     + [say(lang, "differs", what=w) for w in differs if w not in lost]
                     + [say(lang, "start-over", lab=name, ex=ex.id)])


def setup_again(lab: ExerciseLab, ex: Exercise) -> None:
    """The injected faults repaired (a record whose undo fails on a lab the student changed is dropped: the
    checkpoint brings it back), then the exercise's setup: the API objects and keys it puts in place."""
    for d in faults.injected(lab.name):
        try:
            faults.repair(lab.name, d["fault"])
        except LabError:
            try:
                os.unlink(os.path.join(faults.record_dir(lab.name), f"{d['fault']}.json"))
            except OSError:
                pass
    ex.setup(lab)


def cli_verbs(name: str) -> Dict[str, tuple]:
    """The verbs of `lab workshop start`'s CLI, on its own lab: no `solve`, and (lab.front.faults) no
    `fault` that shows or repairs what the exercise broke."""
    def do_task(line: str) -> None:
        lab, ex = opened(name)
        print(task_text(ex, lab.record.get("lang", "en"), name))

    def do_hint(line: str) -> None:
        print(next_hint(name))

    def do_answer(line: str) -> None:
        words = line.split(None, 1)
        if len(words) != 2:
            raise LabError(say(lang_of(name), "usage-answer"))
        print(answer(name, words[0], words[1]))

    def do_check(line: str) -> None:
        print(format_grade(check(name)))

    def do_reset(line: str) -> None:
        words = line.split()
        if words and (len(words) != 2 or words[0] != "--stage" or not words[1].isdigit()):
            raise LabError(say(lang_of(name), "usage-reset"))
        print(reset(name, int(words[1]) if words else None, via="cli"))

    def do_stage(line: str) -> None:
        words = line.split()
        if words not in ([], ["next"]):
            raise LabError(say(lang_of(name), "usage-stage"))
        print(advance(name, via="cli") if words else stage_text(name))

    lang = lang_of(name)
    return {verb: (fn, say(lang, f"help-{verb}")) for verb, fn in
            (("task", do_task), ("hint", do_hint), ("answer", do_answer), ("check", do_check), ("stage", do_stage),
             ("reset", do_reset))}
