"""Grading: every criterion and every question observed on the running lab; a table, JSON, JUnit XML."""

from __future__ import annotations

import json
import time
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from typing import List, Sequence

from lab import outfile
from lab.workshop.exercise import Exercise


@dataclass
class Result:
    criterion: str
    ok: bool
    seen: str
    seconds: float = 0.0


@dataclass
class Grade:
    lab: str
    exercise: str
    results: List[Result]

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
    return Grade(lab.name, exercise.id, results)


def width(s: str) -> int:
    """Columns a terminal gives s: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def format_grade(g: Grade) -> str:
    rows = [["RESULT", "CRITERION", "SEEN"]] + [["PASS" if r.ok else "FAIL", r.criterion, r.seen] for r in g.results]
    w = [max(width(r[i]) for r in rows) for i in range(2)]
    lines = [f"{r[0]}{' ' * (w[0] - width(r[0]) + 3)}{r[1]}{' ' * (w[1] - width(r[1]) + 3)}{r[2]}".rstrip()
             for r in rows]
    return "\n".join(lines) + f"\nscore {g.score}/{g.total}" + ("  (all passed)" if g.passed else "")


def to_json(grades: Sequence[Grade]) -> dict:
    return {"labs": [{"lab": g.lab, "exercise": g.exercise, "score": g.score, "total": g.total,
                      "passed": g.passed, "results": [asdict(r) for r in g.results]} for g in grades]}


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
