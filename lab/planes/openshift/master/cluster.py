"""A new cluster as its master allocates it: HostSubnets in the allocator's order, node addresses on the
underlay, NetNamespaces, and the generated pods placed on their nodes (pure, deterministic)."""

from __future__ import annotations

from typing import Optional

from lab.addressing import parse_network
from lab.errors import BadInput
from lab.planes.openshift.api.objects import Namespace
from lab.planes.openshift.master.pods import place_pod
from lab.planes.openshift.master.subnets import allocate_host_subnets
from lab.planes.openshift.master.vnid import INITIAL_NAMESPACES, allocate_netids
from lab.planes.openshift.model import (
    CLUSTER_NETWORK,
    SERVICE_NETWORK,
    SUBNET_PLUGIN,
    UNDERLAY,
    Cluster,
    ClusterNetwork,
    ExternalHost,
    HostSubnet,
    stable_uid,
)
from lab.validate import check_counts, check_networks

FIRST_NODE_HOST = 11  # node1 is .11 on the underlay, node2 .12, ...
# with multitenant/networkpolicy the generated pods alternate between two projects (pod1 p1, pod2 p2, ...)
PROJECTS = ("p1", "p2")


def build_cluster(
    nodes: int = 2,
    pods_per_node: int = 2,
    network: Optional[ClusterNetwork] = None,
    underlay: str = "172.16.1.0/24",
    external: str = "ext",
) -> Cluster:
    """Allocate HostSubnets, node IPs, pod IPs/MACs/veths exactly as the cluster would."""
    network = network or ClusterNetwork()
    check_counts(nodes, pods_per_node)
    under = parse_network(underlay, "underlay CIDR (--underlay)")
    check_networks({CLUSTER_NETWORK: network.cidr, SERVICE_NETWORK: network.service_network, UNDERLAY: under})
    # node addresses from .11 upward, the external host on the last usable address
    most = max(0, under.num_addresses - 2 - FIRST_NODE_HOST)
    if nodes > most:
        raise BadInput(f"{UNDERLAY} {under} is too small for --nodes {nodes}: with nodes from .{FIRST_NODE_HOST} "
                       f"upward and the external host on its last address it holds at most {most} nodes")
    total = 1 << (32 - network.network.prefixlen - network.host_subnet_length)
    if nodes > total:
        raise BadInput(f"--nodes {nodes}: {nodes} nodes need {nodes} host subnets but cluster network {network.cidr} "
                       f"with --host-subnet-length {network.host_subnet_length} has only {total}")
    capacity = (1 << network.host_subnet_length) - 3  # network address, gateway, broadcast
    if pods_per_node > capacity:
        raise BadInput(f"--pods-per-node {pods_per_node}: {pods_per_node} pods per node do not fit a "
                       f"/{32 - network.host_subnet_length} host subnet (at most {capacity})")
    subnets = allocate_host_subnets(network.cidr, network.host_subnet_length, nodes)
    cluster = Cluster(network=network, underlay=underlay)
    if network.plugin != SUBNET_PLUGIN:  # only the VNID plugins have NetNamespaces
        cluster.set_netids(allocate_netids(INITIAL_NAMESPACES + PROJECTS))
        cluster.namespaces += [Namespace(p) for p in PROJECTS if p not in {n.name for n in cluster.namespaces}]
    netids = cluster.netids
    for i, subnet in enumerate(subnets):
        node = f"node{i + 1}"
        hs = HostSubnet(name=node, host_ip=str(under.network_address + FIRST_NODE_HOST + i), subnet=str(subnet),
                        uid=stable_uid("hostsubnet", node))
        cluster.hostsubnets.append(hs)
        for _ in range(pods_per_node):
            number = len(cluster.pods) + 1
            namespace = PROJECTS[(number - 1) % 2] if netids else "default"
            cluster.pods.append(place_pod(cluster.pods, hs, f"pod{number}", namespace, vnid=netids.get(namespace, 0)))
    cluster.external = ExternalHost(external, str(under.broadcast_address - 1))
    return cluster
