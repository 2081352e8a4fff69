"""EgressIPs, EgressNetworkPolicies and multicast as an openshift-sdn 3.11 node programs them: flows, iptables,
marks (pure). The edits that set them are lab.planes.openshift.api.egress, the assignment of egress IPs to
nodes lab.planes.openshift.master.egress.

EgressIP (node/egressip.go, ovscontroller.go, iptables.go): a NetNamespace asks for egressIPs, a HostSubnet
hosts them, the tracker says which namespace leaves through which. Every node sends the namespace's external
traffic (table 100, by VNID) through the tunnel to the egress node; the egress node marks it (pkt_mark, from
the VNID) for tun0, where OPENSHIFT-MASQUERADE SNATs that mark to the egress IP, which it holds as a second
address of its underlay interface.

On the userspace (netdev) datapath pkt_mark does not reach the kernel; the lab's carrier: the egress flow
also writes a marker MAC (from the VNID) into eth_src, and the node's mangle PREROUTING turns `-i tun0
--mac-source <marker>` into the same mark before nat POSTROUTING. The SNAT rule stays as 3.11 writes it.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Tuple

from lab.planes.openshift.api.objects import EgressNetworkPolicy
from lab.planes.openshift.master.egress import local_egress_ips, namespace_egress
from lab.planes.openshift.model import Cluster, HostSubnet

MASQUERADE_BIT = 1 << 0  # 3.11 forces kube-proxy's masqueradeBit to 0: mark 0x1/0x1
MULTICAST_ANNOTATION = "netnamespace.network.openshift.io/multicast-enabled"
CARRIER_PREFIX = "02:e9:00"  # netdev datapath: the marker MAC is this prefix + the VNID's three bytes


def mark_for_vnid(vnid: int, masquerade_bit: int = MASQUERADE_BIT) -> str:
    """getMarkForVNID(): a non-zero mark without the masquerade bit, distinct per VNID, as `0x%08x`."""
    if vnid == 0:
        vnid = 0xff000000
    if vnid & masquerade_bit:
        vnid = (vnid | 0x01000000) ^ masquerade_bit
    return f"0x{vnid:08x}"


def shown(mark: str) -> str:
    """How OVS and iptables print a mark: hex without leading zeros."""
    return hex(int(mark, 16))


def carrier_mac(vnid: int) -> str:
    """The userspace datapath's marker MAC for a VNID's egress traffic into tun0."""
    return CARRIER_PREFIX + "".join(f":{b:02x}" for b in vnid.to_bytes(3, "big"))


def tun0_mac(hs: HostSubnet) -> str:
    """tun0's MAC: random on a real node (read back with `ovs-vsctl get Interface tun0 mac_in_use`); the lab
    sets a stable one, 02:01 + the gateway's bytes, so the egress flow can be rendered before tun0 exists."""
    return "02:01:" + ":".join(f"{int(b):02x}" for b in hs.gateway.split("."))


def render_egress_flows(cluster: Cluster, node: str, datapath: str = "system") -> List[str]:
    """Table 100's per-namespace flows (SetNamespaceEgressDropped / SetNamespaceEgressViaEgressIP)."""
    local = cluster.hostsubnet(node)
    flows = []
    for vnid, eg in sorted(namespace_egress(cluster, viewer=node).items()):
        if eg.dropped:
            flows.append(f"table=100, priority=100, reg0={vnid}, actions=drop")
        elif eg.node_ip == local.host_ip:
            carrier = f",set_field:{carrier_mac(vnid)}->eth_src" if datapath != "system" else ""
            flows.append(f"table=100, priority=100, reg0={vnid}, ip, actions=set_field:{tun0_mac(local)}->eth_dst,"
                         f"set_field:{mark_for_vnid(vnid)}->pkt_mark{carrier},goto_table:101")
        else:
            flows.append(f"table=100, priority=100, reg0={vnid}, ip, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],"
                         f"set_field:{eg.node_ip}->tun_dst,output:1")
    return flows


def render_egress_policy_flows(cluster: Cluster) -> List[str]:
    """Table 101 (updateEgressNetworkPolicyRules) for every VNID with EgressNetworkPolicies, on every node."""
    by_vnid: Dict[int, List[EgressNetworkPolicy]] = {}
    for policy in cluster.egress_policies:
        if policy.namespace in cluster.netids:
            by_vnid.setdefault(cluster.netids[policy.namespace], []).append(policy)
    flows = []
    for vnid, policies in sorted(by_vnid.items()):
        if vnid == 0:  # "EgressNetworkPolicy in global network namespace is not allowed": ignored
            continue
        sharing = [ns for ns, v in cluster.netids.items() if v == vnid]
        if len(sharing) > 1 or len(policies) > 1:  # a shared NetNamespace, or two policies: deny all
            flows.append(f"table=101, reg0={vnid}, priority=1, actions=drop")
            continue
        rules = policies[0].egress
        for i, (kind, cidr) in enumerate(rules):
            action = "output:2" if kind == "Allow" else "drop"
            dst = "" if cidr in ("0.0.0.0/0", "0.0.0.0/32") else f", nw_dst={cidr}"
            flows.append(f"table=101, reg0={vnid}, priority={len(rules) - i}, ip{dst}, actions={action}")
    return flows


def egress_iptables(cluster: Cluster, node: str) -> Tuple[List[str], List[str]]:
    """(nat rules to prepend to OPENSHIFT-MASQUERADE, filter rules to append to OPENSHIFT-FIREWALL-ALLOW) for
    the egress IPs this node holds, in iptables-save form (3.11 passes the mark as 0x%08x; iptables prints it
    without zeros). Each later claim is prepended above the earlier ones."""
    nat: List[str] = []
    allow: List[str] = []
    for ip, vnid in local_egress_ips(cluster, node):
        nat.insert(0, f"-A OPENSHIFT-MASQUERADE -s {cluster.network.cidr} -m mark --mark {shown(mark_for_vnid(vnid))} "
                      f"-j SNAT --to-source {ip}")
        allow.append(f"-A OPENSHIFT-FIREWALL-ALLOW -d {ip}/32 -m conntrack --ctstate NEW -j REJECT "
                     "--reject-with icmp-port-unreachable")
    return nat, allow


def carrier_iptables(cluster: Cluster, node: str) -> str:
    """Userspace datapath only: the mangle table that turns each marker MAC from tun0 into its VNID's mark."""
    lines = ["*mangle", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]",
             ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]"]
    for _ip, vnid in local_egress_ips(cluster, node):
        lines.append(f"-A PREROUTING -i tun0 -m mac --mac-source {carrier_mac(vnid)} -j MARK "
                     f"--set-xmark {shown(mark_for_vnid(vnid))}/0xffffffff")
    return "\n".join(lines + ["COMMIT"]) + "\n"


def multicast_enabled(cluster: Cluster) -> Dict[int, bool]:
    """GetMulticastEnabled() by VNID: a VNID is enabled only if EVERY NetNamespace sharing it (after
    join-projects) has the annotation exactly "true" (vnids.go GetMulticastEnabled), so joining an unannotated
    project switches the joint VNID's multicast off."""
    out: Dict[int, bool] = {}
    for netns in cluster.netnamespaces:
        out[netns.netid] = out.get(netns.netid, True) and netns.annotations.get(MULTICAST_ANNOTATION) == "true"
    return out


def render_multicast_flows(cluster: Cluster, node: str, vnids: Mapping[str, int]) -> List[str]:
    """UpdateLocalMulticastFlows() for every VNID with multicast on: table 110 lets its pods' multicast out
    (to 111: the other nodes, then 120), table 120 delivers to this node's pods of the VNID (ports sorted as
    strings, as 3.11 sorts them)."""
    enabled = multicast_enabled(cluster)
    flows = []
    for vnid in sorted(v for v, on in enabled.items() if on):
        flows.append(f"table=110, reg0={vnid}, actions=goto_table:111")
        ports = sorted(f"output:{p.ofport}" for p in cluster.pods_on(node) if vnids.get(p.namespace, p.vnid) == vnid)
        if ports:
            flows.append(f"table=120, priority=100, reg0={vnid}, actions={','.join(ports)}")
    return flows
