"""Two L2 segments joined by a router: host-gw cannot work there, vxlan can."""

import pytest

from lab.observe.capture import Capture
from lab.observe.ping import ping
from lab.planes.flannel import realize
from lab.shell import run

pytestmark = pytest.mark.root


def test_across_a_router_host_gw_fails_and_vxlan_works(routed_lab):
    """host-gw needs every node on one L2 segment: its route's next hop is the other node itself,
    which is not on-link behind a router, so the kernel refuses the route. VXLAN only needs IP
    reachability between the nodes, which the router gives."""
    net, c = routed_lab
    n1, n2 = c.node("node1"), c.node("node2")
    assert (n1.segment, n2.segment) == (0, 1)
    reach = ping(net["pod1"], c.pod("pod3").ip, count=1)
    status = realize.agent_status("node1")
    if c.config.backend == "host-gw":
        assert not reach.ok
        assert run(net["node1"], f"ip route show {n2.subnet}") == ""
        assert any("Nexthop has invalid gateway" in e and n2.ip in e for e in status["errors"]), status
    else:
        assert reach.ok and not status["errors"]
        with Capture(net["router"], "eth1", "udp port 8472", vxlan_ports=(8472,)) as cap:
            assert ping(net["pod1"], c.pod("pod3").ip).ok
        assert any(s.vni == 1 and s.src == n1.ip and s.dst == n2.ip for s in cap.seen)
