"""Grading: every criterion and every question observed on the running lab; a table, JSON, JUnit XML."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Sequence

from lab import outfile
from lab.table import width
from lab.workshop.exercise import Exercise


@dataclass
class Result:
    criterion: str
    ok: bool
    seen: str
    seconds: float = 0.0


# what a student or teacher reads in a grade, per language (the lab's own)
WORDS = {
    "en": {"head": ("RESULT", "CRITERION", "SEEN"), "pass": "PASS", "fail": "FAIL", "score": "score {s}/{t}",
           "all": "  (all passed)", "stage": "stage {n}/{m}: {title}", "lab": "--- lab {lab}: exercise {ex}",
           "record": "record: hints used {hint}, resets {reset}, reference solutions {solve}, "
                     "teacher fault commands {faults}"},
    "zh": {"head": ("结果", "评分项", "观察到"), "pass": "通过", "fail": "未通过", "score": "得分 {s}/{t}",
           "all": "（全部通过）", "stage": "阶段 {n}/{m}：{title}", "lab": "--- 实验 {lab}：练习 {ex}",
           "record": "记录：已用提示 {hint} 次，重置 {reset} 次，参考答案 {solve} 次，教师故障命令 {faults} 次"},
}


def words(lang: str) -> dict:
    return WORDS.get(lang, WORDS["en"])


@dataclass
class Grade:
    lab: str
    exercise: str
    results: List[Result]
    # what the lab's journal holds besides the student's work (lab.workshop.journal.summary), and the stage
    journal: Dict[str, int] = field(default_factory=dict)
    stage: int = 0  # 0-based
    stages: int = 0  # 0: the exercise has no stages
    stage_title: str = ""
    lang: str = "en"

    @property
    def hints(self) -> int:
        return self.journal.get("hint", 0)

    @property
    def resets(self) -> int:
        return self.journal.get("reset", 0)

    @property
    def solves(self) -> int:
        return self.journal.get("solve", 0)

    @property
    def fault_commands(self) -> int:
        from lab.workshop.journal import teacher_faults
        return teacher_faults(self.journal)

    def record(self) -> Dict[str, int]:
        """The counts JSON and JUnit carry (and the class report reads)."""
        return {"hints": self.hints, "resets": self.resets, "solves": self.solves,
                "fault_commands": self.fault_commands, "stage": self.stage + 1 if self.stages else 0,
                "stages": self.stages}

    @property
    def score(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def passed(self) -> bool:
        return self.score == self.total


def grade(lab, exercise: Exercise, lang: str = "en", stage: int = 0) -> Grade:
    """Observe each criterion (of the stage, for a staged exercise); compare each typed answer with the
    lab's real state. A criterion that raises is a FAIL with its error (a broken lab must grade, not crash)."""
    results = []
    for q in exercise.questions_at(stage):
        t = time.monotonic()
        typed = lab.answers.get(q.key)
        name = f"answer {q.key}"
        if typed is None:
            results.append(Result(name, False, f"not answered (`answer {q.key} VALUE`)", time.monotonic() - t))
            continue
        try:
            truth = q.truth(lab)
            ok = bool(truth) and q.normalize(typed) == q.normalize(truth)
            seen = f"{typed!r}: " + ("matches the lab" if ok else "does not match the lab")
        except Exception as exc:  # noqa: BLE001 (observation failed: grade it as failed)
            ok, seen = False, f"could not observe the lab: {exc}"
        results.append(Result(name, ok, seen, time.monotonic() - t))
    for c in exercise.criteria_at(stage):
        t = time.monotonic()
        try:
            out = c.observe(lab)
            ok, seen = out.ok, out.seen
        except Exception as exc:  # noqa: BLE001
            ok, seen = False, f"could not observe the lab: {' '.join(str(exc).split())}"
        results.append(Result(c.name.get(lang) or c.name["en"], ok, seen, time.monotonic() - t))
    st = exercise.stages[stage].title if exercise.stages else {}
    return Grade(lab.name, exercise.id, results, stage=stage, stages=len(exercise.stages),
                 stage_title=(st.get(lang) or st.get("en", "")), lang=lang)




def heading(g: Grade) -> str:
    """`check`'s line above a lab's grade (one per lab with --all)."""
    return words(g.lang)["lab"].format(lab=g.lab, ex=g.exercise)


def format_grade(g: Grade, record: bool = True) -> str:
    """The stage (staged exercises), a table aligned for wide characters, the score, then what the lab's
    journal holds (hints used, resets, solves, teacher fault commands): in the lab's language."""
    w_ = words(g.lang)
    rows = [list(w_["head"])] + [[w_["pass"] if r.ok else w_["fail"], r.criterion, r.seen] for r in g.results]
    w = [max(width(r[i]) for r in rows) for i in range(2)]
    lines = [f"{r[0]}{' ' * (w[0] - width(r[0]) + 3)}{r[1]}{' ' * (w[1] - width(r[1]) + 3)}{r[2]}".rstrip()
             for r in rows]
    if g.stages:
        lines.insert(0, w_["stage"].format(n=g.stage + 1, m=g.stages, title=g.stage_title))
    out = "\n".join(lines) + "\n" + w_["score"].format(s=g.score, t=g.total) + (w_["all"] if g.passed else "")
    if record and g.journal:
        out += "\n" + w_["record"].format(hint=g.hints, reset=g.resets, solve=g.solves, faults=g.fault_commands)
    return out


def to_json(grades: Sequence[Grade]) -> dict:
    return {"labs": [{"lab": g.lab, "exercise": g.exercise, "score": g.score, "total": g.total,
                      "passed": g.passed, **g.record(), "results": [asdict(r) for r in g.results]} for g in grades]}


def write_json(grades: Sequence[Grade], path: str) -> None:
    outfile.write(path, (json.dumps(to_json(grades), indent=2, ensure_ascii=False) + "\n").encode(), "--json")


def junit_xml(grades: Sequence[Grade]) -> bytes:
    """One <testsuite> per lab (student), one <testcase> per criterion; a failed one carries <failure>."""
    root = ET.Element("testsuites", tests=str(sum(g.total for g in grades)),
                      failures=str(sum(g.total - g.score for g in grades)))
    for g in grades:
        suite = ET.SubElement(root, "testsuite", name=f"{g.lab}.{g.exercise}", tests=str(g.total),
                              failures=str(g.total - g.score), errors="0", skipped="0",
                              time=f"{sum(r.seconds for r in g.results):.3f}")
        props = ET.SubElement(suite, "properties")  # what the lab's journal holds: hints, resets, solves...
        for key, value in g.record().items():
            ET.SubElement(props, "property", name=key, value=str(value))
        for r in g.results:
            case = ET.SubElement(suite, "testcase", classname=f"{g.lab}.{g.exercise}", name=r.criterion,
                                 time=f"{r.seconds:.3f}")
            if not r.ok:
                ET.SubElement(case, "failure", message=r.seen).text = r.seen
            else:
                ET.SubElement(case, "system-out").text = r.seen
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_junit(grades: Sequence[Grade], path: str) -> None:
    outfile.write(path, junit_xml(grades), "--junit")
