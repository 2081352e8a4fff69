"""ovs-multitenant on real switches: projects are isolated in table 80 of the receiving node, a global
project reaches and is reached by all, and `oc adm pod-network` changes apply as only their difference."""

import pytest

from lab.observe.flows import hit_deltas
from lab.observe.ping import ping
from lab.planes.openshift.master.vnid import isolate_projects, join_projects, make_projects_global
from lab.planes.openshift.node.flows import render_node_flows
from lab.planes.openshift.observe.trace import trace_pod

pytestmark = pytest.mark.root

TABLE80_DROP = (80, 0, "")  # table 80's default drop, as hit_deltas keys it


def reach(net, c, src: str, dst: str) -> bool:
    return ping(net[src], c.pod(dst).ip, count=1, timeout=2).ok


def test_every_br0_holds_exactly_its_multitenant_render(mt_lab, helpers):
    net, c = mt_lab
    for hs in c.hostsubnets:
        flows = render_node_flows(c, hs.name)
        assert "table=253, actions=note:01.07" in flows
        assert helpers.differs_from_render(net[hs.name], flows) == ""
        assert len(helpers.flows_of(net[hs.name])) == len(flows)


def test_two_projects_cannot_reach_each_other_and_table_80_drops_it(mt_lab, helpers):
    net, c = mt_lab
    assert [(p.name, p.namespace) for p in c.pods] == [("pod1", "p1"), ("pod2", "p2"), ("pod3", "p1"), ("pod4", "p2")]
    assert reach(net, c, "pod1", "pod3") and reach(net, c, "pod2", "pod4")  # same project, across nodes
    # same node: pod1 (p1) -> pod2 (p2) dies in node1's table 80
    answered = []
    moved = hit_deltas(net["node1"], lambda: answered.append(reach(net, c, "pod1", "pod2")))
    assert answered == [False] and moved.get(TABLE80_DROP, 0) >= 1, moved
    # across nodes: pod1 -> pod4 crosses the tunnel with p1's VNID and dies in node2's table 80
    moved = hit_deltas(net["node2"], lambda: answered.append(reach(net, c, "pod1", "pod4")))
    assert answered == [False, False] and moved.get(TABLE80_DROP, 0) >= 1, moved
    local = trace_pod(net, c, "pod1", "pod2")
    assert len(local) == 1 and local[0][1].dropped and local[0][1].tables[-1] == 80, local
    remote = trace_pod(net, c, "pod1", "pod4")
    assert [n for n, _t in remote] == ["node1", "node2"] and remote[0][1].tun_dst == "172.16.1.12"
    assert remote[1][1].dropped and remote[1][1].tables[-1] == 80, remote[1][1].raw


def test_join_isolate_and_global_apply_their_flows_and_change_reachability(mt_lab, helpers):
    net, c = mt_lab
    original = dict(c.netids)
    try:
        steps = [("join", join_projects(original, "p1", ["p2"]), True),
                 ("isolate", None, False),
                 ("global", None, True)]
        for name, netids, p1_reaches_p2 in steps:
            if name == "isolate":
                netids = isolate_projects(c.netids, ["p2"])
            elif name == "global":
                netids = make_projects_global(c.netids, ["p2"])
            want = {hs.name: _render_change(c, hs.name, netids) for hs in c.hostsubnets}
            c.set_netids(netids)
            got = helpers.apply(net, c)
            assert got == want, (name, got, want)
            for hs in c.hostsubnets:
                assert helpers.differs_from_render(net[hs.name], render_node_flows(c, hs.name)) == "", name
            for src, dst in (("pod1", "pod2"), ("pod1", "pod4"), ("pod4", "pod1"), ("pod2", "pod3")):
                assert reach(net, c, src, dst) == p1_reaches_p2, (name, src, dst)
            assert reach(net, c, "pod1", "pod3") and reach(net, c, "pod2", "pod4"), name
    finally:
        c.set_netids(original)
        helpers.apply(net, c)
    assert not reach(net, c, "pod1", "pod2")


def _render_change(c, node, netids):
    before, after = set(render_node_flows(c, node)), set(render_node_flows(c, node, netids=netids))
    return after - before, before - after
