"""Non-default `lab run` options reach the kernel: one small lab (2 nodes x 1 pod) per option set, and for each
option what the kernel or the switch shows: the VXLAN port on the wire, the MTU on the pod's eth0 and tun0 and
the largest don't-fragment ping that passes (one byte more: "message too long"), addresses in the custom
cluster CIDR, host-subnet length, underlay and Flannel network."""

import ipaddress
import re

import pytest

from lab.observe.capture import Capture
from lab.shell import bounded

pytestmark = pytest.mark.root

IP_ICMP = 20 + 8  # a ping's payload fills the MTU less the IPv4 and ICMP headers


def df_ping(lab, src: str, dst: str, payload: int) -> str:
    """One don't-fragment echo of `payload` bytes; ping's own output (its error lines included)."""
    return bounded(lab.host(src), f"ping -n -c1 -W3 -M do -s {payload} {lab.ip_of(dst)} 2>&1 || true", 20)


def test_openshift_cidr_subnet_length_underlay_mtu_and_vxlan_port(sdnlab, record_datapath):
    lab = sdnlab("openshift", nodes=2, pods_per_node=1, cluster_cidr="10.200.0.0/16", host_subnet_length=8,
                 underlay="192.168.77.0/24", mtu=1400, vxlan_port=4790)
    c = lab.model
    # the addresses: /24 host subnets (host-subnet-length 8) inside 10.200.0.0/16, node IPs on the underlay
    for hs, pod in zip(c.hostsubnets, ("pod1", "pod2"), strict=True):
        subnet = ipaddress.ip_network(hs.subnet)
        assert subnet.prefixlen == 24 and subnet.subnet_of(ipaddress.ip_network("10.200.0.0/16")), hs
        assert ipaddress.ip_address(hs.host_ip) in ipaddress.ip_network("192.168.77.0/24"), hs
        addr = lab.cmd(pod, "ip -4 -o addr show dev eth0")
        assert re.search(rf"inet {re.escape(c.pod(pod).ip)}/24\b", addr) and c.pod(pod).node == hs.name, addr
        assert ipaddress.ip_address(c.pod(pod).ip) in subnet
        device = "eth0" if record_datapath(lab.net.datapath) == "system" else "br-phy"
        assert f"inet {hs.host_ip}/24" in lab.cmd(hs.name, f"ip -4 -o addr show dev {device}")
        assert re.search(r"^10\.200\.0\.0/16 ", lab.cmd(hs.name, "ip route show dev tun0"), re.M), hs.name
        # the MTU, as the kernel holds it on the pod's eth0 and the node's tun0
        assert lab.cmd(pod, "cat /sys/class/net/eth0/mtu").strip() == "1400"
        assert lab.cmd(hs.name, "cat /sys/class/net/tun0/mtu").strip() == "1400"
    assert "10.200.0.0/16 dev eth0" in lab.cmd("pod1", "ip route")
    # the VXLAN port: the switch's port option, and the packets on node2's underlay
    assert lab.cmd("node1", "ovs-vsctl get interface vxlan0 options:dst_port").strip() == '"4790"'
    with Capture(lab.host("node2"), "eth0", "udp", vxlan_ports=(4790,)) as cap:
        assert " 0% packet loss" in df_ping(lab, "pod1", "pod2", 56)
    tunnelled = [s for s in cap.seen if s.vni is not None]
    assert tunnelled and all(s.dport == 4790 for s in tunnelled), [s.summary for s in cap.seen]
    assert {(s.inner_src, s.inner_dst) for s in tunnelled if s.inner_proto == "icmp"} == \
        {(c.pod("pod1").ip, c.pod("pod2").ip), (c.pod("pod2").ip, c.pod("pod1").ip)}, [s.summary for s in tunnelled]
    # pod-to-pod PMTU across the tunnel: exactly the MTU passes with DF, one byte more is refused at the source
    fits = df_ping(lab, "pod1", "pod2", 1400 - IP_ICMP)
    assert " 0% packet loss" in fits, fits
    too_big = df_ping(lab, "pod1", "pod2", 1400 - IP_ICMP + 1)
    assert "message too long" in too_big and "mtu=1400" in too_big, too_big


def test_default_openshift_pmtu_is_the_1450_mtu_across_the_tunnel(sdnlab):
    lab = sdnlab("openshift", nodes=2, pods_per_node=1)
    assert lab.cmd("pod1", "cat /sys/class/net/eth0/mtu").strip() == "1450"
    fits = df_ping(lab, "pod1", "pod2", 1450 - IP_ICMP)
    assert " 0% packet loss" in fits, fits
    too_big = df_ping(lab, "pod1", "pod2", 1450 - IP_ICMP + 1)
    assert "message too long" in too_big and "mtu=1450" in too_big, too_big


def test_flannel_network_option_gives_the_leases_and_pod_addresses(sdnlab):
    lab = sdnlab("flannel", backend="vxlan", nodes=2, pods_per_node=1, network="10.50.0.0/16")
    c = lab.model
    network = ipaddress.ip_network("10.50.0.0/16")
    for node in c.nodes:
        lease = ipaddress.ip_network(node.subnet)
        assert lease.subnet_of(network) and lease.prefixlen == 24, node
        assert f"inet {node.gateway}/24" in lab.cmd(node.name, "ip -4 -o addr show dev cni0")
        assert f"inet {lease.network_address}/32" in lab.cmd(node.name, "ip -4 -o addr show dev flannel.1")
        for pod in c.pods_on(node.name):
            assert ipaddress.ip_address(pod.ip) in lease
            assert re.search(rf"inet {re.escape(pod.ip)}/24\b", lab.cmd(pod.name, "ip -4 -o addr show dev eth0"))
    other = c.nodes[1]
    assert f"{other.subnet} via {ipaddress.ip_network(other.subnet).network_address} dev flannel.1" in \
        lab.cmd(c.nodes[0].name, "ip route")
    a, b = c.pods[0].name, c.pods[1].name
    assert c.pod(a).node != c.pod(b).node
    lab.assert_reachable(a, b)
