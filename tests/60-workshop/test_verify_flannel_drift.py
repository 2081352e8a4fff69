"""The Flannel drift check on one real lab (routed host-gw, the hostgw-router exercise's): nothing at start;
a route, an FDB entry and a neighbour added by hand are each reported with their host; the routes the task
asks for are not when allowed; gone again once removed."""

import pytest
from test_verify_gaming import started

from lab.planes.flannel.drift import drift

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def lab():
    with started("hostgw-router", "dr") as lab:
        yield lab


def test_nothing_drifts_at_start(lab):
    assert drift(lab) == []


def test_a_hand_made_route_on_a_node_and_on_the_router_is_reported(lab):
    lab.sh("node1", "ip route add 10.99.0.0/16 via 172.16.1.1")
    lab.sh("router", "ip route add 10.244.1.0/24 via 172.16.2.12")
    try:
        found = drift(lab)
        assert "node1: route 10.99.0.0/16 via 172.16.1.1 dev eth0" in found, found
        assert "router: route 10.244.1.0/24 via 172.16.2.12 dev eth1" in found, found
        assert drift(lab, allowed={"router": ["10.244.1.0/24 via 172.16.2.12 dev eth1"]}) == [
            "node1: route 10.99.0.0/16 via 172.16.1.1 dev eth0"]
    finally:
        lab.sh("node1", "ip route del 10.99.0.0/16")
        lab.sh("router", "ip route del 10.244.1.0/24")
    assert drift(lab) == []


def test_hand_made_vxlan_entries_are_reported(lab):
    """A host-gw node has no flannel.1: a student's own VXLAN device named so shows its entries too."""
    lab.sh("node1", "ip link add flannel.1 type vxlan id 1 dev eth0 dstport 8472 nolearning && ip link set flannel.1 up"
                    " && bridge fdb append 02:00:00:00:00:01 dev flannel.1 dst 172.16.2.12"
                    " && ip neigh replace 10.244.1.0 lladdr 02:00:00:00:00:01 dev flannel.1 nud permanent")
    try:
        found = drift(lab)
        assert "node1: fdb 02:00:00:00:00:01 dst 172.16.2.12 on flannel.1" in found, found
        assert "node1: neighbour 10.244.1.0 lladdr 02:00:00:00:00:01 on flannel.1" in found, found
    finally:
        lab.sh("node1", "ip link del flannel.1")
    assert drift(lab) == []
