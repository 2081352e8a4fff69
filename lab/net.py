"""LabNet: a Mininet network whose hosts are the lab's namespaces, with the lab's own fast teardown."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, List, Optional

from mininet.net import Mininet

from lab import cleanup
from lab.errors import LabError
from lab.host import LabHost
from lab.paths import LOCK_FILE, NETNS_DIR, RUN_DIR, netns_name


class LabNet(Mininet):
    """`net['pod1']`, `net.hosts` and the Mininet CLI work unchanged; `stop()` leaves nothing behind."""

    _active: Optional["LabNet"] = None  # the lab this process runs, if any

    def __init__(self, datapath: str, **kwargs):
        super().__init__(topo=None, build=False, controller=None, **kwargs)
        from lab.ovs import prepare_datapath
        prepare_datapath(datapath)
        self.datapath = datapath
        self._stopped = False
        self._claim()

    def _claim(self) -> None:
        """One lab at a time: a live lab refuses, a crashed one is cleaned first."""
        if LabNet._active is not None:
            raise LabError("a lab is already running in this process; stop it first")
        if os.path.exists(LOCK_FILE):
            pid = cleanup.read_pid(LOCK_FILE)
            if pid and pid != os.getpid() and cleanup.alive(pid):
                raise LabError(f"another lab is running (pid {pid}); stop it or run `lab clean`")
        if any(cleanup.leftovers().values()):
            print("*** Removing what an earlier lab left behind")
            cleanup.clean_all()
        os.makedirs(RUN_DIR, exist_ok=True)
        with open(LOCK_FILE, "w") as f:
            f.write(f"{os.getpid()}\n")
        LabNet._active = self

    def add_hosts(self, specs: Iterable[dict]) -> List[LabHost]:
        """Create hosts (name, role, env) and bind their namespaces as <prefix>-<name>.

        Shells start in parallel threads: each start is mostly waiting for a prompt.
        """
        specs = list(specs)
        with ThreadPoolExecutor(max_workers=8) as pool:
            created = list(pool.map(self._start_host, specs))
        for host in created:
            # the underlay is a switch to Mininet: listed by `nodes`, left out of `pingall`
            (self.switches if host.role == "underlay" else self.hosts).append(host)
            self.nameToNode[host.name] = host
        self._bind(created)
        return created

    @staticmethod
    def _start_host(spec: dict) -> LabHost:
        host = LabHost(**spec)
        with open(os.path.join(host.dir, "shell.pid"), "w") as f:  # recorded at once, for `lab clean`
            f.write(f"{host.pid}\n")
        return host

    def _bind(self, hosts: List[LabHost]) -> None:
        script = [f"mkdir -p {NETNS_DIR}"]
        for h in hosts:
            path = os.path.join(NETNS_DIR, netns_name(h.name))
            script.append(f"touch {path} && mount --bind /proc/{h.pid}/ns/net {path}")
        subprocess.run(["sh", "-ec", "\n".join(script)], check=True)

    @staticmethod
    def ensure_mountpoint(path: str) -> None:
        """A directory for a host-private bind mount (each host has its own mount namespace).
        Created only if missing, and then recorded so that cleanup removes it again."""
        if not os.path.isdir(path):
            os.makedirs(path)
            with open(cleanup.MOUNTPOINTS, "a") as f:
                f.write(path + "\n")

    def remove_host(self, host: LabHost) -> None:
        """Take one host away at runtime: its daemons, its shell (and so its namespace), its bind."""
        pidfiles = [os.path.join(root, f) for root, _, files in os.walk(host.dir) for f in files
                    if f.endswith(".pid") and f != "shell.pid"]
        cleanup.stop_pids(p for p in (cleanup.read_pid(f) for f in pidfiles) if p)
        host.terminate()
        self.hosts.remove(host)
        del self.nameToNode[host.name]
        path = os.path.join(NETNS_DIR, netns_name(host.name))
        subprocess.run(["umount", path], stderr=subprocess.DEVNULL)
        if os.path.exists(path):
            os.unlink(path)
        subprocess.run(["rm", "-rf", host.dir])

    def role(self, role: str) -> List[LabHost]:
        return [h for h in self.hosts if getattr(h, "role", None) == role]

    def stop(self) -> None:
        """Daemons first (by their pidfiles), then the shells, then binds and the private dir."""
        if self._stopped:
            return
        self._stopped = True
        cleanup.stop_pids(cleanup.daemon_pids())
        for host in self.hosts + self.switches:
            host.terminate()
        cleanup.clean_all()
        LabNet._active = None

    def node_of(self, name: str) -> Optional[LabHost]:
        return self.nameToNode.get(name)


@contextmanager
def running(build: Callable, model, datapath: Optional[str] = None, quiet: bool = True) -> Iterator[LabNet]:
    """`with running(realize.build, cluster) as net:` a lab that is torn down however the block ends."""
    from lab.ovs import detect_datapath
    net = LabNet(datapath or detect_datapath())
    try:
        build(net, model, progress=(lambda msg: None) if quiet else print)
        yield net
    finally:
        net.stop()
