"""What flanneld and the lab put on a node, as data (pure): subnet.env, masquerade rules, per-lease entries,
the nodes' and pods' own state."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import List, Optional

from lab.errors import BadInput
from lab.planes.flannel.model import FlannelCluster, FlannelConfig, FlannelNode, FlannelPod
from lab.state import Address, FdbEntry, File, Iptables, Item, Link, Neighbour, NodeState, Route, Sysctl, ordered

VXLAN_DEV = "flannel.1"


def subnet_env(config: FlannelConfig, subnet: str) -> str:
    gw = ipaddress.ip_network(subnet).network_address + 1
    return (f"FLANNEL_NETWORK={config.network}\nFLANNEL_SUBNET={gw}/{config.subnet_len}\n"
            f"FLANNEL_MTU={config.mtu}\nFLANNEL_IPMASQ=true\n")


def masquerade_rules(network: str, subnet: str) -> str:
    """--ip-masq: masquerade pods leaving the cluster network; forward the network (iptables-restore -n)."""
    c = '-m comment --comment "flanneld masq"'
    f = '-m comment --comment "flanneld forward"'
    return "\n".join([
        "*nat", ":FLANNEL-POSTRTG - [0:0]",
        f"-A POSTROUTING {c} -j FLANNEL-POSTRTG",
        f"-A FLANNEL-POSTRTG -s {network} -d {network} {c} -j RETURN",
        f"-A FLANNEL-POSTRTG -s {network} ! -d 224.0.0.0/4 {c} -j MASQUERADE --random-fully",
        f"-A FLANNEL-POSTRTG ! -s {network} -d {subnet} {c} -j RETURN",
        f"-A FLANNEL-POSTRTG ! -s {network} -d {network} {c} -j MASQUERADE --random-fully",
        "COMMIT", "*filter", ":FLANNEL-FWD - [0:0]",
        f"-A FORWARD {f} -j FLANNEL-FWD",
        f"-A FLANNEL-FWD -s {network} {f} -j ACCEPT",
        f"-A FLANNEL-FWD -d {network} {f} -j ACCEPT",
        "COMMIT", "",
    ])


@dataclass(frozen=True)
class Lease:
    subnet: str
    public_ip: str
    backend: str
    vtep_mac: Optional[str] = None

    @classmethod
    def from_etcd(cls, key: str, value: str) -> "Lease":
        attrs = json.loads(value)
        data = attrs.get("BackendData") or {}
        return cls(key.rsplit("/", 1)[1].replace("-", "/"), attrs["PublicIP"], attrs["BackendType"],
                   data.get("VtepMAC"))

    @property
    def vtep_ip(self) -> str:
        return str(ipaddress.ip_network(self.subnet).network_address)


def lease_state(lease: Optional[Lease], iface: str = "eth0") -> NodeState:
    """What a node holds for another node's lease: vxlan a permanent neighbour and FDB entry for the
    remote VTEP and an onlink route through it; host-gw a route via the node itself. None: nothing.
    A vxlan lease without its VTEP's MAC (written by hand: the agents always give it) is BadInput."""
    if lease is None:
        return NodeState()
    if lease.backend == "vxlan":
        if lease.vtep_mac is None:
            raise BadInput(f"vxlan lease {lease.subnet} of {lease.public_ip} has no VtepMAC")
        return NodeState((Neighbour(lease.vtep_ip, lease.vtep_mac, VXLAN_DEV),
                          FdbEntry(lease.vtep_mac, VXLAN_DEV, lease.public_ip),
                          Route(lease.subnet, via=lease.vtep_ip, dev=VXLAN_DEV, onlink=True)))
    return NodeState((Route(lease.subnet, via=lease.public_ip, dev=iface),))


def add_commands(lease: Lease, iface: str = "eth0") -> List[str]:
    """What a node does when another node's lease appears (the commands of its lease_state)."""
    return [c for item in ordered(lease_state(lease, iface).items) for c in item.commands()]


def delete_commands(lease: Lease, iface: str = "eth0") -> List[str]:
    """What a node does when another node's lease goes away."""
    return [c for item in ordered(lease_state(lease, iface).items, reverse=True) for c in item.remove_commands()]


def agent_state(config: FlannelConfig, subnet: str, public_ip: str, iface: str = "eth0") -> NodeState:
    """What the agent sets up before it takes its lease: flannel.1 (vxlan) and the masquerade chains."""
    items: List[Item] = []
    if config.backend == "vxlan":
        vtep_ip = str(ipaddress.ip_network(subnet).network_address)
        items += [Link(VXLAN_DEV, kind="vxlan", mtu=config.mtu,
                       options=f"id {config.vni} local {public_ip} dev {iface} dstport {config.port} nolearning"),
                  Address(f"{vtep_ip}/32", VXLAN_DEV)]
    items.append(Iptables(masquerade_rules(config.network, subnet), noflush=True, name="flannel"))
    return NodeState(tuple(items))


def subnet_env_file(config: FlannelConfig, subnet: str, directory: str) -> File:
    return File(f"{directory}/subnet.env", subnet_env(config, subnet))


def render_node(cluster: FlannelCluster, node: FlannelNode) -> NodeState:
    """A node before its agent runs: underlay address (and the route to the other segment behind the
    router), ip_forward, cni0 with the lease's gateway, and its pods' veths in cni0."""
    seg = cluster.segments[node.segment]
    items: List[Item] = [Sysctl("net.ipv4.ip_forward", "1"), Link("lo"), Link("eth0"),
                         Link("cni0", kind="bridge", mtu=cluster.config.mtu)]
    items += [Link(p.veth, master="cni0") for p in cluster.pods_on(node.name)]
    items += [Address(f"{node.ip}/{seg.prefixlen}", "eth0"),
              Address(f"{node.gateway}/{node.subnet.split('/')[1]}", "cni0")]
    if cluster.routed:
        other = cluster.segments[1 - node.segment]
        items.append(Route(other.cidr, via=cluster.router_ip(node.segment)))
    return NodeState(tuple(items))


def render_pod(cluster: FlannelCluster, pod: FlannelPod) -> NodeState:
    """The pod's eth0 (a veth whose peer goes into its node), address and default route via cni0."""
    node = cluster.node(pod.node)
    mtu = cluster.config.mtu
    return NodeState((Link("eth0", kind="veth", peer=pod.veth, peer_host=pod.node, mac=pod.mac, mtu=mtu),
                      Link("lo"), Address(f"{pod.ip}/{node.subnet.split('/')[1]}", "eth0"),
                      Route("default", via=node.gateway)))


def render_underlay_host(cluster: FlannelCluster, ip: str, segment: int = 0) -> NodeState:
    """etcd's and the external host's address, and the way to the other segment when routed."""
    seg = cluster.segments[segment]
    items: List[Item] = [Link("lo"), Link("eth0"), Address(f"{ip}/{seg.prefixlen}", "eth0")]
    if cluster.routed:
        items.append(Route(cluster.segments[1 - segment].cidr, via=cluster.router_ip(segment)))
    return NodeState(tuple(items))


def render_router(cluster: FlannelCluster) -> NodeState:
    s0, s1 = cluster.segments
    return NodeState((Sysctl("net.ipv4.ip_forward", "1"), Link("lo"), Link("eth0"), Link("eth1"),
                      Address(f"{cluster.router_ip(0)}/{s0.prefixlen}", "eth0"),
                      Address(f"{cluster.router_ip(1)}/{s1.prefixlen}", "eth1")))


def expected_vxlan_state(leases: List[Lease]) -> dict:
    """`ip route|neigh show dev flannel.1` and `bridge fdb show dev flannel.1` lines for these remote leases."""
    return {
        "route": sorted(f"{lease.subnet} via {lease.vtep_ip} onlink" for lease in leases),
        "neigh": sorted(f"{lease.vtep_ip} lladdr {lease.vtep_mac} PERMANENT" for lease in leases),
        "fdb": sorted(f"{lease.vtep_mac} dst {lease.public_ip} self permanent" for lease in leases),
    }
