"""Services on real kernel objects, on each of the three plugins: kube-proxy's rules DNAT to every endpoint,
from pods and nodes, NodePorts from the external host, REJECT without endpoints; table 60 and tun0 on the
way, then the DNATed packet traced to each endpoint; the source POSTROUTING leaves, per plugin."""

import os
import re

import pytest

from lab.observe import golden
from lab.observe.conntrack import find_connection
from lab.observe.request import request, requests
from lab.planes.openshift.node.flows import TUN0_OFPORT
from lab.planes.openshift.observe.service_trace import trace_request, trace_service
from lab.planes.openshift.observe.trace import trace_pod
from lab.planes.openshift.observe.trace_command import trace_command
from lab.shell import bounded

pytestmark = pytest.mark.root

WEB = {"web-1", "web-2", "web-3"}
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")


def plugin_of(c) -> str:
    return c.network.plugin.rsplit("-", 1)[-1]


def keeps_pod_source(net, c, record_datapath) -> bool:
    """networkpolicy keeps a pod's source towards a service (OPENSHIFT-MASQUERADE-2) and undoes the reply's
    DNAT in br0 (table 30 `ct(nat)`) with the kernel's conntrack entry: only the kernel datapath shares it.
    On the userspace datapath the lab masquerades DNATed pod traffic instead (README: services on the
    networkpolicy plugin)."""
    return plugin_of(c) == "networkpolicy" and record_datapath(net.datapath) == "system"


def to_tun0_tables(c) -> list:
    # networkpolicy sends every untracked packet through conntrack first: table 0 twice (recirculation)
    return ([0, 0] if plugin_of(c) == "networkpolicy" else [0]) + [20, 21, 30, 60]


def test_the_web_pods_run_one_per_node_and_answer_with_their_names(svc_lab):
    net, c = svc_lab
    assert sorted(c.pod(n).node for n in WEB) == ["node1", "node2", "node3"]
    for name in WEB:
        answer = request(net["pod1"], c.pod(name).ip, 8080)
        assert answer.pod == name, answer


def test_cluster_ip_answers_from_the_nodes(svc_lab):
    net, c = svc_lab
    web = c.service("shop/web")
    for node in ["node1", "node2", "node3"]:
        tcp = request(net[node], web.cluster_ip, 80)
        udp = request(net[node], web.cluster_ip, 53, "udp")
        assert tcp.pod in WEB and udp.pod in WEB, (node, tcp, udp)


def test_cluster_ip_from_pods_on_every_node(svc_lab):
    net, c = svc_lab
    web = c.service("shop/web")
    for client in ["pod1", "pod2", "pod3"]:
        tcp = request(net[client], web.cluster_ip, 80)
        udp = request(net[client], web.cluster_ip, 53, "udp")
        assert tcp.pod in WEB and udp.pod in WEB, (client, tcp, udp)


def test_thirty_requests_reach_every_endpoint(svc_lab):
    net, c = svc_lab
    for client in ["node2", "pod2"]:
        answers = requests(net[client], c.service("shop/web").cluster_ip, 80, count=30)
        assert all(a.ok for a in answers), (client, answers)
        assert {a.pod for a in answers} == WEB, (client, [a.pod for a in answers])


def test_the_endpoint_sees_the_source_postrouting_left(svc_lab, record_datapath):
    """subnet and multitenant masquerade pod-to-service traffic (OPENSHIFT-MASQUERADE): the endpoint sees
    the node's tun0 address. networkpolicy returns early in OPENSHIFT-MASQUERADE-2 for destinations in the
    cluster network: the endpoint sees the pod itself (on the userspace datapath the lab's own rule
    masquerades). Read from the node's conntrack entry (the reply's destination) and from the answer."""
    net, c = svc_lab
    pod, web = c.pod("pod3"), c.service("shop/web")
    expected = pod.ip if keeps_pod_source(net, c, record_datapath) else c.hostsubnet("node3").gateway
    answer = request(net["pod3"], web.cluster_ip, 80)
    conn = find_connection(net["node3"], "tcp", pod.ip, int(answer.local.rpartition(":")[2]), web.cluster_ip, 80)
    assert conn is not None and conn.dnat and conn.replied and conn.reply_dst == expected, conn
    assert answer.client.split(":")[0] == expected, answer


def test_no_endpoints_is_refused_from_the_node(svc_lab):
    net, c = svc_lab
    answer = request(net["node1"], c.service("shop/nobody").cluster_ip, 80, timeout=2)
    assert answer.error == "refused", answer


def test_no_endpoints_from_a_pod_is_dropped_not_refused(svc_lab):
    """kube-proxy 1.11 hangs its REJECTs off OUTPUT (and INPUT for NodePorts) only: a pod's packet is
    forwarded, goes back out tun0, and br0 drops it (table 60 would output to tun0, its in_port)."""
    net, c = svc_lab
    answer = request(net["pod1"], c.service("shop/nobody").cluster_ip, 80, timeout=1)
    assert answer.error == "timeout", answer
    st = trace_service(net, c, "pod1", c.service("shop/nobody"), 80, "tcp")
    assert "has no endpoints" in st.note and not st.paths, st.note
    (node, back), = st.back_out
    assert node == "node1" and back.dropped and back.tables[-1] == 60, back.raw


@pytest.mark.parametrize("node", ["node1", "node2", "node3"])
def test_node_port_from_the_external_host(svc_lab, node):
    net, c = svc_lab
    hs = c.hostsubnet(node)
    answer = request(net[c.external.name], hs.host_ip, 30080)
    assert answer.pod in WEB, answer
    # KUBE-MARK-MASQ + KUBE-POSTROUTING: the endpoint sees the receiving node's tun0 address
    assert answer.client.split(":")[0] == hs.gateway, answer


def test_node_port_without_endpoints_is_refused_from_the_external_host(svc_lab):
    net, c = svc_lab
    answer = request(net[c.external.name], c.hostsubnet("node2").host_ip, 30081, timeout=2)
    assert answer.error == "refused", answer


def test_trace_of_a_vnid_0_pod_to_a_cluster_ip_goes_through_table_60_to_tun0(svc_lab):
    net, c = svc_lab
    assert c.pod("pod1").vnid == 0
    hops = trace_pod(net, c, "pod1", c.service("shop/web").cluster_ip, "tcp", 80)
    assert len(hops) == 1, hops
    node, trace = hops[0]
    assert node == "node1"
    assert trace.tables == to_tun0_tables(c), trace.raw
    assert trace.output_port == TUN0_OFPORT, trace.raw


def test_trace_follows_the_dnat_to_every_endpoint(svc_lab):
    net, c = svc_lab
    web = c.service("shop/web")
    st = trace_service(net, c, "pod2", web, 80, "tcp")
    assert st.reached_tun0 and st.chain.startswith("KUBE-SVC-")
    assert {p.endpoint.pod for p in st.paths} == WEB
    for path in st.paths:
        target = c.pod(path.endpoint.pod)
        node, last = path.hops[-1]
        assert node == target.node and last.output_name == target.veth, (path.endpoint, last.raw)
        assert [n for n, _t in path.hops] == (["node2"] if target.node == "node2" else ["node2", target.node])
    text = trace_command(net, c, f"pod2 {web.cluster_ip}:80")
    assert text.splitlines()[0] == f"node2: {' > '.join(map(str, to_tun0_tables(c)))}: output tun0", text
    for name in WEB:
        pod = c.pod(name)
        assert re.search(rf"KUBE-SEP-[A-Z0-9]{{16}} DNAT to {re.escape(pod.ip)}:8080 \({name} on {pod.node}\)", text), text
        assert re.search(rf"^    {pod.node}: .*: output {pod.veth}$", text, re.M), text


def test_trace_request_follows_the_endpoint_the_kernel_chose(svc_lab):
    net, c = svc_lab
    st = trace_request(net, c, "pod1", c.service("shop/web"), 53, "udp")
    assert len(st.paths) == 1 and "conntrack on node1 shows DNAT to" in st.note, st.note
    chosen = st.paths[0].endpoint
    assert f"DNAT to {chosen.ip}:5353" in st.note and f"answered by {chosen.pod}" in st.note, st.note


def test_a_project_of_its_own_and_shops_service(svc_lab, record_datapath):
    """subnet: no isolation. multitenant: lone's VNID may not reach shop's (table 80 on the pod's own node,
    before tun0). networkpolicy: shop's policy turns lone away at every endpoint (table 80 after the DNAT);
    on the userspace datapath the lab's masquerade makes it the node's (VNID 0), which the policy admits."""
    net, c = svc_lab
    web = c.service("shop/web")
    answer = request(net["loner"], web.cluster_ip, 80, timeout=1)
    st = trace_service(net, c, "loner", web, 80, "tcp")
    plugin = plugin_of(c)
    if plugin == "subnet" or (plugin == "networkpolicy" and not keeps_pod_source(net, c, record_datapath)):
        assert answer.pod in WEB, answer
        assert st.paths and all(not p.hops[-1][1].dropped for p in st.paths)
        assert all(p.source == c.hostsubnet("node1").gateway for p in st.paths)
        return
    assert answer.error == "timeout", answer
    if plugin == "multitenant":
        (node, trace), = st.to_tun0
        assert trace.dropped and trace.tables[-1] == 80, trace.raw
        assert st.drop_note == (f"multitenant isolation: source VNID {c.netids['lone']} (lone) may not reach "
                                f"destination VNID {c.netids['shop']} (shop)"), st.drop_note
        return
    assert st.reached_tun0 and {p.endpoint.pod for p in st.paths} == WEB
    for path in st.paths:
        node, last = path.hops[-1]
        assert node == path.endpoint.node and last.dropped and last.tables[-1] == 80, last.raw
        assert path.drop_note.startswith(f"networkpolicy: namespace shop (VNID {c.netids['shop']}) has policies "
                                         f"selecting {path.endpoint.pod} (not-from-blocked)"), path.drop_note
        assert f"from VNID {c.netids['lone']} (lone)" in path.drop_note, path.drop_note


def test_traceroute_to_a_cluster_ip_ends_at_tun0_host_unreachable(svc_lab):
    """Nothing listens on traceroute's ports, so no DNAT: the node routes the probe back to tun0, cannot
    resolve the ClusterIP there (br0 drops that ARP) and answers host unreachable."""
    net, c = svc_lab
    out = bounded(net["pod1"], f"traceroute -n -q 1 -w 5 -m 4 {c.service('shop/web').cluster_ip} 2>&1 || true", 60)
    hops = [line.split() for line in out.splitlines() if re.match(r"^\s*\d+\s", line)]
    gateway = c.hostsubnet("node1").gateway
    assert hops and all(h[1] == gateway for h in hops), out
    assert hops[-1][-1] == "!H", out


def test_every_table_60_holds_the_3_11_service_flows(svc_lab):
    """Table 60 against the golden written from the Go source (golden/services-subnet-table60.flows, the same
    services): AddServiceRules with netID 0 on subnet, with shop's NETID on multitenant (the only difference
    ovscontroller.go makes), none on networkpolicy (conntrack: only SetupOVS's table-60 flows, as in
    tests/12-openshift-plugins/golden/networkpolicy-node1.flows)."""
    net, c = svc_lab
    want = golden.read_flows(os.path.join(GOLDEN, "services-subnet-table60.flows"))
    if plugin_of(c) == "multitenant":
        want = sorted(f.replace("load:0->NXM_NX_REG1[]", f"load:{c.netids['shop']:#x}->NXM_NX_REG1[]") for f in want)
    elif plugin_of(c) == "networkpolicy":
        np = os.path.join(GOLDEN, "..", "..", "12-openshift-plugins", "golden", "networkpolicy-node1.flows")
        want = [f for f in golden.read_flows(np) if f.startswith("table=60,")]
    for hs in c.hostsubnets:
        got = [f for f in golden.dump_flows(net[hs.name]) if f.startswith("table=60,")]
        assert got == want, (hs.name, golden.flows_diff(got, want))
        # AddServiceRules runs only without conntrack: networkpolicy has no per-service flows
        assert any("nw_dst=172.30.10.10" in f for f in got) == (plugin_of(c) != "networkpolicy"), hs.name


def test_only_networkpolicy_has_its_own_masquerade_chain(svc_lab):
    """iptables-save of every node: OPENSHIFT-MASQUERADE-2 only on networkpolicy (iptables.go masqueradeServices
    false). The services' kube-proxy rules against the Go-written golden: test_golden_services.py."""
    net, c = svc_lab
    for hs in c.hostsubnets:
        chains = golden.saved_iptables(net[hs.name])
        assert (("nat", "OPENSHIFT-MASQUERADE-2") in chains) == (plugin_of(c) == "networkpolicy"), hs.name


def test_a_pod_to_pod_drop_in_table_80_is_named(svc_lab):
    net, c = svc_lab
    text = trace_command(net, c, "loner web-2 tcp 8080")
    lines = text.splitlines()
    assert lines[0].startswith("node1: ") and lines[0].endswith("output vxlan0 (tun_dst=172.16.1.12)"), text
    plugin, lone, shop = plugin_of(c), c.netids.get("lone"), c.netids.get("shop")
    if plugin == "subnet":
        assert len(lines) == 2 and lines[1].endswith(f"output {c.pod('web-2').veth}"), text
    elif plugin == "multitenant":
        assert lines[1].startswith("node2: ") and lines[1].endswith("drop in table 80"), text
        assert lines[2] == (f"  multitenant isolation: source VNID {lone} (lone) may not reach destination VNID "
                            f"{shop} (shop)"), text
    else:
        assert lines[1].endswith("drop in table 80"), text
        assert lines[2] == (f"  networkpolicy: namespace shop (VNID {shop}) has policies selecting web-2 "
                            f"(not-from-blocked); none allows this packet from VNID {lone} (lone)"), text
