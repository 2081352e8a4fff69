"""A lab host: a Mininet host (a shell in its own network namespace) with a private directory."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import threading
import time
from typing import Dict, Optional

from mininet.link import Intf
from mininet.node import Host

from lab import cleanup
from lab.errors import LabError
from lab.paths import host_dir

PROMPT = chr(127)  # Mininet's prompt sentinel
SHELL_START_TIMEOUT = 10.0
STOPPING = threading.Event()  # set by a lab's teardown: shells still starting give up at once


def _stay(intf, node):  # our links are created inside the namespaces already
    return None


class LabHost(Host):
    """`net['pod1'].cmd(...)` works as on any Mininet host; `role` says what it stands for."""

    def __init__(self, name: str, role: str = "host", env: Optional[Dict[str, str]] = None,
                 netns: Optional[str] = None, **params):
        self.role = role
        self.netns = netns  # an existing network namespace to enter (a pause container's) instead of a new one
        self.dir = host_dir(name)
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        super().__init__(name, inNamespace=True, **params)
        exports = {"SDNLAB_HOST": name}
        exports.update(env or {})
        self.cmd("; ".join(f"export {k}={v}" for k, v in exports.items()))

    def startShell(self, mnopts=None):  # noqa: N802 (Mininet's name)
        """Mininet's shell, with three differences: it runs in its own session from the first
        instruction (a signal to the lab's process group never reaches it), it is recorded with its
        start time at once (for cleanup), and waiting for its prompt has a deadline and notices EOF."""
        self.master, self.slave = pty.openpty()
        # no -d: the session is already new (with -d mnexec would fork once more, so self.pid would not be the shell)
        enter = ["mnexec", "-c", "nsenter", f"--net={self.netns}"] if self.netns else ["mnexec", "-cn"]
        cmd = enter + ["env", f"PS1={PROMPT}", "bash", "--norc", "--noediting", "-is", f"mininet:{self.name}"]
        self.shell = subprocess.Popen(cmd, stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                      close_fds=False, start_new_session=True)
        self.pid = self.shell.pid
        cleanup.record_process(self.pid, f"shell {self.name}")
        self.stdin = os.fdopen(self.master, "r")
        self.stdout = self.stdin
        self.pollOut = select.poll()
        self.pollOut.register(self.stdout)
        self.outToNode[self.stdout.fileno()] = self
        self.inToNode[self.stdin.fileno()] = self
        self.execed, self.lastCmd, self.lastPid, self.readbuf = False, None, None, ""
        deadline = time.monotonic() + SHELL_START_TIMEOUT
        os.set_blocking(self.master, False)  # a shell killed meanwhile must not block this thread
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LabError(f"{self.name}: its shell gave no prompt in {SHELL_START_TIMEOUT:.0f} s")
            if STOPPING.is_set():
                raise LabError(f"{self.name}: the lab is being torn down")
            if self.shell.poll() is not None:
                raise LabError(f"{self.name}: its shell exited before its prompt (status {self.shell.returncode})")
            if not self.pollOut.poll(int(min(left, 0.1) * 1000) + 1):
                continue
            try:
                data = self.read(1024)
            except OSError:
                data = ""
            if data.endswith(PROMPT):
                break
        os.set_blocking(self.master, True)  # Mininet's own reads expect a blocking pty
        self.waiting = False
        self.cmd("unset HISTFILE; stty -echo; set +m")

    def addIntf(self, intf, port=None, moveIntfFn=_stay):  # noqa: N802 (Mininet's name)
        return super().addIntf(intf, port=port, moveIntfFn=_stay)

    def add_known_intf(self, name: str, ip: Optional[str] = None, prefix: Optional[int] = None,
                       mac: Optional[str] = None, port: Optional[int] = None) -> Intf:
        """Tell Mininet about an interface the lab created (no commands are run)."""
        intf = Intf(name, node=self, port=port, moveIntfFn=_stay, up=None)
        intf.ip, intf.prefixLen, intf.mac = ip, prefix, mac
        return intf

    def config(self, **_params):
        """Configuration is applied by the lab's own batched scripts, not per call."""
        return {}

    def release(self) -> None:
        """After the lab's cleanup killed the shell: close its pty and reap it (no signals sent)."""
        try:
            self.stdin.close()
        except (OSError, AttributeError):
            pass
        try:
            os.close(self.slave)
        except (OSError, TypeError):
            pass
        if self.shell:
            try:
                self.shell.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
