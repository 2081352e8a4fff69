"""EgressIP on the multitenant plugin, on real switches and kernels: project p1 leaves the cluster with
172.16.1.100 held by node2, whichever node its pods run on; p2 keeps its node's address. On the userspace
datapath the mark reaches the kernel through the lab's carrier (a marker MAC turned into the mark in mangle
PREROUTING); on the kernel datapath as pkt_mark, as on a real node.
Every event's switch and iptables change is compared with a golden written from the 3.11 Go source
(golden/change-egress-ip-*.diff, golden/README.md), not with the lab's renderer; the mt 2x2 lab's whole br0
equals golden/multitenant-node{1,2}.flows before and after every test."""

import re
import sys
import time

import pytest

from lab.daemons import ovs
from lab.front.pytest_plugin import built_lab
from lab.observe import golden
from lab.observe.capture import Capture
from lab.observe.probe import read_line
from lab.planes.openshift import live, realize
from lab.planes.openshift.api import egress as api_egress
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.model import ClusterNetwork, plugin_name
from lab.planes.openshift.node import egress
from lab.planes.openshift.observe.trace import trace_pod
from lab.shell import bounded, run

pytestmark = pytest.mark.root

EGRESS_IP = "172.16.1.100"
MARK = "0x153cff0"  # getMarkForVNID(p1 0x53cff1, masquerade bit 0x1): golden change-egress-ip-assigned-*.iptables.diff
PORT = 5000


@pytest.fixture(scope="module")
def eg_lab():
    cluster = build_cluster(nodes=2, pods_per_node=2, network=ClusterNetwork(plugin=plugin_name("multitenant")))
    with built_lab(realize.build, cluster, ovs.PACKAGES) as lab:
        net, c = lab
        server = net[c.external.name].popen([sys.executable, "-m", "lab.observe.probe", "serve", "tcp", str(PORT), "200"])
        try:
            assert read_line(server.stdout, timeout=5).strip() == b"ready"
            yield lab
        finally:
            server.kill()
            server.wait()


@pytest.fixture(autouse=True)
def br0_is_golden_before_and_after(eg_lab, helpers):
    """Each test starts from, and leaves, the 2x2 multitenant lab's br0 as golden/multitenant-node{1,2}.flows."""
    helpers.assert_br0_is_golden(eg_lab[0], "multitenant")
    yield
    helpers.assert_br0_is_golden(eg_lab[0], "multitenant")


def source_seen(net, c, pod: str, timeout: float = 3) -> str:
    """The source address the external host's listener sees for a new connection from the pod ('' if none)."""
    out = bounded(net[pod], f"{sys.executable} -m lab.observe.probe ask tcp {c.external.ip} {PORT} hi 2>&1 || true", 30)
    m = re.search(r"hi from ([\d.]+)", out)
    return m.group(1) if m else ""


def wait_source(net, c, pod: str, want: str, deadline_s: float = 10) -> str:
    """Poll (a changed render may need a moment for neighbours/conntrack) until the listener sees `want`."""
    end = time.monotonic() + deadline_s
    seen = source_seen(net, c, pod)
    while seen != want and time.monotonic() < end:
        time.sleep(0.2)
        seen = source_seen(net, c, pod)
    return seen


def snat_packets(node) -> int:
    out = run(node, "iptables -t nat -nvxL OPENSHIFT-MASQUERADE")
    line = next(line for line in out.splitlines() if f"to:{EGRESS_IP}" in line)
    return int(line.split()[0])


def set_egress(net, c, node_ips, ns_ips):
    api_egress.patch_hostsubnet(c, "node2", {"egressIPs": node_ips})
    api_egress.patch_netnamespace(c, "p1", {"egressIPs": ns_ips})
    return realize.apply_change(net, c)


def test_egress_ip_on_another_node_is_the_source_and_other_projects_keep_their_node_ip(eg_lab, helpers, record_datapath):
    net, c = eg_lab
    node1, node2 = c.hostsubnet("node1"), c.hostsubnet("node2")
    assert (c.pod("pod1").namespace, c.pod("pod1").node, c.pod("pod2").namespace) == ("p1", "node1", "p2")
    assert wait_source(net, c, "pod1", node1.host_ip) == node1.host_ip  # before: its own node's address
    vnid = c.netids["p1"]
    try:
        got = helpers.measure(net, lambda: set_egress(net, c, [EGRESS_IP], [EGRESS_IP]))
        helpers.assert_event(got, net.datapath, "change-egress-ip-assigned-node2-multitenant.diff",
                             "change-egress-ip-assigned-node2-multitenant.iptables.diff")
        # Prepend: the SNAT rule comes before the pod masquerade rule (iptables.go ensureEgressIPRules)
        assert golden.saved_iptables(net["node2"])[("nat", "OPENSHIFT-MASQUERADE")][0].endswith(f"--to-source {EGRESS_IP}")
        # the egress node holds the address on the interface with its node IP, and 3.11's rules
        dev = "eth0" if record_datapath(net.datapath) == "system" else "br-phy"
        assert f"inet {EGRESS_IP}/24" in run(net["node2"], f"ip -4 addr show dev {dev}")
        assert f"{EGRESS_IP}" not in run(net["node1"], "ip -4 addr")

        # the pod's node sends p1's external traffic through the tunnel to the egress node
        hops = trace_pod(net, c, "pod1", c.external.name, "tcp", PORT)
        assert hops[0][1].path.endswith("30 > 100"), hops[0][1].path
        assert hops[0][1].tun_dst == node2.host_ip and hops[0][1].output_name == "vxlan0", hops[0][1].summary()
        assert hops[1][0] == "node2" and hops[1][1].path.endswith("100 > 101"), hops[1][1].path

        before = snat_packets(net["node2"])
        with Capture(net["node2"], "eth0", f"tcp port {PORT}") as cap:
            assert wait_source(net, c, "pod1", EGRESS_IP) == EGRESS_IP
            assert wait_source(net, c, "pod3", EGRESS_IP) == EGRESS_IP  # p1's pod on the egress node itself
        assert any(s.src == EGRESS_IP and s.dst == c.external.ip for s in cap.seen), [s.summary for s in cap.seen]
        assert snat_packets(net["node2"]) > before
        if net.datapath != "system":  # the carrier: the marker MAC became the mark before nat
            mangle = run(net["node2"], "iptables -t mangle -nvxL PREROUTING")
            line = next((x for x in mangle.splitlines() if egress.carrier_mac(vnid) in x.lower()), "0 " + mangle)
            assert int(line.split()[0]) > 0 and f"MARK set {MARK}" in line, mangle
        # p2 still leaves with its own node's address
        assert source_seen(net, c, "pod2") == node1.host_ip
        assert source_seen(net, c, "pod4") == node2.host_ip
        # a new connection from outside to the egress IP is refused (OPENSHIFT-FIREWALL-ALLOW)
        refused = bounded(net[c.external.name], f"{sys.executable} -m lab.observe.probe ask tcp {EGRESS_IP} 22 x 2>&1 || true", 30)
        assert "refused" in refused.lower(), refused
    finally:
        got = helpers.measure(net, lambda: set_egress(net, c, [], []))
    # removing it: Release, then Normal (the assignment undone), and normal masquerading on the next connection
    helpers.assert_event(got, net.datapath, "change-egress-ip-assigned-node2-multitenant.diff",
                         "change-egress-ip-assigned-node2-multitenant.iptables.diff", undo=True)
    assert wait_source(net, c, "pod1", node1.host_ip) == node1.host_ip
    assert EGRESS_IP not in run(net["node2"], "ip -4 addr; iptables-save")


def test_egress_node_down_drops_the_projects_external_traffic_only(eg_lab, helpers):
    net, c = eg_lab
    node1 = c.hostsubnet("node1")
    try:
        set_egress(net, c, [EGRESS_IP], [EGRESS_IP])
        assert wait_source(net, c, "pod1", EGRESS_IP) == EGRESS_IP
        got = helpers.measure(net, lambda: live.unplug_node(net, c, "node2"))
        # one egress IP, its node unreachable: 3.11 keeps tunnelling to it, so p1's traffic is black-holed
        helpers.assert_event(got, net.datapath, "change-egress-ip-node-offline-single-ip-multitenant.diff")
        assert not any(got.result.values()), got.result  # and the lab's own report says so
        assert source_seen(net, c, "pod1") == ""
        assert source_seen(net, c, "pod2") == node1.host_ip  # p2 on node1: unaffected, at once
    finally:
        live.unplug_node(net, c, "node2", plugged=True)
        set_egress(net, c, [], [])
    assert wait_source(net, c, "pod1", node1.host_ip) == node1.host_ip


def test_a_namespace_asking_for_an_unhosted_egress_ip_is_dropped(eg_lab, helpers):
    net, c = eg_lab
    node1 = c.hostsubnet("node1")
    try:
        # nobody hosts it: table 100 drops p1's external traffic on every node
        got = helpers.measure(net, lambda: set_egress(net, c, [], [EGRESS_IP]))
        helpers.assert_event(got, net.datapath, "change-egress-ip-unhosted-multitenant.diff")
        assert source_seen(net, c, "pod1") == ""
        assert source_seen(net, c, "pod2") == node1.host_ip
    finally:
        got = helpers.measure(net, lambda: set_egress(net, c, [], []))
    helpers.assert_event(got, net.datapath, "change-egress-ip-unhosted-multitenant.diff", undo=True)
    assert wait_source(net, c, "pod1", node1.host_ip) == node1.host_ip


def test_an_egress_ip_moved_to_another_node_is_announced_and_used_at_once(eg_lab, helpers):
    """The new holder announces the address (3.11: arping -A), so the external host's cached neighbour
    entry follows it: the next connection already returns to the right node."""
    net, c = eg_lab
    ext = net[c.external.name]
    try:
        set_egress(net, c, [EGRESS_IP], [EGRESS_IP])
        assert wait_source(net, c, "pod1", EGRESS_IP) == EGRESS_IP  # ext now caches node2's MAC for it
        assert ovs.underlay_mac(c.hostsubnet("node2").host_ip) in run(ext, f"ip neigh show {EGRESS_IP}")
        api_egress.patch_hostsubnet(c, "node2", {"egressIPs": []})
        api_egress.patch_hostsubnet(c, "node1", {"egressIPs": [EGRESS_IP]})
        got = helpers.measure(net, lambda: realize.apply_change(net, c))
        helpers.assert_event(got, net.datapath, "change-egress-ip-moved-node2-to-node1-multitenant.diff",
                             "change-egress-ip-moved-node2-to-node1-multitenant.iptables.diff")
        assert ovs.underlay_mac(c.hostsubnet("node1").host_ip) in run(ext, f"ip neigh show {EGRESS_IP}")
        assert source_seen(net, c, "pod3") == EGRESS_IP  # p1's pod on node2 now leaves through node1
        assert EGRESS_IP not in run(net["node2"], "ip -4 addr")
    finally:
        api_egress.patch_hostsubnet(c, "node1", {"egressIPs": []})
        set_egress(net, c, [], [])


def test_automatic_mode_moves_the_ip_off_an_unplugged_node(eg_lab, helpers):
    """egressCIDRs on both nodes: the master places p1's egress IP; with its node offline it moves it to the
    other node, which claims and announces it; p1 keeps leaving with the same address."""
    net, c = eg_lab
    cidrs = '{"egressCIDRs": ["172.16.1.96/28"]}'
    try:
        def place():
            for node in ("node1", "node2"):
                live.apply(net, c, f"patch hostsubnet {node} -p '{cidrs}'")
            live.apply(net, c, f"""patch netnamespace p1 -p '{{"egressIPs": ["{EGRESS_IP}"]}}'""")
        got = helpers.measure(net, place)
        holder = next(hs.name for hs in c.hostsubnets if EGRESS_IP in hs.egress_ips)
        # the master's choice of node is free (Go map order); what the nodes then do is not
        helpers.assert_event(got, net.datapath, f"change-egress-ip-assigned-{holder}-multitenant.diff",
                             f"change-egress-ip-assigned-{holder}-multitenant.iptables.diff")
        other = "node1" if holder == "node2" else "node2"
        pod = next(p.host for p in c.pods if p.namespace == "p1" and p.node == other)
        assert wait_source(net, c, pod, EGRESS_IP) == EGRESS_IP
        got = helpers.measure(net, lambda: live.unplug_node(net, c, holder))
        assert c.hostsubnet(other).egress_ips == (EGRESS_IP,) and c.hostsubnet(holder).egress_ips == ()
        helpers.assert_event(got, net.datapath, f"change-egress-ip-moved-{holder}-to-{other}-multitenant.diff",
                             f"change-egress-ip-moved-{holder}-to-{other}-multitenant.iptables.diff")
        assert f"inet {EGRESS_IP}/" in run(net[other], "ip -4 addr")
        # README: `unplug` applies the move at once and the new holder announces it (gratuitous ARP):
        # the first connection after it already leaves with the egress IP
        assert source_seen(net, c, pod) == EGRESS_IP
    finally:
        for node in ("node1", "node2"):
            if node in c.offline_nodes:
                live.unplug_node(net, c, node, plugged=True)
            live.apply(net, c, f"""patch hostsubnet {node} -p '{{"egressCIDRs": [], "egressIPs": []}}'""")
        live.apply(net, c, """patch netnamespace p1 -p '{"egressIPs": []}'""")
    assert all(not hs.egress_ips for hs in c.hostsubnets)
