#!/usr/bin/env python3
"""Writes the egress IP, EgressNetworkPolicy and multicast change goldens (change-egress-*.diff,
change-multicast-*.diff and their *.iptables.diff) from tools/transcribe_egress.py, composing the Go functions in
the order the 3.11 event handlers call them (named in each file's header).

Lab facts used (allocation facts, observed on a running lab, not flow logic): those of make_flow_goldens.py, plus
the external host 172.16.1.254, tun0's mac_in_use = 02:01 + the gateway's four address bytes (node1
02:01:0a:80:00:01, node2 02:01:0a:81:00:01; Go reads it with `ovs-vsctl get Interface tun0 mac_in_use`,
ovscontroller.go ensureTunMAC), and the 2x3 lab's pods: node1 pod1 (p1, ofport 3), pod2 (p2, 4), pod3 (p1, 5);
node2 pod4 (p2, 3), pod5 (p1, 4), pod6 (p2, 5).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from make_change_goldens import COMMON, OUT, write  # noqa: E402
from make_flow_goldens import HS, P1, P2, REV, base, common_header, node  # noqa: E402
from make_flow_goldens import write as write_flows  # noqa: E402
from transcribe import MULTITENANT, NETWORKPOLICY, mt_ensure_vnid_rules, np_namespace_flows, setup_pod_flows  # noqa: E402
from transcribe_egress import (MulticastNode, egress_dropped, egress_ip_rules, egress_network_policy,  # noqa: E402
                               egress_via, local_multicast, mark_for_vnid)

CLUSTER = ["10.128.0.0/14"]
EXT = "172.16.1.254"
TUN_MAC = {"node1": "02:01:0a:80:00:01", "node2": "02:01:0a:81:00:01"}
NODES = ("node1", "node2")
IPT_COMMON = [f"Source: openshift-sdn {REV}.",
              "Format: `@@ <node> <table>` then `- <rule>` / `+ <rule>`: the net difference of the node's `iptables-save -t",
              "<table>` rules (filter and nat) before and after the event. iptables.go ensureEgressIPRules PREPENDS the SNAT rule",
              "(first rule of nat OPENSHIFT-MASQUERADE) and APPENDS the REJECT rule (last of filter OPENSHIFT-FIREWALL-ALLOW).",
              "Written by hand from the Go source (tools/make_egress_goldens.py), not from lab/."]


def ip_of(nd):
    return HS[nd][0]


def via(vnid, holder):
    """Every node's table-100 flows for a namespace whose active egress IP is on `holder` (None: nobody)."""
    return {nd: egress_via(vnid, ip_of(holder) if holder else None, ip_of(nd), TUN_MAC[nd]) for nd in NODES}


def diff(before, after):
    return {nd: ([f for f in after.get(nd, []) if f not in before.get(nd, [])],
                 [f for f in before.get(nd, []) if f not in after.get(nd, [])]) for nd in NODES}


def write_ipt(name, header, per_node):
    """per_node: {node: (added [(table, rule)], removed [(table, rule)])}."""
    with open(os.path.join(OUT, name), "w") as f:
        for h in header + IPT_COMMON:
            f.write(f"# {h}\n")
        for nd in NODES:
            added, removed = per_node.get(nd, ([], []))
            for table in ("filter", "nat"):
                f.write(f"@@ {nd} {table}\n")
                for _t, r in sorted(x for x in removed if x[0] == table):
                    f.write(f"- {r}\n")
                for _t, r in sorted(x for x in added if x[0] == table):
                    f.write(f"+ {r}\n")


def multitenant():
    e = "172.16.1.100"
    lab = "in the multitenant 2x2 lab (tests/12-openshift-plugins/test_egress_ip.py eg_lab: pod1 p1 and pod2 p2 on node1, pod3 p1 and pod4 p2 on node2)"
    tracker = ("Go: common/egressip.go EgressIPTracker (every node runs one) UpdateHostSubnetEgress/UpdateNetNamespaceEgress ->"
               " syncEgressIPs: syncEgressNodeState (egressIPActive: one node, one namespace) -> egressip.go ClaimEgressIP/"
               "ReleaseEgressIP (only the node whose IP is nodeIP: netlink AddrAdd/AddrDel, arping, iptables); then"
               " syncEgressNamespaceState -> SetNamespaceEgressViaEgressIP / Dropped / Normal on EVERY node"
               " (ovscontroller.go: DeleteFlows(\"table=100, reg0=%d\") then at most one flow).")
    for holder in NODES:
        other = "node1" if holder == "node2" else "node2"
        write(f"change-egress-ip-assigned-{holder}-multitenant.diff",
              [f"Event: `oc patch hostsubnet {holder}` egressIPs [{e}] and `oc patch netnamespace p1` egressIPs [{e}] (NETID {P1:#x}),",
               f"{lab}. Both events are applied before the switches are read (net difference of the two).",
               tracker,
               f"{holder} claims it: SetNamespaceEgressViaEgressIP(vnid, {e}, {ip_of(holder)}) with nodeIP == localIP -> tun0's MAC",
               f"and mark getMarkForVNID({P1:#x}, 1) = {mark_for_vnid(P1)} (odd VNID: (vnid | 0x01000000) ^ masqueradeBit);",
               f"{other}: tunnel to {ip_of(holder)}. Undoing it (both patches back to []) is the reverse: Release, then Normal.",
               *COMMON],
              diff({}, via(P1, holder)))
        write_ipt(f"change-egress-ip-assigned-{holder}-multitenant.iptables.diff",
                  [f"Event: as change-egress-ip-assigned-{holder}-multitenant.diff. Go: ClaimEgressIP -> assignEgressIP -> AddEgressIPRules",
                   f"on {holder} only; nothing on {other}."],
                  {holder: (egress_ip_rules(CLUSTER, e, P1), [])})
        write(f"change-egress-ip-moved-{other}-to-{holder}-multitenant.diff",
              [f"Event: after change-egress-ip-assigned-{other}-multitenant, {e} moves from {other} to {holder}: by hand",
               f"(`oc patch hostsubnet {other}` egressIPs [] then `{holder}` egressIPs [{e}]) or by the master in automatic mode",
               f"(egressCIDRs on both; master/egressip.go egressIPManager marks {other} offline after failed pings and",
               "ReallocateEgressIPs rewrites both HostSubnets). Net difference of both HostSubnet events on every node; the node",
               "whose cable is pulled applies them too (the lab's API reaches every node outside the underlay).",
               tracker,
               f"First event: not active -> ReleaseEgressIP on {other}, p1 Dropped on every node; second: ClaimEgressIP on {holder},",
               "p1 via the new holder: the drop flow is transient and not in the net difference.", *COMMON],
              diff(via(P1, other), via(P1, holder)))
        write_ipt(f"change-egress-ip-moved-{other}-to-{holder}-multitenant.iptables.diff",
                  [f"Event: as change-egress-ip-moved-{other}-to-{holder}-multitenant.diff. Go: ReleaseEgressIP -> releaseEgressIP ->",
                   f"DeleteEgressIPRules on {other}; ClaimEgressIP -> AddEgressIPRules on {holder}."],
                  {holder: (egress_ip_rules(CLUSTER, e, P1), []), other: ([], egress_ip_rules(CLUSTER, e, P1))})
    write("change-egress-ip-node-offline-single-ip-multitenant.diff",
          [f"Event: after change-egress-ip-assigned-node2-multitenant, node2 goes offline (its cable pulled), {lab}.",
           "Go: egressVXLANMonitor (vxlan_monitor.go) on node1 may mark node2 offline -> tracker.SetNodeOffline ->",
           "syncEgressNamespaceState: p1 requests ONE egress IP, and the offline check is `len(ns.requestedIPs) > 1 &&",
           "eg.nodes[0].offline`, so the active IP stays and no Set* call is made: no flow changes on any node (p1's",
           "traffic is black-holed). No egressCIDRs, so the master's egressIPManager does nothing.", *COMMON],
          {nd: ([], []) for nd in NODES})
    write("change-egress-ip-unhosted-multitenant.diff",
          [f"Event: `oc patch netnamespace p1` egressIPs [{e}] while no HostSubnet lists it, {lab}.",
           "Go: syncEgressNamespaceState: the IP has no assignedNodeIP -> active nil -> SetNamespaceEgressDropped on every",
           "node: \"table=100, priority=100, reg0=%d, actions=drop\". No node claims it: no address, no iptables change.", *COMMON],
          diff({}, {nd: egress_dropped(P1) for nd in NODES}))


def networkpolicy():
    lab = ("in the networkpolicy 2x3 lab (tests/12-openshift-plugins/test_egress_policy_multicast.py np3_lab: node1 pod1 p1"
           " ofport 3, pod2 p2 4, pod3 p1 5; node2 pod4 p2 3, pod5 p1 4, pod6 p2 5)")
    enp = ("Go: egress_network_policy.go handleEgressNetworkPolicy (every node, for every namespace, pods or not) ->"
           " updateEgressNetworkPolicyRules -> ovscontroller.go UpdateEgressNetworkPolicyRules(policies, vnid, namespaces):"
           " DeleteFlows(\"table=101, reg0=%d\") and one flow per rule, priority len(rules) - i.")
    deny = {nd: egress_network_policy(P1, [("Deny", f"{EXT}/32")]) for nd in NODES}
    allow = {nd: egress_network_policy(P1, [("Allow", f"{EXT}/32"), ("Deny", "0.0.0.0/0")]) for nd in NODES}
    write("change-egress-network-policy-deny-networkpolicy.diff",
          [f"Event: `oc create` EgressNetworkPolicy p1/default, egress [{{type: Deny, to: {{cidrSelector: {EXT}/32}}}}], {lab}.",
           enp, *COMMON], diff({}, deny))
    write("change-egress-network-policy-allow-then-deny-all-networkpolicy.diff",
          [f"Event: then the policy replaced by [{{type: Allow, to: {{cidrSelector: {EXT}/32}}}}, {{type: Deny, to: {{cidrSelector: 0.0.0.0/0}}}}].",
           enp + " 0.0.0.0/0 gives no nw_dst.", *COMMON], diff(deny, allow))
    write("change-egress-network-policy-deleted-networkpolicy.diff",
          ["Event: then the policy deleted. Go: handleDeleteEgressNetworkPolicy -> UpdateEgressNetworkPolicyRules with no",
           "policy: DeleteFlows(\"table=101, reg0=%d\") only.", *COMMON], diff(allow, {}))
    write("change-multicast-enabled-networkpolicy.diff",
          [f"Event: `oc annotate netnamespace p1 netnamespace.network.openshift.io/multicast-enabled=true`, {lab}.",
           "Go: vnids.go handleAddOrUpdateNetNamespace (mcEnabled changed: netnsIsMulticastEnabled = annotation == \"true\") ->",
           "networkpolicy.go UpdateNetNamespace -> podManager.UpdateLocalMulticastRules(vnid) -> ovscontroller.go",
           "UpdateLocalMulticastFlows(vnid, true, ofports of the node's running p1 pods). Table 111 (UpdateVXLANMulticastFlows,",
           "per HostSubnet, not per namespace) does not change. Removing the annotation (`...multicast-enabled-`) is the",
           "reverse: UpdateLocalMulticastFlows(vnid, false, nil) deletes both flows.", *COMMON],
          diff({}, {"node1": local_multicast(P1, True, [3, 5]), "node2": local_multicast(P1, True, [4])}))
    ip = "172.16.1.101"
    write("change-egress-ip-assigned-node1-p2-networkpolicy.diff",
          [f"Event: `oc patch hostsubnet node1` egressIPs [{ip}] then `oc patch netnamespace p2` egressIPs [{ip}] (NETID {P2:#x}),",
           f"{lab}. EgressIP works with both VNID plugins (SupportsVNIDs). Go: as change-egress-ip-assigned-node2-multitenant;",
           f"mark getMarkForVNID({P2:#x}, 1) = {mark_for_vnid(P2)}. Undoing it is the reverse.", *COMMON],
          diff({}, via(P2, "node1")))
    write_ipt("change-egress-ip-assigned-node1-p2-networkpolicy.iptables.diff",
              ["Event: as change-egress-ip-assigned-node1-p2-networkpolicy.diff. Go: AddEgressIPRules on node1 only."],
              {"node1": (egress_ip_rules(CLUSTER, ip, P2), [])})
    i1, i2 = "172.16.1.102", "172.16.1.103"
    write("change-egress-ip-two-ips-networkpolicy.diff",
          [f"Event: node1 egressIPs [{i1}], node2 egressIPs [{i2}], then netnamespace p2 egressIPs [{i2}, {i1}], {lab}.",
           "Go: both IPs are active (one node, one namespace each): ClaimEgressIP of each on its node; syncEgressNamespaceState",
           f"takes the first usable requested IP, {i2} on node2: p2 via node2 on every node.", *COMMON],
          diff({}, via(P2, "node2")))
    write_ipt("change-egress-ip-two-ips-networkpolicy.iptables.diff",
              ["Event: as change-egress-ip-two-ips-networkpolicy.diff (both IPs carry p2's mark)."],
              {"node1": (egress_ip_rules(CLUSTER, i1, P2), []), "node2": (egress_ip_rules(CLUSTER, i2, P2), [])})
    write("change-egress-ip-failover-node2-offline-networkpolicy.diff",
          ["Event: then node2 goes offline (its cable pulled), as node1's egressVXLANMonitor sees it.",
           "Go: vxlan_monitor.go check() on node1 (which monitors node2: ClaimEgressIP with a remote nodeIP -> AddNode): out",
           "packets to node2 grow, in packets from it do not -> offline after maxRetries -> tracker.SetNodeOffline(node2) ->",
           f"syncEgressNamespaceState: {i2}'s node is offline and p2 requests > 1 IP -> the next, {i1} on node1 ->",
           "SetNamespaceEgressViaEgressIP on node1 (local: tun0 MAC + mark). node2 does NOT change: its monitor watches only",
           "remote nodes (node1), and sends no egress traffic to node1 (its p2 flow is local), so it sees no offline node;",
           "no node runs a monitor for itself. Node back online (in packets from node2 grow) is the reverse on node1.",
           "No IP is released or claimed: no iptables change.", *COMMON],
          {"node1": diff(via(P2, "node2"), via(P2, "node1"))["node1"], "node2": ([], [])})


# pods of the 2x3 networkpolicy lab: (node, ofport, ip, vnid), in creation order
PODS_2X3 = [("node1", 3, "10.128.0.2", P1), ("node1", 4, "10.128.0.3", P2), ("node1", 5, "10.128.0.4", P1),
            ("node2", 3, "10.129.0.2", P2), ("node2", 4, "10.129.0.3", P1), ("node2", 5, "10.129.0.4", P2)]


def np_2x3():
    """The whole br0 of the 2x3 networkpolicy lab with no policy, no egress IP, no multicast: the state every
    test of test_egress_policy_multicast.py starts from and returns to."""
    for nd in NODES:
        n = node(NETWORKPOLICY, nd, list(NODES))
        f = base(n)
        for pnd, port, ip, v in PODS_2X3:
            if pnd == nd:
                f += setup_pod_flows(n, port, ip, v)
        f += np_namespace_flows(P1, []) + np_namespace_flows(P2, [])
        write_flows(f"networkpolicy-2x3-{nd}.flows",
                    common_header("`build_cluster(nodes=2, pods_per_node=3, plugin networkpolicy)` (test_egress_policy_multicast.py "
                                  "np3_lab): node1 pod1 p1 10.128.0.2 ofport 3, pod2 p2 .3 4, pod3 p1 .4 5; node2 pod4 p2 10.129.0.2 3, "
                                  f"pod5 p1 .3 4, pod6 p2 .4 5; no policy, egress IP or multicast; this is {nd}",
                                  "as networkpolicy-*.flows (SetupOVS(useConnTrack), networkpolicy Start, AddHostSubnetRules, "
                                  "UpdateVXLANMulticastFlows, setupPodFlows, EnsureVNIDRules -> syncNamespaceFlows for p1 and p2)"), f)


# pods of the 2x2 multitenant lab (test_egress_ip.py eg_lab, conftest plugin_lab): per node (namespace, ofport, ip)
PODS_MT_2X2 = {"node1": [("p1", 3, "10.128.0.2"), ("p2", 4, "10.128.0.3")],
               "node2": [("p1", 3, "10.129.0.2"), ("p2", 4, "10.129.0.3")]}
SYNC = "SyncVNIDRules, <= 1 h later"


def multitenant_multicast():
    """Multicast on the multitenant plugin and its move on join-projects: the node agents of the 2x2 lab driven by
    the NetNamespace events (transcribe_egress.MulticastNode), each file the net difference of one event."""
    lab = ("in the multitenant 2x2 lab (test_egress_ip.py eg_lab's shape, conftest plugin_lab('multitenant'): node1 pod1 p1"
           " 10.128.0.2 ofport 3, pod2 p2 10.128.0.3 ofport 4; node2 pod3 p1 10.129.0.2 ofport 3, pod4 p2 10.129.0.3 ofport 4;"
           f" NETIDs p1 {P1:#x}, p2 {P2:#x})")
    def fresh():
        """Both nodes' agents as the lab starts: no annotation, p1 and p2 on their own NETIDs."""
        return {nd: MulticastNode(node(MULTITENANT, nd, list(NODES)), {"p1": P1, "p2": P2}, PODS_MT_2X2[nd],
                                  setup_pod_flows, mt_ensure_vnid_rules) for nd in NODES}
    nodes = fresh()
    handler = ("vnids.go handleAddOrUpdateNetNamespace (`if err == nil && oldNetID == netns.NetID && oldMCEnabled == mcEnabled"
               " { return }`; else setVNID(name, NetID, mcEnabled) and, for an Update event, policy.UpdateNetNamespace(netns,"
               " oldNetID)) -> multitenant.go UpdateNetNamespace -> updatePodNetwork")
    get_mc = ("vnids.go GetMulticastEnabled(vnid) is per VNID, not per namespace: true only if EVERY namespace sharing"
              " the VNID has mcEnabled (`for _, ns := range set.List() { if !vmap.mcEnabled[ns] { return false } }`)")

    def event(apply, sync=False):
        before = {nd: n.flows() for nd, n in nodes.items()}
        for n in nodes.values():
            apply(n)
        after = {nd: n.flows() for nd, n in nodes.items()}
        now = diff(before, after)
        if not sync:
            return now, None
        for n in nodes.values():
            n.sync_vnid_rules()
        return now, diff(after, {nd: n.flows() for nd, n in nodes.items()})

    def append_sync(name, later):
        with open(os.path.join(OUT, name), "a") as f:
            for nd in NODES:
                f.write(f"@@ {nd} ({SYNC})\n")
                added, removed = later[nd]
                f.writelines(f"- {x}\n" for x in sorted(removed))
                f.writelines(f"+ {x}\n" for x in sorted(added))

    now, _ = event(lambda n: n.netnamespace("p1", P1, True))
    write("change-multicast-enabled-multitenant.diff",
          [f"Event: `oc annotate netnamespace p1 netnamespace.network.openshift.io/multicast-enabled=true`, {lab}.",
           f"Go: {handler}(p1, {P1:#x}, {P1:#x}): same NetID, so no pod, service or VNID rule changes; then",
           "podManager.UpdateLocalMulticastRules(old) and (new), both p1's VNID -> pod.go updateLocalMulticastRulesWithLock:",
           f"{get_mc}; p1 alone holds {P1:#x} -> enabled, ofports of the node's runningPods with that vnid -> ovscontroller.go",
           "UpdateLocalMulticastFlows(vnid, true, ofports): `table=110, reg0=%d, actions=goto_table:111` and `table=120,",
           "priority=100, reg0=%d, actions=<output:%d, sort.Strings order>`. Table 111 (UpdateVXLANMulticastFlows, per",
           "HostSubnet) does not change. Removing the annotation (`...multicast-enabled-`) is the reverse:",
           "UpdateLocalMulticastFlows(vnid, false, nil) deletes both flows.", *COMMON], now)

    now, later = event(lambda n: n.netnamespace("p2", P1, False), sync=True)
    name = "change-multicast-join-projects-multitenant.diff"
    write(name,
          [f"Event: after change-multicast-enabled-multitenant (p1 annotated multicast-enabled=true, p2 not),",
           f"`oc adm pod-network join-projects --to=p1 p2`, {lab}.",
           "oc (pkg/oc/cli/admin/network/join_projects.go Run -> project_options.go UpdatePodNetwork) only sets the",
           "pod.network.openshift.io/multitenant.change-network annotation on NetNamespace p2 (nodes: NetID and mcEnabled",
           "unchanged -> event skipped); the master (master/vnids.go updateVNID -> updateNetID JoinPodNetwork) sets p2's",
           f"NetID to p1's {P1:#x} and removes that annotation; updateVNID changes nothing else, so p2 has no multicast annotation.",
           f"Go on every node: {handler}(p2, {P2:#x}, {P1:#x}):",
           "  NetID changed: for pod2 (node1) and pod4 (node2) node.UpdatePod -> CNI_UPDATE -> UpdatePod = cleanupPodFlows +",
           "  setupPodFlows(new VNID) (net: tables 20 and 70 change, table 40's ARP flow is re-added unchanged) and",
           "  processRequest sets runningPod.vnid = new; no service in p2; EnsureVNIDRules(p1's VNID): already in use;",
           "  UpdateEgressNetworkPolicyVNID: no policy;",
           f"  UpdateLocalMulticastRules({P2:#x}): no namespace holds it any more -> disabled -> deletes of absent flows;",
           f"  UpdateLocalMulticastRules({P1:#x}): {get_mc}; p2's mcEnabled is false, so the joint VNID is NOT",
           "  multicast-enabled: UpdateLocalMulticastFlows(vnid, false, nil) DELETES p1's table-110 and table-120 flows on both",
           "  nodes. Joining an unannotated project switches p1's multicast off (for p1's pods too).",
           f"NOT removed by the event: p2's old VNID rule `table=80, ... reg0={P2:#x},reg1={P2:#x}`; SyncVNIDRules (hourly)",
           "  deletes it: the `@@ <node> (SyncVNIDRules, <= 1 h later)` sections (DISCREPANCIES D2: the lab shows that state).",
           *COMMON], now)
    append_sync(name, later)

    now, _ = event(lambda n: n.netnamespace("p2", P1, True))
    write("change-multicast-enabled-joined-multitenant.diff",
          ["Event: after change-multicast-join-projects-multitenant, `oc annotate netnamespace p2",
           f"netnamespace.network.openshift.io/multicast-enabled=true` (p1 still annotated), {lab}.",
           f"Go: {handler}(p2, {P1:#x}, {P1:#x}): same NetID -> only UpdateLocalMulticastRules({P1:#x}) (twice): {get_mc};",
           "p1 and p2 are both enabled now -> UpdateLocalMulticastFlows(vnid, true, ofports of EVERY local runningPod with",
           "that vnid: p1's and the joined p2's pods). Removing EITHER namespace's annotation afterwards",
           "(`oc annotate netnamespace p1 ...multicast-enabled-`, p2's kept) is the reverse: GetMulticastEnabled is false",
           "again and UpdateLocalMulticastFlows(vnid, false, nil) deletes both flows.", *COMMON], now)

    # the other way round: the project that joins is the annotated one
    nodes.update(fresh())
    now, _ = event(lambda n: n.netnamespace("p2", P2, True))
    write("change-multicast-enabled-p2-multitenant.diff",
          [f"Event: `oc annotate netnamespace p2 netnamespace.network.openshift.io/multicast-enabled=true`, {lab}.",
           f"Go: as change-multicast-enabled-multitenant.diff for p2 ({P2:#x}): UpdateLocalMulticastFlows(vnid, true, ofports",
           "of the node's running p2 pods). Removing the annotation is the reverse.", *COMMON], now)
    now, later = event(lambda n: n.netnamespace("p2", P1, True), sync=True)
    name = "change-multicast-join-projects-annotated-p2-multitenant.diff"
    write(name,
          ["Event: after change-multicast-enabled-p2-multitenant (p2 annotated multicast-enabled=true, p1 not),",
           f"`oc adm pod-network join-projects --to=p1 p2`, {lab}. The master sets p2's NetID to p1's as in",
           "change-multicast-join-projects-multitenant.diff; p2 keeps its own annotation (updateVNID changes only NetID).",
           f"Go on every node: {handler}(p2, {P2:#x}, {P1:#x}): pod2 and pod4 move to p1's VNID (UpdatePod) as there;",
           f"  UpdateLocalMulticastRules({P2:#x}): no namespace holds it any more -> disabled -> UpdateLocalMulticastFlows(",
           f"  {P2:#x}, false, nil) DELETES p2's table-110 and table-120 flows;",
           f"  UpdateLocalMulticastRules({P1:#x}): {get_mc}; p1's mcEnabled is false -> disabled -> deletes of absent",
           "  flows. Multicast does not follow the joining project: after the join no VNID is multicast-enabled.",
           f"Later: SyncVNIDRules deletes p2's old VNID rule, as in change-multicast-join-projects-multitenant.diff.",
           *COMMON], now)
    append_sync(name, later)


if __name__ == "__main__":
    multitenant_multicast()
    np_2x3()
    multitenant()
    networkpolicy()
