#!/usr/bin/env python3
"""Writes the *.flows goldens and the flow parts of change-*.diff from tools/transcribe.py.

Lab facts used (allocation facts, read from lab/openshift/model.py and vnid.py, not flow logic):
  cluster 10.128.0.0/14, services 172.30.0.0/16, vxlan 4789, underlay 172.16.1.0/24, node N at 172.16.1.(10+N),
  HostSubnets 10.128.0.0/23, 10.129.0.0/23, 10.130.0.0/23 (SubnetAllocator order), gateway = first address,
  pods from .2 upward per node with ofports 3, 4, ... in creation order, NETIDs p1 5492721 (0x53cff1),
  p2 6936361 (0x69d729), cookies = sha256(uid)[:4] (tools/hashes.py).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from transcribe import (MULTITENANT, NETWORKPOLICY, SUBNET, Node, host_subnet_rules, mt_ensure_vnid_rules,  # noqa: E402
                        np_namespace_flows, plugin_start, service_rules, setup_ovs, setup_pod_flows)

OUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
P1, P2 = 5492721, 6936361
HS = {"node1": ("172.16.1.11", "10.128.0.0/23", 0x98e54504, "10.128.0.1"),
      "node2": ("172.16.1.12", "10.129.0.0/23", 0xc1f16a91, "10.129.0.1"),
      "node3": ("172.16.1.13", "10.130.0.0/23", 0xb7e96a5e, "10.130.0.1")}
REV = ("origin release-3.11 d8e072147f8a22e98eb8f9b888aac7d4ea9ddc4b (2019-04-22, read from the fork "
       "poc-ocp-upgrades/origin; equals v3.11.0 0cbc58b1 plus 3.11.z fixes, of which only the table=100 "
       "priority=300 VXLAN-drop flow changes flows)")


def node(plugin, name, nodes):
    ip, subnet, _c, gw = HS[name]
    return Node(plugin, "10.128.0.0/14", "172.30.0.0/16", subnet, gw, ip,
                remotes=[(HS[o][0], HS[o][1], HS[o][2]) for o in nodes if o != name])


def base(n):
    return setup_ovs(n) + plugin_start(n) + host_subnet_rules(n)


# pods of the 2x2 VNID-plugin lab: (node, ofport, ip, vnid)
PODS_2X2 = [("node1", 3, "10.128.0.2", P1), ("node1", 4, "10.128.0.3", P2),
            ("node2", 3, "10.129.0.2", P1), ("node2", 4, "10.129.0.3", P2)]


def mt_2x2(name):
    n = node(MULTITENANT, name, ["node1", "node2"])
    f = base(n)
    for nd, port, ip, v in PODS_2X2:
        if nd == name:
            f += setup_pod_flows(n, port, ip, v)
    for v in sorted({v for nd, _p, _i, v in PODS_2X2 if nd == name}):
        f += mt_ensure_vnid_rules(v)
    return f


def np_2x2(name, policies_p2=None):
    """policies_p2: None = no policy in p2; else the list for np_namespace_flows(P2, ...)."""
    n = node(NETWORKPOLICY, name, ["node1", "node2"])
    f = base(n)
    for nd, port, ip, v in PODS_2X2:
        if nd == name:
            f += setup_pod_flows(n, port, ip, v)
    f += np_namespace_flows(P1, [])
    f += np_namespace_flows(P2, policies_p2 or [])
    return f


DENY_ALL = (None, [])  # podSelector {} -> selectedIPs nil; no ingress rules -> no flows
SAME_NS = (None, [f"reg0={hex(P2)},reg1={hex(P2)}"])  # "table=80, priority=150, reg1=%d, reg0=%d,  actions=..."


def svc_3x1(name):
    """tests/11-openshift-objects lab: subnet, 3 nodes x 1 pod + cluster.yaml (shop/web x3, services)."""
    n = node(SUBNET, name, ["node1", "node2", "node3"])
    f = base(n)
    idx = int(name[-1]) - 1
    ip_pod = ["10.128.0.2", "10.129.0.2", "10.130.0.2"][idx]
    ip_web = ["10.128.0.3", "10.129.0.3", "10.130.0.3"][idx]
    f += setup_pod_flows(n, 3, ip_pod, 0) + setup_pod_flows(n, 4, ip_web, 0)
    f += SERVICES_SUBNET(n)
    return f


def SERVICES_SUBNET(n):
    return (service_rules(n, "172.30.10.10", [("TCP", 80), ("UDP", 53)], 0)
            + service_rules(n, "172.30.0.2", [("TCP", 80)], 0)
            + service_rules(n, "172.30.0.3", [("TCP", 80)], 0))


def write(fname, header, flows):
    assert len(flows) == len(set(flows)), [x for x in flows if flows.count(x) > 1]
    with open(os.path.join(OUT, fname), "w") as fh:
        for h in header:
            fh.write(f"# {h}\n")
        for x in sorted(flows):
            fh.write(x + "\n")


def common_header(lab, funcs):
    return [f"br0 flows, as `ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0` (OVS 3.1) prints them, lines sorted.",
            f"Lab: {lab}",
            f"Written from openshift-sdn 3.11 Go source, {REV}:",
            f"  {funcs}",
            "by hand-transcribing each format string into OVS's dump syntax (tools/transcribe.py); not from lab/."]


def main():
    mt_funcs = ("ovscontroller.go SetupOVS, AddHostSubnetRules, UpdateVXLANMulticastFlows, setupPodFlows; "
                "multitenant.go Start, EnsureVNIDRules (pod.go setup calls it per pod VNID)")
    np_funcs = ("ovscontroller.go SetupOVS(useConnTrack), AddHostSubnetRules, UpdateVXLANMulticastFlows, setupPodFlows; "
                "networkpolicy.go Start, EnsureVNIDRules->syncNamespaceFlows, parseNetworkPolicy")
    for nd in ("node1", "node2"):
        lab2 = ("`lab run openshift --plugin multitenant` (2 nodes x 2 pods; pod1/pod3 in p1 NETID 5492721=0x53cff1, "
                "pod2/pod4 in p2 NETID 6936361=0x69d729; node1 172.16.1.11 10.128.0.0/23, node2 172.16.1.12 "
                "10.129.0.0/23; pods .2 ofport 3, .3 ofport 4; cookies node1 0x98e54504, node2 0xc1f16a91)")
        write(f"multitenant-{nd}.flows", common_header(lab2 + f"; this is {nd}", mt_funcs), mt_2x2(nd))
        labn = lab2.replace("--plugin multitenant", "--plugin networkpolicy")
        write(f"networkpolicy-{nd}.flows", common_header(labn + f"; no NetworkPolicy; this is {nd}", np_funcs), np_2x2(nd))
        write(f"networkpolicy-deny-all-{nd}.flows",
              common_header(labn + f"; + examples/live/deny-all.yaml (p2, podSelector {{}}, no ingress); this is {nd}", np_funcs),
              np_2x2(nd, [DENY_ALL]))
        write(f"networkpolicy-deny-all+allow-same-{nd}.flows",
              common_header(labn + "; + examples/live/deny-all.yaml and allow-from-same-namespace.yaml (both p2); "
                            f"allow-from-same-namespace alone gives the same set; this is {nd}", np_funcs),
              np_2x2(nd, [DENY_ALL, SAME_NS]))
    for nd in ("node1", "node2", "node3"):
        lab3 = ("tests/11-openshift-objects `lab` fixture = `lab run openshift --nodes 3 --pods-per-node 1 "
                "-f tests/11-openshift-objects/cluster.yaml` (subnet; pod1..pod3 .2 ofport 3; shop/web-1..3 .3 ofport 4; "
                "services shop/web 172.30.10.10 80/TCP+53/UDP, shop/web-public 172.30.0.2 80/TCP NodePort 30080, "
                f"shop/nobody 172.30.0.3 80/TCP NodePort 30081 no endpoints); this is {nd}")
        write(f"services-subnet-{nd}.flows",
              common_header(lab3, "ovscontroller.go SetupOVS, AddHostSubnetRules, UpdateVXLANMulticastFlows, setupPodFlows, "
                            "AddServiceRules (node.go handleAddOrUpdateService, !useConnTrack); singletenant.go Start"),
              svc_3x1(nd))
    # table 60 only, as asked
    n1 = node(SUBNET, "node1", ["node1", "node2", "node3"])
    t60 = [x for x in svc_3x1("node1") if x.startswith("table=60,")]
    write("services-subnet-table60.flows",
          common_header("as services-subnet-node1.flows, table 60 only (identical on node1, node2, node3: the subnet "
                        "plugin's service netID is always 0)",
                        "ovscontroller.go SetupOVS (table 60 defaults), AddServiceRules"), t60)


if __name__ == "__main__":
    main()


def mt_2x2_service_only_namespace(name):
    """multitenant 2x2 + Namespace p3 (NETID 12284505) holding only Service p3/web3 172.30.30.30:80/TCP."""
    n = node(MULTITENANT, name, ["node1", "node2"])
    return (mt_2x2(name) + service_rules(n, "172.30.30.30", [("TCP", 80)], 12284505)
            + mt_ensure_vnid_rules(12284505))  # node.go handleAddOrUpdateService: AddServiceRules, then EnsureVNIDRules(netid)


if __name__ == "__main__":
    for nd in ("node1", "node2"):
        write(f"multitenant-service-only-namespace-{nd}.flows",
              common_header("`lab run openshift --plugin multitenant -f p3-with-svc.yaml` (the multitenant 2x2 lab plus "
                            "Namespace p3, NETID 12284505 = 0xbb7259, holding no pod and one Service p3/web3 172.30.30.30 "
                            f"port 80/TCP; manifest text in README.md); this is {nd}",
                            "as multitenant-*.flows, plus node.go handleAddOrUpdateService -> ovscontroller.go AddServiceRules(svc, "
                            "0xbb7259) and multitenant.go EnsureVNIDRules(0xbb7259) (kept by SyncVNIDRules: findInUseAndPolicyVNIDs "
                            "counts table-60 loads as in use)"),
              mt_2x2_service_only_namespace(nd))

FROM_P1_8080 = (None, [f"tcp,reg0={hex(P1)},reg1={hex(P2)},tp_dst=8080"])  # namespaceSelector {name: p1} + TCP 8080


if __name__ == "__main__":
    for nd in ("node1", "node2"):
        write(f"networkpolicy-three-policies-{nd}.flows",
              common_header("the networkpolicy 2x2 lab after `oc label namespace p1 name=p1` and `oc create -f` of deny-all, "
                            "allow-from-same-namespace (examples/live) and p2/allow-8080-from-p1 (podSelector {}, ingress from "
                            "namespaceSelector {matchLabels: {name: p1}}, ports [{protocol: TCP, port: 8080}]; the policy "
                            f"tests/12-openshift-plugins/test_networkpolicy.py builds as from_p1_port); this is {nd}",
                            "as networkpolicy-*.flows; parseNetworkPolicy (namespaceSelector -> selectNamespaces -> \"reg0=%d, \" per "
                            "matching NetNamespace; portFlow \"tcp, tp_dst=8080, \"), syncNamespaceFlows"),
              np_2x2(nd, [DENY_ALL, SAME_NS, FROM_P1_8080]))
