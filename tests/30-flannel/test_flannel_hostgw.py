"""Flannel host-gw: plain routes over one L2 segment, and why it cannot cross a router (vxlan can)."""

import pytest

from lab.observe.capture import Capture
from lab.observe.ping import ping
from lab.shell import run

pytestmark = pytest.mark.root


def test_host_gw_routes_pods_over_the_underlay_unencapsulated(hostgw_lab):
    net, c = hostgw_lab
    assert run(net["node1"], "ip route show 10.244.1.0/24") == "10.244.1.0/24 via 172.16.1.12 dev eth0"
    assert "flannel.1" not in run(net["node1"], "ip -o link")
    with Capture(net["node1"], "eth0", "") as cap:
        assert ping(net["pod1"], c.pod("pod3").ip, count=2).received == 2
    assert any(s.proto == "icmp" and s.src == c.pod("pod1").ip and s.dst == c.pod("pod3").ip for s in cap.seen)
    assert not [s for s in cap.seen if s.dport == 8472 or s.sport == 8472]


def test_host_gw_mtu_limit(hostgw_lab):
    net, c = hostgw_lab
    assert ping(net["pod1"], c.pod("pod3").ip, extra="-M do -s 1472").ok
    assert not ping(net["pod1"], c.pod("pod3").ip, extra="-M do -s 1473").ok
