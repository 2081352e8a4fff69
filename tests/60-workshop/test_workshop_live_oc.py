"""Exercises solved with live `oc` lines (test_workshop.py verifies every exercise, with reset): a student's
session where the `oc` line is typed in the lab's CLI and the lab is graded from another shell (which reads
the API state the lab rewrote), and a teacher's `solve` and `reset` from another shell (the lab's control socket, lab.control)."""

import json
import re

import pytest
from test_workshop import LAB, Terminal, lab, name

from lab.cleanup import leftovers

pytestmark = pytest.mark.root


def test_projects_joined_in_the_cli_are_graded_from_another_shell(tmp_path):
    student = name("loj")
    term = Terminal(LAB + ["workshop", "start", "join-projects", "--name", student])
    try:
        start = term.read_until("sdnlab> ", timeout=120)
        assert "=== join-projects:" in start and "answer netid VALUE" in start

        out = tmp_path / "g.json"
        r = lab("workshop", "check", "--name", student, "--json", str(out))
        assert r.returncode == 1, r.stdout + r.stderr
        assert re.search(r"FAIL\s+ofproto/trace pod1 -> pod2 no longer ends in table 80\s+.*node2: .*drop in table 80",
                         r.stdout), r.stdout

        assert "p2" in term.type("oc adm pod-network join-projects --to=p1 p2")
        listed = term.type("oc get netnamespaces")
        shared = re.search(r"^p1\s+(\d+)", listed, re.M).group(1)
        assert re.search(rf"^p2\s+{shared}\b", listed, re.M), listed
        r = lab("workshop", "answer", "--name", student, "netid", hex(int(shared)))  # hex counts too
        assert r.returncode == 0, r.stdout + r.stderr

        r = lab("workshop", "check", "--name", student, "--json", str(out))
        assert r.returncode == 0 and "score 6/6" in r.stdout, r.stdout + r.stderr
        assert json.loads(out.read_text())["labs"][0]["passed"]

        assert "reset" in term.type("reset")  # isolate-projects again: the task is back
        r = lab("workshop", "check", "--name", student)
        assert r.returncode == 1 and re.search(r"FAIL\s+NetNamespaces p1 and p2 share one NETID", r.stdout), r.stdout
        term.type("exit", until="*** Done in")
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()
        lab("clean", student)
    assert not any(leftovers(student).values())


def test_a_teacher_solves_and_resets_from_another_shell():
    """The model lives in the lab's process; `solve` and `reset` from another shell reach it over the lab's
    control socket while the student's CLI waits at its prompt."""
    student = name("los")
    term = Terminal(LAB + ["workshop", "start", "join-projects", "--name", student])
    try:
        term.read_until("sdnlab> ", timeout=120)
        r = lab("workshop", "check", "--name", student)
        assert r.returncode == 1, r.stdout + r.stderr

        r = lab("workshop", "solve", "join-projects", "--name", student)
        assert r.returncode == 0 and f"applied the reference solution of join-projects to lab {student!r}" in r.stdout, \
            r.stdout + r.stderr
        r = lab("workshop", "check", "--name", student)
        assert r.returncode == 0 and "score 6/6" in r.stdout, r.stdout + r.stderr
        changes = term.type("changes")  # the student's CLI sees the change the teacher made
        assert "$ oc adm pod-network join-projects --to=p1 p2" in changes, changes
        assert " 0% packet loss" in term.type("pod1 ping -n -c1 -W2 pod2")  # the student sees it work

        r = lab("workshop", "reset", "--name", student)
        assert r.returncode == 0 and "exercise join-projects reset" in r.stdout, r.stdout + r.stderr
        r = lab("workshop", "check", "--name", student)
        assert r.returncode == 1 and re.search(r"FAIL\s+NetNamespaces p1 and p2 share one NETID", r.stdout), r.stdout
        term.type("exit", until="*** Done in")
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()
        lab("clean", student)
    assert not any(leftovers(student).values())
