"""Run shell scripts in many lab hosts at once, and fail with the host's own words."""

from __future__ import annotations

import os
import re
import tempfile
from typing import TYPE_CHECKING, Iterable, List, Tuple

from lab import paths
from lab.errors import LabError

if TYPE_CHECKING:  # the scripts need a Mininet shell (sendCmd, waitOutput): a LabHost, not a LiveHost
    from lab.host import LabHost

_RC = re.compile(r"__sdnlab_rc=(\d+)")


def run_scripts(jobs: Iterable[Tuple[LabHost, str, str]]) -> None:
    """jobs: (host, step name, bash script). All start together; each must exit 0."""
    wait_scripts(start_scripts(jobs))


def start_scripts(jobs: Iterable[Tuple[LabHost, str, str]]) -> List[Tuple[LabHost, str, str]]:
    """Send each script to its host's shell and return at once; wait_scripts() collects them."""
    started: List[Tuple[LabHost, str, str]] = []
    for host, step, script in jobs:
        path = os.path.join(host.dir, f"{step}.sh")
        log = os.path.join(host.dir, f"{step}.log")
        with paths.open_private(path) as f:
            # SDNLAB_TRACE=1 timestamps every step of every script in its .log (for profiling)
            trace = "PS4='+ $EPOCHREALTIME '; set -x\n" if os.environ.get("SDNLAB_TRACE") else ""
            f.write("set -e\n" + trace + script)
        host.sendCmd(f"bash {path} > {log} 2>&1; echo __sdnlab_rc=$?")
        started.append((host, step, log))
    return started


def wait_scripts(started: List[Tuple[LabHost, str, str]]) -> None:
    failures = []
    for host, step, log in started:
        out = host.waitOutput()
        m = _RC.search(out)
        if not m or m.group(1) != "0":
            with open(log) as f:
                tail = f.read().strip().splitlines()[-5:]
            failures.append(f"{host.name}: {step} failed: " + " | ".join(tail))
    if failures:
        raise LabError("; ".join(failures))


def run(host, command: str) -> str:
    """Run a command (or a multi-line script) in a host's shell, raising with its output if it fails."""
    if "\n" in command:  # each line would end at the shell's prompt: run it as a script instead
        fd, path = tempfile.mkstemp(prefix="run-", suffix=".sh", dir=host.dir)
        with os.fdopen(fd, "w") as f:
            f.write("set -e\n" + command + "\n")
        command = f"bash {path}; rc=$?; rm -f {path}; (exit $rc)"
    out = host.cmd(f"{command}; echo __sdnlab_rc=$?")
    m = _RC.search(out)
    body = _RC.sub("", out).rstrip()
    if not m or m.group(1) != "0":
        raise LabError(f"{host.name}: `{command}` failed: {body}")
    return body


def bounded(host, command: str, timeout: float) -> str:
    """run() with a deadline: the host's shell runs the command under coreutils `timeout`, so a hung command
    ends (LabError) instead of blocking Mininet's cmd(), which has none, and the test waiting on it."""
    quoted = command.replace("'", "'\\''")
    out = host.cmd(f"timeout -k 2 {timeout:g} bash -c '{quoted}'; echo __sdnlab_rc=$?")
    m = _RC.search(out)
    body = _RC.sub("", out).rstrip()
    if m and m.group(1) in ("124", "137"):
        raise LabError(f"{host.name}: `{command}` did not finish within {timeout:g}s: {body}")
    if not m or m.group(1) != "0":
        raise LabError(f"{host.name}: `{command}` failed: {body}")
    return body
