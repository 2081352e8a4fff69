"""EgressNetworkPolicy (table 101), multicast (tables 110/111/120) and an egress IP on the networkpolicy plugin,
on real switches: 2 nodes x 3 pods (pod1 p1, pod2 p2, pod3 p1 on node1; pod4 p2, pod5 p1, pod6 p2 on node2)."""

import sys

import pytest

from lab.daemons import ovs
from lab.front.pytest_plugin import built_lab
from lab.observe.capture import Capture
from lab.observe.ping import ping
from lab.observe.probe import read_line
from lab.planes.openshift import live, realize
from lab.planes.openshift.api import egress as api_egress
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.model import ClusterNetwork, plugin_name
from lab.planes.openshift.node.render import BRIDGE, render_node
from lab.planes.openshift.observe.trace import trace_pod
from lab.shell import run

pytestmark = pytest.mark.root

GROUP, PORT = "239.1.1.1", 5555
MULTICAST = "netnamespace.network.openshift.io/multicast-enabled"


@pytest.fixture(scope="module")
def np3_lab():
    cluster = build_cluster(nodes=2, pods_per_node=3, network=ClusterNetwork(plugin=plugin_name("networkpolicy")))
    with built_lab(realize.build, cluster, ovs.PACKAGES) as lab:
        yield lab


def assert_switches_hold_their_render(net, c, helpers):
    for hs in c.hostsubnets:
        assert helpers.differs_from_render(net[hs.name], render_node(c, hs.name, net.datapath).flows(BRIDGE)) == "", hs.name


def reach(net, host, ip) -> bool:
    return ping(net[host], ip, count=1, timeout=2).ok


def test_egress_network_policy_denies_and_allows_by_cidr(np3_lab, helpers):
    net, c = np3_lab
    ext, node2_ip = c.external.ip, c.hostsubnet("node2").host_ip
    assert [(p.name, p.namespace, p.node) for p in c.pods][:2] == [("pod1", "p1", "node1"), ("pod2", "p2", "node1")]
    assert reach(net, "pod1", ext) and reach(net, "pod1", node2_ip)
    try:
        # the external host's CIDR denied for p1: unreachable from p1's pods, reachable from p2's
        api_egress.set_egress_network_policy(c, "p1", "default", [{"type": "Deny", "to": {"cidrSelector": f"{ext}/32"}}])
        realize.apply_change(net, c)
        assert_switches_hold_their_render(net, c, helpers)
        assert not reach(net, "pod1", ext) and not reach(net, "pod5", ext)
        assert reach(net, "pod2", ext) and reach(net, "pod1", node2_ip)
        hops = trace_pod(net, c, "pod1", c.external.name)
        assert hops[0][1].dropped and hops[0][1].path.endswith("30 > 100 > 101"), hops[0][1].summary()
        # an allowed CIDR ahead of a deny-all stays reachable; everything else outside is dropped
        api_egress.set_egress_network_policy(c, "p1", "default", [{"type": "Allow", "to": {"cidrSelector": f"{ext}/32"}},
                                                              {"type": "Deny", "to": {"cidrSelector": "0.0.0.0/0"}}])
        realize.apply_change(net, c)
        assert_switches_hold_their_render(net, c, helpers)
        assert reach(net, "pod1", ext) and not reach(net, "pod1", node2_ip)
        assert reach(net, "pod2", node2_ip)
        assert reach(net, "pod1", c.pod("pod5").ip)  # the cluster network never meets table 101
    finally:
        c.egress_policies.clear()
        realize.apply_change(net, c)
    assert reach(net, "pod1", node2_ip)


def _listeners(net, hosts, seconds=4):
    procs = {}
    for h in hosts:
        procs[h] = net[h].popen([sys.executable, "-m", "lab.observe.mcast", "listen", GROUP, str(PORT), str(seconds)])
        assert read_line(procs[h].stdout, timeout=5).strip() == b"ready"
    return procs


def _heard(procs):
    out = {}
    for h, p in procs.items():
        text, _ = p.communicate(timeout=15)
        out[h] = [line for line in text.decode().splitlines() if line.strip()]
    return out


def multicast_heard(net, c, sender="pod1"):
    receivers = [p.host for p in c.pods if p.host != sender]
    procs = _listeners(net, receivers)
    net[sender].cmd(f"{sys.executable} -m lab.observe.mcast send {GROUP} {PORT} hello 3")
    return {h: bool(lines) for h, lines in _heard(procs).items()}


def test_multicast_reaches_the_namespace_on_every_node_only_when_annotated(np3_lab, helpers):
    net, c = np3_lab
    assert multicast_heard(net, c) == {h: False for h in ("pod2", "pod3", "pod4", "pod5", "pod6")}
    try:
        assert live.apply(net, c, f"annotate netnamespace p1 {MULTICAST}=true").output == "netnamespace.network.openshift.io/p1 annotated"
        assert_switches_hold_their_render(net, c, helpers)
        dump = run(net["node1"], "ovs-ofctl -O OpenFlow13 --no-names dump-flows br0")
        vnid = hex(c.netids["p1"])
        assert "table=110, n_packets" in dump and f"reg0={vnid} actions=goto_table:111" in dump
        with Capture(net["node1"], "eth0", "udp port 4789") as cap:
            heard = multicast_heard(net, c)
        # the same namespace on the same node (pod3) and on the other (pod5); never p2's pods
        assert heard == {"pod2": False, "pod3": True, "pod4": False, "pod5": True, "pod6": False}, heard
        copies = [s for s in cap.seen if s.inner_dst == GROUP]
        assert copies and all(s.dst == c.hostsubnet("node2").host_ip and s.vni == c.netids["p1"] for s in copies), \
            [s.summary for s in cap.seen]
    finally:
        live.apply(net, c, f"annotate netnamespace p1 {MULTICAST}-")
    assert_switches_hold_their_render(net, c, helpers)
    assert not any(multicast_heard(net, c).values())


def test_egress_ip_on_the_networkpolicy_plugin(np3_lab, helpers):
    net, c = np3_lab
    ip = "172.16.1.101"
    server = net[c.external.name].popen([sys.executable, "-m", "lab.observe.probe", "serve", "tcp", "5001", "20"])
    try:
        assert read_line(server.stdout, timeout=5).strip() == b"ready"
        live.apply(net, c, f"""patch hostsubnet node1 -p '{{"egressIPs": ["{ip}"]}}'""")
        live.apply(net, c, f"""patch netnamespace p2 -p '{{"egressIPs": ["{ip}"]}}'""")
        assert_switches_hold_their_render(net, c, helpers)
        ask = f"{sys.executable} -m lab.observe.probe ask tcp {c.external.ip} 5001 hi"
        assert f"hi from {ip}" in net["pod4"].cmd(ask)  # p2 on node2 leaves through node1's egress IP
        assert f"hi from {c.hostsubnet('node2').host_ip}" in net["pod5"].cmd(ask)  # p1 as before
    finally:
        server.kill()
        server.wait()
        live.apply(net, c, """patch netnamespace p2 -p '{"egressIPs": null}'""")
        live.apply(net, c, """patch hostsubnet node1 -p '{"egressIPs": []}'""")
    assert_switches_hold_their_render(net, c, helpers)


def test_two_egress_ips_fail_over_when_the_first_node_goes_offline(np3_lab, helpers):
    """Several egress IPs (manual HA): the first usable one; its node offline (the VXLAN monitor's verdict,
    applied when the cable is pulled) moves the project to the next, and back once the node returns."""
    net, c = np3_lab
    ip_node1, ip_node2 = "172.16.1.102", "172.16.1.103"
    server = net[c.external.name].popen([sys.executable, "-m", "lab.observe.probe", "serve", "tcp", "5002", "50"])
    ask = f"{sys.executable} -m lab.observe.probe ask tcp {c.external.ip} 5002 hi"
    try:
        assert read_line(server.stdout, timeout=5).strip() == b"ready"
        live.apply(net, c, f"""patch hostsubnet node1 -p '{{"egressIPs": ["{ip_node1}"]}}'""")
        live.apply(net, c, f"""patch hostsubnet node2 -p '{{"egressIPs": ["{ip_node2}"]}}'""")
        live.apply(net, c, f"""patch netnamespace p2 -p '{{"egressIPs": ["{ip_node2}", "{ip_node1}"]}}'""")
        assert f"hi from {ip_node2}" in net["pod2"].cmd(ask)  # pod2 on node1 leaves through node2
        changes = live.unplug_node(net, c, "node2")
        assert changes["node1"], "node1 moved p2 to its own egress IP"
        assert_switches_hold_their_render(net, c, helpers)
        assert f"hi from {ip_node1}" in net["pod2"].cmd(ask)
        live.unplug_node(net, c, "node2", plugged=True)
        assert f"hi from {ip_node2}" in net["pod2"].cmd(ask)
    finally:
        server.kill()
        server.wait()
        if "node2" in c.offline_nodes:
            live.unplug_node(net, c, "node2", plugged=True)
        live.apply(net, c, """patch netnamespace p2 -p '{"egressIPs": []}'""")
        live.apply(net, c, """patch hostsubnet node1 -p '{"egressIPs": []}'""")
        live.apply(net, c, """patch hostsubnet node2 -p '{"egressIPs": []}'""")
    assert_switches_hold_their_render(net, c, helpers)
