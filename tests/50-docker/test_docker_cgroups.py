"""Docker labs leave no cgroup: 50 runs ended by a normal exit, a signal, or kill -9 and `lab clean`, each
followed by the leftovers check (cgroups in every hierarchy, at any depth dockerd nests them, namespaces,
mounts, processes, files) and no link of the lab in the machine's namespace."""

import os
import signal
import subprocess
import sys
import time

import pytest

from lab import cleanup, paths
from lab.front.pytest_plugin import assert_nothing_left

LAB = [sys.executable, "-m", "lab"]
RUNS = int(os.environ.get("SDNLAB_CGROUP_RUNS", "50"))
pytestmark = pytest.mark.root


def lab_name() -> str:
    return (paths.lab_name()[:9] + "cg")[:12]


def wait_for(proc, marker: str, timeout: float = 120) -> str:
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(timeout=left):
            raise AssertionError(f"no {marker!r} within {timeout}s: {seen[-2000:]}")
        line = os.read(proc.stdout.fileno(), 65536).decode(errors="replace")  # unbuffered: select stays true
        if not line:
            raise AssertionError(f"the lab exited before {marker!r}: {seen[-2000:]}")
        seen += line
    return seen


def root_links(name: str):
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, timeout=30).stdout
    return [line for line in out.splitlines() if name in line]


def test_docker_lab_runs_leave_no_cgroup(tmp_path):
    name = lab_name()
    waiting = tmp_path / "wait.mn"
    waiting.write_text("sh echo SCRIPT-STARTED\nsh sleep 60\n")
    quick = tmp_path / "quick.mn"
    quick.write_text("sh echo SCRIPT-STARTED\n")
    endings = ["exit", "SIGTERM", "kill -9", "SIGINT", "exit", "kill -9"]
    t0 = time.monotonic()
    for run in range(RUNS):
        ending = endings[run % len(endings)]
        proc = subprocess.Popen(LAB + ["run", "docker-vxlan", "--runtime", "docker", "--name", name, "--no-checks",
                                       "--script", str(quick if ending == "exit" else waiting)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            wait_for(proc, "SCRIPT-STARTED")
            assert cleanup.lab_cgroups(name), f"run {run}: the lab's containers have no cgroup to look for"
            if ending == "kill -9":
                proc.kill()
                proc.wait(timeout=30)
                r = subprocess.run(LAB + ["clean", name], capture_output=True, text=True, timeout=120)
                assert r.returncode == 0, r.stdout + r.stderr
            elif ending != "exit":
                proc.send_signal(getattr(signal, ending))
            rc = proc.wait(timeout=120)
            assert rc == {"exit": 0, "SIGTERM": 143, "SIGINT": 130, "kill -9": -9}[ending], (run, ending, rc)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
                subprocess.run(LAB + ["clean", name], capture_output=True, timeout=120)
            proc.stdout.close()
        assert_nothing_left(name)  # cgroups and mounts included (lab.cleanup.leftovers)
        assert not root_links(name), (run, ending)
    print(f"{RUNS} Docker lab runs in {time.monotonic() - t0:.0f} s")
