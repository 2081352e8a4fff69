"""How packets travel in an ovs-subnet cluster: pings, OVS traces, traceroute hops, captures."""

import sys
import time

import pytest

from lab.observe.capture import Capture
from lab.observe.flows import hit_deltas
from lab.observe.ping import ping
from lab.observe.probe import read_line
from lab.observe.trace import ofproto_trace
from lab.observe.traceroute import traceroute
from lab.planes.openshift.observe.trace import trace_pod
from lab.shell import run

pytestmark = pytest.mark.root


def test_same_node_pod_to_pod(lab):
    net, c = lab
    assert ping(net["pod1"], c.pod("pod2").ip, count=2).received == 2
    [(node, trace)] = trace_pod(net, c, "pod1", "pod2")
    assert node == "node1"
    assert trace.tables == [0, 20, 21, 30, 70, 80]
    assert trace.output_port == c.pod("pod2").ofport and trace.output_name == c.pod("pod2").veth


def test_cross_node_pod_to_pod_trace(lab):
    net, c = lab
    assert ping(net["pod1"], c.pod("pod3").ip, count=2).received == 2
    (src_node, src), (dst_node, dst) = trace_pod(net, c, "pod1", "pod3")
    assert (src_node, dst_node) == ("node1", "node2")
    assert src.tables == [0, 20, 21, 30, 90]
    assert src.output_name == "vxlan0" and src.tun_dst == c.hostsubnet("node2").host_ip
    assert dst.tables == [0, 10, 30, 70, 80]
    assert dst.output_name == c.pod("pod3").veth
    assert "tun_src=172.16.1.11" in dst.raw.splitlines()[0]


def test_cross_node_traceroute_is_one_hop(lab):
    net, c = lab
    hops = traceroute(net["pod1"], c.pod("pod3").ip, resolve=c.owner_of_ip)
    assert [(h.ip, h.name) for h in hops] == [(c.pod("pod3").ip, "pod3")]


def test_cross_node_capture_shows_vxlan_on_the_underlay(lab):
    net, c = lab
    n1, n2 = c.hostsubnet("node1"), c.hostsubnet("node2")
    with Capture(net["node1"], "eth0", f"udp port {c.network.vxlan_port}", vxlan_ports=(c.network.vxlan_port,)) as cap:
        assert ping(net["pod1"], c.pod("pod3").ip, count=2).received == 2
    vx = [s for s in cap.seen if s.is_vxlan and s.inner_proto == "icmp"]
    assert vx, f"no VXLAN-encapsulated ICMP on node1 eth0: {[s.summary for s in cap.seen]}"
    outbound = [s for s in vx if s.src == n1.host_ip]
    inbound = [s for s in vx if s.src == n2.host_ip]
    assert outbound and inbound
    for s in outbound:
        assert (s.dst, s.dport, s.vni, s.inner_src, s.inner_dst) == (
            n2.host_ip, 4789, 0, c.pod("pod1").ip, c.pod("pod3").ip)
    for s in inbound:
        assert (s.dst, s.vni, s.inner_src, s.inner_dst) == (n1.host_ip, 0, c.pod("pod3").ip, c.pod("pod1").ip)


def test_cross_node_packets_hit_the_remote_subnet_flow(lab):
    net, c = lab
    deltas = hit_deltas(net["node1"], lambda: ping(net["pod1"], c.pod("pod4").ip, count=3))
    hit = {k: v for k, v in deltas.items() if k[0] == 90 and "10.129.0.0/23" in k[2]}
    assert hit and list(hit.values())[0] >= 3, deltas


@pytest.mark.parametrize("tun_src", ["172.16.1.11", "172.16.1.99"])
def test_tunnel_packet_from_unknown_node_is_dropped_in_table_10(lab, tun_src):
    net, c = lab
    p1, p2 = c.pod("pod1"), c.pod("pod2")
    trace = ofproto_trace(net["node1"], f"in_port=1,tun_src={tun_src},tun_dst=172.16.1.11,tun_id=0,icmp,"
                                        f"dl_src=0a:58:0a:81:00:02,dl_dst={p2.mac},nw_src=10.129.0.2,nw_dst={p2.ip}")
    assert trace.tables == [0, 10] and trace.dropped, trace.raw
    # a known node's tunnel packet goes through, so the drop above is table 10's doing
    ok = ofproto_trace(net["node1"], f"in_port=1,tun_src=172.16.1.12,tun_dst=172.16.1.11,tun_id=0,icmp,"
                                     f"dl_src=0a:58:0a:81:00:02,dl_dst={p1.mac},nw_src=10.129.0.2,nw_dst={p1.ip}")
    assert ok.tables == [0, 10, 30, 70, 80] and ok.output_port == p1.ofport


def _send_vxlan(net, c, sender: str, inner_src: str, inner_dst: str) -> None:
    """Three VXLAN datagrams (VNI 0, an ICMP echo inside) from `sender`'s own address to node1's VXLAN port."""
    src, dst = c.owner_of_ip(inner_src), c.owner_of_ip(inner_dst)
    args = [c.hostsubnet("node1").host_ip, c.network.vxlan_port, 0, c.pod(src).mac, c.pod(dst).mac, inner_src, inner_dst]
    run(net[sender], f"{sys.executable} -m lab.observe.craft vxlan {' '.join(map(str, args))}")


def _wait_neighbour_is_the_node_ip_device(net, c, sender: str, node: str, timeout: float = 5.0) -> None:
    """sender's ARP entry for node's IP must name the device that holds that IP (br-phy on netdev,
    eth0 on the kernel datapath): on netdev, eth0 without an address can answer ARP for it too,
    and a datagram sent to that MAC reaches the kernel, not the tunnel."""
    ip = c.hostsubnet(node).host_ip
    dev = "br-phy" if net.datapath == "netdev" else "eth0"
    want = run(net[node], f"cat /sys/class/net/{dev}/address").strip()
    deadline = time.monotonic() + timeout
    while True:
        ping(net[sender], ip)
        neigh = run(net[sender], f"ip neigh show {ip}")
        if f"lladdr {want}" in neigh:
            return
        assert time.monotonic() < deadline, f"{sender} resolves {ip} to {neigh!r}, not {dev} {want}"
        time.sleep(0.2)


def test_real_vxlan_frame_from_a_foreign_source_is_dropped_in_table_10(lab):
    """ext (172.16.1.254) is on the underlay but no node: OVS decapsulates its frame, table 10 drops it."""
    net, c = lab
    p1, p3, ext = c.pod("pod1"), c.pod("pod3"), c.external
    port = c.network.vxlan_port
    _wait_neighbour_is_the_node_ip_device(net, c, "ext", "node1")
    _wait_neighbour_is_the_node_ip_device(net, c, "node2", "node1")
    with Capture(net["node1"], "eth0", f"udp port {port} and src host {ext.ip}", vxlan_ports=(port,)) as wire, \
            Capture(net["pod1"], "eth0", f"icmp and src host {p3.ip}") as at_pod:
        deltas = hit_deltas(net["node1"], lambda: _send_vxlan(net, c, "ext", p3.ip, p1.ip))
    arrived = [s for s in wire.seen if s.dport == port and s.vni == 0 and s.inner_dst == p1.ip]
    assert len(arrived) == 3, [s.summary for s in wire.seen]  # the frames did reach node1's NIC
    assert deltas.get((0, 200, "ip,in_port=1,nw_src=10.128.0.0/14")) == 3, deltas  # decapsulated into br0 by vxlan0
    assert deltas.get((10, 0, "")) == 3, deltas  # and dropped by table 10's last flow
    assert at_pod.packets == []
    # the control: node2 (a known tunnel source) sending the same datagrams reaches pod1
    with Capture(net["pod1"], "eth0", f"icmp and src host {p3.ip}") as control:
        deltas = hit_deltas(net["node1"], lambda: _send_vxlan(net, c, "node2", p3.ip, p1.ip))
    assert deltas.get((10, 100, f"tun_src={c.hostsubnet('node2').host_ip}"), 0) >= 3, deltas
    assert (10, 0, "") not in deltas, deltas
    assert len([s for s in control.seen if s.dst == p1.ip]) == 3, [s.summary for s in control.seen]


def test_pod_to_external_is_masqueraded(lab):
    net, c = lab
    ext = c.external
    node_ip, gw = c.hostsubnet("node1").host_ip, c.hostsubnet("node1").gateway
    pod = c.pod("pod1")
    with Capture(net["node1"], "tun0", "icmp") as on_tun0, Capture(net["node1"], "eth0", "icmp") as on_eth0:
        assert ping(net["pod1"], ext.ip, count=2).received == 2
    assert any(s.src == pod.ip and s.dst == ext.ip for s in on_tun0.seen), [s.summary for s in on_tun0.seen]
    requests = [s for s in on_eth0.seen if s.dst == ext.ip]
    assert requests and all(s.src == node_ip for s in requests), [s.summary for s in on_eth0.seen]
    assert not [s for s in on_eth0.seen if pod.ip in (s.src, s.dst)]
    (_, trace), = trace_pod(net, c, "pod1", "ext")
    assert trace.tables == [0, 20, 21, 30, 100, 101] and trace.output_name == "tun0"
    hops = traceroute(net["pod1"], ext.ip, resolve=c.owner_of_ip)
    assert hops[0].ip == gw and hops[0].name == "node1"
    assert hops[-1].name == "ext"


def test_node_reaches_local_and_remote_pods_through_tun0(lab):
    net, c = lab
    gw = c.hostsubnet("node1").gateway
    with Capture(net["node1"], "tun0", "icmp") as cap:
        assert ping(net["node1"], c.pod("pod1").ip).ok
        assert ping(net["node1"], c.pod("pod3").ip).ok
    for pod in ("pod1", "pod3"):
        assert any(s.src == gw and s.dst == c.pod(pod).ip for s in cap.seen), [s.summary for s in cap.seen]


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_tcp_and_udp_across_nodes(lab, proto):
    net, c = lab
    server = net["pod3"].popen([sys.executable, "-m", "lab.observe.probe", "serve", proto, "5000", "1"])
    try:
        assert read_line(server.stdout, timeout=5).strip() == b"ready"
        answer = net["pod1"].cmd(f"{sys.executable} -m lab.observe.probe ask {proto} {c.pod('pod3').ip} 5000 hello")
        assert answer.strip() == f"hello from {c.pod('pod1').ip}"
    finally:
        server.kill()
        server.wait()


def test_pod_to_external_goes_through_br0_and_tun0_not_around_them(lab):
    """The node-side veth must never let the node's kernel route a pod's packets itself (on the userspace
    datapath the kernel also sees every frame a veth receives): the pod's gateway MAC is tun0's, and a
    ping to the external host moves table 101's output:tun0 flow by exactly the requests sent."""
    net, c = lab
    node1, pod1 = net["node1"], net["pod1"]
    run(pod1, "ip neigh flush dev eth0")
    deltas = hit_deltas(node1, lambda: ping(pod1, c.external.ip, count=3))
    tun0_mac = run(node1, "cat /sys/class/net/tun0/address").strip()
    gateway = c.hostsubnet("node1").gateway
    assert tun0_mac in run(pod1, f"ip neigh show {gateway} dev eth0"), "the pod's gateway MAC is not tun0's"
    out_101 = [n for (table, _prio, match), n in deltas.items() if table == 101]
    assert sum(out_101) == 3, deltas  # every echo request left through br0's table 101 to tun0
