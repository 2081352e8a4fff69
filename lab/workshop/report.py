"""The class report: one row per student (lab) and exercise, graded now on the running lab, with what the
lab's journal holds (hints, resets, reference solutions) and the time since the exercise started; printed
as a table, written as CSV and as one self-contained HTML page (inline CSS, nothing fetched, text escaped).

`lab workshop report [--all | --name LAB ...] [--csv FILE] [--html FILE] [--lang en|zh]`
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence

from lab import outfile

# column key -> (en, zh) heading; the CSV and the HTML page keep this order
COLUMNS = (("student", "student", "学生"), ("exercise", "exercise", "练习"), ("stage", "stage", "阶段"),
           ("passed", "passed", "通过"), ("total", "total", "总数"), ("failed", "failed criteria", "未通过的检查"),
           ("hints", "hints", "提示"), ("resets", "resets", "重置"), ("solves", "solves", "参考解答"),
           ("minutes", "minutes", "分钟"))
WORDS = {"en": {"title": "Class report", "made": "graded", "labs": "labs", "all": "all passed", "none": "-"},
         "zh": {"title": "班级报告", "made": "评分时间", "labs": "个实验", "all": "全部通过", "none": "-"}}


@dataclass
class Row:
    student: str
    exercise: str
    passed: int
    total: int
    failed: List[str] = field(default_factory=list)
    hints: int = 0
    resets: int = 0
    solves: int = 0
    minutes: Optional[float] = None  # since the exercise started (the record's "started")
    stage: str = ""  # "2/3" for a staged exercise

    def cells(self, lang: str = "en") -> Dict[str, str]:
        return {"student": self.student, "exercise": self.exercise, "stage": self.stage,
                "passed": str(self.passed), "total": str(self.total),
                "failed": "; ".join(self.failed) or WORDS[lang]["none"],
                "hints": str(self.hints), "resets": str(self.resets), "solves": str(self.solves),
                "minutes": "" if self.minutes is None else f"{self.minutes:.0f}"}


def heading(key: str, lang: str) -> str:
    en, zh = next((e, z) for k, e, z in COLUMNS if k == key)
    return zh if lang == "zh" else en


def row_of(grade, counts: Dict[str, int], record: dict, stages: int = 0, now: Optional[float] = None) -> Row:
    """A graded lab as a row: grade (lab.workshop.grading.Grade), counts (journal.summary), record (the lab's
    workshop.json). Hints used: the journal's count, or the record's when it shows more (older labs)."""
    started = record.get("started")
    minutes = None if started is None else max(0.0, ((now or time.time()) - float(started)) / 60)
    stage = f"{int(record.get('stage', 0)) + 1}/{stages}" if stages else ""
    return Row(grade.lab, grade.exercise, grade.score, grade.total, [r.criterion for r in grade.results if not r.ok],
               hints=max(counts.get("hint", 0), int(record.get("hints_shown", 0))),
               resets=counts.get("reset", 0), solves=counts.get("solve", 0), minutes=minutes, stage=stage)


def to_csv(rows: Sequence[Row], lang: str = "en") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([heading(k, lang) for k, _e, _z in COLUMNS])
    for r in rows:
        cells = r.cells(lang)
        w.writerow([cells[k] for k, _e, _z in COLUMNS])
    return buf.getvalue()


STYLE = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
         "th,td{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}"
         "th{background:#eee}tr.pass td{background:#e6f4e6}tr.fail td{background:#fbeaea}"
         "td.n{text-align:right}")


def to_html(rows: Sequence[Row], lang: str = "en", made: Optional[float] = None) -> str:
    """One page, nothing outside it: inline CSS, no scripts, no links; every text escaped."""
    words = WORDS[lang]
    e = html.escape
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(made or time.time()))
    done = sum(r.passed == r.total for r in rows)
    out = ["<!DOCTYPE html>", f'<html lang="{e(lang)}">', "<head>", '<meta charset="utf-8">',
           f"<title>{e(words['title'])}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
           f"<h1>{e(words['title'])}</h1>",
           f"<p>{e(words['made'])} {e(when)}: {len(rows)} {e(words['labs'])}, {done} {e(words['all'])}</p>",
           "<table>", "<thead><tr>" + "".join(f"<th>{e(heading(k, lang))}</th>" for k, _e, _z in COLUMNS)
           + "</tr></thead>", "<tbody>"]
    numeric = {"passed", "total", "hints", "resets", "solves", "minutes"}
    for r in rows:
        cells = r.cells(lang)
        tds = "".join(f'<td class="n">{e(cells[k])}</td>' if k in numeric else f"<td>{e(cells[k])}</td>"
                      for k, _e, _z in COLUMNS)
        out.append(f'<tr class="{"pass" if r.passed == r.total else "fail"}">{tds}</tr>')
    out += ["</tbody>", "</table>", "</body>", "</html>", ""]
    return "\n".join(out)


def table_rows(rows: Sequence[Row], lang: str = "en") -> List[List[str]]:
    keys = [k for k, _e, _z in COLUMNS if k != "total"]
    out = []
    for r in rows:
        cells = r.cells(lang)
        cells["passed"] = f"{r.passed}/{r.total}"
        out.append([cells[k] for k in keys])
    return out


def table_headers(lang: str = "en") -> List[str]:
    return [heading(k, lang).upper() if lang == "en" else heading(k, lang) for k, _e, _z in COLUMNS if k != "total"]


# --- on running labs -------------------------------------------------------------------------------------

GRADED = "{name}.graded.jsonl"  # under RUN_DIR/.course: a course student's exercises graded before moving on


def graded_path(name: str) -> str:
    from lab import paths
    from lab.workshop.live import COURSE_DIR
    return os.path.join(paths.RUN_DIR, COURSE_DIR, GRADED.format(name=name))


def keep(row: Row) -> None:
    """Keep a row for the report after the lab moves on to another exercise (`course --exercise`)."""
    from lab import paths
    path = graded_path(row.student)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with paths.open_private(path, "a") as f:
        f.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")


def earlier(name: str) -> List[Row]:
    """The rows kept for the lab's student, oldest first."""
    from lab.workshop.journal import read_lines
    out = []
    for kept in read_lines(graded_path(name)):
        try:
            out.append(Row(**kept))
        except TypeError:
            continue
    return out


def gather(names: Sequence[str], lang: str = "", skip_stopped: bool = False) -> List[Row]:
    """Grade each lab now and read its journal and record (root: grading observes the lab); a course
    student's exercises graded before the class moved on come first."""
    from lab.errors import BadInput
    from lab.workshop import journal, session
    from lab.workshop.catalogue import exercise
    from lab.workshop.live import read_record
    rows = []
    for name in names:
        try:
            g = session.check(name, lang)
        except BadInput:
            if skip_stopped:  # stopped since it was listed
                continue
            raise
        record = read_record(name) or {}
        rows += earlier(name)
        rows.append(row_of(g, journal.summary(name), record, len(exercise(g.exercise).stages)))
    return rows


def cmd_report(argv: List[str]) -> int:
    from lab import paths
    from lab.errors import BadInput
    from lab.table import format_table
    from lab.workshop.start import running_labs as _workshop_labs
    from lab.workshop.usage import parser as _parser
    p = _parser("list")
    p.add_argument("--all", action="store_true", help="every running workshop lab on this machine")
    p.add_argument("--name", action="append", default=[], metavar="LAB")
    p.add_argument("--csv", metavar="FILE")
    p.add_argument("--html", metavar="FILE")
    a = p.parse_args(argv)
    if a.csv:
        outfile.check_file(a.csv, "--csv", (".csv",))
    if a.html:
        outfile.check_file(a.html, "--html", (".html", ".htm"))
    if a.all and a.name:
        raise BadInput("--all or --name LAB ..., not both")
    from lab.requirements import require_root
    require_root()
    names = _workshop_labs() if a.all or not a.name else [paths.check_name(n) for n in a.name]
    if not names:
        raise BadInput("no workshop lab runs on this machine (`lab workshop start EX --name LAB`)")
    lang = a.lang or "en"
    rows = gather(names, a.lang or "", skip_stopped=not a.name)
    print(format_table(table_headers(lang), table_rows(rows, lang)))
    if a.csv:
        print(("wrote " if lang == "en" else "已写入 ") + outfile.write(a.csv, to_csv(rows, lang).encode(), "--csv"))
    if a.html:
        print(("wrote " if lang == "en" else "已写入 ") + outfile.write(a.html, to_html(rows, lang).encode(), "--html"))
    return 0 if all(r.passed == r.total for r in rows) else 1
