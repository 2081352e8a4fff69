#!/usr/bin/env python3
"""Transcription of openshift-sdn 3.11's egress and multicast Go functions into OVS 3.1 dump form and
iptables 1.8.9 `iptables-save` form (conventions of tools/transcribe.py; see README.md).

Written by hand from origin release-3.11 (d8e072147f8a, fork poc-ocp-upgrades/origin):
pkg/network/node/ovscontroller.go (SetNamespaceEgressNormal/Dropped/ViaEgressIP, UpdateEgressNetworkPolicyRules,
UpdateLocalMulticastFlows), egressip.go (getMarkForVNID, ClaimEgressIP, assignEgressIP), iptables.go
(ensureEgressIPRules, DeleteEgressIPRules), vnids.go (GetMulticastEnabled, setVNID, handleAddOrUpdateNetNamespace),
pod.go (updateLocalMulticastRulesWithLock, processRequest CNI_UPDATE). It does NOT import or read anything of
sdnlab's lab/ package.
"""
from typing import Dict, List, Mapping, Optional, Tuple

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


def get_multicast_enabled(netids: Mapping[str, int], mc_enabled: Mapping[str, bool], vnid: int) -> bool:
    """vnids.go nodeVNIDMap.GetMulticastEnabled(id): false when no namespace has the VNID; otherwise true only if
    EVERY namespace in namespaces[id] has mcEnabled (`for _, ns := range set.List() { if !vmap.mcEnabled[ns]
    { return false } }`). mcEnabled[ns] = netnsIsMulticastEnabled: the annotation's value is exactly "true"."""
    members = [ns for ns, v in netids.items() if v == vnid]
    return bool(members) and all(mc_enabled.get(ns, False) for ns in members)


class MulticastNode:
    """One node's multitenant agent as far as tables 20-80 (pods), 80 (VNID rules) and 110/120 (local multicast)
    go: the nodeVNIDMap (ids, mcEnabled), vnidInUse and podManager.runningPods (ofport, vnid), driven by
    NetNamespace events as vnids.go handleAddOrUpdateNetNamespace and multitenant.go updatePodNetwork drive them.
    flows() is the set of those flows at any moment; SyncVNIDRules is a separate step (hourly in 3.11)."""

    def __init__(self, n, netids: Mapping[str, int], pods: List[Tuple[str, int, str]],
                 pod_flows, vnid_rule) -> None:
        # pods: (namespace, ofport, ip) of this node's running pods; pod_flows = transcribe.setup_pod_flows,
        # vnid_rule = transcribe.mt_ensure_vnid_rules (passed in: this module keeps to egress/multicast)
        self.n, self.ids, self.mc = n, dict(netids), {ns: False for ns in netids}
        self.pods = [(ns, port, ip, self.ids[ns]) for ns, port, ip in pods]  # runningPods: vnid kept per pod
        self._pod_flows, self._vnid_rule = pod_flows, vnid_rule
        self.in_use = {v for _ns, _p, _ip, v in self.pods if v}  # pod.go setup -> EnsureVNIDRules per pod
        self.multicast: Dict[int, List[str]] = {}

    def update_local_multicast_rules(self, vnid: int) -> None:
        """pod.go updateLocalMulticastRulesWithLock(vnid): enabled = GetMulticastEnabled(vnid); if enabled, the
        ofports of runningPods with pod.vnid == vnid; ovscontroller.go UpdateLocalMulticastFlows replaces (or,
        disabled, deletes) the VNID's table-110 and table-120 flows."""
        enabled = get_multicast_enabled(self.ids, self.mc, vnid)
        ports = [p for _ns, p, _ip, v in self.pods if v == vnid] if enabled else []
        self.multicast[vnid] = local_multicast(vnid, enabled, ports)

    def netnamespace(self, name: str, netid: int, mc_enabled: bool) -> None:
        """vnids.go handleAddOrUpdateNetNamespace (an Update event): skipped when neither the NetID nor mcEnabled
        changed; else setVNID, then multitenant.go UpdateNetNamespace -> updatePodNetwork(name, old, new): when
        the NetID changed, node.UpdatePod for each local pod (CNI_UPDATE: UpdatePod = cleanupPodFlows +
        setupPodFlows(new), and processRequest sets runningPod.vnid = new), EnsureVNIDRules(new); in any case
        UpdateLocalMulticastRules(old) then UpdateLocalMulticastRules(new)."""
        old = self.ids[name]
        if old == netid and self.mc[name] == mc_enabled:
            return
        self.ids[name], self.mc[name] = netid, mc_enabled
        if old != netid:
            self.pods = [(ns, p, ip, netid if ns == name else v) for ns, p, ip, v in self.pods]
            if netid:
                self.in_use.add(netid)
        self.update_local_multicast_rules(old)
        self.update_local_multicast_rules(netid)

    def sync_vnid_rules(self) -> None:
        """multitenant.go SyncVNIDRules: FindUnusedVNIDs = VNIDs with a table-80 rule that no table-60/70 flow loads
        into REG1 (here: no local pod; the lab this models has no service), deleted with `table=80, reg1=%d`."""
        self.in_use &= {v for _ns, _p, _ip, v in self.pods}

    def flows(self) -> List[str]:
        out: List[str] = []
        for _ns, port, ip, v in self.pods:
            out += self._pod_flows(self.n, port, ip, v)
        for v in sorted(self.in_use):
            out += self._vnid_rule(v)
        for v in sorted(self.multicast):
            out += self.multicast[v]
        return out
