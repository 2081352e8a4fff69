"""The wrong-VNID fault (multitenant): a pod's port tagged with another project's VNID loses its own project."""

import pytest

from lab.front import faults
from lab.observe.capture import Capture

pytestmark = pytest.mark.root


def test_wrong_vnid_isolates_a_pod_from_its_project_and_repair_restores_it(sdnlab):
    lab = sdnlab("openshift", nodes=2, pods_per_node=2, plugin="multitenant")  # pod1, pod3 in p1; pod2, pod4 in p2
    lab.assert_reachable("pod1", "pod3")
    said = faults.inject(lab.name, "vnid", ["pod1", "0x999"])
    assert "table-20" in said and "0x999" in said
    assert "load:0x999->NXM_NX_REG0[]" in lab.cmd("node1", "ovs-ofctl -O OpenFlow13 --no-names dump-flows br0 table=20")
    with Capture(lab.net["node2"], "eth0", "udp port 4789") as cap:
        assert not lab.ping("pod1", "pod3").ok
    # the VXLAN header carries the wrong VNID to node2, whose table 80 keeps projects apart
    assert 0x999 in {s.vni for s in cap.seen if s.inner_src == lab.ip_of("pod1")}, cap.seen
    faults.repair(lab.name, "vnid")
    assert "0x999" not in lab.cmd("node1", "ovs-ofctl -O OpenFlow13 --no-names dump-flows br0 table=20")
    lab.assert_reachable("pod1", "pod3")
    lab.assert_unreachable("pod1", "pod2")  # and projects are isolated again, as rendered
