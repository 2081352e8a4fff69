"""Flow *changes* per cluster event, as openshift-sdn's ovscontroller_test.go asserts them.

Each event renders every node before and after; the test spells out literally which flows appear
and disappear on which node, and that every other node's flows stay exactly as they were.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Set, Tuple

from lab.addressing import pod_mac, veth_name
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.model import Cluster, Pod
from lab.planes.openshift.node.flows import render_node_flows


def changes(before: Cluster, after: Cluster, node: str) -> Tuple[Set[str], Set[str]]:
    """(added, removed) flows of one node's br0 between two cluster states."""
    old, new = render_node_flows(before, node), render_node_flows(after, node)
    assert len(set(old)) == len(old) and len(set(new)) == len(new), "a render holds a flow twice"
    return set(new) - set(old), set(old) - set(new)


def all_changes(before: Cluster, after: Cluster) -> Dict[str, Tuple[Set[str], Set[str]]]:
    nodes: List[str] = [hs.name for hs in before.hostsubnets]
    return {n: changes(before, after, n) for n in nodes}


def with_pod(cluster: Cluster, name: str, node: str, ip: str, ofport: int) -> Cluster:
    pod = Pod(name=name, node=node, ip=ip, mac=pod_mac(ip), veth=veth_name(node, name), ofport=ofport)
    return dataclasses.replace(cluster, pods=cluster.pods + [pod])


def test_pod_added_on_node1_adds_exactly_its_flows_on_node1_and_nothing_on_node2():
    before = build_cluster(2, 2)
    after = with_pod(before, "pod5", "node1", "10.128.0.4", 5)
    got = all_changes(before, after)
    assert got["node1"] == ({
        "table=20, priority=100, in_port=5, arp, nw_src=10.128.0.4, arp_sha=00:00:0a:80:00:04/00:00:ff:ff:ff:ff, actions=load:0->NXM_NX_REG0[], goto_table:21",
        "table=20, priority=100, in_port=5, ip, nw_src=10.128.0.4, actions=load:0->NXM_NX_REG0[], goto_table:21",
        "table=40, priority=100, arp, nw_dst=10.128.0.4, actions=output:5",
        "table=70, priority=100, ip, nw_dst=10.128.0.4, actions=load:0->NXM_NX_REG1[], load:5->NXM_NX_REG2[], goto_table:80",
    }, set())
    assert got["node2"] == (set(), set())


def test_pod_removed_takes_exactly_its_flows_away():
    after = build_cluster(2, 2)
    before = with_pod(after, "pod5", "node2", "10.129.0.4", 5)
    got = all_changes(before, after)
    assert got["node1"] == (set(), set())
    assert got["node2"] == (set(), {
        "table=20, priority=100, in_port=5, arp, nw_src=10.129.0.4, arp_sha=00:00:0a:81:00:04/00:00:ff:ff:ff:ff, actions=load:0->NXM_NX_REG0[], goto_table:21",
        "table=20, priority=100, in_port=5, ip, nw_src=10.129.0.4, actions=load:0->NXM_NX_REG0[], goto_table:21",
        "table=40, priority=100, arp, nw_dst=10.129.0.4, actions=output:5",
        "table=70, priority=100, ip, nw_dst=10.129.0.4, actions=load:0->NXM_NX_REG1[], load:5->NXM_NX_REG2[], goto_table:80",
    })


# node3 of a 3-node cluster: 172.16.1.13, 10.130.0.0/23 (the allocator's third subnet), and the
# cookie sha256(uuid5(URL, "sdnlab/hostsubnet/node3"))[:4], computed by hand once
NODE3_FLOWS = {
    "table=10, priority=100, cookie=0xb7e96a5e, tun_src=172.16.1.13, actions=goto_table:30",
    "table=50, priority=100, cookie=0xb7e96a5e, arp, nw_dst=10.130.0.0/23, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:172.16.1.13->tun_dst,output:1",
    "table=90, priority=100, cookie=0xb7e96a5e, ip, nw_dst=10.130.0.0/23, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:172.16.1.13->tun_dst,output:1",
}


def test_node_added_adds_exactly_its_subnet_flows_on_every_other_node():
    before, after = build_cluster(2, 2), build_cluster(3, 2)
    got = all_changes(before, after)
    # table 111 is one flow per node: UpdateVXLANMulticastFlows replaces it with the new node's tunnel in it
    assert got["node1"] == (NODE3_FLOWS | {
        "table=111, priority=100, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:172.16.1.12->tun_dst,output:1,set_field:172.16.1.13->tun_dst,output:1,goto_table:120",
    }, {
        "table=111, priority=100, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:172.16.1.12->tun_dst,output:1,goto_table:120",
    })
    assert got["node2"] == (NODE3_FLOWS | {
        "table=111, priority=100, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:172.16.1.11->tun_dst,output:1,set_field:172.16.1.13->tun_dst,output:1,goto_table:120",
    }, {
        "table=111, priority=100, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:172.16.1.11->tun_dst,output:1,goto_table:120",
    })


def test_node_added_changes_nothing_else_on_the_others():
    """The pods of node1 and node2 keep their flows: only tables 10, 50, 90 and 111 move."""
    before, after = build_cluster(2, 2), build_cluster(3, 2)
    for node, (added, removed) in all_changes(before, after).items():
        tables = {int(f.split(",")[0].split("=")[1]) for f in added | removed}
        assert tables == {10, 50, 90, 111}, node


def test_node_removed_takes_its_subnet_flows_away_everywhere():
    before, after = build_cluster(3, 2), build_cluster(2, 2)
    for node in ("node1", "node2"):
        added, removed = changes(before, after, node)
        assert NODE3_FLOWS <= removed and not NODE3_FLOWS & added
        assert {f.split(",")[0] for f in removed - NODE3_FLOWS} == {"table=111"}
