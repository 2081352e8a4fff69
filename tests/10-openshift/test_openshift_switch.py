"""What the switches hold and refuse: golden flow dumps of every br0, anti-spoofing in table 20, clean logs."""

import os
import re
import sys
from typing import List

import pytest

from lab.observe.capture import Capture
from lab.observe.flows import hit_deltas
from lab.shell import run

pytestmark = pytest.mark.root


GOLDEN = os.path.join(os.path.dirname(__file__), "golden")


def normalised_dump(node) -> List[str]:
    """`dump-flows --no-stats` as OVS prints it, one flow a line, sorted (dump order is not stable)."""
    out = run(node, "ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0")
    return sorted(line.strip() for line in out.splitlines() if "actions=" in line)


def golden(node: str) -> List[str]:
    with open(os.path.join(GOLDEN, f"{node}.flows")) as f:
        return sorted(line.rstrip("\n") for line in f if line.strip() and not line.startswith("#"))


def test_each_br0_matches_its_hand_written_golden_dump(lab):
    """The goldens are OpenShift 3.11's flows written by hand in OVS's (3.1) dump syntax, not the renderer's
    output. br0's OpenFlow tables are the same on the kernel and the userspace datapath; the one thing a
    datapath could change, the port numbers the flows name, is checked first."""
    net, c = lab
    assert [hs.name for hs in c.hostsubnets] == ["node1", "node2"]  # the lab the goldens describe
    for node in ("node1", "node2"):
        # the goldens name ports by number: vxlan0 1, tun0 2, pods 3 and 4 on either datapath
        ports = run(net[node], "ovs-vsctl --format=csv --no-headings --columns=name,ofport list interface")
        ofports = dict(line.replace('"', "").split(",") for line in ports.splitlines())
        pods = [p.veth for p in c.pods_on(node)]
        assert [ofports["vxlan0"], ofports["tun0"]] + [ofports[v] for v in pods] == ["1", "2", "3", "4"], ofports
        got, want = normalised_dump(net[node]), golden(node)
        missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
        assert not missing and not extra and len(got) == len(want), (node, missing, extra)


def test_bridge_setup_matches_a_real_node(lab, record_datapath):
    net, c = lab
    node = net["node1"]
    assert run(node, "ovs-vsctl get bridge br0 fail_mode protocols datapath_type").split() == \
        ["secure", "[OpenFlow13]", net.datapath]
    ports = run(node, "ovs-vsctl --format=csv --no-headings --columns=name,ofport list interface")
    ofports = dict(line.replace('"', "").split(",") for line in ports.splitlines())
    assert ofports["vxlan0"] == "1" and ofports["tun0"] == "2"
    assert ofports[c.pod("pod1").veth] == "3" and ofports[c.pod("pod2").veth] == "4"
    assert run(node, "ovs-vsctl get interface vxlan0 options:remote_ip options:key options:dst_port").split() == \
        ['flow', 'flow', '"4789"']
    assert "mtu 1450" in run(node, "ip link show tun0")
    routes = run(node, "ip route show dev tun0")
    assert "10.128.0.0/14 scope link" in routes and "172.30.0.0/16" in routes
    assert "10.128.0.0/23" not in routes
    pod_routes = run(net["pod1"], "ip route")
    for want in ("default via 10.128.0.1 dev eth0", "10.128.0.0/14 dev eth0", "224.0.0.0/4 dev eth0"):
        assert want in pod_routes
    assert run(node, "iptables -t nat -S OPENSHIFT-MASQUERADE").splitlines()[1].endswith("-j MASQUERADE")
    links = run(node, "ip -o link")
    if record_datapath(net.datapath) == "system":  # the kernel's own VXLAN port, as on a real node; the IP stays on eth0
        assert "vxlan_sys_4789" in links and "br-phy" not in links
        assert f"{c.hostsubnet('node1').host_ip}/24" in run(node, "ip -o addr show dev eth0")
    else:  # userspace tunnelling: the node IP sits on the br-phy bridge that holds eth0
        assert "br-phy" in links and "vxlan_sys" not in links
        assert f"{c.hostsubnet('node1').host_ip}/24" in run(node, "ip -o addr show dev br-phy")
    expected = os.environ.get("SDNLAB_EXPECT_DATAPATH")  # set where the datapath is known (the CI VM)
    assert expected in (None, net.datapath)


def _craft(net, pod, *args):
    return run(net[pod], f"{sys.executable} -m lab.observe.craft {' '.join(args)}")


def test_ip_spoofing_is_dropped_in_table_20(lab):
    net, c = lab
    p1, p2, p3 = c.pod("pod1"), c.pod("pod2"), c.pod("pod3")
    bpf = f"icmp and src host {p2.ip}"
    with Capture(net["pod3"], "eth0", bpf) as spoofed:
        deltas = hit_deltas(net["node1"], lambda: _craft(net, "pod1", "ip", "eth0", p1.mac, p3.mac, p2.ip, p3.ip))
    assert spoofed.packets == []
    assert deltas.get((20, 0, "")) == 3, deltas
    # the control: pod2 sending the same frame with its own address is delivered
    with Capture(net["pod3"], "eth0", bpf) as honest:
        _craft(net, "pod2", "ip", "eth0", p2.mac, p3.mac, p2.ip, p3.ip)
    assert len([s for s in honest.seen if s.dst == p3.ip]) == 3


def test_arp_with_a_wrong_sender_mac_is_dropped_in_table_20(lab):
    net, c = lab
    p1, p2 = c.pod("pod1"), c.pod("pod2")
    with Capture(net["pod2"], "eth0", f"arp and ether src {p1.mac}") as cap:
        deltas = hit_deltas(net["node1"], lambda: _craft(net, "pod1", "arp", "eth0", p1.mac, p2.mac, p1.ip, p2.ip))
    assert cap.packets == []
    assert deltas.get((20, 0, "")) == 3, deltas
    with Capture(net["pod2"], "eth0", f"arp and ether src {p1.mac}") as control:
        _craft(net, "pod1", "arp", "eth0", p1.mac, p1.mac, p1.ip, p2.ip)
    assert len([s for s in control.seen if s.proto == "arp" and s.src == p1.ip]) >= 3


EXPECTED_LOG = re.compile(
    r"|".join([
        r"connection failed \(No such file or directory\)",  # ovs-vsctl/ovs-ofctl racing the socket at start
        # kernel datapath: tun0 is created with its mtu_request in one transaction, as openshift-sdn
        # does; OVS tries the MTU once before the kernel device exists, then applies it (checked above)
        r"failed to set MTU for network device tun0: No such device",
    ])
)


def test_vswitchd_logs_hold_no_unexpected_warnings(lab):
    net, c = lab
    for hs in c.hostsubnets:
        with open(os.path.join(net[hs.name].dir, "ovs", "ovs-vswitchd.log")) as f:
            bad = [line for line in f if re.search(r"\|(WARN|ERR|EMER)\|", line) and not EXPECTED_LOG.search(line)]
        assert not bad, "".join(bad)
