"""The Docker network lab of the notes with real daemons: `docker network create --subnet 172.20.0.0/16
network-luffy` and `docker run --net network-luffy --ip` on each host; isolated until a VXLAN device
(id 100) joins each host's br-<network id>."""

import time

import pytest

from lab import docker
from lab.cleanup import leftovers
from lab.net import running
from lab.observe.capture import Capture
from lab.observe.ping import ping
from lab.planes.rawvxlan import realize as rawvxlan
from lab.shell import run

pytestmark = pytest.mark.root


@pytest.fixture
def lab():
    from lab.requirements import require_packages
    require_packages(docker.PACKAGES)
    model = rawvxlan.RawVxlan("docker", runtime="docker")
    with running(rawvxlan.build, model) as net:
        yield net, model
    assert not any(leftovers().values())


def test_docker_vxlan_with_real_daemons_isolated_then_connected(lab):
    net, m = lab
    bridges = {}
    for c, host, ip in m.containers:
        client = docker.NodeDaemon(host).client
        network = client.networks.get(m.network_name)
        assert network.attrs["IPAM"]["Config"][0]["Subnet"] == m.docker_net
        container = client.containers.get(c)
        assert container.attrs["NetworkSettings"]["Networks"][m.network_name]["IPAddress"] == ip
        bridges[host] = docker.bridge_of(network.id)
        # the container's veth is on Docker's bridge in the host's own namespace
        assert run(net[host], f"ip -o link show master {bridges[host]}").count("veth") == 1
    (c1, _h1, ip1), (c2, _h2, ip2) = m.containers
    c1_container = docker.NodeDaemon("host1").client.containers.get(c1)
    assert c1_container.exec_run(["ping", "-c1", "-W1", ip2]).exit_code != 0
    assert not ping(net[c2], ip1, timeout=1).ok

    rawvxlan.connect(net, m)
    for host, bridge in bridges.items():
        assert f"master {bridge}" in run(net[host], "ip -o link show vxlan100")
    # the failed ARP of before may still be retrying: until the first answer, with a deadline
    deadline = time.monotonic() + 10
    while not ping(net[c1], ip2, timeout=1).ok:
        assert time.monotonic() < deadline, "c1 never reached c2 over vxlan100"
    with Capture(net["host1"], "eth0", "udp port 4789") as cap:
        result = ping(net[c1], ip2, count=3, timeout=3)
    assert result.received == 3, result
    assert any(s.vni == 100 and s.inner_src == ip1 and s.inner_dst == ip2 for s in cap.seen)
    got = c1_container.exec_run(["timeout", "5", "wget", "-qO-", f"http://{ip2}/"])
    assert (got.exit_code, got.output.decode().strip()) == (0, c2)  # c2's own server answered
