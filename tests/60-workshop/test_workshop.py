"""Workshops on real labs: every exercise verified (fails before, passes after its reference solution);
a student's session through a terminal, graded from another shell, one lab per student."""

import json
import os
import re
import select
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from lab import paths
from lab.cleanup import leftovers
from lab.workshop.catalogue import CATALOGUE

LAB = [sys.executable, "-m", "lab"]
pytestmark = pytest.mark.root


def name(suffix: str) -> str:
    return (paths.lab_name()[:8] + suffix)[:12]


def lab(*args, timeout=120):
    return subprocess.run(LAB + list(args), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_verify_passes_for_every_exercise():
    """`lab workshop verify EX...` reads like a test runner: progress, one line per exercise and per wrong fix
    (PASS/FAIL, seconds, why), a summary, exit 0; its labs gone. Every exercise of the catalogue is verified by
    test_verify_part*.py (a few files, so that xdist spreads them); here two, for the command's own output."""
    lab_name = name("ver")
    chosen = ["same-node-path", "service-dnat"]
    try:
        r = lab("workshop", "verify", *chosen, "--name", lab_name, timeout=600)
    finally:
        lab("clean", lab_name)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert [ln for ln in r.stdout.splitlines() if ln.startswith("[")] == ["[1/2] same-node-path", "[2/2] service-dnat"]
    for ex_id in chosen:
        assert re.search(rf"^PASS  {ex_id} +[\d.]+ s  start \d+/\d+, solved (\d+)/\1, reset \d+/\d+$", r.stdout, re.M)
        for wf in CATALOGUE[ex_id].wrong_fixes:
            assert re.search(rf"^PASS  {ex_id} ~ {re.escape(wf.name)} +[\d.]+ s  caught \(", r.stdout, re.M), wf.name
    fixes = sum(len(CATALOGUE[e].wrong_fixes) for e in chosen)
    assert re.search(rf"^2/2 exercises verified, {fixes}/{fixes} wrong fixes caught, in [\d.]+ s$", r.stdout, re.M)
    assert not any(leftovers(lab_name).values())


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


def test_a_student_session_graded_from_another_shell(tmp_path):
    alice, bob = name("wsa"), name("wsb")
    term = Terminal(LAB + ["workshop", "start", "flow-90", "--name", alice])
    script = tmp_path / "bob.mn"
    script.write_text("task\npx import time; time.sleep(120)\n")
    other = subprocess.Popen(LAB + ["workshop", "start", "masquerade", "--name", bob, "--lang", "zh",
                                    "--script", str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, text=True)
    try:
        start = term.read_until("sdnlab> ", timeout=120)
        assert "=== flow-90:" in start and "[stage 1/3]" in start and "answer table VALUE" in start
        assert "score" not in start  # nothing graded before the student asks

        # from another shell: the lab knows its exercise and its stage; stage 1 asks where the packet is dropped
        out, junit = tmp_path / "a.json", tmp_path / "a.xml"
        r = lab("workshop", "check", "--name", alice, "--json", str(out), "--junit", str(junit))
        assert r.returncode == 1, r.stdout + r.stderr
        graded = json.loads(out.read_text())["labs"][0]
        assert (graded["lab"], graded["exercise"], graded["score"], graded["total"]) == (alice, "flow-90", 0, 1)
        assert ET.parse(junit).getroot().get("failures") == "1"

        r = lab("workshop", "answer", "--name", alice, "table", "80")  # answers from another shell count too
        assert r.returncode == 0 and "recorded table = 80" in r.stdout, r.stdout + r.stderr
        wrong = term.type("check")
        assert re.search(r"FAIL\s+answer table\s+'80': does not match the lab", wrong), wrong
        assert "90" not in wrong.split("answer table")[1].splitlines()[0]  # the right answer is never shown

        assert "hint 1/3:" in term.type("hint")
        assert "hint 2/3:" in term.type("hint")
        assert "recorded table = 90" in term.type("answer table 90")
        assert "score 1/1" in term.type("check")
        assert "stage 2/3" in term.type("stage next")  # stage 2: put the flow back; the fault is in place
        r = lab("workshop", "check", "--name", alice)
        assert r.returncode == 1 and "score 0/3" in r.stdout, r.stdout + r.stderr
        assert re.search(r"FAIL\s+pod1 reaches pod2 \(ping, seen at pod2\)\s+pod1 -> pod2 \(10\.129\.0\.2\): no answer",
                         r.stdout), r.stdout
        subnet = "10.129.0.0/23"  # node2's HostSubnet; node2 is 172.16.1.12
        term.type("node1 ovs-ofctl -O OpenFlow13 add-flow br0 'table=90,priority=100,ip,nw_dst=" + subnet
                  + ",actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:172.16.1.12->tun_dst,output:1'")
        graded_in_cli = term.type("check")
        assert "score 3/3" in graded_in_cli, graded_in_cli

        r = lab("workshop", "check", "--name", alice, "--junit", str(junit))
        assert r.returncode == 0 and "score 3/3" in r.stdout, r.stdout + r.stderr
        assert ET.parse(junit).getroot().get("failures") == "0"

        # the teacher grades every student's lab at once
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not os.path.exists(os.path.join(paths.run_dir(bob), "workshop.json")):
            time.sleep(0.2)
        r = lab("workshop", "check", "--all", "--json", str(out))
        labs = {g["lab"]: g for g in json.loads(out.read_text())["labs"]}
        assert {alice, bob} <= set(labs), r.stdout + r.stderr
        assert labs[alice]["passed"] and not labs[bob]["passed"] and labs[bob]["exercise"] == "masquerade"
        assert r.returncode == 1  # bob has work to do

        assert "reset" in term.type("reset")
        assert "score 0/" in term.type("check")  # the fault is back (whichever stage reset leaves)
        os.write(term.master, b"exit\n")
        term.read_until("*** Done in", timeout=60)
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()
        lab("clean", alice)
        if other.poll() is None:
            other.terminate()
        bob_out = other.communicate(timeout=60)[0]
        lab("clean", bob)
    assert "Pod 无法访问外部" in bob_out  # bob's task in Chinese
    for n in (alice, bob):
        assert not any(leftovers(n).values())
