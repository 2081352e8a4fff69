"""The gaming attempts of issue 15, each on a real lab, graded by the exercise's own grader: a fix that only
makes a ping answer (a route that skips the NAT, a local alias, traffic on another VNI) must not pass.
Each test builds its lab itself (no lab.workshop.verify), so it also runs against an older catalogue."""

from contextlib import contextmanager

import pytest

from lab import paths
from lab.workshop import session
from lab.workshop.catalogue import CATALOGUE

pytestmark = pytest.mark.root


@contextmanager
def started(ex_id: str, suffix: str):
    """The exercise's lab built, its record and setup in place (as `lab workshop start` does); stopped after."""
    import topologies
    from lab import run
    from lab.workshop.command import _run_args
    from lab.workshop.live import hold, release
    ex = CATALOGUE[ex_id]
    name = (paths.lab_name()[:8] + suffix)[:12]
    topology = topologies.load(ex.topology)
    args, model = run.from_argv(topology, _run_args(ex, name)[1:])
    net = run.start(topology, args, model, name=name)
    try:
        hold(name, topology.control_handlers(net, model))
        yield session.begin(name, ex, "en", topology.inventory(net, model))
    finally:
        release(name)
        net.stop()


def failing(name: str) -> list:
    g = session.check(name)
    print("\n".join(f"{'PASS' if r.ok else 'FAIL'} {r.criterion}: {r.seen}" for r in g.results))
    return [r.criterion for r in g.results if not r.ok]


def test_flannel_masquerade_is_not_passed_by_a_route_back_on_ext():
    """ext learns a route to the pod network: pod1's pings to ext are answered, unNATed."""
    with started("flannel-masquerade", "gm1") as lab:
        lab.sh("ext", f"ip route replace 10.244.0.0/16 via {lab.underlay_ip('node1')}")
        ext = lab.ip_of("ext")
        assert lab.ping("pod1", ext)  # the kernel: the ping works ...
        assert lab.first_packet_source("ext", "eth0", "icmp and icmp[0] == 8", "pod1",
                                       f"ping -n -c1 -W1 {ext}") == lab.ip_of("pod1")  # ... without any NAT
        assert any("node1's address" in c or "MASQUERADE" in c for c in failing(lab.name))


def test_flannel_masquerade_is_not_passed_by_a_rule_that_never_matches_and_a_local_alias():
    """The issue's attempt: MASQUERADE for a foreign source, ext's address on pod1's loopback."""
    with started("flannel-masquerade", "gm2") as lab:
        lab.sh("node1", "iptables -t nat -A FLANNEL-POSTRTG -s 10.99.0.0/16 -j MASQUERADE")
        lab.sh("pod1", f"ip addr add {lab.ip_of('ext')}/32 dev lo")
        assert lab.ping("pod1", lab.ip_of("ext"))  # answered by pod1 itself
        assert failing(lab.name)


def test_vxlan_by_hand_is_not_passed_with_the_traffic_on_another_vni():
    """vxlan20 (VNI 20) up but unused, the overlay addresses on vxlan21 (VNI 21): both pings work."""
    with started("vxlan-by-hand", "gv1") as lab:
        for host, peer, overlay in (("host1", "172.16.1.12", "10.0.136.11"), ("host2", "172.16.1.11", "10.0.136.12")):
            lab.sh(host, f"ip link add vxlan20 type vxlan id 20 remote {peer} dstport 4789 dev eth0 && "
                         f"ip link set vxlan20 up && ip link add vxlan21 type vxlan id 21 remote {peer} dstport 4789 "
                         f"dev eth0 && ip addr add {overlay}/24 dev vxlan21 && ip link set vxlan21 up")
        assert lab.ping("host1", "10.0.136.12") and lab.ping("host2", "10.0.136.11")
        seen = lab.first_packet("host2", "eth0", "udp dst port 4789 and udp[39] = 1", "host1", "ping -n -c1 -W1 10.0.136.12")
        assert "vni 21" in seen  # the wire: VNI 21
        assert failing(lab.name)


def test_docker_vxlan_is_not_passed_with_the_traffic_on_another_vni():
    """vxlan100 (VNI 100) in br0 pointing nowhere, vxlan101 (VNI 101) in br0 carrying c1's pings."""
    with started("docker-vxlan", "gv2") as lab:
        for host, peer, nowhere in (("host1", "172.16.1.12", "172.16.1.99"), ("host2", "172.16.1.11", "172.16.1.98")):
            for dev, vni, remote in (("vxlan100", 100, nowhere), ("vxlan101", 101, peer)):
                lab.sh(host, f"ip link add {dev} type vxlan id {vni} remote {remote} dstport 4789 dev eth0 && "
                             f"ip link set {dev} master br0 && ip link set {dev} up")
        assert lab.ping("c1", "172.20.0.3")
        seen = lab.first_packet("host2", "eth0", "udp dst port 4789 and udp[39] = 1", "c1", "ping -n -c1 -W1 172.20.0.3")
        assert "vni 101" in seen
        assert failing(lab.name)
