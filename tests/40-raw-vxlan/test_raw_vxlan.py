"""Raw kernel VXLAN labs: vxlan-p2p, and docker-vxlan before and after its VXLAN port."""

import pytest

from lab.cleanup import leftovers
from lab.net import running
from lab.observe.capture import Capture
from lab.observe.ping import ping
from lab.planes.rawvxlan import realize as rawvxlan
from lab.shell import run

pytestmark = pytest.mark.root


@pytest.fixture
def lab(request):
    model = rawvxlan.RawVxlan(request.param)
    with running(rawvxlan.build, model) as net:
        yield net, model
    assert not any(leftovers().values())


@pytest.mark.parametrize("lab", ["p2p"], indirect=True)
def test_vxlan_p2p(lab):
    net, m = lab
    assert ping(net["host1"], "10.0.136.12", count=2).received == 2
    details = run(net["host1"], "ip -d link show vxlan20")
    for word in ("vxlan id 20", "remote 172.16.1.12", "dev eth0", "dstport 4789"):
        assert word in details, (word, details)
    assert "00:00:00:00:00:00 dst 172.16.1.12 via eth0 self permanent" in run(net["host1"], "bridge fdb show dev vxlan20")
    with Capture(net["host2"], "eth0", "udp port 4789") as cap:
        assert ping(net["host2"], "10.0.136.11").ok
    assert any(s.vni == 20 and s.inner_src == "10.0.136.12" for s in cap.seen)


@pytest.mark.parametrize("lab", ["docker"], indirect=True)
def test_docker_vxlan_isolated_then_connected(lab):
    net, m = lab
    assert not ping(net["c1"], "172.20.0.3", timeout=1).ok
    assert not ping(net["c2"], "172.20.0.2", timeout=1).ok
    rawvxlan.connect(net, m)
    assert "master br0" in run(net["host1"], "ip -o link show vxlan100")
    with Capture(net["host1"], "eth0", "udp port 4789") as cap:
        result = ping(net["c1"], "172.20.0.3", count=3, timeout=3)
    state = {h: run(net[h], "ip -d link show vxlan100; bridge fdb show br br0; ip neigh") for h in ("host1", "host2")}
    assert result.ok, (result, [s.summary for s in cap.seen], state)  # any answer: before, there was none
    assert any(s.vni == 100 and s.inner_src == "172.20.0.2" and s.inner_dst == "172.20.0.3" for s in cap.seen)
