"""A running lab reached by its name alone (lab.livelab): hosts by the roles the lab recorded as it made them,
and host handles on which the observe helpers work as they do on the lab's own Mininet hosts."""

import os

import pytest

from lab.livelab import LiveLab
from lab.observe.flows import dump, hit_deltas
from lab.observe.ping import ping
from lab.observe.trace import ofproto_trace

pytestmark = pytest.mark.root
SHOP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "11-openshift-objects", "cluster.yaml")


def test_roles_come_from_the_lab_not_from_host_names(sdnlab):
    """Manifest pods (web-1, frontend...) are pods; the regexes `pod\\d+`/`node\\d+` once lost them."""
    lab = sdnlab("openshift", nodes=2, pods_per_node=0, filename=[SHOP])
    live = LiveLab(lab.name)
    pods = {p.host for p in lab.model.pods}
    assert pods and not any(p.startswith("pod") for p in pods)
    assert set(live.pods) == pods
    assert live.nodes == ["node1", "node2"]
    assert live.of_role("external") == [lab.model.external.name]
    assert "underlay" not in live.pods + live.nodes
    for hs in lab.model.hostsubnets:  # the address book recorded at bring-up
        assert live.underlay_ip(hs.name) == hs.host_ip


def test_observe_helpers_work_on_host_handles_from_another_process(sdnlab):
    lab = sdnlab("openshift", nodes=2, pods_per_node=1)
    live = LiveLab(lab.name)
    pod1, pod2 = lab.model.pod("pod1"), lab.model.pod("pod2")
    # the node's recorded environment reaches its own Open vSwitch: the same flows as the lab's own host
    assert [f.key for f in dump(live.host("node1"))] == [f.key for f in dump(lab.net["node1"])]
    trace = ofproto_trace(live.host("node1"), f"in_port={pod1.ofport},icmp,dl_src={pod1.mac},dl_dst={pod2.mac},"
                                               f"nw_src={pod1.ip},nw_dst={pod2.ip},nw_ttl=64")
    assert trace.path == "0 > 20 > 21 > 30 > 90" and trace.tun_dst == lab.model.hostsubnet("node2").host_ip
    moved = hit_deltas(live.host("node2"), lambda: ping(live.host("pod1"), pod2.ip, count=3))
    assert moved.get((70, 100, f"ip,nw_dst={pod2.ip}"), 0) >= 3, moved  # node2 delivered the pings to pod2
    assert "pod1" in live.host("pod1").cmd("echo $SDNLAB_HOST")
