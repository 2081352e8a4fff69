"""The multitenant and networkpolicy plugins against openshift-sdn 3.11's format strings (73571319b):
ovscontroller.go SetupOVS/setupPodFlows, multitenant.go Start/EnsureVNIDRules, networkpolicy.go
Start/parseNetworkPolicy/syncNamespace. Expected strings are the Go format strings filled in by hand."""

from __future__ import annotations

import dataclasses
from typing import Dict, Set, Tuple

from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.master.vnid import isolate_projects, join_projects, make_projects_global
from lab.planes.openshift.model import MULTITENANT_PLUGIN, NETWORKPOLICY_PLUGIN, Cluster, ClusterNetwork
from lab.planes.openshift.node.flows import render_node_flows
from lab.planes.openshift.node.policy import NamespaceInput, PodInput, PolicyInput
from lab.state import Flow

OUT = "actions=output:NXM_NX_REG2[]"
NETIDS = {"default": 0, "p1": 42, "p2": 43}


def cluster(plugin: str) -> Cluster:
    """2x2, pod1/pod3 in p1 (VNID 42), pod2/pod4 in p2 (VNID 43)."""
    c = build_cluster(2, 2, ClusterNetwork(plugin=plugin))
    c.set_netids(NETIDS)
    return c


def pod_flows(ofport: int, ip: str, vnid: int, ct: bool = False) -> Set[str]:
    mac = "00:00:{:02x}:{:02x}:{:02x}:{:02x}/00:00:ff:ff:ff:ff".format(*map(int, ip.split(".")))
    flows = {
        f"table=20, priority=100, in_port={ofport}, arp, nw_src={ip}, arp_sha={mac}, actions=load:{vnid}->NXM_NX_REG0[], goto_table:21",
        f"table=20, priority=100, in_port={ofport}, ip, nw_src={ip}, actions=load:{vnid}->NXM_NX_REG0[], goto_table:21",
        f"table=40, priority=100, arp, nw_dst={ip}, actions=output:{ofport}",
        f"table=70, priority=100, ip, nw_dst={ip}, actions=load:{vnid}->NXM_NX_REG1[], load:{ofport}->NXM_NX_REG2[], goto_table:80",
    }
    if ct:
        flows.add(f"table=25, priority=100, ip, nw_src={ip}, actions=load:{vnid}->NXM_NX_REG0[], goto_table:30")
    return flows


def vnid_flows(ofport: int, ip: str, vnid: int, ct: bool = False) -> Set[str]:
    """The pod's flows that carry its VNID (table 40's ARP delivery does not)."""
    return {f for f in pod_flows(ofport, ip, vnid, ct) if not f.startswith("table=40")}


def diff(before: list, after: list) -> Tuple[Set[str], Set[str]]:
    assert len(set(before)) == len(before) and len(set(after)) == len(after), "a render holds a flow twice"
    return set(after) - set(before), set(before) - set(after)


# ---- multitenant -------------------------------------------------------------------------------------

def test_multitenant_is_subnet_with_note_01_start_flows_vnids_and_per_vnid_table_80():
    c = cluster(MULTITENANT_PLUGIN)
    subnet = render_node_flows(c, "node1", plugin="subnet")
    mt = render_node_flows(c, "node1")
    assert mt == render_node_flows(c, "node1", plugin="multitenant", netids=NETIDS)
    added, removed = diff(subnet, mt)
    assert removed == {"table=253, actions=note:00.07", "table=80, priority=200, actions=output:NXM_NX_REG2[]"} \
        | vnid_flows(3, "10.128.0.2", 0) | vnid_flows(4, "10.128.0.3", 0)
    assert added == {
        "table=253, actions=note:01.07",
        "table=80, priority=200, reg0=0, actions=output:NXM_NX_REG2[]",
        "table=80, priority=200, reg1=0, actions=output:NXM_NX_REG2[]",
        "table=80, priority=100, reg0=42, reg1=42, actions=output:NXM_NX_REG2[]",
        "table=80, priority=100, reg0=43, reg1=43, actions=output:NXM_NX_REG2[]",
    } | vnid_flows(3, "10.128.0.2", 42) | vnid_flows(4, "10.128.0.3", 43)


def test_multitenant_tunnel_carries_reg0_into_the_vni_and_table_60_stays_for_vnid_0():
    flows = render_node_flows(cluster(MULTITENANT_PLUGIN), "node1")
    assert [f for f in flows if f.startswith("table=90, priority=100")] == [
        "table=90, priority=100, cookie=0xc1f16a91, ip, nw_dst=10.129.0.0/23, "
        "actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:172.16.1.12->tun_dst,output:1"]
    assert "table=0, priority=200, in_port=1, ip, nw_src=10.128.0.0/14, actions=move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],goto_table:10" in flows
    assert "table=60, priority=200, reg0=0, actions=output:2" in flows
    assert not [f for f in flows if "ct(" in f or f.startswith("table=25,")]


def test_a_global_pod_needs_no_vnid_rule():
    c = cluster(MULTITENANT_PLUGIN)
    flows = render_node_flows(c, "node1", netids={"default": 0, "p1": 0, "p2": 43})
    assert [f for f in flows if f.startswith("table=80, priority=100")] == [
        "table=80, priority=100, reg0=43, reg1=43, actions=output:NXM_NX_REG2[]"]


def node_changes(c: Cluster, before: Dict[str, int], after: Dict[str, int]) -> Dict[str, Tuple[Set[str], Set[str]]]:
    return {n: diff(render_node_flows(c, n, netids=before), render_node_flows(c, n, netids=after))
            for n in ("node1", "node2")}


def test_join_projects_rewrites_the_joined_pods_and_drops_the_unused_vnid_rule():
    c = cluster(MULTITENANT_PLUGIN)
    got = node_changes(c, NETIDS, join_projects(NETIDS, "p1", ["p2"]))
    # UpdatePod() of pod2 (node1) and pod4 (node2) with VNID 42; EnsureVNIDRules(42) is there already;
    # VNID 43's rule goes at SyncVNIDRules (nothing loads 43 into REG1 any more)
    assert got["node1"] == (vnid_flows(4, "10.128.0.3", 42),
                            vnid_flows(4, "10.128.0.3", 43) | {"table=80, priority=100, reg0=43, reg1=43, " + OUT})
    assert got["node2"] == (vnid_flows(4, "10.129.0.3", 42),
                            vnid_flows(4, "10.129.0.3", 43) | {"table=80, priority=100, reg0=43, reg1=43, " + OUT})


def test_make_global_moves_pods_to_vnid_0_and_isolate_gives_them_a_new_vnid_with_its_rule():
    c = cluster(MULTITENANT_PLUGIN)
    glob = make_projects_global(NETIDS, ["p2"])
    got = node_changes(c, NETIDS, glob)
    assert got["node1"] == (vnid_flows(4, "10.128.0.3", 0),
                            vnid_flows(4, "10.128.0.3", 43) | {"table=80, priority=100, reg0=43, reg1=43, " + OUT})
    iso = isolate_projects(glob, ["p2"])
    new = iso["p2"]
    assert new not in (0, 42, 43)
    got = node_changes(c, glob, iso)
    assert got["node2"] == (vnid_flows(4, "10.129.0.3", new) | {f"table=80, priority=100, reg0={new}, reg1={new}, " + OUT},
                            vnid_flows(4, "10.129.0.3", 0))


def test_a_namespace_with_only_a_service_on_the_node_gets_its_vnid_rule():
    """node.go handleAddOrUpdateService: AddServiceRules(svc, netid) then EnsureVNIDRules(netid); SyncVNIDRules
    keeps it (table 60 loads the VNID into REG1). Golden: multitenant-service-only-namespace-node1.flows."""
    from lab.planes.openshift.api.objects import Service, ServicePort
    c = cluster(MULTITENANT_PLUGIN)
    c.set_netids({**NETIDS, "p3": 44})
    c.services.append(Service("web3", "p3", "172.30.30.30", (ServicePort(80),)))
    c.services.append(Service("headless", "p3", "None", (ServicePort(80),)))  # no ClusterIP: no AddServiceRules
    for node in ("node1", "node2"):
        flows = render_node_flows(c, node)
        assert [f for f in flows if f.startswith("table=80, priority=100")] == [
            "table=80, priority=100, reg0=42, reg1=42, " + OUT, "table=80, priority=100, reg0=43, reg1=43, " + OUT,
            "table=80, priority=100, reg0=44, reg1=44, " + OUT], node
    c.set_netids({**NETIDS, "p3": 0})  # a global namespace's service needs none
    assert len([f for f in render_node_flows(c, "node1") if f.startswith("table=80, priority=100")]) == 2


# ---- networkpolicy -----------------------------------------------------------------------------------

def test_networkpolicy_turns_conntrack_on_with_note_02():
    c = cluster(NETWORKPOLICY_PLUGIN)
    added, removed = diff(render_node_flows(c, "node1", plugin="subnet"), render_node_flows(c, "node1"))
    assert removed == {"table=253, actions=note:00.07", "table=80, priority=200, actions=output:NXM_NX_REG2[]",
                       "table=60, priority=200, reg0=0, actions=output:2"} \
        | vnid_flows(3, "10.128.0.2", 0) | vnid_flows(4, "10.128.0.3", 0)
    assert added == {
        "table=0, priority=300, ip, ct_state=-trk, actions=ct(table=0)",
        "table=0, priority=400, in_port=2, ip, nw_src=10.128.0.1, actions=goto_table:30",
        "table=0, priority=300, in_port=2, ip, nw_src=10.128.0.0/23, nw_dst=10.128.0.0/14, actions=goto_table:25",
        "table=25, priority=0, actions=drop",
        "table=30, priority=300, ip, nw_dst=10.128.0.0/23, ct_state=+rpl, actions=ct(nat,table=70)",
        "table=60, priority=200, actions=output:2",
        "table=253, actions=note:02.07",
        "table=21, priority=200, ip, nw_dst=10.128.0.0/14, actions=ct(commit,table=30)",
        "table=80, priority=200, ip, ct_state=+rpl, actions=output:NXM_NX_REG2[]",
        # syncNamespace of a namespace without policies: allow all
        "table=80, priority=50, reg1=42, actions=output:NXM_NX_REG2[]",
        "table=80, priority=50, reg1=43, actions=output:NXM_NX_REG2[]",
    } | vnid_flows(3, "10.128.0.2", 42, ct=True) | vnid_flows(4, "10.128.0.3", 43, ct=True)


def netpol_flows(c: Cluster, node: str, policies, pods=None, namespaces=None) -> list:
    return render_node_flows(c, node, policies=policies, pods=pods, namespaces=namespaces)


LABELLED_PODS = [PodInput("p1", "pod1", "10.128.0.2", {"app": "web"}), PodInput("p2", "pod2", "10.128.0.3", {"app": "db"}),
                 PodInput("p1", "pod3", "10.129.0.2", {"app": "db"}), PodInput("p2", "pod4", "10.129.0.3", {"app": "web"})]
NAMESPACES = [NamespaceInput("default"), NamespaceInput("p1", {"team": "a"}), NamespaceInput("p2", {"team": "b"})]


def policy_change(policies, node: str = "node1") -> Tuple[Set[str], Set[str]]:
    c = cluster(NETWORKPOLICY_PLUGIN)
    return diff(netpol_flows(c, node, [], LABELLED_PODS, NAMESPACES),
                netpol_flows(c, node, policies, LABELLED_PODS, NAMESPACES))


def test_the_reference_policy_tcp_5432_from_the_same_namespace_to_one_pod():
    """pipeline §2.7's example: a policy selecting 10.128.0.3 that allows tcp/5432 from its own namespace."""
    c = cluster(NETWORKPOLICY_PLUGIN)
    c = dataclasses.replace(c, pods=[dataclasses.replace(p, namespace="p1") if p.name == "pod2" else p for p in c.pods])
    pods = [PodInput("p1", "pod1", "10.128.0.2"), PodInput("p1", "pod2", "10.128.0.3", {"app": "db"})]
    pol = PolicyInput("p1", "db", pod_selector={"matchLabels": {"app": "db"}},
                      ingress=[{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 5432}]}])
    flows = render_node_flows(c, "node1", policies=[pol], pods=pods)
    assert [f for f in flows if f.startswith("table=80, priority=") and "reg1=" in f] == [
        "table=80, priority=150, reg1=42, ip, nw_dst=10.128.0.3, reg0=42, tcp, tp_dst=5432,  actions=output:NXM_NX_REG2[]",
        "table=80, priority=100, reg1=42, ip, nw_dst=10.128.0.3, actions=drop",
        "table=80, priority=50, reg1=42, actions=output:NXM_NX_REG2[]",
    ]


def test_deny_all_removes_the_namespace_default_allow_and_adds_nothing():
    deny = PolicyInput("p1", "deny-all", pod_selector={}, ingress=[])
    assert policy_change([deny]) == (set(), {"table=80, priority=50, reg1=42, " + OUT})
    assert policy_change([deny], "node2") == (set(), {"table=80, priority=50, reg1=42, " + OUT})


def test_allow_from_same_namespace_with_deny_all():
    same = PolicyInput("p1", "allow-from-same-namespace", pod_selector={}, ingress=[{"from": [{"podSelector": {}}]}])
    assert policy_change([same]) == ({"table=80, priority=150, reg1=42, reg0=42,  " + OUT},
                                     {"table=80, priority=50, reg1=42, " + OUT})


def test_namespace_selector_and_ports_and_pod_selector_peers():
    pol = PolicyInput("p1", "web-from-b", pod_selector={"matchLabels": {"app": "web"}},
                      ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}},
                                         {"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["db"]}]}}],
                                "ports": [{"port": 80}, {"protocol": "UDP", "port": 53}]}])
    added, removed = policy_change([pol])
    assert removed == set()
    assert added == {
        # web pods of p1: 10.128.0.2; peers: VNID 43 (team=b), p1's db pod 10.129.0.2; ports tcp/80, udp/53
        "table=80, priority=150, reg1=42, ip, nw_dst=10.128.0.2, reg0=43, tcp, tp_dst=80,  " + OUT,
        "table=80, priority=150, reg1=42, ip, nw_dst=10.128.0.2, reg0=43, udp, tp_dst=53,  " + OUT,
        "table=80, priority=150, reg1=42, ip, nw_dst=10.128.0.2, reg0=42, ip, nw_src=10.129.0.2, tcp, tp_dst=80,  " + OUT,
        "table=80, priority=150, reg1=42, ip, nw_dst=10.128.0.2, reg0=42, ip, nw_src=10.129.0.2, udp, tp_dst=53,  " + OUT,
        "table=80, priority=100, reg1=42, ip, nw_dst=10.128.0.2, actions=drop",
    }


def test_namespace_and_pod_selector_together_name_pods_of_the_selected_namespaces():
    pol = PolicyInput("p2", "from-a-web", pod_selector={},
                      ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}},
                                          "podSelector": {"matchLabels": {"app": "web"}}}]}])
    assert policy_change([pol]) == ({"table=80, priority=150, reg1=43, reg0=42, ip, nw_src=10.128.0.2,  " + OUT},
                                    {"table=80, priority=50, reg1=43, " + OUT})


def test_unsupported_named_port_is_deny_all_and_removing_a_policy_restores_the_default():
    named = PolicyInput("p2", "named", pod_selector={}, ingress=[{"ports": [{"port": "http"}]}])
    assert policy_change([named]) == (set(), {"table=80, priority=50, reg1=43, " + OUT})
    assert policy_change([]) == (set(), set())


def test_policies_only_matter_on_nodes_that_run_pods_of_their_namespace():
    c = cluster(NETWORKPOLICY_PLUGIN)
    c = dataclasses.replace(c, pods=[p for p in c.pods if p.name != "pod4"])  # node2 keeps only pod3 (p1)
    deny = PolicyInput("p2", "deny-all")
    before = render_node_flows(c, "node2", policies=[])
    assert diff(before, render_node_flows(c, "node2", policies=[deny])) == (set(), set())


def test_lab_run_openshift_plugin_option_picks_the_clusternetwork_plugin():
    import argparse

    from topologies.openshift import TOPOLOGY
    parser = argparse.ArgumentParser()
    TOPOLOGY.add_arguments(parser)
    default = TOPOLOGY.model(parser.parse_args([]))
    assert default.network.plugin == "redhat/openshift-ovs-subnet" and default.netids == {}
    np = TOPOLOGY.model(parser.parse_args(["--plugin", "networkpolicy"]))
    assert np.network.plugin == "redhat/openshift-ovs-networkpolicy" and np.network.version_note == "02.07"
    assert {p.namespace for p in np.pods} == {"p1", "p2"}
    assert "table=253, actions=note:02.07" in render_node_flows(np, "node1")


def test_every_plugin_render_is_one_flow_per_openflow_identity():
    """No two rendered flows share table, priority and match (one would silently replace the other)."""
    from lab.planes.openshift.node.render import render_node
    for plugin in (MULTITENANT_PLUGIN, NETWORKPOLICY_PLUGIN):
        c = cluster(plugin)
        for node in ("node1", "node2"):
            flows = render_node(c, node, "netdev").flows("br0")
            keys = [Flow("br0", f).key for f in flows]
            assert len(set(keys)) == len(keys) == len(render_node_flows(c, node)), (plugin, node)


def test_the_clusters_own_network_policies_pods_and_namespace_labels_feed_the_render():
    """NetworkPolicy objects (from manifests) and the pods' and namespaces' labels reach the plugin
    without being passed in: the same flows as the reference policy given as PolicyInput."""
    from lab.planes.openshift.api.objects import Namespace, NetworkPolicy
    c = cluster(NETWORKPOLICY_PLUGIN)
    c = dataclasses.replace(c, pods=[dataclasses.replace(p, namespace="p1", labels={"app": "db"}) if p.name == "pod2"
                                     else p for p in c.pods],
                            namespaces=[*c.namespaces, Namespace("p1", {"team": "a"})])
    before = render_node_flows(c, "node1")
    c.policies.append(NetworkPolicy("db", "p1", {
        "podSelector": {"matchLabels": {"app": "db"}},
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}}],
                     "ports": [{"protocol": "TCP", "port": 5432}]}]}))
    # only the selected pod is isolated; the namespace's other pods keep the priority-50 allow
    assert diff(before, render_node_flows(c, "node1")) == (
        {"table=80, priority=150, reg1=42, ip, nw_dst=10.128.0.3, reg0=42, tcp, tp_dst=5432,  " + OUT,
         "table=80, priority=100, reg1=42, ip, nw_dst=10.128.0.3, actions=drop"}, set())
