"""Pods as Docker containers, for any data plane: a private Docker daemon per node, images made locally,
and pods as kubelet makes them (a pause container holding the network namespace, app containers
joined to its network and IPC namespaces).

Each daemon runs inside its node's network namespace (entered alone: `ip netns exec` would remount
/sys and dockerd would lose its cgroup mounts), with its data, exec root, socket and pidfile under the
node's run directory and its containers under a cgroup parent named after the lab and the node. Each
daemon is recorded (lab.cleanup.record_docker) before it starts, so the lab's cleanup can remove its
containers, stop it, unmount what it mounted and delete its files, also after a crash.
The data plane wires the pause container's network namespace (its pid is returned); the pod's host in
the lab is a shell inside that namespace.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from lab import PREFIX, cleanup, paths
from lab.errors import LabError

PACKAGES = {"dockerd": "docker.io", "busybox": "busybox-static"}  # command -> Debian package
PAUSE_IMAGE = "openshift/origin-pod:v3.11"  # what a 3.11 node's kubelet runs as the pod sandbox
APP_IMAGE = "sdnlab/app:latest"  # busybox-static: sh, httpd, nc, wget, ping, ip
API_VERSION = "1.41"  # Debian 12's dockerd 20.10
READY_TIMEOUT = 30.0
RUNNING_DEADLINE_S = 20.0  # a live pod's app containers must be running within this (a loaded machine)
RUNNING_SETTLE_S = 0.5  # ... and still running this much later: a command that exits at once did not start
# directories dockerd and the containerd shims make at fixed places whatever their roots: made (and
# recorded) by the lab if missing, so that its cleanup removes them again when empty
FIXED_DIRS = ("/run/docker", "/run/docker/plugins", "/run/containerd", "/run/containerd/s")
BUSYBOX = "/bin/busybox"
PAUSE_SCRIPT = "#!/bin/sh\n# the pod's sandbox: holds the namespaces, exits on TERM\ntrap 'exit 0' TERM INT\n" \
               "while :; do sleep 86400 & wait $!; done\n"


@dataclass(frozen=True)
class AppContainer:
    """One app container of a pod: busybox httpd answers on each of its TCP `ports` with the container's
    name; a `command` (a manifest's command + args) runs instead, within what busybox offers."""
    name: str
    image: str
    ports: Tuple[int, ...] = ()
    command: Tuple[str, ...] = ()


# the classic pod of the notes: tomcat on 8080 beside nginx on 80 (both the lab's busybox server)
DEFAULT_CONTAINERS = (AppContainer("tomcat", "kirillf/centos-tomcat", (8080,)),
                      AppContainer("nginx", "nginx:1.14", (80,)))


@dataclass(frozen=True)
class PodSpec:
    name: str
    node: str
    namespace: str = "default"
    containers: Tuple[AppContainer, ...] = DEFAULT_CONTAINERS
    host: str = ""  # the pod's host in the lab (its name, or `name.namespace` where two namespaces share one)

    def __post_init__(self) -> None:
        if not self.host:
            object.__setattr__(self, "host", self.name)

    @property
    def uid(self) -> str:
        """Stable across runs, so container names are repeatable (kubelet's is a random UUID)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{PREFIX}/{self.namespace}/{self.name}"))


def pause_name(pod: PodSpec) -> str:
    return f"k8s_POD_{pod.name}_{pod.namespace}_{pod.uid}_0"


def container_name(pod: PodSpec, container: AppContainer) -> str:
    return f"k8s_{container.name}_{pod.name}_{pod.namespace}_{pod.uid}_0"


def pod_labels(pod: PodSpec, container: str) -> Dict[str, str]:
    return {"io.kubernetes.pod.name": pod.name, "io.kubernetes.pod.namespace": pod.namespace,
            "io.kubernetes.pod.uid": pod.uid, "io.kubernetes.container.name": container,
            "io.kubernetes.docker.type": "podsandbox" if container == "POD" else "container"}


IDLE = "trap 'exit 0' TERM INT; while :; do sleep 86400 & wait $!; done"  # a container that only waits


def app_command(container: AppContainer, pod: str = "") -> List[str]:
    """The container's own command if it has one; else httpd on each port serving one page that names the
    pod on its first line (as the namespace runtime's server does: the request helper reads it) and the
    container on the next, so an answer says who answered; the last port in the foreground; no ports,
    it just waits."""
    if container.command:
        return list(container.command)
    if not container.ports:
        return ["sh", "-c", IDLE]
    *others, last = container.ports
    page = f"printf '%s\\n' {pod} {container.name}" if pod else f"echo {container.name}"
    return ["sh", "-c", f"mkdir -p /www && {page} > /www/index.html && "
                        + "".join(f"httpd -p {port} -h /www && " for port in others)
                        + f"exec httpd -f -p {last} -h /www"]


def image_reference(name: str) -> Tuple[str, str]:
    """(repository, tag) of an image name: `nginx:1.14`, `kirillf/centos-tomcat` (tag latest), `reg:5000/x`."""
    repo, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:  # no tag, or the colon was a registry's port
        return name, "latest"
    return repo, tag


@dataclass(frozen=True)
class DaemonPaths:
    """Where one node's daemon keeps everything (short paths: unix sockets allow 107 bytes)."""
    root: str

    @property
    def data(self) -> str:
        return os.path.join(self.root, "data")

    @property
    def exec_root(self) -> str:
        return os.path.join(self.root, "exec")

    @property
    def socket(self) -> str:
        return os.path.join(self.root, "docker.sock")

    @property
    def pidfile(self) -> str:
        return os.path.join(self.root, "dockerd.pid")

    @property
    def config(self) -> str:
        return os.path.join(self.root, "daemon.json")

    @property
    def log(self) -> str:
        return os.path.join(self.root, "dockerd.log")

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"


def daemon_paths(node: str) -> DaemonPaths:
    return DaemonPaths(os.path.join(paths.host_dir(node), "docker"))


def cgroup_parent(node: str, name: str = "") -> str:
    """The cgroup all of a node's containers live under: named by lab and node, so cleanup finds them."""
    return f"{PREFIX}-{name or paths.lab_name()}-{node}"


def dockerd_command(netns: str, where: DaemonPaths, cgroups: str) -> List[str]:
    """dockerd in the node's network namespace only; the network plugin owns networking."""
    return ["nsenter", f"--net={netns}", "dockerd", f"--config-file={where.config}", f"--data-root={where.data}",
            f"--exec-root={where.exec_root}", f"--host={where.url}", f"--pidfile={where.pidfile}",
            "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--ip-forward=false",
            f"--cgroup-parent={cgroups}", "--storage-driver=overlay2", "--log-level=warn"]


def image_tar(path: str) -> str:
    """A root filesystem of busybox-static plus its applet links and /pause, as a tarball for
    `docker import`; made once per lab."""
    if os.path.exists(path):
        return path
    applets = subprocess.run([BUSYBOX, "--list-full"], check=True, capture_output=True, text=True).stdout.split()
    tmp = path + ".tmp"
    with tarfile.open(tmp, "w") as tar:
        for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "tmp", "www", "etc"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        tar.add(BUSYBOX, arcname="bin/busybox")
        for applet in applets:
            if applet == "bin/busybox":
                continue
            info = tarfile.TarInfo(applet)
            info.type, info.linkname = tarfile.SYMTYPE, "/bin/busybox"
            tar.addfile(info)
        for name, text, mode in (("pause", PAUSE_SCRIPT, 0o755),
                                 ("etc/passwd", "root:x:0:0:root:/:/bin/sh\n", 0o644),
                                 ("etc/group", "root:x:0:\n", 0o644)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, path)
    return path


class NodeDaemon:
    """One node's private dockerd."""

    def __init__(self, node: str):
        self.node = node
        self.where = daemon_paths(node)
        self.pid: Optional[int] = None
        self._proc: Optional[subprocess.Popen] = None
        self._client = None

    def start(self) -> None:
        """Start dockerd (recorded before it exists, with pid and start time as soon as it does)."""
        w = self.where
        for d in (w.root, w.data, w.exec_root):
            os.makedirs(d, exist_ok=True)
        with open(w.config, "w") as f:  # never the machine's /etc/docker (daemon.json, key.json)
            json.dump({"deprecated-key-path": os.path.join(w.root, "key.json")}, f)
        cleanup.record_docker(self.node, w.socket, cgroup_parent(self.node))
        with open(w.log, "ab") as log:
            proc = subprocess.Popen(dockerd_command(paths.netns_path(self.node), w, cgroup_parent(self.node)),
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        self.pid, self._proc = proc.pid, proc  # nsenter execs dockerd: the same process
        cleanup.record_process(proc.pid, f"daemon dockerd {self.node}")

    def stop(self, timeout: float = 15.0) -> None:
        """Containers first (while the daemon answers), then the daemon (SIGTERM, then SIGKILL), then
        whatever it left mounted under its directory."""
        cleanup.remove_containers(self.where.socket)
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        cleanup.unmount_all(self.where.root)

    @property
    def client(self):
        if self._client is None:
            import docker  # the SDK: only labs with Docker pods need it
            self._client = docker.DockerClient(base_url=self.where.url, version=API_VERSION, timeout=60)
        return self._client

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if os.path.exists(self.where.socket):
                try:
                    if self.client.ping():
                        return
                except Exception:  # noqa: BLE001 (the socket exists before the API answers)
                    pass
            if self._proc is not None and self._proc.poll() is not None:  # poll(): a dead child is a zombie
                raise LabError(f"{self.node}: dockerd exited: {_tail(self.where.log)}")
            if time.monotonic() > deadline:
                raise LabError(f"{self.node}: dockerd did not answer in {timeout:.0f} s: {_tail(self.where.log)}")
            time.sleep(0.05)

    def load_images(self, tarball: str, app_names: Iterable[str]) -> None:
        """The pause image and the app image from the lab's tarball; each app image name is a tag of the latter."""
        api = self.client.api
        with open(tarball, "rb") as f:
            data = f.read()
        api.import_image_from_data(data, repository=PAUSE_IMAGE.split(":")[0], tag=PAUSE_IMAGE.split(":")[1],
                                   changes=['CMD ["/pause"]'])
        repo, tag = APP_IMAGE.split(":")
        api.import_image_from_data(data, repository=repo, tag=tag, changes=['CMD ["sh"]', "WORKDIR /"])
        self.tag_images(app_names)

    def tag_images(self, names: Iterable[str]) -> None:
        """Each app image name as a tag of the lab's app image (tagging again is a no-op)."""
        for name in sorted(set(names) - {APP_IMAGE}):
            self.client.api.tag(APP_IMAGE, *image_reference(name))

    def run_pause(self, pod: PodSpec) -> Tuple[str, int]:
        """The pod's sandbox with no network (the data plane wires it): its id and pid."""
        c = self.client.containers.run(PAUSE_IMAGE, name=pause_name(pod), hostname=pod.name, network_mode="none",
                                       ipc_mode="shareable", labels=pod_labels(pod, "POD"), detach=True)
        c.reload()
        return c.id, c.attrs["State"]["Pid"]

    def create_bridge_network(self, name: str, subnet: str) -> str:
        """A user-defined bridge network (`docker network create --subnet`): returns its bridge, br-<id>."""
        from docker.types import IPAMConfig, IPAMPool
        network = self.client.networks.create(name, driver="bridge",
                                              ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=subnet)]))
        return bridge_of(network.id)

    def run_on_network(self, name: str, network: str, ip: str, command: List[str]) -> int:
        """`docker run -d --net NETWORK --ip IP --name NAME` of the app image: returns the container's pid."""
        api = self.client.api
        created = api.create_container(APP_IMAGE, command, name=name, hostname=name,
                                       host_config=api.create_host_config(network_mode=network),
                                       networking_config=api.create_networking_config(
                                           {network: api.create_endpoint_config(ipv4_address=ip)}))
        api.start(created["Id"])
        return api.inspect_container(created["Id"])["State"]["Pid"]

    def run_apps(self, pod: PodSpec, pause_id: str) -> List[str]:
        """The app containers, in the pause container's network and IPC namespaces (UTS, mount, PID their own)."""
        from docker.errors import APIError
        ids = []
        for app in pod.containers:
            try:
                c = self.client.containers.run(app.image, app_command(app, pod.name), name=container_name(pod, app),
                                               network_mode=f"container:{pause_id}", ipc_mode=f"container:{pause_id}",
                                               labels=pod_labels(pod, app.name), detach=True)
            except APIError as exc:  # e.g. a manifest's command that busybox does not have
                raise LabError(f"pod {pod.namespace}/{pod.name}: container {app.name} did not start: "
                               f"{exc.explanation or exc}") from None
            ids.append(c.id)
        return ids

    def wait_running(self, pod: PodSpec, ids: List[str], deadline_s: float = RUNNING_DEADLINE_S,
                     settle_s: float = RUNNING_SETTLE_S) -> None:
        """Every app container running within deadline_s and still running settle_s later (a command that
        exits at once is a pod that did not start), else LabError with the container's exit code and last
        words, as kubelet would report it."""
        api = self.client.api
        end = time.monotonic() + deadline_s
        settled = None
        while True:
            states = {cid: api.inspect_container(cid)["State"] for cid in ids}
            for (cid, state), app in zip(states.items(), pod.containers, strict=True):
                if state.get("Status") in ("exited", "dead"):
                    tail = api.logs(cid, tail=1).decode(errors="replace").strip()
                    raise LabError(f"pod {pod.namespace}/{pod.name}: container {app.name} did not start: it exited "
                                   f"with code {state.get('ExitCode')}" + (f" ({tail[:200]})" if tail else ""))
            now = time.monotonic()
            if all(st.get("Running") for st in states.values()):
                settled = settled or now + settle_s
                if now >= settled:
                    return
            elif now > end:
                raise LabError(f"pod {pod.namespace}/{pod.name}: its containers were not running within "
                               f"{deadline_s:.0f} s")
            time.sleep(0.05)

    def remove_pod(self, pod: PodSpec) -> None:
        """Its app containers, then its sandbox (docker rm -f), as kubelet tears a pod down."""
        from docker.errors import NotFound
        for name in [container_name(pod, app) for app in pod.containers] + [pause_name(pod)]:
            try:
                self.client.api.remove_container(name, force=True)
            except NotFound:
                pass


@dataclass
class DockerRuntime:
    """The lab's daemons (one per node) and its pods' containers."""
    nodes: List[str]
    daemons: Dict[str, NodeDaemon] = field(default_factory=dict)
    sandboxes: Dict[str, Tuple[str, int]] = field(default_factory=dict)  # pod host -> (pause id, pid)

    def start(self, ensure_dir: Callable[[str], None]) -> None:
        """Start every node's daemon (they boot in parallel while the caller goes on).
        ensure_dir: makes a directory outside the lab's run directory and records it (LabNet.ensure_mountpoint)."""
        for d in FIXED_DIRS:
            ensure_dir(d)
        for node in self.nodes:
            self.daemons[node] = NodeDaemon(node)
            self.daemons[node].start()

    def env(self, node: str) -> Dict[str, str]:
        """For the node's shell: `docker ps` there talks to the node's own daemon."""
        return {"DOCKER_HOST": daemon_paths(node).url, "DOCKER_API_VERSION": API_VERSION}

    def _each_node(self, fn, items: Dict[str, list]) -> None:
        pool = ThreadPoolExecutor(max_workers=max(1, len(items)))
        try:
            for f in [pool.submit(fn, node, todo) for node, todo in items.items()]:
                f.result()
        finally:  # a signal must not wait for busy threads: what they still make, cleanup finds by cgroup
            pool.shutdown(wait=False, cancel_futures=True)

    def prepare(self, images: Iterable[str] = ()) -> None:
        """Wait for every daemon and load the lab's images into it (app images tagged under `images`)."""
        self._prepare(self.nodes, images)

    def _prepare(self, nodes: List[str], images: Iterable[str]) -> None:
        tarball = image_tar(os.path.join(paths.run_dir(), "busybox-rootfs.tar"))
        images = set(images)

        def node_images(node: str, _todo: list) -> None:
            self.daemons[node].wait_ready()
            self.daemons[node].load_images(tarball, images)

        self._each_node(node_images, {n: [] for n in nodes})

    def start_sandboxes(self, pods: List[PodSpec]) -> Dict[str, int]:
        """Wait for the daemons, load the images, start every pod's pause container.
        Returns each pod's pause pid, whose network namespace the data plane wires."""
        self.prepare({c.image for p in pods for c in p.containers})

        def node_sandboxes(node: str, todo: List[PodSpec]) -> None:
            for pod in todo:
                self.sandboxes[pod.host] = self.daemons[node].run_pause(pod)

        self._each_node(node_sandboxes, {n: [p for p in pods if p.node == n] for n in self.nodes})
        return {host: pid for host, (_id, pid) in self.sandboxes.items()}

    def start_apps(self, pods: List[PodSpec]) -> None:
        def node_apps(node: str, todo: List[PodSpec]) -> None:
            for pod in todo:
                self.daemons[node].run_apps(pod, self.sandboxes[pod.host][0])

        self._each_node(node_apps, {n: [p for p in pods if p.node == n] for n in self.nodes})

    # --- at runtime -------------------------------------------------------------------------------
    def start_node(self, node: str, ensure_dir: Callable[[str], None]) -> None:
        """A node that joins: its own daemon starts (prepare_node waits for it and loads the images)."""
        for d in FIXED_DIRS:
            ensure_dir(d)
        self.daemons[node] = NodeDaemon(node)
        self.nodes.append(node)
        self.daemons[node].start()

    def prepare_node(self, node: str) -> None:
        self._prepare([node], ())

    def remove_node(self, node: str) -> None:
        """A node that leaves: its containers removed, its daemon stopped, its mounts detached."""
        daemon = self.daemons.pop(node, None)
        if node in self.nodes:
            self.nodes.remove(node)
        if daemon is not None:
            daemon.stop()

    def add_sandbox(self, pod: PodSpec) -> int:
        """A pod that starts at runtime: its pause container (its app images tagged first); returns its pid."""
        daemon = self.daemons[pod.node]
        daemon.tag_images(app.image for app in pod.containers)
        self.sandboxes[pod.host] = daemon.run_pause(pod)
        return self.sandboxes[pod.host][1]

    def add_apps(self, pod: PodSpec) -> None:
        """A pod added at runtime: its apps, running (a failed start fails the change, which is undone)."""
        daemon = self.daemons[pod.node]
        daemon.wait_running(pod, daemon.run_apps(pod, self.sandboxes[pod.host][0]))

    def remove(self, pod: PodSpec) -> None:
        """A pod that goes away: its containers are removed from its node's daemon."""
        self.daemons[pod.node].remove_pod(pod)
        self.sandboxes.pop(pod.host, None)


def bridge_of(network_id: str) -> str:
    """The Linux bridge Docker makes for a user-defined bridge network."""
    return f"br-{network_id[:12]}"


def _tail(path: str, lines: int = 3) -> str:
    try:
        with open(path) as f:
            return " | ".join(f.read().strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"
