"""The egress exercises on real labs (test_workshop.py verifies every exercise, with reset): a student gives
a project an egress IP in the lab's CLI, reads the mark from node2's switch, and is graded from another shell."""

import re

import pytest
from test_workshop import LAB, Terminal, lab, name

from lab.cleanup import leftovers

pytestmark = pytest.mark.root


def test_an_egress_ip_set_in_the_cli_is_graded_from_another_shell():
    student = name("egs")
    term = Terminal(LAB + ["workshop", "start", "egress-ip", "--name", student])
    try:
        start = term.read_until("sdnlab> ", timeout=120)
        assert "=== egress-ip:" in start and "answer mark VALUE" in start

        r = lab("workshop", "check", "--name", student)
        assert r.returncode == 1, r.stdout + r.stderr
        assert re.search(r"FAIL\s+ext's listener: pod1 \(p1, node1\) connects from 172\.16\.1\.100\s+pod1 -> ext "
                         r"\(172\.16\.1\.254\): the listener saw 172\.16\.1\.11", r.stdout), r.stdout
        assert re.search(r"PASS\s+ext's listener: pod2 \(p2, node1\) still connects from node1's address", r.stdout)

        assert "patched" in term.type("""oc patch hostsubnet node2 -p '{"egressIPs": ["172.16.1.100"]}'""")
        assert "patched" in term.type("""oc patch netnamespace p1 -p '{"egressIPs": ["172.16.1.100"]}'""")
        vnid = int(re.search(r"^p1\s+(\d+)", term.type("oc get netnamespaces"), re.M).group(1))
        dump = term.type("node2 ovs-ofctl -O OpenFlow13 --no-names dump-flows br0 table=100")
        mark = re.search(rf"reg0={vnid:#x}\b.*set_field:(0x[0-9a-f]+)->pkt_mark", dump).group(1)
        assert "recorded mark" in term.type(f"answer mark {mark}")

        r = lab("workshop", "check", "--name", student)
        assert r.returncode == 0 and "score 7/7" in r.stdout, r.stdout + r.stderr
        assert re.search(r"PASS\s+node2's SNAT to 172\.16\.1\.100 counts pod1's connection\s+SNAT to:172\.16\.1\.100 "
                         r"counted \d+ -> \d+ packets", r.stdout), r.stdout

        assert "reset" in term.type("reset")  # the egress IPs patched away again: the task is back
        r = lab("workshop", "check", "--name", student)
        assert r.returncode == 1 and "score 2/7" in r.stdout, r.stdout
        term.type("exit", until="*** Done in")
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()
        lab("clean", student)
    assert not any(leftovers(student).values())


def test_a_teacher_solves_and_resets_egress_node_down_from_another_shell():
    """Its reset pulls node2's cable again and re-patches egress IPs: `unplug`, `plug` and `oc` over the lab's
    control socket while the student's CLI waits at its prompt."""
    student = name("egt")
    term = Terminal(LAB + ["workshop", "start", "egress-node-down", "--name", student])
    try:
        term.read_until("sdnlab> ", timeout=120)
        r = lab("workshop", "check", "--name", student)
        assert r.returncode == 1, r.stdout + r.stderr
        r = lab("workshop", "solve", "egress-node-down", "--name", student)
        assert r.returncode == 0, r.stdout + r.stderr
        r = lab("workshop", "check", "--name", student)
        assert r.returncode == 0, r.stdout + r.stderr
        r = lab("workshop", "reset", "--name", student)
        assert r.returncode == 0 and "reset" in r.stdout, r.stdout + r.stderr
        r = lab("workshop", "check", "--name", student)
        assert r.returncode == 1, r.stdout + r.stderr
        term.type("exit", until="*** Done in")
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()
        lab("clean", student)
    assert not any(leftovers(student).values())
