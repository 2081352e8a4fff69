"""Raw kernel VXLAN labs: a point-to-point vxlan20 between two hosts, and two "docker" bridges that a
VXLAN port (id 100) joins into one L2 segment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple

from lab import docker, underlay
from lab.addressing import veth_name
from lab.apply import converge
from lab.net import LabNet
from lab.shell import run_scripts
from lab.state import Address, Item, Link, NodeState
from lab.underlay import UNDERLAY_HOST

UNDERLAY = "172.16.1.0/24"
HOSTS = (("host1", "172.16.1.11"), ("host2", "172.16.1.12"))


@dataclass(frozen=True)
class RawVxlan:
    """The fixed addressing of the two raw labs."""

    kind: str  # "p2p" or "docker"
    hosts: Tuple[Tuple[str, str], ...] = HOSTS
    p2p_vni: int = 20
    p2p_overlay: Tuple[str, ...] = ("10.0.136.11", "10.0.136.12")
    docker_vni: int = 100
    docker_net: str = "172.20.0.0/16"
    containers: Tuple[Tuple[str, str, str], ...] = (("c1", "host1", "172.20.0.2"), ("c2", "host2", "172.20.0.3"))
    port: int = 4789
    runtime: str = "netns"  # docker: each host's own dockerd, a bridge network, containers on it
    network_name: str = "network-luffy"
    connected: bool = False  # docker-vxlan: the VXLAN ports added at bring-up (--connected)

    def peer_of(self, host: str) -> str:
        return next(ip for name, ip in self.hosts if name != host)

    def owner_of_ip(self, ip: str):
        for name, addr in self.hosts:
            if ip == addr:
                return name
        for i, addr in enumerate(self.p2p_overlay):
            if ip == addr:
                return self.hosts[i][0]
        return next((c for c, _h, addr in self.containers if addr == ip), None)


def vxlan_link(name: str, vni: int, remote: str, port: int, master: str = "") -> Link:
    return Link(name, kind="vxlan", options=f"id {vni} remote {remote} dstport {port} dev eth0", master=master)


def render_host(lab: RawVxlan, name: str, connected: bool = False, bridge: str = "br0") -> NodeState:
    """A host: its underlay address; p2p its vxlan20 and overlay address; docker its br0 with the
    containers' veths (and, once connected, the VXLAN port 100)."""
    i = [h for h, _ in lab.hosts].index(name)
    items: List[Item] = [Link("lo"), Link("eth0"), Address(f"{lab.hosts[i][1]}/24", "eth0")]
    if lab.kind == "p2p":
        items += [vxlan_link("vxlan20", lab.p2p_vni, lab.peer_of(name), lab.port),
                  Address(f"{lab.p2p_overlay[i]}/24", "vxlan20")]
    else:
        if lab.runtime != "docker":  # with Docker, its bridge network made the bridge and the veths
            items.append(Link("br0", kind="bridge"))
            items += [Link(veth_name(host, c), master="br0") for c, host, _ip in lab.containers if host == name]
        if connected:
            items.append(vxlan_link("vxlan100", lab.docker_vni, lab.peer_of(name), lab.port, master=bridge))
    return NodeState(tuple(items))


def render_container(lab: RawVxlan, name: str) -> NodeState:
    """A container's eth0: a veth whose peer goes into its host, and its address in the docker network."""
    _c, host, ip = next(c for c in lab.containers if c[0] == name)
    return NodeState((Link("eth0", kind="veth", peer=veth_name(host, name), peer_host=host), Link("lo"),
                      Address(f"{ip}/16", "eth0")))


def build(net: LabNet, lab: RawVxlan, progress: Callable[[str], None] = print) -> None:
    progress(f"*** Creating namespaces: {', '.join(h for h, _ in lab.hosts)} on the underlay {UNDERLAY}")
    net.add_hosts([{"name": UNDERLAY_HOST, "role": "underlay", "switch": True}])
    rt = docker.DockerRuntime([h for h, _ in lab.hosts]) if lab.kind == "docker" and lab.runtime == "docker" else None
    hosts = net.add_hosts({"name": h, "role": "host", "env": rt.env(h) if rt else {}} for h, _ in lab.hosts)
    if rt:
        progress(f"*** Starting a Docker daemon in each host; `docker network create --subnet {lab.docker_net} "
                 f"{lab.network_name}` and `docker run -d --net {lab.network_name} --ip IP` on each")
        rt.start(net.ensure_mountpoint)
        net.add_hosts({"name": c, "role": "container", "netns": f"/proc/{pid}/ns/net"}
                      for c, pid in _docker_containers(rt, lab).items())
    elif lab.kind == "docker":
        net.add_hosts({"name": c, "role": "container"} for c, _h, _ip in lab.containers)
    run_scripts([(net[UNDERLAY_HOST], "underlay", underlay.segment_script([(h, "eth0") for h in hosts]))])
    # containers first: their veths must be in the hosts before br0 takes them
    converge(net, [(net[c], render_container(lab, c)) for c, _h, _ip in lab.containers
                   if lab.kind == "docker" and not rt])
    converge(net, [(net[name], render_host(lab, name)) for name, _ in lab.hosts])
    for name, ip in lab.hosts:
        net[name].add_known_intf("eth0", ip=ip, port=0)
    for c, _host, ip in lab.containers if lab.kind == "docker" else ():
        net[c].add_known_intf("eth0", ip=ip, port=0)


def _docker_containers(rt: docker.DockerRuntime, lab: RawVxlan) -> Dict[str, int]:
    """The note's commands through each host's own daemon; returns each container's pid."""
    rt.prepare()
    pids = {}
    for host, _ip in lab.hosts:
        daemon = rt.daemons[host]
        daemon.create_bridge_network(lab.network_name, lab.docker_net)
        for c, _h, ip in (c for c in lab.containers if c[1] == host):
            pids[c] = daemon.run_on_network(c, lab.network_name, ip,
                                            docker.app_command(docker.AppContainer(c, docker.APP_IMAGE, (80,))))
    return pids


def bridge_of(lab: RawVxlan, host: str) -> str:
    """The bridge the containers of a host are on: br0, or Docker's br-<network id>."""
    if lab.runtime != "docker":
        return "br0"
    return docker.bridge_of(docker.NodeDaemon(host).client.networks.get(lab.network_name).id)


def connect(net: LabNet, lab: RawVxlan) -> List[str]:
    """Add the VXLAN port (id 100) to each host's bridge: the two container segments become one.
    Only the difference is applied: vxlan100, nothing else."""
    converge(net, [(net[name], render_host(lab, name, connected=True, bridge=bridge_of(lab, name)))
                   for name, _ in lab.hosts])
    return [name for name, _ in lab.hosts]
