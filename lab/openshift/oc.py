"""`oc get clusternetwork|hostsubnets|pods -o wide`, printed the way oc 3.11 prints them."""

from __future__ import annotations

from lab.openshift.model import Cluster
from lab.table import format_table


def get_clusternetwork(cluster: Cluster) -> str:
    cn = cluster.network
    return format_table(["NAME", "CLUSTER NETWORKS", "SERVICE NETWORK", "PLUGIN NAME"],
                        [["default", f"{cn.cidr}:{cn.host_subnet_length}", cn.service_network, cn.plugin]])


def get_hostsubnets(cluster: Cluster) -> str:
    return format_table(["NAME", "HOST", "HOST IP", "SUBNET", "EGRESS CIDRS", "EGRESS IPS"],
                        [[hs.name, hs.name, hs.host_ip, hs.subnet, "[]", "[]"] for hs in cluster.hostsubnets])


def get_pods(cluster: Cluster, age: str = "1m") -> str:
    return format_table(["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE"],
                        [[p.name, "1/1", "Running", 0, age, p.ip, p.node, "<none>"] for p in cluster.pods])


RESOURCES = {
    "clusternetwork": get_clusternetwork, "clusternetworks": get_clusternetwork,
    "hostsubnet": get_hostsubnets, "hostsubnets": get_hostsubnets,
    "pod": get_pods, "pods": get_pods, "po": get_pods,
}


def oc(cluster: Cluster, line: str) -> str:
    """Answer `oc get <resource> [-o wide]` from the model."""
    words = [w for w in line.split() if w not in ("-o", "wide", "-owide", "--all-namespaces")]
    if len(words) != 2 or words[0] != "get" or words[1] not in RESOURCES:
        return "usage: oc get clusternetwork|hostsubnets|pods [-o wide]"
    return RESOURCES[words[1]](cluster)
