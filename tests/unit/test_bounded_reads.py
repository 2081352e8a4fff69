"""Reads and commands with deadlines (lab.observe.probe.read_until, lab.shell.bounded): a child that never
prints the marker, or a command that hangs, ends the wait at the deadline instead of blocking the test."""

import subprocess
import sys
import time

import pytest

from lab.errors import LabError
from lab.observe.probe import read_until
from lab.shell import bounded


class Shell:
    """A host whose cmd() is a real bash, as Mininet's is (only without a namespace)."""

    name = "local"

    def cmd(self, command: str) -> str:
        return subprocess.run(["bash", "-c", command], capture_output=True, text=True).stdout


def child(script: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)


def test_read_until_returns_the_output_up_to_the_marker_line():
    proc = child("import time; print('one', flush=True); print('two READY', flush=True); time.sleep(30)")
    try:
        assert read_until(proc.stdout, "READY", timeout=10) == "one\ntwo READY\n"
    finally:
        proc.kill()
        proc.wait()


def test_read_until_gives_up_at_the_deadline_and_at_the_pipes_end():
    proc = child("import time; print('only this', flush=True); time.sleep(30)")
    try:
        t = time.monotonic()
        with pytest.raises(TimeoutError, match="no 'READY' within 0.5s: only this"):
            read_until(proc.stdout, "READY", timeout=0.5)
        assert time.monotonic() - t < 3
    finally:
        proc.kill()
        proc.wait()
    proc = child("print('bye')")
    with pytest.raises(EOFError):
        read_until(proc.stdout, "READY", timeout=10)
    proc.wait()


def test_bounded_returns_the_output_and_ends_a_hung_command():
    assert bounded(Shell(), "echo 'a b'; echo c", timeout=5) == "a b\nc"
    t = time.monotonic()
    with pytest.raises(LabError, match="did not finish within 0.5s"):
        bounded(Shell(), "sleep 20", timeout=0.5)
    assert time.monotonic() - t < 5
    with pytest.raises(LabError, match="failed"):
        bounded(Shell(), "false", timeout=5)
