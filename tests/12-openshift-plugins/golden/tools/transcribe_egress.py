#!/usr/bin/env python3
"""Transcription of openshift-sdn 3.11's egress and multicast Go functions into OVS 3.1 dump form and
iptables 1.8.9 `iptables-save` form (conventions of tools/transcribe.py; see README.md).

Written by hand from origin release-3.11 (d8e072147f8a, fork poc-ocp-upgrades/origin):
pkg/network/node/ovscontroller.go (SetNamespaceEgressNormal/Dropped/ViaEgressIP, UpdateEgressNetworkPolicyRules,
UpdateLocalMulticastFlows), egressip.go (getMarkForVNID, ClaimEgressIP, assignEgressIP), iptables.go
(ensureEgressIPRules, DeleteEgressIPRules). It does NOT import or read anything of sdnlab's lab/ package.
"""
from typing import List, Optional, Tuple

from transcribe import hx, line

MASQUERADE_BIT = 1 << 0  # egressip.go newEgressIPWatcher: 1 << MasqueradeBit; OpenShift 3.11 MasqueradeBit = 0


def mark_for_vnid(vnid: int, masquerade_bit: int = MASQUERADE_BIT) -> str:
    """egressip.go getMarkForVNID: `fmt.Sprintf("0x%08x", vnid)` after the adjustments below. The string goes into
    both the OVS flow and the iptables rule; OVS and iptables both print it back as %#x (no leading zeros)."""
    if vnid == 0:
        vnid = 0xff000000
    if vnid & masquerade_bit:
        vnid = (vnid | 0x01000000) ^ masquerade_bit
    return "0x%08x" % vnid


def printed_mark(mark: str) -> str:
    return hex(int(mark, 16))


def egress_dropped(vnid: int) -> List[str]:
    """SetNamespaceEgressDropped: DeleteFlows("table=100, reg0=%d") + "table=100, priority=100, reg0=%d, actions=drop"."""
    return [line(100, 100, f"reg0={hx(vnid)}", "drop")]


def egress_via(vnid: int, node_ip: Optional[str], local_ip: str, tun_mac: str) -> List[str]:
    """SetNamespaceEgressViaEgressIP(vnid, nodeIP, mark), after DeleteFlows("table=100, reg0=%d"):
    nodeIP "" -> drop; nodeIP == localIP -> "table=100, priority=100, reg0=%d, ip,
    actions=set_field:%s->eth_dst,set_field:%s->pkt_mark,goto_table:101" (tun0's mac_in_use, the mark);
    else "... reg0=%d, ip, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:%s->tun_dst,output:1"."""
    if not node_ip:
        return egress_dropped(vnid)
    if node_ip == local_ip:
        mark = printed_mark(mark_for_vnid(vnid))
        return [line(100, 100, f"ip,reg0={hx(vnid)}", f"set_field:{tun_mac}->eth_dst,set_field:{mark}->pkt_mark,goto_table:101")]
    return [line(100, 100, f"ip,reg0={hx(vnid)}", f"move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:{node_ip}->tun_dst,output:1")]


def egress_network_policy(vnid: int, rules: List[Tuple[str, str]]) -> List[str]:
    """UpdateEgressNetworkPolicyRules for one policy in a non-global, unshared namespace: DeleteFlows("table=101, reg0=%d"),
    then per rule i (of n) with a cidrSelector: "table=101, reg0=%d, priority=%d, ip%s, actions=%s", priority n - i,
    Allow -> output:2, Deny -> drop, dst "" for 0.0.0.0/0 (and 0.0.0.0/32), else ", nw_dst=<selector>" (OVS drops /32).
    rules: (type, cidrSelector)."""
    out = []
    for i, (kind, cidr) in enumerate(rules):
        prio = len(rules) - i
        action = "output:2" if kind == "Allow" else "drop"
        dst = "" if cidr in ("0.0.0.0/0", "0.0.0.0/32") else f",nw_dst={cidr[:-3] if cidr.endswith('/32') else cidr}"
        out.append(line(101, prio, f"ip,reg0={hx(vnid)}{dst}", action))
    return out


def local_multicast(vnid: int, enabled: bool, ofports: List[int]) -> List[str]:
    """UpdateLocalMulticastFlows(vnid, enabled, ofports of the node's running pods of that VNID): enabled ->
    "table=110, reg0=%d, actions=goto_table:111" (default priority 32768, not printed) and, with local pods,
    "table=120, priority=100, reg0=%d, actions=<output:%d, sort.Strings order>"; disabled -> deletes only."""
    if not enabled:
        return []
    out = [line(110, None, f"reg0={hx(vnid)}", "goto_table:111")]
    if ofports:
        out.append(line(120, 100, f"reg0={hx(vnid)}", ",".join(sorted(f"output:{p}" for p in ofports))))
    return out


def egress_ip_rules(cluster_cidrs: List[str], egress_ip: str, vnid: int) -> List[Tuple[str, str]]:
    """iptables.go ensureEgressIPRules on the node that claims the IP (egressip.go ClaimEgressIP -> assignEgressIP ->
    AddEgressIPRules): per cluster CIDR, Prepend nat OPENSHIFT-MASQUERADE "-s cidr -m mark --mark <mark> -j SNAT
    --to-source <ip>"; Append filter OPENSHIFT-FIREWALL-ALLOW "-d <ip> -m conntrack --ctstate NEW -j REJECT".
    iptables-save prints the host address as /32, the mark as %#x and REJECT's default --reject-with.
    Returns (table, rule) in iptables-save form."""
    mark = printed_mark(mark_for_vnid(vnid))
    out = [("nat", f"-A OPENSHIFT-MASQUERADE -s {c} -m mark --mark {mark} -j SNAT --to-source {egress_ip}") for c in cluster_cidrs]
    out.append(("filter", f"-A OPENSHIFT-FIREWALL-ALLOW -d {egress_ip}/32 -m conntrack --ctstate NEW -j REJECT "
                          "--reject-with icmp-port-unreachable"))
    return out
