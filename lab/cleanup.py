"""Remove everything one lab created, from that lab's own records only.

A lab writes down what it makes at the moment it makes it, in its run directory:
`netns` (each bind path, written *before* the bind), `procs` (pid, start time and label of each
process it started) and `mountpoints` (directories it made outside the run directory). Cleanup
signals only
- a recorded process whose pid still has the recorded start time (a reused pid is someone else), and
- a process inside one of the lab's namespaces, known by the inode of the lab's own bind mounts.
The machine's namespace and the caller's are never a lab namespace; when they cannot be read,
nothing is selected by namespace (fail closed). Signals go through pidfds, so a pid that is reused
between the check and the signal is never hit.
"""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Set, Tuple

from lab import PREFIX, paths

CGROUP_ROOT = "/sys/fs/cgroup"
Proc = Tuple[int, int]  # (pid, start time in clock ticks since boot)


# --- process identity -------------------------------------------------------------------------

def start_time(pid: int) -> Optional[int]:
    """The process's start time (field 22 of /proc/PID/stat), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def same_process(proc: Proc) -> bool:
    return proc[1] is not None and start_time(proc[0]) == proc[1]


def netns_inode(pid) -> Optional[int]:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


# --- records ----------------------------------------------------------------------------------

def _record(name: str, kind: str) -> str:
    return os.path.join(paths.run_dir(name), kind)


def _append(path: str, line: str) -> None:
    with paths.open_private(path, "a") as f:  # one write of one line: safe from several threads
        f.write(line + "\n")


def _lines(path: str) -> List[str]:
    try:
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return []


def record_process(pid: int, label: str, name: str = "") -> None:
    _append(_record(name, "procs"), f"{pid} {start_time(pid)} {label}")


def record_netns(path: str, name: str = "") -> None:
    _append(_record(name, "netns"), path)


def record_mountpoint(path: str, name: str = "") -> None:
    _append(_record(name, "mountpoints"), path)


@contextmanager
def mountpoints_lock() -> Iterator[None]:
    """Labs share a mountpoint they made (/run/flannel, /var/lib/cni): one lab's "it exists, I use it too"
    and another's "nobody else uses it, remove it" must not interleave (the directory would go under the
    first lab's feet: `mount point does not exist`). Held on the labs' common run directory."""
    try:
        fd = os.open(paths.RUN_DIR, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # no run directory: no lab has recorded anything
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def record_docker(node: str, socket: str, cgroup_parent: str, name: str = "") -> None:
    """A node's Docker daemon, before it starts: its socket (to remove its containers) and its containers' cgroup."""
    _append(_record(name, "docker"), f"{node} {socket} {cgroup_parent}")


def recorded_processes(name: str = "") -> List[Tuple[int, Optional[int], str]]:
    found = []
    for line in _lines(_record(name, "procs")):
        parts = line.split(None, 2)
        try:
            start = None if parts[1] == "None" else int(parts[1])
            found.append((int(parts[0]), start, parts[2] if len(parts) > 2 else ""))
        except (ValueError, IndexError):
            continue
    return found


def recorded_binds(name: str = "") -> List[str]:
    prefix = os.path.join(paths.NETNS_DIR, paths.netns_name("", name))
    # only paths that are this lab's by name, whatever the file says
    return [p for p in _lines(_record(name, "netns")) if p.startswith(prefix)]


# --- what belongs to a lab ----------------------------------------------------------------------

def _protected_inodes() -> Optional[Set[int]]:
    """The namespaces that are never a lab's: the machine's and this process's. None if unreadable."""
    mine = netns_inode("self")
    if mine is None:
        return None
    init = netns_inode(1)
    return {mine} | ({init} if init is not None else set())


def lab_namespaces(name: str = "") -> Set[int]:
    """Inodes of the lab's live namespaces: its bind mounts (nsfs only) and its recorded live processes."""
    protected = _protected_inodes()
    if protected is None:
        return set()
    try:
        nsfs = os.stat("/proc/self/ns/net").st_dev
    except OSError:
        return set()
    inodes = set()
    for path in recorded_binds(name):
        try:
            st = os.stat(path)
        except OSError:
            continue
        if st.st_dev == nsfs:  # a bind that was made (an empty file is no namespace)
            inodes.add(st.st_ino)
    for pid, start, _label in recorded_processes(name):
        if start is not None and same_process((pid, start)):
            ino = netns_inode(pid)
            if ino is not None:
                inodes.add(ino)
    return inodes - protected


def processes_in(inodes: Set[int]) -> List[Proc]:
    me = os.getpid()
    found: List[Proc] = []
    if not inodes:
        return found
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        if netns_inode(pid) in inodes and not is_zombie(pid):
            start = start_time(pid)
            if start is not None:
                found.append((pid, start))
    return found


def lab_processes(name: str = "") -> Dict[str, List[Proc]]:
    """The lab's live processes: `shells` (recorded shells) and `others` (daemons, anything in its namespaces)."""
    shells: List[Proc] = []
    others: List[Proc] = []
    recorded: Dict[int, Tuple[int, str]] = {}
    for pid, start, label in recorded_processes(name):
        if start is not None and same_process((pid, start)) and not is_zombie(pid):
            recorded[pid] = (start, label)
    for pid, (start, label) in recorded.items():
        (shells if label.startswith("shell") else others).append((pid, start))
    known = set(recorded)
    others += [p for p in processes_in(lab_namespaces(name)) if p[0] not in known]
    return {"shells": shells, "others": others}


# --- signalling -------------------------------------------------------------------------------

def _pidfd(proc: Proc) -> Optional[int]:
    """A pidfd for the process, only if it is still the one recorded."""
    try:
        fd = os.pidfd_open(proc[0])
    except OSError:
        return None
    if not same_process(proc):
        os.close(fd)
        return None
    return fd


def signal_processes(procs: Iterable[Proc], sig: int = signal.SIGTERM, grace: float = 1.0) -> int:
    """Send sig, wait up to grace seconds for them to exit, then SIGKILL the rest. Returns how many."""
    fds = {}
    for proc in procs:
        fd = _pidfd(proc)
        if fd is None:
            continue
        try:
            signal.pidfd_send_signal(fd, sig)
            fds[fd] = proc
        except OSError:
            os.close(fd)
    count = len(fds)
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + grace
    while fds and time.monotonic() < deadline:
        for fd, _ev in poller.poll(max(1, int((deadline - time.monotonic()) * 1000))):
            poller.unregister(fd)
            os.close(fd)
            fds.pop(fd, None)
    for fd in list(fds):
        try:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
        except OSError:
            pass
    deadline = time.monotonic() + 2.0  # until they are really gone: a dying process may still write files
    while fds and time.monotonic() < deadline:
        for fd, _ev in poller.poll(100):
            poller.unregister(fd)
            os.close(fd)
            fds.pop(fd, None)
    for fd in fds:
        os.close(fd)
    return count


# --- removing ---------------------------------------------------------------------------------

def unbind(path: str) -> None:
    subprocess.run(["umount", path], stderr=subprocess.DEVNULL)
    try:
        os.unlink(path)
    except OSError:
        pass


def stop_processes(name: str = "") -> int:
    """Daemons (and anything else in the lab's namespaces) get SIGTERM and a grace second; shells
    (an interactive bash ignores SIGTERM) and whatever is left get SIGKILL."""
    procs = lab_processes(name)
    count = signal_processes(procs["others"])
    count += signal_processes(procs["shells"], signal.SIGKILL, grace=0.5)
    rest = processes_in(lab_namespaces(name))
    count += signal_processes(rest, signal.SIGKILL, grace=0.5)
    return count


def recorded_mountpoints(but: str = "") -> Set[str]:
    """The mountpoints every lab (but one) recorded: a shared one goes with the last lab that uses it."""
    return {path for lab in list_labs() if lab != but for path in _lines(_record(lab, "mountpoints"))}


def list_labs() -> List[str]:
    """Every lab name with a run directory or a lock file."""
    try:
        entries = os.listdir(paths.RUN_DIR)
    except OSError:
        return []
    names = {e[:-5] if e.endswith(".lock") else e for e in entries}
    return sorted(n for n in names if paths.NAME_RE.fullmatch(n))


# --- Docker: daemons the lab started (lab.docker) ---------------------------------------------------

def recorded_dockers(name: str = "") -> List[Tuple[str, str, str]]:
    """(node, socket, cgroup parent) of each daemon; only a socket under the lab's run directory and a
    cgroup parent named after the lab count, whatever the file says."""
    found = []
    for line in _lines(_record(name, "docker")):
        parts = line.split()
        if (len(parts) == 3 and parts[1].startswith(paths.run_dir(name) + "/")
                and parts[2].startswith(f"{PREFIX}-{name}-") and "/" not in parts[2]):
            found.append((parts[0], parts[1], parts[2]))
    return found


def remove_containers(socket: str, timeout: float = 10.0) -> int:
    """`docker rm -f` every container of a lab daemon that still answers. Returns how many."""
    if not os.path.exists(socket):
        return 0
    try:
        import docker
        client = docker.DockerClient(base_url=f"unix://{socket}", version="1.41", timeout=timeout)
        containers = client.containers.list(all=True)
    except Exception:  # noqa: BLE001 (a dead daemon: its processes go by namespace and cgroup)
        return 0
    apps = [c for c in containers if c.labels.get("io.kubernetes.docker.type") != "podsandbox"]
    for batch in (apps, [c for c in containers if c not in apps]):  # app containers before their pause
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(_remove_container, batch))
    return len(containers)


def _remove_container(container) -> None:
    try:
        container.remove(force=True)
    except Exception:  # noqa: BLE001 (gone already, or the daemon is dying: cgroups catch the rest)
        pass


CGROUP_DEPTH = 4  # dockerd nests a relative --cgroup-parent under its own cgroup (memory:/process_api/<id>/...)


def _hierarchies() -> List[str]:
    """v2 alone: the root; v1 (and hybrid): each controller's mount and `unified`."""
    if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        return [CGROUP_ROOT]
    try:
        found = [os.path.join(CGROUP_ROOT, h) for h in sorted(os.listdir(CGROUP_ROOT))]
    except OSError:
        return []
    return [h for h in found if os.path.isdir(h) and not os.path.islink(h)]


def _cgroups_named(match: Callable[[str], bool]) -> List[str]:
    """Cgroup directories whose name matches, in every hierarchy (v1 controllers and v2), down to CGROUP_DEPTH
    (not below a match, nor into another lab's cgroups: their containers' cgroups are many)."""
    found: List[str] = []
    for top in _hierarchies():
        level = [top]
        for _depth in range(CGROUP_DEPTH):
            below = []
            for d in level:
                try:
                    entries = [e for e in os.scandir(d) if e.is_dir(follow_symlinks=False)]
                except OSError:
                    continue
                for e in entries:
                    if match(e.name):
                        found.append(e.path)
                    elif not e.name.startswith(f"{PREFIX}-"):
                        below.append(e.path)
            level = below
    return sorted(set(found))


def cgroup_dirs(parent: str) -> List[str]:
    """The directories of a cgroup parent in every mounted hierarchy (v1 controllers and v2), at any
    depth dockerd put it."""
    return _cgroups_named(lambda n: n == parent)


def lab_cgroups(name: str = "") -> List[str]:
    """Every cgroup of the lab's containers (`sdnlab-<lab>-<node>`, lab.docker.cgroup_parent) in every
    hierarchy: found by name, so also when the lab's records are gone."""
    prefix = f"{PREFIX}-{name or paths.lab_name()}-"  # a lab name has no "-": no other lab's prefix
    return _cgroups_named(lambda n: n.startswith(prefix))


def cgroup_processes(parents: Iterable[str]) -> List[Proc]:
    """Live processes in the given cgroups or below (a container's, whatever namespaces it has)."""
    return cgroup_dir_processes(d for parent in parents for d in cgroup_dirs(parent))


def remove_cgroups(parents: Iterable[str]) -> None:
    remove_cgroup_dirs([d for parent in parents for d in cgroup_dirs(parent)])


def remove_cgroup_dirs(tops: Iterable[str]) -> None:
    for top in tops:
        for root, _dirs, _files in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            try:
                os.rmdir(root)  # cgroupfs: an empty cgroup's directory goes with rmdir
            except OSError:
                pass


def cgroup_dir_processes(tops: Iterable[str]) -> List[Proc]:
    """Live processes in the given cgroup directories or below."""
    pids: Set[int] = set()
    for top in tops:
        for root, _dirs, files in os.walk(top):
            if "cgroup.procs" in files:
                pids.update(int(p) for p in _lines(os.path.join(root, "cgroup.procs")) if p.isdigit())
    found = []
    for pid in pids:
        start = start_time(pid)
        if start is not None and not is_zombie(pid):
            found.append((pid, start))
    return found


def mounts_under(directory: str) -> List[str]:
    """Mount points at or below a directory in this mount namespace, deepest first."""
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                point = line.split()[4].encode().decode("unicode_escape")  # mountinfo escapes spaces as \040
                if point == directory or point.startswith(directory.rstrip("/") + "/"):
                    found.append(point)
    except OSError:
        return []
    return sorted(set(found), key=lambda p: -p.count("/"))


def mounted_in_some_namespace(path: str) -> bool:
    """Something is mounted on `path` in some process's mount namespace (each namespace read once). The
    kernel lets a directory that is a mountpoint only in other namespaces be removed, and detaches those
    mounts: a host of another lab would lose its private /run/flannel under its feet."""
    seen = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ns = os.stat(f"/proc/{entry}/ns/mnt").st_ino
            if ns in seen:
                continue
            seen.add(ns)
            with open(f"/proc/{entry}/mountinfo") as f:
                if any(line.split()[4].encode().decode("unicode_escape") == path for line in f):
                    return True
        except (OSError, IndexError):
            continue
    return False


def unmount_all(directory: str) -> List[str]:
    """Detach every mount under a directory (a daemon's overlays, shm, netns binds), deepest first."""
    points = mounts_under(directory)
    for i in range(0, len(points), 50):
        subprocess.run(["umount", "-l", *points[i:i + 50]], stderr=subprocess.DEVNULL)
    return points


def stop_dockers(name: str) -> Tuple[int, List[str]]:
    """Remove the containers of every daemon the lab recorded (while the daemons answer), then stop
    what is left in the daemons' cgroups. The daemons themselves are recorded processes."""
    dockers = recorded_dockers(name)
    if not dockers:
        return 0, []
    with ThreadPoolExecutor(max_workers=len(dockers)) as pool:
        removed = sum(pool.map(lambda d: remove_containers(d[1]), dockers))
    return removed, [d[2] for d in dockers]


def clean_lab(name: str = "") -> dict:
    """Stop the lab's processes, drop its binds and mountpoints, remove its run directory."""
    name = name or paths.lab_name()
    _removed, cgroups = stop_dockers(name)  # containers first, while their daemons still answer
    stopped = stop_processes(name)
    # a container whose daemon died with the lab: its namespaces were docker's, its cgroup the lab's (in every
    # hierarchy, at whatever depth; also found by name when the records are gone)
    tops = sorted({d for parent in cgroups for d in cgroup_dirs(parent)} | set(lab_cgroups(name)))
    if tops:
        stopped += signal_processes(cgroup_dir_processes(tops), signal.SIGKILL, grace=0.5)
        remove_cgroup_dirs(tops)
    unmount_all(paths.run_dir(name))  # what the lab's daemons mounted: rmtree must not descend into it
    binds = [p for p in recorded_binds(name) if os.path.lexists(p)]
    for path in binds:
        unbind(path)
    with mountpoints_lock():
        shared = recorded_mountpoints(but=name)
        for path in reversed(_lines(_record(name, "mountpoints"))):
            if path not in shared and not mounted_in_some_namespace(path):  # also a lab of another run dir
                try:
                    os.rmdir(path)  # only ever empty here: the mounts on it live in the hosts' namespaces
                except OSError:
                    pass
        try:  # from now on this lab holds none: a lab leaving after it must not count on it
            os.unlink(_record(name, "mountpoints"))
        except OSError:
            pass
    for _ in range(3):  # a file written by a process as it died must not keep the directory
        shutil.rmtree(paths.run_dir(name), ignore_errors=True)
        if not os.path.exists(paths.run_dir(name)):
            break
        time.sleep(0.05)
    return {"processes": stopped, "namespaces": [os.path.basename(p) for p in binds]}


def leftovers(name: str = "") -> dict:
    """What of a lab is still on the machine (all values empty when it is gone)."""
    name = name or paths.lab_name()
    procs = lab_processes(name)
    prefix = paths.netns_name("", name)
    try:
        binds = sorted(e for e in os.listdir(paths.NETNS_DIR) if e.startswith(prefix))
    except OSError:
        binds = []
    return {"namespaces": binds, "processes": procs["shells"] + procs["others"],
            "run_dir": os.path.exists(paths.run_dir(name)), "cgroups": lab_cgroups(name),
            "mounts": mounts_under(paths.run_dir(name))}
