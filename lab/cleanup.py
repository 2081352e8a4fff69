"""Remove everything a lab of this project created, from its own records only.

Works the same after a clean exit and after `kill -9` at any moment: every kernel object the
lab makes lives in a lab namespace, every namespace is kept alive only by processes whose ids
or pidfiles the lab wrote down under RUN_DIR, or by a bind mount named with the lab prefix.
Nothing in the root namespace is touched apart from those bind mounts and RUN_DIR.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
from typing import Iterable, List, Set

from lab import PREFIX
from lab.paths import NETNS_DIR, RUN_DIR


MOUNTPOINTS = os.path.join(RUN_DIR, "mountpoints")  # directories the lab created outside RUN_DIR


def _netns_inode(pid: int):
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def read_pid(path: str):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def lab_netns_inodes() -> Set[int]:
    """Network namespaces that belong to the lab: its bind mounts and its recorded host shells."""
    root = _netns_inode(1)
    inodes = set()
    for path in glob.glob(os.path.join(NETNS_DIR, f"{PREFIX}-*")):
        try:
            inodes.add(os.stat(path).st_ino)
        except OSError:
            pass
    for path in glob.glob(os.path.join(RUN_DIR, "*", "shell.pid")):
        pid = read_pid(path)
        if pid and alive(pid):
            ino = _netns_inode(pid)
            if ino:
                inodes.add(ino)
    inodes.discard(root)  # never the machine's own namespace
    inodes.discard(None)
    return inodes


def daemon_pids() -> List[int]:
    """Daemons the lab started, from the pidfiles in its private directories."""
    pids = []
    for path in glob.glob(os.path.join(RUN_DIR, "**", "*.pid"), recursive=True):
        if os.path.basename(path) in ("shell.pid", "lab.pid"):
            continue
        pid = read_pid(path)
        if pid and alive(pid):
            pids.append(pid)
    return pids


def processes_in(inodes: Set[int]) -> List[int]:
    """Processes inside lab namespaces, or started with the lab's private directory in their
    command line (a daemon caught mid-start by a crash may have lost its namespace's bind)."""
    me = os.getpid()
    marker = (RUN_DIR.rstrip("/") + "/").encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        if _netns_inode(pid) in inodes:
            found.append(pid)
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


def stop_pids(pids: Iterable[int], grace: float = 1.0) -> None:
    pids = [p for p in pids if alive(p)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if alive(p) and not _zombie(p)]
        if pids:
            time.sleep(0.02)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def unbind_netns() -> List[str]:
    removed = []
    for path in glob.glob(os.path.join(NETNS_DIR, f"{PREFIX}-*")):
        subprocess.run(["umount", path], stderr=subprocess.DEVNULL)
        try:
            os.unlink(path)
        except OSError:
            pass
        removed.append(os.path.basename(path))
    return removed


def leftovers() -> dict:
    """What of a lab is still on the machine (empty when clean)."""
    inodes = lab_netns_inodes()
    return {
        "namespaces": sorted(os.path.basename(p) for p in glob.glob(os.path.join(NETNS_DIR, f"{PREFIX}-*"))),
        "daemons": daemon_pids(),
        "processes": [p for p in processes_in(inodes) if not _zombie(p)],
        "run_dir": os.path.exists(RUN_DIR),
    }


def clean_all() -> dict:
    """Stop the lab's daemons, kill what still runs in its namespaces, drop binds and RUN_DIR."""
    inodes = lab_netns_inodes()
    daemons = daemon_pids()
    stop_pids(daemons)
    stragglers = [p for p in processes_in(inodes) if not _zombie(p)]
    stop_pids(stragglers, grace=0.2)
    removed = unbind_netns()
    try:
        with open(MOUNTPOINTS) as f:
            for path in reversed(f.read().split()):
                try:
                    os.rmdir(path)  # only ever empty: the mounts on it lived in the hosts' namespaces
                except OSError:
                    pass
    except OSError:
        pass
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    return {"daemons": len(daemons), "processes": len(stragglers), "namespaces": removed}
