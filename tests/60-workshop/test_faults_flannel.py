"""Each Flannel fault: inject it, see the symptom in the data plane, repair, see behaviour restored."""

import pytest

from lab.front import faults

pytestmark = pytest.mark.root


@pytest.fixture
def lab(sdnlab):
    return sdnlab("flannel", backend="vxlan", nodes=2, pods_per_node=2)  # pod1, pod2 on node1; pod3, pod4 on node2


@pytest.mark.parametrize("fault", ["fdb", "neigh"])
def test_missing_vxlan_entry_for_a_node(lab, fault):
    lab.assert_reachable("pod1", "pod3")
    said = faults.inject(lab.name, fault, ["node1", "node2"])
    assert "flannel.1" in said
    ip2 = lab.ip_of("node2")
    if fault == "fdb":
        assert ip2 not in lab.cmd("node1", "bridge fdb show dev flannel.1")
    else:
        assert "10.244.1.0" not in lab.cmd("node1", "ip neigh show dev flannel.1")
    assert not lab.ping("pod1", "pod3").ok
    lab.assert_reachable("pod3", "pod4")
    faults.repair(lab.name, fault)
    lab.assert_reachable("pod1", "pod3")
    assert "permanent" in lab.cmd("node1", "bridge fdb show dev flannel.1; ip neigh show dev flannel.1").lower()


def test_missing_masquerade(lab):
    lab.assert_reachable("pod1", "ext")
    said = faults.inject(lab.name, "masquerade", ["node1"])
    assert "FLANNEL-POSTRTG" in said
    assert not lab.ping("pod1", "ext").ok
    lab.assert_reachable("pod3", "ext")
    before = lab.cmd("node2", "iptables -t nat -S FLANNEL-POSTRTG")
    faults.repair(lab.name, "masquerade")
    lab.assert_reachable("pod1", "ext")
    # the rules are back in their places: node1's chain reads as node2's (same network) but for its own lease
    assert lab.cmd("node1", "iptables -t nat -S FLANNEL-POSTRTG").replace("10.244.0.0/24", "10.244.1.0/24") == before


def test_missing_route_to_a_lease(lab):
    said = faults.inject(lab.name, "route", ["node1", "pod3"])
    assert "10.244.1.0/24" in said and "flannel.1" in said
    assert not lab.ping("pod1", "pod3").ok
    faults.repair(lab.name, "route")
    lab.assert_reachable("pod1", "pod3")


def test_stale_arp_for_the_gateway(lab):
    said = faults.inject(lab.name, "stale-arp", ["pod1", "pod3"])
    assert "10.244.0.1" in said  # the pod's next hop is cni0, not pod3
    assert not lab.ping("pod1", "pod3").ok
    faults.repair(lab.name, "stale-arp")
    lab.assert_reachable("pod1", "pod3")


def test_openshift_faults_are_refused(lab):
    with pytest.raises(faults.BadInput, match="for openshift"):
        faults.inject(lab.name, "flow-90")
