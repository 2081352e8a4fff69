"""The master's side of EgressIPs (pkg/network/common/egressip.go, master/egressip.go), pure: which namespace
leaves through which egress IP on which node, the egress VXLAN monitor's offline verdicts, and automatic mode's
allocation of egress IPs to the HostSubnets that have egressCIDRs.

An IP is active when exactly one node hosts it and exactly one VNID asks for it; a namespace uses the first of
its IPs that is assigned (skipping offline nodes only when it has more than one), else its traffic is dropped.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Dict, List, Tuple

from lab.planes.openshift.model import Cluster, HostSubnet


@dataclass(frozen=True)
class NamespaceEgress:
    vnid: int
    egress_ip: str = ""  # "" = dropped (wants an egress IP, none is usable)
    node_ip: str = ""  # the HostSubnet.hostIP of the node that holds egress_ip

    @property
    def dropped(self) -> bool:
        return not self.egress_ip


def requested_by_vnid(cluster: Cluster) -> Dict[int, Tuple[str, ...]]:
    """namespacesByVNID: NetNamespaces keyed by NETID (joined namespaces share one; the last seen wins)."""
    out: Dict[int, Tuple[str, ...]] = {}
    for netns in sorted(cluster.netnamespaces, key=lambda n: n.name):
        if netns.egress_ips:
            out[netns.netid] = netns.egress_ips
    return out


def _claims(cluster: Cluster) -> Tuple[Dict[str, List[HostSubnet]], Dict[str, List[int]], Dict[int, Tuple[str, ...]]]:
    requested = requested_by_vnid(cluster)
    nodes: Dict[str, List[HostSubnet]] = {}
    for hs in cluster.hostsubnets:
        for ip in hs.egress_ips:
            nodes.setdefault(ip, []).append(hs)
    vnids: Dict[str, List[int]] = {}
    for vnid, ips in requested.items():
        for ip in dict.fromkeys(ips):
            vnids.setdefault(ip, []).append(vnid)
    return nodes, vnids, requested


def assigned_egress_ips(cluster: Cluster) -> Dict[str, Tuple[int, HostSubnet]]:
    """egressIPActive(): egress IP -> (VNID, node) for each IP that one node hosts for one VNID, and no
    other IP of that VNID sits on the same node."""
    nodes, vnids, requested = _claims(cluster)
    out = {}
    for ip, holders in nodes.items():
        askers = vnids.get(ip, [])
        if len(holders) != 1 or len(askers) != 1:
            continue
        if any(other != ip and [h.name for h in nodes.get(other, [])] == [holders[0].name]
               for other in requested[askers[0]]):
            continue
        out[ip] = (askers[0], holders[0])
    return out


def namespace_egress(cluster: Cluster, viewer: str = "") -> Dict[int, NamespaceEgress]:
    """syncEgressNamespaceState() for every VNID that asks for egress IPs, as node `viewer` sees it: its VXLAN
    monitor watches the other nodes only (egressip.go), so a node never finds itself offline."""
    _nodes, vnids, requested = _claims(cluster)
    assigned = assigned_egress_ips(cluster)
    out = {}
    for vnid, ips in requested.items():
        active = None
        for ip in ips:
            if len(vnids.get(ip, [])) > 1:  # an IP two namespaces ask for: no egress at all
                active = None
                break
            if active is None and ip in assigned:
                node = assigned[ip][1]
                if len(ips) > 1 and node.name in cluster.offline_nodes and node.name != viewer:
                    continue
                active = (ip, node.host_ip)
        out[vnid] = NamespaceEgress(vnid, *active) if active else NamespaceEgress(vnid)
    return out


def local_egress_ips(cluster: Cluster, node: str) -> List[Tuple[str, int]]:
    """(egress IP, VNID) claimed on this node (ClaimEgressIP with nodeIP == localIP), in IP order."""
    return sorted((ip, vnid) for ip, (vnid, hs) in assigned_egress_ips(cluster).items() if hs.name == node)


def set_node_offline(cluster: Cluster, node: str, offline: bool = True) -> None:
    """SetNodeOffline(): what the egress VXLAN monitor concludes when a node stops answering; only a namespace
    with more than one egress IP moves on to its next one."""
    cluster.hostsubnet(node)
    rest = tuple(n for n in cluster.offline_nodes if n != node)
    cluster.offline_nodes = rest + ((node,) if offline else ())
    reallocate_egress_ips(cluster)


def _ip_key(ip: str) -> int:
    return int(ipaddress.IPv4Address(ip))


def _taken(cluster: Cluster, ip: str) -> bool:
    """An address no node may announce: a host's own on the underlay, or its network or broadcast address."""
    under = ipaddress.ip_network(cluster.underlay)
    return cluster.owner_of_ip(ip) is not None or ipaddress.ip_address(ip) in (under.network_address,
                                                                              under.broadcast_address)


def automatic_allocation(cluster: Cluster) -> Dict[str, Tuple[str, ...]]:
    """ReallocateEgressIPs() of the master's automatic mode: the egress IPs of the nodes that have egressCIDRs.

    Kept where they are while their node is online and its CIDRs hold them; the others go, in IP order, to an
    online node whose CIDRs contain them: first those only one node can take, then the rest, each to the
    candidate with the fewest (3.11 walks Go maps, in random order; the lab walks the nodes in order).
    Never moved: IPs no namespace asks for, IPs claimed twice, and those of namespaces with several egress
    IPs (manual HA). Never given: an address a host of the underlay has, or the underlay's network or broadcast. The rebalancing of a node that comes back is not done."""
    auto = [hs for hs in cluster.hostsubnets if hs.egress_cidrs]
    if not auto:
        return {}
    nodes, vnids, requested = _claims(cluster)
    assigned = assigned_egress_ips(cluster)
    ips = sorted(set(nodes) | set(vnids), key=_ip_key)
    done = {ip for ip in ips if not vnids.get(ip) or len(nodes.get(ip, [])) > 1 or len(vnids[ip]) > 1
            or len(requested[vnids[ip][0]]) > 1 or _taken(cluster, ip)}
    allocation: Dict[str, List[str]] = {hs.name: [] for hs in auto}

    def holds(hs: HostSubnet, ip: str) -> bool:
        return any(ipaddress.ip_address(ip) in ipaddress.ip_network(c) for c in hs.egress_cidrs)

    for ip in ips:  # allocateExistingEgressIPs
        if ip in done or ip not in assigned:
            continue
        hs = assigned[ip][1]
        if hs.name in allocation and holds(hs, ip) and hs.name not in cluster.offline_nodes:
            allocation[hs.name].append(ip)
        done.add(ip)

    def candidate(ip: str) -> Tuple[str, bool]:  # findEgressIPAllocation
        best, others = "", False
        for hs in auto:
            if hs.name in cluster.offline_nodes or not holds(hs, ip):
                continue
            if best:
                others = True
                if len(allocation[best]) < len(allocation[hs.name]):
                    continue
            best = hs.name
        return best, others

    for only_one in (True, False):  # allocateNewEgressIPs: unambiguous IPs first
        for ip in ips:
            if ip in done:
                continue
            node, others = candidate(ip)
            if node and not (only_one and others):
                allocation[node].append(ip)
                done.add(ip)
    return {name: tuple(got) for name, got in allocation.items()}


def reallocate_egress_ips(cluster: Cluster) -> None:
    """The master writes the automatic allocation into the HostSubnets that have egressCIDRs, until it settles
    (an IP taken from an offline node is released in one round and given to another node in the next)."""
    for _round in range(8):
        changed = False
        for name, ips in automatic_allocation(cluster).items():
            hs = cluster.hostsubnet(name)
            if set(hs.egress_ips) != set(ips):
                cluster.hostsubnets[cluster.hostsubnets.index(hs)] = replace(hs, egress_ips=ips)
                changed = True
        if not changed:
            return
