"""LabNet: a Mininet network whose hosts are the lab's namespaces, with the lab's own fast teardown."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterable, Iterator, List, Optional

from mininet.net import Mininet

from lab import cleanup, paths, registry
from lab import host as host_module
from lab.errors import LabError
from lab.host import LabHost
from lab.livelab import write_hosts
from lab.signals import SIGS

STARTERS = 8  # shells started at once


class LabNet(Mininet):
    """`net['pod1']`, `net.hosts` and the Mininet CLI work unchanged; `stop()` leaves nothing behind.

    name: the lab's name (default: $SDNLAB_NAME or `sdnlab`); labs of different names run side by side.
    topology, plane: what the lab is (recorded for other shells: `lab ps`, lab.livelab).
    datapath: for data planes on Open vSwitch, `system` or `netdev` (the data plane prepares it).
    Every host is recorded with its role and environment as it is made (lab.livelab reads them).
    """

    _active: Optional["LabNet"] = None  # the lab this process runs, if any

    def __init__(self, datapath: Optional[str] = None, name: Optional[str] = None, topology: str = "(library)",
                 progress: Callable[[str], None] = print, plane: str = "", **kwargs):
        super().__init__(topo=None, build=False, controller=None, **kwargs)
        if LabNet._active is not None:
            raise LabError("a lab is already running in this process; stop it first")
        if name:
            paths.set_lab_name(name)
        self.name = paths.lab_name()
        self.datapath = datapath
        self.pod_runtime = None  # a lab.docker.DockerRuntime when the data plane's pods are containers
        self._stopped = False
        self._starters: List[threading.Thread] = []  # threads starting shells (add_hosts): stop() waits, bounded
        self._records: Dict[str, dict] = {}
        registry.acquire(self.name, {"topology": topology, "plane": plane}, progress=progress)
        host_module.STOPPING.clear()
        LabNet._active = self

    def add_hosts(self, specs: Iterable[dict]) -> List[LabHost]:
        """Create hosts (name, role, env; `switch: True` for an L2 segment) and bind their namespaces
        as <lab>-<name>. Shells start in parallel threads: each start is mostly waiting for a prompt."""
        specs = [dict(s) for s in specs]
        # plain threads, not a ThreadPoolExecutor: a signal's Interrupted can hit the main thread while it holds
        # the pool's shutdown lock, and teardown's shutdown() then waited for that lock for ever
        results: List[Optional[LabHost]] = [None] * len(specs)
        errors: List[BaseException] = []
        gate = threading.BoundedSemaphore(STARTERS)

        def start(i: int, spec: dict) -> None:
            with gate:
                try:
                    results[i] = self._start_host(spec)
                except BaseException as exc:  # noqa: BLE001 (handed to the main thread)
                    errors.append(exc)
        threads = [threading.Thread(target=start, args=(i, spec), daemon=True, name=f"lab-start-{spec.get('name')}")
                   for i, spec in enumerate(specs)]
        for t in threads:
            t.start()
            self._starters.append(t)  # only a started thread can be joined by stop()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        created = [h for h in results if h is not None]
        for host, spec in zip(created, specs, strict=True):
            # an L2 segment is a switch to Mininet: listed by `nodes`, left out of `pingall`
            (self.switches if spec.get("switch") else self.hosts).append(host)
            self.nameToNode[host.name] = host
            self._records[host.name] = {"role": host.role, "env": dict(spec.get("env") or {})}
        self._bind(created)
        write_hosts(self.name, self._records)
        return created

    def record_addresses(self, book: Iterable) -> None:
        """The address book (lab.plane.Address) beside the hosts' records, for other shells."""
        for entry in book:
            if entry.name in self._records:
                self._records[entry.name]["ip"] = entry.ip
        write_hosts(self.name, self._records)

    def _start_host(self, spec: dict) -> LabHost:
        if host_module.STOPPING.is_set():
            raise LabError("the lab is being torn down")
        return LabHost(**{k: v for k, v in spec.items() if k != "switch"})

    def _bind(self, hosts: List[LabHost]) -> None:
        """Each namespace gets its name under /var/run/netns; the path is recorded before the bind."""
        os.makedirs(paths.NETNS_DIR, exist_ok=True)
        script = []
        for h in hosts:
            path = paths.netns_path(h.name)
            if os.path.lexists(path):
                raise LabError(f"{path} exists and is not this lab's; remove it or pick another --name")
            cleanup.record_netns(path)
            script.append(f"touch {path} && mount --bind /proc/{h.pid}/ns/net {path}")
        # whole or not at all: a signal waits for the end (SIGS.critical), and a SIGINT to the lab's process group
        # does not reach the script (its own session), so teardown finds every file it made bound and recorded
        with SIGS.critical():
            subprocess.run(["sh", "-ec", "\n".join(script)], check=True, start_new_session=True)

    def ensure_mountpoint(self, path: str) -> None:
        """A directory for a host-private bind mount (each host has its own mount namespace).
        Created only if missing, and then recorded so that cleanup removes it again."""
        with cleanup.mountpoints_lock():
            if not os.path.isdir(path):
                cleanup.record_mountpoint(path)
                os.makedirs(path, exist_ok=True)
            elif path in cleanup.recorded_mountpoints():
                cleanup.record_mountpoint(path)  # shared with another lab: the last one out removes it

    def remove_host(self, host: LabHost) -> None:
        """Take one host away at runtime: everything in its namespace, its shell, its bind, its dir."""
        path = paths.netns_path(host.name)
        ino = cleanup.netns_inode(host.pid)
        others = [p for p in cleanup.processes_in({ino} if ino else set()) if p[0] != host.pid]
        cleanup.signal_processes(others)
        start = cleanup.start_time(host.pid)
        if start is not None:  # None: the shell is gone already (signal_processes would skip it)
            cleanup.signal_processes([(host.pid, start)], signal.SIGKILL)
        host.release()
        self.hosts.remove(host)
        del self.nameToNode[host.name]
        self._records.pop(host.name, None)
        write_hosts(self.name, self._records)
        cleanup.unbind(path)
        shutil.rmtree(host.dir, ignore_errors=True)

    def role(self, role: str) -> List[LabHost]:
        return [h for h in self.hosts if getattr(h, "role", None) == role]

    def record_daemons(self) -> None:
        """Write down (pid, start time) of the daemons the lab's scripts started, from their pidfiles,
        if they run inside this lab's namespaces (a pidfile alone proves nothing)."""
        known = {pid for pid, _s, _l in cleanup.recorded_processes()}
        inodes = cleanup.lab_namespaces()
        for root, _dirs, files in os.walk(paths.run_dir()):
            for f in files:
                if not f.endswith(".pid"):
                    continue
                try:
                    with open(os.path.join(root, f)) as fh:
                        pid = int(fh.read().split()[0])
                except (OSError, ValueError, IndexError):
                    continue
                if pid not in known and cleanup.netns_inode(pid) in inodes:
                    cleanup.record_process(pid, f"daemon {os.path.relpath(os.path.join(root, f), paths.run_dir())}")
                    known.add(pid)

    def stop(self) -> None:
        """Everything of the lab, from its records: daemons, shells, binds, its run directory, its lock."""
        if self._stopped:
            return
        self._stopped = True
        host_module.STOPPING.set()
        end = time.monotonic() + host_module.SHELL_START_TIMEOUT + 5
        for t in self._starters:  # shells still starting see STOPPING and end within their deadline
            t.join(timeout=max(0.0, end - time.monotonic()))
        try:
            cleanup.clean_lab(self.name)
            for host in self.hosts + self.switches:
                host.release()
        finally:
            registry.release(self.name)
            LabNet._active = None

    def node_of(self, name: str) -> Optional[LabHost]:
        return self.nameToNode.get(name)


@contextmanager
def running(build: Callable, model, datapath: Optional[str] = None, quiet: bool = True,
            name: Optional[str] = None) -> Iterator[LabNet]:
    """`with running(realize.build, cluster) as net:` a lab that is torn down however the block ends.
    datapath: for data planes on Open vSwitch; they pick one themselves when it is None."""
    net = LabNet(datapath, name=name)
    try:
        build(net, model, progress=(lambda msg: None) if quiet else print)
        net.record_daemons()
        yield net
    finally:
        net.stop()
