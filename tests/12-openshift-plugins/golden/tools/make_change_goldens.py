#!/usr/bin/env python3
"""Writes change-*.diff: per event, per node, the br0 flows (and for services node1's iptables rules) the real
3.11 node agents add ("+ ") or remove ("- "), as a net before/after difference, in OVS 3.1 dump syntax.
Transcribed from the Go source (tools/transcribe.py); the event handlers are named in each file's header."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from hashes import sep, svc  # noqa: E402
from make_flow_goldens import HS, P1, P2, REV, node  # noqa: E402
from transcribe import MULTITENANT, NETWORKPOLICY, SUBNET, line, service_rules, setup_pod_flows  # noqa: E402

OUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(name, header, per_node):
    with open(os.path.join(OUT, name), "w") as f:
        for h in header:
            f.write(f"# {h}\n")
        for nd, (added, removed) in per_node.items():
            f.write(f"@@ {nd}\n")
            for x in sorted(removed):
                f.write(f"- {x}\n")
            for x in sorted(added):
                f.write(f"+ {x}\n")


COMMON = [f"Source: openshift-sdn {REV}.",
          "Format: `@@ <node>` then `- <flow>` (removed) / `+ <flow>` (added), the net difference between br0's",
          "`ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0` before and after the event; a node with no lines",
          "has no change. Written by hand from the Go source (tools/make_change_goldens.py), not from lab/."]


def main():
    # 1. pod added on node1 ------------------------------------------------------------------------------------
    pod = "pod `added` (nodeName node1, labels app=added, containerPort 8080) created with `oc create -f`: host-local gives 10.128.0.4, OVS ofport 5"
    n = node(SUBNET, "node1", ["node1", "node2", "node3"])
    write("change-pod-added-subnet.diff",
          [f"Event: {pod}, namespace default, in the services lab (subnet, 3x1 + tests/11-openshift-objects/cluster.yaml).",
           "Go: cniserver ADD -> pod.go podManager.setup -> ovscontroller.go SetUpPod -> setupPodFlows(ofport, podIP, vnid=0);",
           "singletenant EnsureVNIDRules is a no-op; UpdateLocalMulticastFlows(0, false) only deletes (nothing there).",
           "kube-proxy: no service selects the pod before the service event below, so no iptables change.", *COMMON],
          {"node1": (setup_pod_flows(n, 5, "10.128.0.4", 0), []), "node2": ([], []), "node3": ([], [])})
    n = node(MULTITENANT, "node1", ["node1", "node2"])
    write("change-pod-added-multitenant.diff",
          [f"Event: {pod}, namespace p1 (NETID 0x53cff1), in the multitenant 2x2 lab.",
           "Go: podManager.setup -> setupPodFlows(5, 10.128.0.4, 5492721); multitenant.go EnsureVNIDRules(5492721): the VNID",
           "is already in vnidInUse (pod1 is in p1), so no table-80 flow is added.", *COMMON],
          {"node1": (setup_pod_flows(n, 5, "10.128.0.4", P1), []), "node2": ([], [])})
    n = node(NETWORKPOLICY, "node1", ["node1", "node2"])
    write("change-pod-added-networkpolicy.diff",
          [f"Event: {pod}, namespace p2 (NETID 0x69d729), in the networkpolicy 2x2 lab AFTER deny-all and",
           "allow-from-same-namespace were created in p2 (the state of networkpolicy-deny-all+allow-same-node*.flows).",
           "Go: setupPodFlows(5, 10.128.0.4, 6936361) with useConnTrack (adds the table-25 flow); networkpolicy.go",
           "EnsureVNIDRules: p2 is already inUse -> nothing; handleAddOrUpdatePod -> refreshNetworkPolicies(pods): neither",
           "policy watches pods (empty podSelector, peer podSelector {}), so no table-80 change on any node.", *COMMON],
          {"node1": (setup_pod_flows(n, 5, "10.128.0.4", P2), []), "node2": ([], [])})

    # 2. service added ----------------------------------------------------------------------------------------
    subnet_nodes = {nd: node(SUBNET, nd, ["node1", "node2", "node3"]) for nd in ("node1", "node2", "node3")}
    write("change-service-added-subnet.diff",
          ["Event: after change-pod-added-subnet, `oc create -f` of Service default/added (clusterIP 172.30.20.20,",
           "port 80/TCP -> targetPort 8080, selector app=added; its one endpoint is 10.128.0.4:8080).",
           "Go: node.go handleAddOrUpdateService -> AddServiceRules(svc, netid 0) on every node (ip_frag=later + one",
           "flow per port); EnsureVNIDRules no-op. The iptables side is in change-service-added-subnet-node1.iptables.diff.",
           *COMMON],
          {nd: (service_rules(n, "172.30.20.20", [("TCP", 80)], 0), []) for nd, n in subnet_nodes.items()})
    s, e = svc("default/added:", "tcp"), sep("default/added:", "tcp", "10.128.0.4:8080")
    with open(os.path.join(OUT, "change-service-added-subnet-node1.iptables.diff"), "w") as f:
        f.write("# Event: as change-service-added-subnet.diff; node1's `iptables-save` difference (same on every node: kube-proxy\n"
                "# writes every service on every node). Go: proxier.go syncProxyRules (1.11, OpenShift masquerade bit 0,\n"
                "# clusterCIDR 10.128.0.0/14). Hashes: KUBE-SVC = base32(sha256(\"default/added:\" + \"tcp\"))[:16],\n"
                "# KUBE-SEP = base32(sha256(\"default/added:\" + \"tcp\" + \"10.128.0.4:8080\"))[:16] (tools/hashes.py).\n"
                "# The two KUBE-SERVICES rules go anywhere before the final KUBE-NODEPORTS jump (Go map order).\n")
        f.write("@@ node1 nat\n")
        for r in (f":{e} - [0:0]", f":{s} - [0:0]",
                  f'-A {e} -s 10.128.0.4/32 -m comment --comment "default/added:" -j KUBE-MARK-MASQ',
                  f'-A {e} -p tcp -m comment --comment "default/added:" -m tcp -j DNAT --to-destination 10.128.0.4:8080',
                  '-A KUBE-SERVICES ! -s 10.128.0.0/14 -d 172.30.20.20/32 -p tcp -m comment --comment "default/added: cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
                  f'-A KUBE-SERVICES -d 172.30.20.20/32 -p tcp -m comment --comment "default/added: cluster IP" -m tcp --dport 80 -j {s}',
                  f'-A {s} -m comment --comment "default/added:" -j {e}'):
            f.write(f"+ {r}\n")
        f.write("@@ node1 filter\n")
    mt = {nd: node(MULTITENANT, nd, ["node1", "node2"]) for nd in ("node1", "node2")}
    write("change-service-added-multitenant.diff",
          ["Event: after change-pod-added-multitenant, `oc create -f` of Service p2/db (clusterIP 172.30.20.20, port",
           "5432/TCP, selector app=db: no endpoints; OVS does not look at endpoints).",
           "Go: node.go handleAddOrUpdateService -> AddServiceRules(svc, netid=VNID of p2 0x69d729) on every node, then",
           "multitenant EnsureVNIDRules(0x69d729): already in use on both nodes (pod2, pod4) -> nothing.", *COMMON],
          {nd: (service_rules(n, "172.30.20.20", [("TCP", 5432)], P2), []) for nd, n in mt.items()})

    # 3. NetworkPolicy added ----------------------------------------------------------------------------------
    out = "output:NXM_NX_REG2[]"
    prio50 = line(80, 50, f"reg1={hex(P2)}", out)
    write("change-networkpolicy-deny-all.diff",
          ["Event: `oc create -f examples/live/deny-all.yaml` (p2, spec {podSelector: {}}; API defaulting gives",
           "policyTypes [Ingress]) in the networkpolicy 2x2 lab with no other policy.",
           "Go: networkpolicy.go handleAddOrUpdateNetworkPolicy -> parseNetworkPolicy (selectedIPs nil, flows empty) ->",
           "syncNamespace -> syncNamespaceFlows: delete table=80 reg1=<p2>, add nothing (allPodsSelected), on each node",
           "where p2 is inUse (both).", *COMMON],
          {nd: ([], [prio50]) for nd in ("node1", "node2")})
    same = line(80, 150, f"reg0={hex(P2)},reg1={hex(P2)}", out)
    write("change-networkpolicy-allow-same-namespace.diff",
          ["Event: then `oc create -f examples/live/allow-from-same-namespace.yaml` (p2, podSelector {}, ingress from",
           "podSelector {}). Go: parseNetworkPolicy: destFlow \"\", peerFlow \"reg0=<p2>, \", portFlow \"\" ->",
           "\"table=80, priority=150, reg1=%d, reg0=%d,  actions=output:NXM_NX_REG2[]\"; syncNamespaceFlows re-adds it.",
           "(Created alone, without deny-all, the change would be: + this flow, - the priority=50 flow.)", *COMMON],
          {nd: ([same], []) for nd in ("node1", "node2")})

    # 4. join-projects ----------------------------------------------------------------------------------------
    def pod_vnid_change(n, port, ip, old, new):
        o, w = setup_pod_flows(n, port, ip, old), setup_pod_flows(n, port, ip, new)
        return [x for x in w if x not in o], [x for x in o if x not in w]

    per = {}
    for nd, (port, ip) in (("node1", (4, "10.128.0.3")), ("node2", (4, "10.129.0.3"))):
        n = mt[nd]
        add, rem = pod_vnid_change(n, port, ip, P2, P1)
        sadd = service_rules(n, "172.30.20.20", [("TCP", 5432)], P1)
        srem = service_rules(n, "172.30.20.20", [("TCP", 5432)], P2)
        per[nd] = (add + sadd, rem + srem)
    write("change-join-projects.diff",
          ["Event: `oc adm pod-network join-projects --to=p1 p2` in the multitenant 2x2 lab, after",
           "change-pod-added-multitenant and change-service-added-multitenant (p2 has pod2 on node1, pod4 on node2 and",
           "service db 172.30.20.20:5432). The master sets NetNamespace p2's netid to p1's (0x53cff1).",
           "Go: vnids.go handleAddOrUpdateNetNamespace -> multitenant.go UpdateNetNamespace -> updatePodNetwork(p2, old, new):",
           "  for each local pod of p2: node.UpdatePod -> CNI_UPDATE -> ovscontroller.go UpdatePod = cleanupPodFlows (deletes",
           "  every flow matching ip/arp nw_src/nw_dst = pod IP) + setupPodFlows(new VNID): net effect below (the table-40",
           "  ARP flow carries no VNID, so it is deleted and re-added unchanged and is not in the net difference);",
           "  for each service of p2: DeleteServiceRules + AddServiceRules(svc, new VNID);",
           "  EnsureVNIDRules(0x53cff1): already in use -> nothing; UpdateEgressNetworkPolicyVNID: no policy -> nothing;",
           "  UpdateLocalMulticastRules(old), (new): multicast disabled -> deletes of absent flows only.",
           "NOT removed by the event: `table=80, priority=100,reg0=0x69d729,reg1=0x69d729 actions=output:NXM_NX_REG2[]`",
           "  stays until multitenant SyncVNIDRules (node.go: go kwait.Forever(SyncVNIDRules, time.Hour)) finds no table-60/70",
           "  flow loading 0x69d729 into REG1 and deletes `table=80, reg1=0x69d729` -- up to an hour later. That later change",
           "  is listed as `@@ <node> (SyncVNIDRules, <= 1 h later)`.", *COMMON],
          per)
    with open(os.path.join(OUT, "change-join-projects.diff"), "a") as f:
        for nd in ("node1", "node2"):
            f.write(f"@@ {nd} (SyncVNIDRules, <= 1 h later)\n")
            f.write(f"- {line(80, 100, f'reg0={hex(P2)},reg1={hex(P2)}', 'output:NXM_NX_REG2[]')}\n")


if __name__ == "__main__":
    main()


P3 = 12284505  # NETID the lab allocates to a namespace p3 created after p1, p2 (lab/openshift/vnid.py allocate_netids)


def extra():
    mt = {nd: node(MULTITENANT, nd, ["node1", "node2"]) for nd in ("node1", "node2")}
    out = "output:NXM_NX_REG2[]"
    t80 = line(80, 100, f"reg0={hex(P3)},reg1={hex(P3)}", out)
    write("change-namespace-created-multitenant.diff",
          ["Event: `oc create -f` of Namespace p3 in the multitenant 2x2 lab after it started (the master gives",
           f"NetNamespace p3 NETID {P3} = {hex(P3)}; p3 has no pod and no service yet).",
           "Go: vnids.go handleAddOrUpdateNetNamespace: p3 is not in the VNID map (populateVNIDs ran at start) -> watch.Added ->",
           "multitenant.go AddNetNamespace -> updatePodNetwork(p3, 0, netid): oldNetID (0) != netID, so, with no pods and no",
           "services, it still calls mp.EnsureVNIDRules(netid) -> table-80 flow on EVERY node. (Namespaces that exist when",
           "the node starts get no such flow: their informer Added event is skipped because populateVNIDs already set them.)",
           "SyncVNIDRules removes it within the hour while no table-60/70 flow loads the VNID (`@@ <node> (SyncVNIDRules...)`).",
           *COMMON],
          {nd: ([t80], []) for nd in ("node1", "node2")})
    with open(os.path.join(OUT, "change-namespace-created-multitenant.diff"), "a") as f:
        for nd in ("node1", "node2"):
            f.write(f"@@ {nd} (SyncVNIDRules, <= 1 h later, if no pod/service of p3 appeared)\n- {t80}\n")
    write("change-service-added-multitenant-new-namespace.diff",
          ["Event: then `oc create -f` of Service p3/web3 (clusterIP 172.30.30.30, port 80/TCP, no endpoints).",
           "Go: handleAddOrUpdateService -> AddServiceRules(svc, p3 NETID) on every node; EnsureVNIDRules(p3): already in",
           "vnidInUse since the namespace event -> nothing. (Had the namespace existed at node start, this event would also",
           f"add `{t80}` on every node.)", *COMMON],
          {nd: (service_rules(n, "172.30.30.30", [("TCP", 80)], P3), []) for nd, n in mt.items()})
    n1 = mt["node1"]
    write("change-pod-deleted-multitenant.diff",
          ["Event: then `oc delete pod pod2 -n p2` (the only p2 pod on node1; 10.128.0.3, ofport 4).",
           "Go: CNI DEL -> pod.go teardown -> ovscontroller.go TearDownPod -> cleanupPodFlows (non-strict deletes of",
           "ip nw_dst/nw_src and arp nw_dst/nw_src = 10.128.0.3) + del-port. Nothing removes table 80's p2 flow: multitenant",
           "vnidInUse keeps it until SyncVNIDRules (<= 1 h) sees no table-60/70 flow loading 0x69d729 into REG1 on node1.",
           "node2 (pod4 still in p2) is unchanged.", *COMMON],
          {"node1": ([], setup_pod_flows(n1, 4, "10.128.0.3", P2)), "node2": ([], [])})
    with open(os.path.join(OUT, "change-pod-deleted-multitenant.diff"), "a") as f:
        f.write(f"@@ node1 (SyncVNIDRules, <= 1 h later)\n- {line(80, 100, f'reg0={hex(P2)},reg1={hex(P2)}', out)}\n")

    npn = {nd: node(NETWORKPOLICY, nd, ["node1", "node2"]) for nd in ("node1", "node2")}
    allow = line(80, 150, f"tcp,reg0={hex(P2)},reg1={hex(P2)},nw_dst=10.128.0.4,tp_dst=8080", out)
    drop = line(80, 100, f"ip,reg1={hex(P2)},nw_dst=10.128.0.4", "drop")
    write("change-networkpolicy-pod-selector.diff",
          ["Event: networkpolicy 2x2 lab with no policy; pod `added` (p2, node1, app=added, 10.128.0.4, ofport 5) was",
           "created first (see change-pod-added-networkpolicy.diff for its own flows); then `oc create -f` of",
           "NetworkPolicy p2/allow-added-8080: podSelector {matchLabels: {app: added}}, ingress [{from: [{podSelector: {}}],",
           "ports: [{port: 8080}]}] (protocol defaulted to TCP by SetDefaults_NetworkPolicyPort).",
           "Go: parseNetworkPolicy: selectedIPs = [10.128.0.4] (selectPods over all pods of p2, any node), destFlow",
           "\"ip, nw_dst=10.128.0.4, \", peerFlow \"reg0=<p2>, \", portFlow \"tcp, tp_dst=8080, \"; syncNamespaceFlows on every",
           "node where p2 is inUse (both): delete reg1=<p2>, add the priority-150 allow, the priority-100 drop for the",
           "selected IP, and the priority-50 accept again (unchanged, so not in the net difference).", *COMMON],
          {nd: ([allow, drop], []) for nd in ("node1", "node2")})
    write("change-networkpolicy-selected-pod-deleted.diff",
          ["Event: then `oc delete pod added -n p2`.",
           "Go node1: TearDownPod -> cleanupPodFlows deletes (non-strict, every table) all flows matching `ip, nw_dst=10.128.0.4`",
           "-- which includes the two table-80 policy flows -- and `ip/arp nw_src|nw_dst=10.128.0.4`; then",
           "handleDeletePod -> refreshNetworkPolicies(pods): the policy watches pods, re-parses with selectedIPs [] ->",
           "syncNamespaceFlows on both nodes: reg1=<p2> flows = priority-50 accept only.", *COMMON],
          {"node1": ([], setup_pod_flows(npn["node1"], 5, "10.128.0.4", P2) + [allow, drop]),
           "node2": ([], [allow, drop])})


if __name__ == "__main__":
    extra()
