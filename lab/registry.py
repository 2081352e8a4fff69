"""The labs on this machine: one lock per lab name, who owns it, and stopping a lab by name.

A lab's lock is RUN_DIR/<name>.lock, held with flock() for the lab's whole life by the process that
runs it, so two starts of one name at the same instant cannot both win, and a lab that died
(even by kill -9) leaves a lock anyone can take: the next start or `lab clean` removes its remains.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import time
from typing import List, Optional

from lab import cleanup, paths
from lab.errors import BadInput, LabError


class Claim:
    """This process's hold on a lab name (its lock file descriptor)."""

    def __init__(self, name: str, fd: int):
        self.name = name
        self.fd: Optional[int] = fd  # None once released

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(paths.lock_file(self.name))  # while still holding it: see acquire()
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None
        try:
            os.rmdir(paths.RUN_DIR)  # the last lab out leaves no directory (a lab's lock file keeps it)
        except OSError:
            pass


_held: dict = {}  # name -> Claim, for this process


def _try_lock(name: str) -> Optional[int]:
    """The lock's fd if this process got it; None if another process holds it."""
    path = paths.lock_file(name)
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:  # the last lab out removed RUN_DIR meanwhile
            os.makedirs(paths.RUN_DIR, exist_ok=True)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:  # the holder before us may have unlinked the file: then lock the new one instead
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def owner(name: str) -> Optional[cleanup.Proc]:
    """The live process that runs lab `name`, from its run directory (pid and start time checked)."""
    try:
        with open(os.path.join(paths.run_dir(name), "owner")) as f:
            pid, start = (int(x) for x in f.read().split()[:2])
    except (OSError, ValueError):
        return None
    return (pid, start) if cleanup.same_process((pid, start)) else None


def acquire(name: str, info: Optional[dict] = None, progress=print) -> Claim:
    """Take lab `name`: refuse if it runs; remove what a crashed one left; write owner and info."""
    paths.check_name(name)
    os.makedirs(paths.RUN_DIR, exist_ok=True)
    fd = _try_lock(name)
    if fd is None:
        who = owner(name)
        raise BadInput(f"lab {name!r} is already running" + (f" (pid {who[0]})" if who else "")
                       + f"; pick another --name, or stop it with `lab clean {name}`")
    claim = Claim(name, fd)
    _held[name] = claim
    try:
        if os.path.exists(paths.run_dir(name)) or any(cleanup.leftovers(name).values()):
            progress(f"*** Removing what an earlier run of lab {name!r} left behind")
            cleanup.clean_lab(name)
        os.makedirs(paths.run_dir(name), mode=0o700)
        os.chmod(paths.run_dir(name), 0o700)  # the lab's records are root's alone (makedirs obeys the umask)
        me = os.getpid()
        with paths.open_private(os.path.join(paths.run_dir(name), "owner")) as f:
            f.write(f"{me} {cleanup.start_time(me)}\n")
        with paths.open_private(os.path.join(paths.run_dir(name), "info.json")) as f:
            json.dump(dict(info or {}, name=name, pid=me, started=time.time()), f)
    except BaseException:  # a signal or an error half-way: leave nothing, then let it through
        cleanup.clean_lab(name)
        release(name)
        raise
    return claim


def release(name: str) -> None:
    claim = _held.pop(name, None)
    if claim:
        claim.release()


def holds(name: str) -> bool:
    return name in _held


def labs() -> List[dict]:
    """Every lab with a run directory or a lock: name, state, pid, topology, hosts, started."""
    found = []
    for name in cleanup.list_labs():
        try:
            with open(os.path.join(paths.run_dir(name), "info.json")) as f:
                info = json.load(f)
        except (OSError, ValueError):
            info = {}
        who = owner(name)
        hosts = len(cleanup.recorded_binds(name))
        found.append({"name": name, "state": "running" if who else "stale", "pid": who[0] if who else None,
                      "topology": info.get("topology", "?"), "hosts": hosts, "started": info.get("started")})
    return found


def stop(name: str, timeout: float = 30.0) -> dict:
    """Stop lab `name` wherever it runs: its owner is asked to tear down (SIGTERM), then whatever is
    left is removed from the lab's records. Returns what cleanup removed."""
    who = owner(name)
    if who and who[0] != os.getpid():
        cleanup.signal_processes([who], signal.SIGTERM, grace=timeout)
    fd = None
    deadline = time.monotonic() + 5
    while fd is None:
        fd = _try_lock(name)
        if fd is None:
            if time.monotonic() > deadline:
                raise LabError(f"lab {name!r} still holds its lock; its owner did not stop")
            time.sleep(0.05)
    claim = Claim(name, fd)
    try:
        return cleanup.clean_lab(name)
    finally:
        claim.release()
