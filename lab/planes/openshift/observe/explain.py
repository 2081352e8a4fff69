"""Why a traced packet dropped, said in the plugin's terms: the VNIDs (multitenant), the policies
(networkpolicy). Pure: a parsed trace and the model."""

from __future__ import annotations

from lab.observe.trace import Trace
from lab.planes.openshift.model import Cluster
from lab.planes.openshift.node.policy import selector_matches


def vnid_name(cluster: Cluster, vnid: int) -> str:
    names = sorted(ns for ns, v in cluster.netids.items() if v == vnid)
    return f"{vnid} ({', '.join(names)})" if names else str(vnid)


def explain_drop(cluster: Cluster, trace: Trace, tun_id: int = 0) -> str:
    """A drop in table 80 said in the plugin's terms: the VNIDs (multitenant), the policies (networkpolicy)."""
    if not trace.dropped or not trace.tables or trace.tables[-1] != 80:
        return ""
    plugin = cluster.network.plugin.rsplit("-", 1)[-1]
    regs = trace.registers(tun_id)
    src, dst = regs.get(0, 0), regs.get(1, 0)
    if plugin == "multitenant":
        return (f"multitenant isolation: source VNID {vnid_name(cluster, src)} may not reach "
                f"destination VNID {vnid_name(cluster, dst)}")
    if plugin == "networkpolicy":
        dst_ip = trace.flow_field("nw_dst")
        target = next((p for p in cluster.pods if p.ip == dst_ip), None)
        if target is None:
            return f"networkpolicy: VNID {vnid_name(cluster, dst)} allows no such traffic"
        selecting = [p.name for p in cluster.policies if p.namespace == target.namespace
                     and selector_matches((p.spec or {}).get("podSelector") or {}, target.labels)]
        return (f"networkpolicy: namespace {target.namespace} (VNID {dst}) has policies selecting {target.name} "
                f"({', '.join(sorted(selecting)) or 'none'}); none allows this packet from VNID {vnid_name(cluster, src)}")
    return ""
