"""A Flannel cluster as flannel keeps it in etcd: the network config and one subnet lease per node."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Iterable, List, Optional

from lab.addressing import UNDERLAY_MTU, parse_network, pod_mac, veth_name
from lab.errors import BadInput, LabError
from lab.validate import check_counts, check_mtu, check_networks, check_port, check_vni

PREFIX = "/coreos.com/network"
BACKENDS = ("vxlan", "host-gw")
VXLAN_OVERHEAD = 50  # outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8
FLANNEL_NETWORK = "flannel network (--network)"
MAX_NODES = 200  # node addresses (.11 upward on a /24 segment) stay clear of the external host's .254


@dataclass(frozen=True)
class FlannelConfig:
    network: str = "10.244.0.0/16"
    subnet_len: int = 24
    backend: str = "vxlan"
    vni: int = 1
    port: int = 8472
    underlay_mtu: int = UNDERLAY_MTU

    def __post_init__(self) -> None:
        net = parse_network(self.network, FLANNEL_NETWORK)
        check_networks({FLANNEL_NETWORK: net})
        if self.backend not in BACKENDS:
            raise BadInput(f"unknown flannel backend {self.backend!r} (known: {', '.join(BACKENDS)})")
        if not 0 < self.subnet_len <= 30:
            raise BadInput(f"lease length /{self.subnet_len} is invalid: "
                           f"a lease must hold a gateway and a pod (/30 at most)")
        if not net.prefixlen < self.subnet_len:
            raise BadInput(f"subnet length {self.subnet_len} does not fit {FLANNEL_NETWORK} {self.network}: "
                           f"it must be larger than one /{self.subnet_len} lease")
        check_vni(self.vni, "flannel VXLAN VNI")
        check_port(self.port, "flannel VXLAN port")
        overhead = VXLAN_OVERHEAD if self.backend == "vxlan" else 0
        check_mtu(self.mtu, self.underlay_mtu, overhead, f"flannel {self.backend} MTU")

    @property
    def mtu(self) -> int:
        return self.underlay_mtu - VXLAN_OVERHEAD if self.backend == "vxlan" else self.underlay_mtu

    def config_json(self) -> str:
        """The value of /coreos.com/network/config, as an operator writes it."""
        return json.dumps({"Network": self.network, "Backend": {"Type": self.backend}})

    def subnets(self, count: int) -> List[ipaddress.IPv4Network]:
        net = ipaddress.IPv4Network(self.network)
        subnets = net.subnets(new_prefix=self.subnet_len)
        out: List[ipaddress.IPv4Network] = []
        for _ in range(count):
            try:
                out.append(next(subnets))
            except StopIteration:
                raise BadInput(f"{count} nodes need {count} leases but {self.network} holds only {len(out)} "
                               f"/{self.subnet_len} subnets") from None
        return out


def lease_key(subnet: str) -> str:
    """flannel's key for a lease: the subnet with '/' written as '-'."""
    return f"{PREFIX}/subnets/{subnet.replace('/', '-')}"


def lease_value(public_ip: str, backend: str, vni: int = 1, vtep_mac: Optional[str] = None) -> str:
    """flannel's lease attributes (LeaseAttrs) as JSON."""
    data = {"VNI": vni, "VtepMAC": vtep_mac} if backend == "vxlan" else None
    return json.dumps({"PublicIP": public_ip, "BackendType": backend, "BackendData": data})


@dataclass(frozen=True)
class FlannelNode:
    name: str
    ip: str
    subnet: str
    segment: int = 0

    @property
    def gateway(self) -> str:
        """cni0's address: the lease's first host address."""
        return str(ipaddress.ip_network(self.subnet).network_address + 1)

    @property
    def vtep_ip(self) -> str:
        """flannel.1's address: the lease's network address (as a /32)."""
        return str(ipaddress.ip_network(self.subnet).network_address)


@dataclass(frozen=True)
class FlannelPod:
    name: str
    node: str
    ip: str
    mac: str
    veth: str


@dataclass(frozen=True)
class Segment:
    cidr: str
    bridge: str

    def host(self, n: int) -> str:
        return str(ipaddress.ip_network(self.cidr).network_address + n)

    @property
    def prefixlen(self) -> int:
        return ipaddress.ip_network(self.cidr).prefixlen


@dataclass
class FlannelCluster:
    config: FlannelConfig
    segments: List[Segment]
    nodes: List[FlannelNode] = field(default_factory=list)
    pods: List[FlannelPod] = field(default_factory=list)
    etcd_ip: str = ""
    external_ip: str = ""
    routed: bool = False
    departed: List[FlannelNode] = field(default_factory=list)  # nodes that left at runtime
    runtime: str = "netns"  # the lab's choice: pods as plain namespaces or Docker containers (CNI-wired)

    def node(self, name: str) -> FlannelNode:
        return next(n for n in self.nodes if n.name == name)

    def pod(self, name: str) -> FlannelPod:
        return next(p for p in self.pods if p.name == name)

    def pods_on(self, node: str) -> List[FlannelPod]:
        return [p for p in self.pods if p.node == node]

    def router_ip(self, segment: int) -> str:
        return self.segments[segment].host(1)

    def owner_of_ip(self, ip: str) -> Optional[str]:
        for p in self.pods:
            if p.ip == ip:
                return p.name
        for n in self.nodes:
            if ip in (n.ip, n.gateway, n.vtep_ip):
                return n.name
        if ip == self.external_ip:
            return "ext"
        if self.routed and ip in (self.router_ip(0), self.router_ip(1)):
            return "router"
        return None

    def next_node(self, held_leases: Iterable[str] = ()) -> FlannelNode:
        """The node a runtime join adds. Its number and underlay address are new, also after a leave (the
        other nodes may still cache a departed node's MAC for its address); its lease is the first one that
        no node holds and that etcd does not list (held_leases, as "10.244.1.0/24")."""
        numbers = [int(n.name[len("node"):]) for n in self.nodes + self.departed if n.name[len("node"):].isdigit()]
        i = max(numbers, default=0)  # node<i+1>
        if 11 + i >= 254:  # .254 is the external host
            raise LabError(f"no underlay address left for node{i + 1}")
        held = {n.subnet for n in self.nodes} | set(held_leases)
        net = ipaddress.ip_network(self.config.network)
        subnet = next((str(s) for s in net.subnets(new_prefix=self.config.subnet_len) if str(s) not in held), None)
        if subnet is None:
            raise LabError(f"no free /{self.config.subnet_len} lease left in {self.config.network}")
        seg = i % len(self.segments)
        return FlannelNode(f"node{i + 1}", self.segments[seg].host(11 + i), subnet, seg)


def build_flannel_cluster(nodes: int = 2, pods_per_node: int = 2, config: Optional[FlannelConfig] = None,
                          routed: bool = False) -> FlannelCluster:
    """Nodes on one L2 segment (172.16.1.0/24), or with `routed` alternating over two segments joined by a router."""
    config = config or FlannelConfig()
    check_counts(nodes, pods_per_node)
    if nodes > MAX_NODES:
        raise BadInput(f"--nodes {nodes} does not fit the underlay: at most {MAX_NODES} nodes")
    segments = [Segment("172.16.1.0/24", "br-seg1")] + ([Segment("172.16.2.0/24", "br-seg2")] if routed else [])
    check_networks({FLANNEL_NETWORK: config.network,
                    **{("underlay segment" if i == 0 else "second underlay segment (--routed)"): seg.cidr
                       for i, seg in enumerate(segments)}})
    net = ipaddress.ip_network(config.network)
    leases = 1 << (config.subnet_len - net.prefixlen)
    if nodes > leases:
        raise BadInput(f"--nodes {nodes}: {nodes} nodes need {nodes} leases but {FLANNEL_NETWORK} {config.network} "
                       f"holds only {leases} /{config.subnet_len} subnets")
    capacity = (1 << (32 - config.subnet_len)) - 3  # network address (the VTEP), gateway, broadcast
    if pods_per_node > capacity:
        raise BadInput(f"--pods-per-node {pods_per_node}: {pods_per_node} pods per node do not fit a "
                       f"/{config.subnet_len} lease (at most {capacity})")
    subnets = config.subnets(nodes)
    cluster = FlannelCluster(config=config, segments=segments, routed=routed,
                             etcd_ip=segments[0].host(2), external_ip=segments[0].host(254))
    pod_no = 0
    for i, subnet in enumerate(subnets):
        seg = i % len(segments)
        node = FlannelNode(f"node{i + 1}", segments[seg].host(11 + i), str(subnet), seg)
        cluster.nodes.append(node)
        for j in range(pods_per_node):
            pod_no += 1
            ip = str(subnet.network_address + 2 + j)
            cluster.pods.append(FlannelPod(f"pod{pod_no}", node.name, ip, pod_mac(ip), veth_name(node.name, f"pod{pod_no}")))
    return cluster
