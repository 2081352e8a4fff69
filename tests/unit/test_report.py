"""The class report's table, CSV and HTML page (lab.workshop.report), and columns measured in terminal
columns (lab.table: a Chinese character takes two)."""

import csv
import io
from html.parser import HTMLParser

from lab.front import cli
from lab.table import format_table, width
from lab.workshop import report
from lab.workshop.grading import Grade, Result


def starts(line: str, cell: str) -> int:
    """The terminal column where cell starts in line."""
    return width(line[:line.index(cell)])


def test_wide_characters_take_two_columns():
    assert width("abc") == 3 and width("表九十") == 6 and width("pod1 能 ping") == 12


def test_columns_line_up_in_terminal_columns_with_chinese_text():
    text = format_table(["ID", "TITLE", "MIN"], [["a", "到某节点子网的流丢失", 15], ["bb", "plain", 5]])
    first, second, third = text.splitlines()
    assert starts(first, "MIN") == starts(second, "15") == starts(third, "5")
    assert starts(second, "到") == starts(third, "plain") == starts(first, "TITLE")


def test_workshop_list_in_chinese_is_aligned(capsys):
    assert cli.main(["workshop", "list", "--lang", "zh"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["编号", "标题", "拓扑", "分钟"]
    # the topology column, second from the end, starts at one terminal column on every line
    topo = {width(ln[:ln.rindex(" " + ln.split()[-2] + " ") + 1]) for ln in lines}
    minutes = {width(ln) - width(ln.split()[-1]) for ln in lines}
    assert len(topo) == 1 and len(minutes) == 1, lines


def grade(lab="alice", ex="flow-90", oks=(True, False, False), names=("answer table", "pod1 reaches pod2", "t90")):
    return Grade(lab, ex, [Result(n, ok, "seen") for n, ok in zip(names, oks, strict=True)])


def rows():
    a = report.row_of(grade(), {"hint": 2, "reset": 1, "solve": 0}, {"started": 1000.0, "hints_shown": 1}, now=1000 + 600)
    b = report.row_of(grade("bob", "masquerade", (True, True), ("x <b>&", "y")), {"hint": 0, "reset": 0, "solve": 1},
                      {"started": 1000.0, "stage": 1}, stages=3, now=1000 + 90)
    c = report.row_of(grade("carol", "mtu", (False, True), ("x <b>&", "y")), {}, {})
    return [a, b, c]


def test_a_row_holds_the_grade_the_journal_and_the_time():
    a, b, _c = rows()
    assert (a.student, a.exercise, a.passed, a.total) == ("alice", "flow-90", 1, 3)
    assert a.failed == ["pod1 reaches pod2", "t90"] and (a.hints, a.resets, a.solves) == (2, 1, 0)
    assert round(a.minutes) == 10 and a.stage == ""
    assert (b.passed, b.total, b.failed, b.solves, b.stage) == (2, 2, [], 1, "2/3")
    # the record's hint count when the journal has fewer (a lab started before the journal counted hints)
    assert report.row_of(grade(), {}, {"hints_shown": 3}).hints == 3


def test_csv_has_one_row_per_student_and_exercise():
    got = list(csv.reader(io.StringIO(report.to_csv(rows()))))
    assert got[0] == ["student", "exercise", "stage", "passed", "total", "failed criteria", "hints", "resets",
                      "solves", "minutes"]
    assert got[1] == ["alice", "flow-90", "", "1", "3", "pod1 reaches pod2; t90", "2", "1", "0", "10"]
    assert got[2][:5] == ["bob", "masquerade", "2/3", "2", "2"] and got[2][8] == "1"
    zh = list(csv.reader(io.StringIO(report.to_csv(rows(), "zh"))))
    assert zh[0][:3] == ["学生", "练习", "阶段"]


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.rows, self.attrs, self._cell = [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [v or "" for _k, v in attrs]
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def test_html_page_is_self_contained_and_escaped():
    page = report.to_html(rows())
    p = Page()
    p.feed(page)
    p.close()
    head, alice, bob, carol = p.rows
    assert head[0] == "student" and alice[:5] == ["alice", "flow-90", "", "1", "3"]
    assert bob[5] == "-" and bob[8] == "1"  # nothing failed; one reference solution applied
    assert carol[5] == "x <b>&" and "x <b>&" not in page  # a criterion's own text, escaped
    assert not {"script", "link", "img", "iframe"} & set(p.tags)
    assert not any(a.startswith(("http", "//")) for a in p.attrs) and "url(" not in page and "@import" not in page
    assert '<tr class="fail">' in page and '<tr class="pass">' in page
    assert "班级报告" in report.to_html(rows(), "zh")


def test_report_files_are_checked_before_any_grading(tmp_path, capsys):
    for args, says in ((["--csv", str(tmp_path / "class.txt")], "--csv"), (["--html", "/proc/class.html"], "/proc"),
                       (["--html", str(tmp_path / "no" / "class.html")], "--html")):
        assert cli.main(["workshop", "report", "--all", *args]) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.iterdir())
