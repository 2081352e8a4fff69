"""A course a teacher runs: `lab workshop course FILE` starts one detached lab per student, students work from
their own shell (`task`, `hint`, `answer`), the teacher grades them all (`check --all`) and writes the class
report (CSV and HTML) from the graded labs, moves the class on (`--exercise`), and stops it (`--stop`).

The labs live under a run directory of this module's own (SDNLAB_RUN_DIR), so `--all` sees only them."""

import csv
import json
import os
import subprocess
import sys
import time
from html.parser import HTMLParser

import pytest

from lab import cleanup, paths
from lab.workshop import journal

pytestmark = pytest.mark.root
LAB = [sys.executable, "-m", "lab"]
BASE = paths.lab_name()[:9]
ALICE, BOB = BASE + "ca", BASE + "cb"
RUN_DIR = f"/run/sdnlab-{BASE}-course"
ENV = dict(os.environ, SDNLAB_RUN_DIR=RUN_DIR)


def lab(*args, timeout=120):
    return subprocess.run(LAB + list(args), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=ENV)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    f = tmp_path_factory.mktemp("course") / "class.yaml"
    f.write_text(f"students: [{ALICE}, {{name: {BOB}, exercise: masquerade}}]\nexercises: [flow-90, masquerade]\n")
    saved = paths.RUN_DIR
    paths.RUN_DIR = RUN_DIR  # this process reads the labs' journals and records there too
    t = time.monotonic()
    r = lab("workshop", "course", str(f), timeout=600)
    started = time.monotonic() - t
    try:
        yield f, r, started
    finally:
        lab("workshop", "course", str(f), "--stop", timeout=120)
        for n in (ALICE, BOB):
            lab("clean", n)
        paths.RUN_DIR = saved
        for d in (os.path.join(RUN_DIR, ".course"), RUN_DIR):  # empty once the labs are gone
            try:
                os.rmdir(d)
            except OSError:
                pass


def running():
    r = lab("ps")
    return {ln.split()[0]: ln.split() for ln in r.stdout.splitlines()[1:] if ln.split()}


def test_course_starts_one_detached_lab_per_student(course):
    f, r, started = course
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert f"[1/2] {ALICE}: starting flow-90" in out and f"[2/2] {BOB}: starting masquerade" in out
    assert f"{ALICE}: Creating namespaces" in out  # the bring-up's own progress
    assert "2/2 labs running" in out and f"lab workshop task --name {ALICE}" in out
    labs = running()
    assert labs[ALICE][2] == "running" and labs[BOB][2] == "running", labs
    for n in (ALICE, BOB):  # each kept by its own process, in the background, no terminal
        pid = int(labs[n][3])
        assert alive(pid) and os.getsid(pid) == pid
        assert open(f"/proc/{pid}/cmdline").read().split("\0")[3:6] == ["workshop", "serve",
                                                                         "flow-90" if n == ALICE else "masquerade"]
    # the lab is a real one: its pod answers in the lab's own namespace
    ping = subprocess.run(["ip", "netns", "exec", f"{ALICE}-pod1", "ping", "-c1", "-W2", "10.128.0.1"],
                          capture_output=True, text=True, timeout=10)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    again = lab("workshop", "course", str(f))
    assert again.returncode == 0 and f"{ALICE}: already running flow-90" in again.stdout, again.stdout
    assert running()[ALICE][3] == labs[ALICE][3]  # the same process: nothing restarted


def test_students_work_from_their_own_shell_and_the_class_is_graded(course, tmp_path):
    task = lab("workshop", "task", "--name", ALICE)
    assert task.returncode == 0 and "=== flow-90:" in task.stdout and "answer table VALUE" in task.stdout
    hint = lab("workshop", "hint", "--name", ALICE)
    assert hint.returncode == 0 and hint.stdout.startswith("hint 1/3:"), hint.stdout + hint.stderr
    assert "recorded table = 80" in lab("workshop", "answer", "--name", ALICE, "table", "80").stdout  # a wrong one
    # the teacher: every running workshop lab graded, lab by lab
    out = tmp_path / "class.json"
    r = lab("workshop", "check", "--all", "--json", str(out))
    assert r.returncode == 1, r.stdout + r.stderr  # nobody has fixed anything yet
    assert f"--- lab {ALICE}: exercise flow-90" in r.stdout and f"--- lab {BOB}: exercise masquerade" in r.stdout
    graded = {g["lab"]: g for g in json.loads(out.read_text())["labs"]}
    assert set(graded) == {ALICE, BOB}
    assert (graded[ALICE]["score"], graded[ALICE]["total"]) == (0, 1)  # flow-90's stage 1: the wrong table
    assert (graded[BOB]["score"], graded[BOB]["total"]) == (1, 4)  # only the control holds (pod2 reaches ext)

    # bob's lab fixed by the reference solution; the class report then says who passed what
    assert lab("workshop", "solve", "masquerade", "--name", BOB).returncode == 0
    csv_file, html_file = tmp_path / "class.csv", tmp_path / "class.html"
    r = lab("workshop", "report", "--all", "--csv", str(csv_file), "--html", str(html_file))
    assert r.returncode == 1, r.stdout + r.stderr  # alice still has work to do
    rows = {row[0]: row for row in list(csv.reader(csv_file.open()))[1:]}
    assert set(rows) == {ALICE, BOB}
    a, b = rows[ALICE], rows[BOB]
    failed = [r["criterion"] for r in graded[ALICE]["results"] if not r["ok"]]
    assert a[1:5] == ["flow-90", "1/3", "0", "1"] and a[5] == "; ".join(failed) and "answer table" in a[5]
    assert b[1:5] == ["masquerade", "", "4", "4"] and b[5] == "-"
    assert a[6] == "1"  # one hint shown
    for row, n in ((a, ALICE), (b, BOB)):  # resets and solves as the lab's journal counts them
        counts = journal.summary(n)
        assert (row[7], row[8]) == (str(counts["reset"]), str(counts["solve"]))
        assert 0 <= int(row[9]) < 30  # minutes since the exercise started

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.cell = [], None

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag == "td":
                self.cell = ""

        def handle_endtag(self, tag):
            if tag == "td":
                self.rows[-1].append(self.cell)
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data
    page = Cells()
    page.feed(html_file.read_text())
    assert sorted(r for r in page.rows if r) == sorted([a, b])  # the same numbers as the CSV, one row each
    assert oct(os.stat(csv_file).st_mode & 0o777) == "0o644"


def test_the_class_moves_on_and_stops(course, tmp_path):
    f, _r, _s = course
    before = running()
    r = lab("workshop", "course", str(f), "--exercise", "masquerade", "--lang", "zh", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{ALICE}：flow-90 已评分并记入报告（0/1）；停止" in r.stdout and f"{ALICE}：启动 masquerade" in r.stdout
    assert f"{BOB}：masquerade 已在运行" in r.stdout and "2/2 个实验在运行" in r.stdout
    after = running()
    assert after[ALICE][3] != before[ALICE][3] and after[BOB][3] == before[BOB][3]
    assert not alive(int(before[ALICE][3]))
    task = lab("workshop", "task", "--name", ALICE)
    assert "=== masquerade:" in task.stdout and "Pod 无法访问外部" in task.stdout  # the course's language now

    # the report keeps what alice did on flow-90 before the class moved on, then grades masquerade now
    r = lab("workshop", "report", "--name", ALICE, "--name", BOB, "--csv", str(tmp_path / "c.csv"), "--lang", "zh")
    got = [row[:5] for row in csv.reader((tmp_path / "c.csv").open())]
    assert got == [["学生", "练习", "阶段", "通过", "总数"], [ALICE, "flow-90", "1/3", "0", "1"],
                   [ALICE, "masquerade", "", "1", "4"], [BOB, "masquerade", "", "4", "4"]], got
    assert "学生" in r.stdout.splitlines()[0]

    pids = [int(after[n][3]) for n in (ALICE, BOB)]
    r = lab("workshop", "course", str(f), "--stop")
    assert r.returncode == 0 and f"{ALICE}: stopped (pid {pids[0]})" in r.stdout, r.stdout + r.stderr
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    assert not any(alive(p) for p in pids)
    assert running() == {} and os.listdir(os.path.join(RUN_DIR, ".course")) == []  # logs and kept rows gone
    for n in (ALICE, BOB):
        assert not os.path.exists(f"/var/run/netns/{n}-node1")
        assert not any(cleanup.leftovers(n).values()), cleanup.leftovers(n)
