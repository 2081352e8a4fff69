"""Flannel vxlan on real kernel objects: paths, entries, MTU, wire captures, leases in etcd."""

import json
import os

import pytest
from scapy.layers.inet import IP
from scapy.layers.vxlan import VXLAN

from lab.observe.capture import Capture
from lab.observe.mtu import frag_needed, link_mtu, raised_mtu
from lab.observe.ping import ping
from lab.planes.flannel.render import Lease, expected_vxlan_state
from lab.shell import run

pytestmark = pytest.mark.root


def leases(net, cluster):
    out = run(net["etcd"], f"etcdctl --endpoints http://{cluster.etcd_ip}:2379 get /coreos.com/network/subnets/ --prefix")
    lines = out.splitlines()
    return [Lease.from_etcd(k, v) for k, v in zip(lines[::2], lines[1::2], strict=True)]


def test_vxlan_pod_to_pod_across_nodes(vxlan_lab):
    net, c = vxlan_lab
    assert ping(net["pod1"], c.pod("pod3").ip, count=2).received == 2
    assert ping(net["pod4"], c.pod("pod2").ip, count=2).received == 2


def test_vxlan_node_to_remote_pod_answers_with_ttl_63(vxlan_lab):
    net, c = vxlan_lab
    out = net["node1"].cmd(f"ping -c1 -W2 {c.pod('pod3').ip}")
    assert "ttl=63" in out, out


def test_vxlan_on_the_wire_is_udp_8472_vni_1(vxlan_lab):
    net, c = vxlan_lab
    n1, n2 = c.node("node1"), c.node("node2")
    with Capture(net["node1"], "eth0", "udp port 8472", vxlan_ports=(8472,)) as cap:
        assert ping(net["pod1"], c.pod("pod3").ip, count=2).ok
    icmp = [s for s in cap.seen if s.inner_proto == "icmp"]
    assert icmp, [s.summary for s in cap.seen]
    for s in icmp:
        assert s.dport == 8472 and s.vni == 1
        assert {s.src, s.dst} == {n1.ip, n2.ip}
        assert {s.inner_src, s.inner_dst} == {c.pod("pod1").ip, c.pod("pod3").ip}


def test_vxlan_entries_are_exactly_one_per_remote_lease(vxlan_lab):
    net, c = vxlan_lab
    all_leases = leases(net, c)
    for node in c.nodes:
        remote = [lease for lease in all_leases if lease.subnet != node.subnet]
        want = expected_vxlan_state(remote)
        host = net[node.name]
        got = {
            "route": sorted(line.strip() for line in run(host, "ip route show dev flannel.1").splitlines()),
            "neigh": sorted(line.strip() for line in run(host, "ip neigh show dev flannel.1").splitlines()),
            "fdb": sorted(line.strip() for line in run(host, "bridge fdb show dev flannel.1").splitlines()),
        }
        assert got == want, node.name
        details = run(host, "ip -d link show flannel.1")
        for word in ("vxlan id 1", f"local {node.ip}", "dev eth0", "dstport 8472", "nolearning", "mtu 1450"):
            assert word in details, (word, details)


def test_leases_and_config_are_in_etcd(vxlan_lab):
    net, c = vxlan_lab
    config = run(net["node1"], "etcdctl get /coreos.com/network/config --print-value-only")
    assert json.loads(config) == {"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}}
    got = {lease.subnet: lease for lease in leases(net, c)}
    assert sorted(got) == ["10.244.0.0/24", "10.244.1.0/24"]
    for node in c.nodes:
        mac = run(net[node.name], "cat /sys/class/net/flannel.1/address")
        assert (got[node.subnet].public_ip, got[node.subnet].backend, got[node.subnet].vtep_mac) == (node.ip, "vxlan", mac)
        # each node sees its own file where flanneld puts it
        assert run(net[node.name], "cat /run/flannel/subnet.env").splitlines() == [
            "FLANNEL_NETWORK=10.244.0.0/16", f"FLANNEL_SUBNET={node.gateway}/24", "FLANNEL_MTU=1450",
            "FLANNEL_IPMASQ=true"]
    assert not os.path.exists("/run/flannel/subnet.env")  # and the machine itself sees none of it


def test_pod_to_external_is_masqueraded(vxlan_lab):
    net, c = vxlan_lab
    with Capture(net["ext"], "eth0", "icmp") as cap:
        assert ping(net["pod1"], c.external_ip, count=2).received == 2
    requests = [s for s in cap.seen if s.dst == c.external_ip]
    assert requests and all(s.src == c.node("node1").ip for s in requests), [s.summary for s in cap.seen]


def pod_path(net, c, pod: str):
    """The links a pod's packet crosses before the node routes it: its eth0, the host veth, cni0."""
    p = c.pod(pod)
    return [(net[pod], "eth0"), (net[p.node], p.veth), (net[p.node], "cni0")]


def test_vxlan_mtu_limit_is_the_tunnel_on_the_path(vxlan_lab):
    """With pod1's own links widened to 1500, a 1451-byte DF packet leaves the pod and node1 refuses it:
    flannel.1 (1450 = 1500 minus 50 bytes of VXLAN over IPv4) answers "fragmentation needed, MTU 1450"."""
    net, c = vxlan_lab
    p1, p3, n1 = c.pod("pod1"), c.pod("pod3"), c.node("node1")
    assert link_mtu(net["pod1"], "eth0") == 1450 and link_mtu(net["node1"], "flannel.1") == 1450
    with raised_mtu(pod_path(net, c, "pod1"), 1500):
        with Capture(net["node1"], "cni0", f"icmp and src host {p1.ip}") as left, \
                Capture(net["pod1"], "eth0", "icmp[icmptype] == 3") as errors, \
                Capture(net["node1"], "eth0", "udp port 8472", vxlan_ports=(8472,)) as wire:
            assert ping(net["pod1"], p3.ip, extra="-M do -s 1422").ok  # 1450 bytes: the largest the tunnel takes
            assert not ping(net["pod1"], p3.ip, extra="-M do -s 1423").ok  # 1451 bytes
    assert 1451 in [p[IP].len for p in left.packets], "the 1451-byte packet never left pod1"
    assert frag_needed(errors.packets) == [(n1.gateway, 1450, p3.ip, 1451)]
    inner = [p[VXLAN][IP].len for p in wire.packets if VXLAN in p and IP in p[VXLAN]]
    assert 1450 in inner and max(inner) == 1450, inner  # the tunnel carried the fitting one, never the other
