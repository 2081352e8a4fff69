"""Services on real kernel objects: kube-proxy's rules DNAT to every endpoint, from pods and nodes,
NodePorts from the external host, REJECT without endpoints; table 60 and tun0 on the way."""

import re

import pytest

from lab.observe.request import request, requests
from lab.openshift.flows import TUN0_OFPORT
from lab.openshift.render_node import BRIDGE, render_node
from lab.openshift.tracing import trace_pod
from lab.shell import run

pytestmark = pytest.mark.root

WEB = {"web-1", "web-2", "web-3"}
DUMP = "ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0"


def svc(cluster, key):
    return cluster.service(key)


def test_the_web_pods_run_one_per_node_and_answer_with_their_names(lab):
    net, c = lab
    assert sorted(c.pod(n).node for n in WEB) == ["node1", "node2", "node3"]
    for name in WEB:
        answer = request(net["pod1"], c.pod(name).ip, 8080)
        assert answer.pod == name, answer


def test_cluster_ip_answers_from_pods_on_every_node_and_from_the_nodes(lab):
    net, c = lab
    web = svc(c, "shop/web")
    for client in ["pod1", "pod2", "pod3", "node1", "node2", "node3"]:
        tcp = request(net[client], web.cluster_ip, 80)
        udp = request(net[client], web.cluster_ip, 53, "udp")
        assert tcp.pod in WEB and udp.pod in WEB, (client, tcp, udp)


def test_thirty_requests_reach_every_endpoint(lab):
    net, c = lab
    answers = requests(net["pod2"], svc(c, "shop/web").cluster_ip, 80, count=30)
    assert all(a.ok for a in answers), answers
    assert {a.pod for a in answers} == WEB, [a.pod for a in answers]


def test_pod_to_service_is_masqueraded_to_the_nodes_tun0_address(lab):
    """The subnet plugin masquerades pod-to-service traffic (OPENSHIFT-MASQUERADE): the endpoint sees tun0."""
    net, c = lab
    answer = request(net["pod3"], svc(c, "shop/web").cluster_ip, 80)
    assert answer.client.split(":")[0] == c.hostsubnet("node3").gateway, answer


def test_no_endpoints_is_refused_from_the_node(lab):
    net, c = lab
    answer = request(net["node1"], svc(c, "shop/nobody").cluster_ip, 80, timeout=2)
    assert answer.error == "refused", answer


def test_no_endpoints_from_a_pod_is_dropped_not_refused(lab):
    """kube-proxy 1.11 hangs its REJECTs off OUTPUT (and INPUT for NodePorts) only: a pod's packet is
    forwarded, goes back out tun0, and br0 drops it (table 60 would output to tun0, its in_port)."""
    net, c = lab
    answer = request(net["pod1"], svc(c, "shop/nobody").cluster_ip, 80, timeout=1)
    assert answer.error == "timeout", answer


@pytest.mark.parametrize("node", ["node1", "node2", "node3"])
def test_node_port_from_the_external_host(lab, node):
    net, c = lab
    hs = c.hostsubnet(node)
    answer = request(net[c.external.name], hs.host_ip, 30080)
    assert answer.pod in WEB, answer
    # KUBE-MARK-MASQ + KUBE-POSTROUTING: the endpoint sees the receiving node's tun0 address
    assert answer.client.split(":")[0] == hs.gateway, answer


def test_node_port_without_endpoints_is_refused_from_the_external_host(lab):
    net, c = lab
    answer = request(net[c.external.name], c.hostsubnet("node2").host_ip, 30081, timeout=2)
    assert answer.error == "refused", answer


def test_trace_pod_to_cluster_ip_goes_through_table_60_to_tun0(lab):
    net, c = lab
    web = svc(c, "shop/web")
    hops = trace_pod(net, c, "pod1", f"{web.cluster_ip}", "tcp", 80)
    assert len(hops) == 1, hops
    node, trace = hops[0]
    assert node == "node1"
    assert trace.tables == [0, 20, 21, 30, 60], trace.raw
    assert trace.output_port == TUN0_OFPORT, trace.raw


def test_trace_verb_accepts_cluster_ip_and_port(lab):
    from lab.openshift.tracing import trace_command
    net, c = lab
    text = trace_command(net, c, f"pod2 {svc(c, 'shop/web').cluster_ip}:80")
    assert re.match(r"node2: 0 > 20 > 21 > 30 > 60: output (tun0|2)$", text), text


def test_traceroute_to_a_cluster_ip_ends_at_tun0_host_unreachable(lab):
    """Nothing listens on traceroute's ports, so no DNAT: the node routes the probe back to tun0, cannot
    resolve the ClusterIP there (br0 drops that ARP) and answers host unreachable."""
    net, c = lab
    out = net["pod1"].cmd(f"traceroute -n -q 1 -w 5 -m 4 {svc(c, 'shop/web').cluster_ip}")
    hops = [line.split() for line in out.splitlines() if re.match(r"^\s*\d+\s", line)]
    gateway = c.hostsubnet("node1").gateway
    assert hops and all(h[1] == gateway for h in hops), out
    assert hops[-1][-1] == "!H", out


def test_every_br0_equals_its_render(lab):
    net, c = lab
    for hs in c.hostsubnets:
        node = net[hs.name]
        expected = f"{node.dir}/flows.expected"
        diff = run(node, f"ovs-ofctl -O OpenFlow13 diff-flows br0 {expected} || true")
        assert diff == "", f"{hs.name}: br0 differs from its render:\n{diff}"
        assert "nw_dst=172.30.10.10" in run(node, DUMP + " table=60")


def _saved(node) -> list:
    """iptables-save without its comment lines and with zeroed counters, as the render writes it."""
    text = run(node, "iptables-save -t filter; iptables-save -t nat")
    return [re.sub(r"\[\d+:\d+\]$", "[0:0]", line) for line in text.splitlines() if not line.startswith("#")]


def test_every_nodes_iptables_save_equals_its_render(lab):
    net, c = lab
    for hs in c.hostsubnets:
        state = render_node(c, hs.name, net.datapath)
        rendered = next(i.text for i in state.items if type(i).__name__ == "Iptables")
        assert _saved(net[hs.name]) == rendered.splitlines(), hs.name
