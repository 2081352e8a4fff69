"""Flannel host-gw: plain routes over one L2 segment, and why it cannot cross a router (vxlan can)."""

import pytest
from scapy.layers.inet import IP

from lab.observe.capture import Capture
from lab.observe.mtu import frag_needed, link_mtu, raised_mtu
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


def test_host_gw_mtu_limit_is_the_underlay_on_the_path(hostgw_lab):
    """With pod1's own links widened to 9000, a 1501-byte DF packet leaves the pod and node1 refuses it:
    the underlay eth0 (1500) is the limit, announced by "fragmentation needed, MTU 1500"."""
    net, c = hostgw_lab
    p1, p3, n1 = c.pod("pod1"), c.pod("pod3"), c.node("node1")
    path = [(net["pod1"], "eth0"), (net["node1"], p1.veth), (net["node1"], "cni0")]
    assert link_mtu(net["pod1"], "eth0") == 1500 and link_mtu(net["node1"], "eth0") == 1500
    with raised_mtu(path, 9000):
        with Capture(net["node1"], "cni0", f"icmp and src host {p1.ip}") as left, \
                Capture(net["pod1"], "eth0", "icmp[icmptype] == 3") as errors, \
                Capture(net["node1"], "eth0", f"icmp and src host {p1.ip}") as wire:
            assert ping(net["pod1"], p3.ip, extra="-M do -s 1472").ok  # 1500 bytes: the underlay's MTU
            assert not ping(net["pod1"], p3.ip, extra="-M do -s 1473").ok  # 1501 bytes
    assert 1501 in [p[IP].len for p in left.packets], "the 1501-byte packet never left pod1"
    assert frag_needed(errors.packets) == [(n1.gateway, 1500, p3.ip, 1501)]
    sent = [p[IP].len for p in wire.packets]
    assert 1500 in sent and max(sent) == 1500, sent
