"""Integrity (issue 15): a student's workshop CLI in a terminal has nothing that shows or repairs the fault and
no `solve`; the teacher's commands from another shell, the student's hints, answers and resets are in the
lab's journal (0600) and in `check`, its JSON and its JUnit; reset does not set the hint count back."""

import json
import os
import select
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from lab import paths
from lab.livelab import LiveLab
from lab.workshop import journal

LAB = [sys.executable, "-m", "lab"]
pytestmark = pytest.mark.root


def lab(*args, timeout=120):
    return subprocess.run(LAB + list(args), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


class Terminal:
    """A lab started in a pseudo-terminal, as a student starts it."""

    def __init__(self, argv):
        import pty
        self.master, self.slave = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                     start_new_session=True)
        self.seen = []

    def read_until(self, marker: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if select.select([self.master], [], [], 0.2)[0]:
                try:
                    self.seen.append(os.read(self.master, 4096).decode(errors="replace"))
                except OSError:
                    break
                if marker in "".join(self.seen):
                    text = "".join(self.seen)
                    self.seen.clear()
                    return text
        raise AssertionError(f"no {marker!r}: {''.join(self.seen)[-2000:]}")

    def type(self, line: str, until: str = "sdnlab> ") -> str:
        os.write(self.master, line.encode() + b"\n")
        return self.read_until(until)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


def masquerade_rules(name: str) -> str:
    """node1's nat OPENSHIFT-MASQUERADE chain as the kernel has it."""
    return LiveLab(name).sh("node1", "iptables -t nat -S OPENSHIFT-MASQUERADE")


def test_the_students_cli_neither_shows_nor_repairs_and_everything_is_recorded(tmp_path):
    name = (paths.lab_name()[:8] + "int")[:12]
    term = Terminal(LAB + ["workshop", "start", "masquerade", "--name", name])
    try:
        term.read_until("sdnlab> ", timeout=120)
        broken = masquerade_rules(name)
        assert "MASQUERADE" not in broken.replace("OPENSHIFT-MASQUERADE", "")  # the exercise's fault

        # the student's own CLI: no fault status (what was broken), no repair, no solve
        status = term.type("fault status")
        assert "error:" in status and "not part of a workshop lab's CLI" in status, status
        assert "masquerade" not in status.lower().replace("openshift-masquerade", ""), status
        assert "error:" in term.type("fault repair --all")
        assert "error:" in term.type("fault list")
        assert "error:" in term.type("solve")
        assert masquerade_rules(name) == broken  # the kernel: nothing was repaired

        assert "hint 1/3:" in term.type("hint")
        assert "hint 2/3:" in term.type("hint")
        assert "restored from the checkpoint" in term.type("reset")
        assert "hint 3/3:" in term.type("hint")  # reset does not set the hint count back

        # the teacher, from another shell: a fault command and the reference solution, both recorded
        r = lab("fault", "status", "--name", name)
        assert r.returncode == 0 and "masquerade" in r.stdout, r.stdout + r.stderr
        lab_ = LiveLab(name)
        lab_.sh("node1", "iptables -t nat -A OPENSHIFT-MASQUERADE -s 192.0.2.0/24 -j MASQUERADE")  # a wrong fix
        r = lab("workshop", "reset", "--name", name)  # the teacher's reset, from another shell
        assert r.returncode == 0 and "restored from the checkpoint" in r.stdout, r.stdout + r.stderr
        assert masquerade_rules(name) == broken
        r = lab("workshop", "solve", "masquerade", "--name", name)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "MASQUERADE" in masquerade_rules(name).replace("OPENSHIFT-MASQUERADE", "")

        r = lab("fault", "inject", "--name", name, "stale-arp", "pod1", "pod2")
        assert r.returncode == 0, r.stdout + r.stderr
        r = lab("fault", "repair", "--name", name, "stale-arp")
        assert r.returncode == 0, r.stdout + r.stderr

        out, junit = tmp_path / "g.json", tmp_path / "g.xml"
        r = lab("workshop", "check", "--name", name, "--json", str(out), "--junit", str(junit))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "hints used 3, resets 2, reference solutions 1, teacher fault commands 3" in r.stdout, r.stdout
        graded = json.loads(out.read_text())["labs"][0]
        assert (graded["hints"], graded["resets"], graded["solves"], graded["fault_commands"]) == (3, 2, 1, 3)
        props = {p.get("name"): p.get("value") for p in ET.parse(junit).getroot().iter("property")}
        assert (props["hints"], props["resets"], props["solves"], props["fault_commands"]) == ("3", "2", "1", "3")
        in_cli = term.type("check")
        assert "hints used 3" in in_cli and "reference solutions 1" in in_cli, in_cli

        # the records: 0600, appended, each event with its time
        path = journal.journal_path(name)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.join(paths.run_dir(name), "workshop.json")).st_mode) == 0o600
        events = journal.events(name)
        kinds = [e["event"] for e in events]
        assert kinds.count("hint") == 3 and kinds.count("reset") == 2
        assert [k for k in kinds if k.startswith("fault-")] == ["fault-status", "fault-inject", "fault-repair"]
        assert kinds.index("fault-status") < kinds.index("solve") and all(e["time"] > 0 for e in events)
        resets = [e for e in events if e["event"] == "reset"]
        assert [(e["via"], e["restored"]) for e in resets] == [("cli", True), ("shell", True)]
        os.write(term.master, b"exit\n")
        term.read_until("*** Done in", timeout=60)
    finally:
        term.close()
        lab("clean", name)


def test_the_same_in_chinese_aligned_for_wide_characters():
    from lab.workshop.grading import width
    name = (paths.lab_name()[:8] + "izh")[:12]
    term = Terminal(LAB + ["workshop", "start", "masquerade", "--name", name, "--lang", "zh"])
    try:
        term.read_until("sdnlab> ", timeout=120)
        assert "练习实验的命令行不提供 `fault`" in term.type("fault status")
        assert "提示 1/3：" in term.type("hint")
        assert "已从" in term.type("reset") and "保存的检查点恢复" in term.type("reset")
        r = lab("workshop", "check", "--name", name)
        assert r.returncode == 1, r.stdout + r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == f"--- 实验 {name}：练习 masquerade"
        table = lines[1:4]
        assert table[0].split()[:2] == ["结果", "评分项"] and table[1].startswith("未通过")
        seen_at = [width(row[:row.index(row.split()[-1])]) for row in table[:1]] + \
                  [width(row[:row.index("pod1 -> ext")]) for row in table[1:2]]
        assert len(set(seen_at)) == 1, table  # the SEEN column lines up under its heading
        assert lines[-1] == "记录：已用提示 1 次，重置 2 次，参考答案 0 次，教师故障命令 0 次", r.stdout
        os.write(term.master, b"exit\n")
        term.read_until("*** Done in", timeout=60)
    finally:
        term.close()
        lab("clean", name)
