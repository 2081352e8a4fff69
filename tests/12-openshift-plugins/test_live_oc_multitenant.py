"""Live `oc adm pod-network` lines on the multitenant plugin, as a person types them: after each line
every br0 equals its render, the line changed exactly the flows the render changed, and reachability follows."""

import pytest

from lab.observe.ping import ping
from lab.planes.openshift.observe.trace import trace_pod

pytestmark = pytest.mark.root


def reach(net, c, src: str, dst: str) -> bool:
    return ping(net[src], c.pod(dst).ip, count=1, timeout=2).ok


def test_pod_network_lines_join_isolate_and_globalize_projects(mt_lab, helpers):
    net, c = mt_lab
    p1 = c.netids["p1"]
    assert not reach(net, c, "pod1", "pod2") and not reach(net, c, "pod1", "pod4")
    hops = trace_pod(net, c, "pod1", "pod4")
    assert hops[-1][1].dropped and hops[-1][1].tables[-1] == 80, hops[-1][1].raw

    change = helpers.oc(net, c, "oc adm pod-network join-projects --to=p1 p2")
    assert c.netids["p2"] == p1 and change.output == ""
    for hs in c.hostsubnets:  # p2's pods now load p1's VNID; p2's own table-80 rule is gone
        added, removed = change.flows(hs.name)
        assert all(f"load:{p1}->" in f for f in added) and len(added) == len(removed) - 1, (added, removed)
    for src, dst in (("pod1", "pod2"), ("pod1", "pod4"), ("pod4", "pod1"), ("pod2", "pod3")):
        assert reach(net, c, src, dst), (src, dst)

    helpers.oc(net, c, "oc adm pod-network isolate-projects p2")
    assert c.netids["p2"] not in (0, p1)
    assert not reach(net, c, "pod1", "pod2") and not reach(net, c, "pod4", "pod1")
    assert reach(net, c, "pod2", "pod4")
    hops = trace_pod(net, c, "pod2", "pod3")
    assert hops[-1][1].dropped and hops[-1][1].tables[-1] == 80, hops[-1][1].raw

    helpers.oc(net, c, "oc adm pod-network make-projects-global p2")
    assert c.netids["p2"] == 0
    for src, dst in (("pod2", "pod1"), ("pod2", "pod3"), ("pod1", "pod2"), ("pod3", "pod4")):
        assert reach(net, c, src, dst), (src, dst)  # a global project reaches all and is reached by all
