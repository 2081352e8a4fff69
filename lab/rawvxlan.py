"""Raw kernel VXLAN labs: a point-to-point vxlan20 between two hosts, and two "docker" bridges that a
VXLAN port (id 100) joins into one L2 segment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Tuple

from lab import underlay
from lab.addressing import veth_name
from lab.net import LabNet
from lab.shell import run_scripts

UNDERLAY_HOST = "underlay"
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


def vxlan_command(name: str, vni: int, remote: str, port: int) -> str:
    return f"ip link add {name} type vxlan id {vni} remote {remote} dstport {port} dev eth0"


def build(net: LabNet, lab: RawVxlan, progress: Callable[[str], None] = print) -> None:
    progress(f"*** Creating namespaces: {', '.join(h for h, _ in lab.hosts)} on the underlay {UNDERLAY}")
    net.add_hosts([{"name": UNDERLAY_HOST, "role": "underlay", "switch": True}])
    hosts = net.add_hosts({"name": h, "role": "host"} for h, _ in lab.hosts)
    if lab.kind == "docker":
        net.add_hosts({"name": c, "role": "container"} for c, _h, _ip in lab.containers)
    run_scripts([(net[UNDERLAY_HOST], "underlay", underlay.segment_script([(h, "eth0") for h in hosts]))])
    jobs = []
    for i, (name, ip) in enumerate(lab.hosts):
        script = underlay.address_script(f"{ip}/24")
        if lab.kind == "p2p":
            script += (vxlan_command("vxlan20", lab.p2p_vni, lab.peer_of(name), lab.port) + "\n"
                       f"ip addr add {lab.p2p_overlay[i]}/24 dev vxlan20\nip link set vxlan20 up\n")
        else:
            script += "ip link add br0 type bridge\nip link set br0 up\n"
        jobs.append((net[name], "configure", script))
        net[name].add_known_intf("eth0", ip=ip, port=0)
    run_scripts(jobs)
    if lab.kind == "docker":
        jobs = []
        for c, host, ip in lab.containers:
            veth = veth_name(host, c)
            jobs.append((net[c], "configure", f"ip link add eth0 type veth peer name {veth} netns {net[host].pid}\n"
                         f"ip link set lo up\nip addr add {ip}/16 dev eth0\nip link set eth0 up\n"))
            net[c].add_known_intf("eth0", ip=ip, port=0)
        run_scripts(jobs)
        run_scripts([(net[host], "attach", f"ip link set {veth_name(host, c)} master br0 up\n")
                     for c, host, _ip in lab.containers])


def connect(net: LabNet, lab: RawVxlan) -> List[str]:
    """Add the VXLAN port (id 100) to each host's bridge: the two container segments become one."""
    jobs = [(net[name], "connect", vxlan_command("vxlan100", lab.docker_vni, lab.peer_of(name), lab.port) + "\n"
             "ip link set vxlan100 master br0 up\n") for name, _ in lab.hosts]
    run_scripts(jobs)
    return [name for name, _ in lab.hosts]
