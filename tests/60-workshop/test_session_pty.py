"""A student's session in a real terminal (pty.fork: the lab's CLI has a controlling terminal, as in a
student's shell): `lab workshop start` typed at, task, hint, answer, a fix, check; meanwhile another process
grades the same lab with `lab workshop check --name ... --json`. Once in English, once in Chinese."""

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import unicodedata

import pytest

from lab import paths
from lab.cleanup import leftovers

pytestmark = pytest.mark.root
LAB = [sys.executable, "-m", "lab"]
PROMPT = "sdnlab> "
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
NODE2_SUBNET, NODE2_IP = "10.129.0.0/23", "172.16.1.12"  # the flow-90 lab's node2 (its HostSubnet, underlay)


def chinese(text: str) -> int:
    return sum(unicodedata.east_asian_width(c) == "W" for c in text)


class Session:
    """`lab workshop start EX` on a pseudo-terminal of its own; every read has a deadline."""

    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: its terminal is the pty's slave
            os.environ["TERM"] = "dumb"
            try:
                os.execv(argv[0], argv)
            finally:
                os._exit(127)
        self.buf = ""

    def read_until(self, marker: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {marker!r} within {timeout} s: {self.buf[-2000:]}")
            if select.select([self.fd], [], [], min(left, 0.5))[0]:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:  # the child closed the terminal
                    data = b""
                if not data:
                    raise AssertionError(f"the terminal closed before {marker!r}: {self.buf[-2000:]}")
                self.buf += ANSI.sub("", data.decode(errors="replace"))
        text, self.buf = self.buf.split(marker, 1)
        return text

    def type(self, line: str, timeout: float = 60) -> str:
        os.write(self.fd, line.encode() + b"\n")
        return self.read_until(PROMPT, timeout)

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = 0
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.1)
        raise AssertionError(f"the session did not end within {timeout} s")

    def close(self) -> None:
        if self.pid:
            os.kill(self.pid, signal.SIGTERM)  # the lab tears itself down on SIGTERM
            try:
                self.wait(60)
            except AssertionError:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        os.close(self.fd)


def other_shell(*args, timeout=120):
    return subprocess.run(LAB + list(args), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_student_in_a_terminal_graded_from_another_shell(lang, tmp_path):
    name = paths.lab_name()[:9] + "p" + lang
    s = Session(LAB + ["workshop", "start", "flow-90", "--name", name, "--lang", lang])
    graded = tmp_path / "grade.json"
    try:
        start = s.read_until(PROMPT, timeout=180)
        assert "=== flow-90:" in start and "score" not in start
        task = s.type("task")
        if lang == "en":
            assert "Lost route to a node's subnet (table 90)" in task and "answer:" in task
        else:
            assert "到某节点子网的流丢失（表 90）" in task and "作答：" in task and "（任务 | 提示" in task
        hint = s.type("hint")
        assert ("hint 1/3:" if lang == "en" else "提示 1/3：") in hint
        assert (chinese(hint) > 3) == (lang == "zh"), hint

        # another shell grades the lab while the student's terminal is open: stage 1 (which table drops) not answered
        r = other_shell("workshop", "check", "--name", name, "--json", str(graded))
        assert r.returncode == 1, r.stdout + r.stderr
        lab = json.loads(graded.read_text())["labs"][0]
        assert (lab["lab"], lab["exercise"], lab["score"], lab["total"]) == (name, "flow-90", 0, 1)
        assert "table = 90" in s.type("answer table 90")
        s.type("stage next")
        # stage 2, graded from the other shell: the flow is still missing, the ping is not seen at pod2
        r = other_shell("workshop", "check", "--name", name, "--json", str(graded))
        assert r.returncode == 1, r.stdout + r.stderr
        lab = json.loads(graded.read_text())["labs"][0]
        assert (lab["score"], lab["total"]) == (0, 3), lab
        ping = next(x for x in lab["results"] if x["criterion"].startswith("pod1 "))
        assert ping["criterion"] == ("pod1 reaches pod2 (ping, seen at pod2)" if lang == "en"
                                     else "pod1 能 ping 通 pod2（在 pod2 上抓包确认）")
        assert "no answer" in ping["seen"]
        s.type(f"node1 ovs-ofctl -O OpenFlow13 add-flow br0 'table=90,priority=100,ip,nw_dst={NODE2_SUBNET},"
               f"actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:{NODE2_IP}->tun_dst,output:1'")
        checked = s.type("check")
        score = "score 3/3" if lang == "en" else "得分 3/3"
        assert score in checked, checked
        assert ("pod1 reaches pod2 (ping, seen at pod2)" in checked) == (lang == "en")
        assert ("pod1 能 ping 通 pod2" in checked) == (lang == "zh")

        r = other_shell("workshop", "check", "--name", name, "--json", str(graded))
        assert r.returncode == 0 and score in r.stdout, r.stdout + r.stderr
        lab = json.loads(graded.read_text())["labs"][0]
        assert lab["passed"] and all(x["ok"] for x in lab["results"])
        assert all(chinese(x["criterion"]) for x in lab["results"] if not x["criterion"].startswith("answer")) \
            == (lang == "zh")

        os.write(s.fd, b"exit\n")
        s.read_until("*** Done in", timeout=60)
        assert s.wait(30) == 0
    finally:
        s.close()
        other_shell("clean", name)
    assert not any(leftovers(name).values())
