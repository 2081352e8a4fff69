"""A lab as a picture, as data: hosts as boxes with their devices, tunnels, a traced packet's hops. Planes make
them (from a model or a running lab); lab.front.draw turns them into Graphviz."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

from lab.observe import kernel


@dataclass
class Box:
    """A host in the picture (node, pod, external host, etcd, router) and the devices drawn inside it."""

    name: str
    role: str  # node, pod, external, service
    ip: str = ""
    node: str = ""  # a pod's node
    devices: List[Tuple[str, str]] = field(default_factory=list)  # (device, label): br0, tun0, cni0, flannel.1


@dataclass
class Picture:
    title: str
    underlay: str
    boxes: List[Box]
    tunnels: List[Tuple[str, str, str]] = field(default_factory=list)  # (node, node, label)
    bridge: str = "br0"  # the device a node's pods hang on
    overlay_dev: str = ""  # the device tunnels start from (vxlan0 on br0, flannel.1)

    def of_role(self, role: str) -> List[Box]:
        return [b for b in self.boxes if b.role == role]


@dataclass
class PathHop:
    """One node a traced packet crossed: the tables it visited and where it left."""

    node: str
    tables: List[int]
    end: str  # "output vxlan0", "drop in table 90", ...


def full_mesh(nodes: Sequence[str], label: str) -> List[Tuple[str, str, str]]:
    """Every pair of nodes joined (the overlay's tunnels or routes)."""
    return [(a, b, label) for i, a in enumerate(nodes) for b in nodes[i + 1:]]


def underlay_of(boxes: Sequence[Box]) -> str:
    """The underlay's network, as the first node's address shows it (a /24 segment)."""
    return str(ipaddress.ip_interface(f"{boxes[0].ip}/24").network)


OTHER_ROLES = {"external": "external", "etcd": "service", "router": "service"}  # roles drawn beside the nodes


def live_pods_and_hosts(lab, gateways: Dict[str, str]) -> List[Box]:
    """A running lab's pods (on the node whose gateway their default route names) and its other hosts."""
    boxes = []
    for pod in lab.pods:
        routes = kernel.read(lab.name, pod).routes
        gw = next((r.via for r in routes if r.family == 4 and r.table == "main" and r.dst == "default"), "")
        boxes.append(Box(pod, "pod", lab.ip_of(pod), node=gateways.get(gw, ""), devices=[("eth0", "")]))
    for host in lab.hosts:
        if lab.role(host) in OTHER_ROLES:
            addrs = lab.addresses(host)
            ip = ", ".join(str(a.ip) for d, a in sorted(addrs.items()) if d != "lo")
            boxes.append(Box(host, OTHER_ROLES[lab.role(host)], ip))
    return boxes
