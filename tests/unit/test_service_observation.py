"""The pure parts of requests and service traces: target names, the `request` line, the source a DNATed
packet leaves tun0 with, ofproto/trace registers, and table-80 drops explained (no root)."""

import pytest

from lab.errors import BadInput, LabError
from lab.observe.conntrack import parse_conntrack
from lab.observe.request import split_target
from lab.observe.trace import parse_trace
from lab.planes.openshift.api import manifests
from lab.planes.openshift.api.objects import EndpointAddress
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.model import ClusterNetwork, plugin_name
from lab.planes.openshift.observe.explain import explain_drop
from lab.planes.openshift.observe.request import RequestLine, parse_request_args, resolve_host
from lab.planes.openshift.observe.service_trace import source_after_nat
from lab.planes.openshift.observe.trace_command import TraceRequest, parse_trace_args

CLUSTER_YAML = "tests/11-openshift-objects/cluster.yaml"


def cluster(plugin="subnet"):
    c = build_cluster(3, 1, ClusterNetwork(plugin=plugin_name(plugin)))
    manifests.apply_documents(c, manifests.load_paths([CLUSTER_YAML]))
    return c


@pytest.mark.parametrize("name", ["shop/web", "web.shop", "172.30.10.10"])
def test_a_service_is_found_by_its_key_its_dns_name_or_its_address(name):
    assert resolve_host(cluster(), name) == "172.30.10.10"


def test_pods_nodes_and_the_external_host_resolve_too():
    c = cluster()
    assert resolve_host(c, "web-2") == c.pod("web-2").ip
    assert resolve_host(c, "node2") == c.hostsubnet("node2").host_ip
    assert resolve_host(c, "ext") == c.external.ip
    with pytest.raises(LabError, match="unknown target 'nosuch'"):
        resolve_host(c, "nosuch")


@pytest.mark.parametrize("line, parsed", [
    ("pod1 web.shop:80", RequestLine("pod1", "web.shop:80")),
    ("pod1 shop/web:53 udp -c 30 -t 0.5", RequestLine("pod1", "shop/web:53", "udp", 30, 0.5)),
    ("ext node1:30080 TCP", RequestLine("ext", "node1:30080", "tcp")),
])
def test_request_lines(line, parsed):
    assert parse_request_args(line) == parsed


@pytest.mark.parametrize("line, words", [
    ("pod1", "usage: request"), ("pod1 web", "needs a port"), ("pod1 web:0", "1..65535"),
    ("pod1 web:80 icmp", "tcp or udp"), ("pod1 web:80 -c", "needs a value"), ("pod1 web:80 -c 0", "1..1000"),
    ("pod1 web:80 -t x", "takes a number"), ("pod1 web:80 -t 0", "more than 0"),
])
def test_request_line_mistakes(line, words):
    with pytest.raises(BadInput, match=words):
        parse_request_args(line)


def test_split_target():
    assert split_target("10.0.0.1:8080") == ("10.0.0.1", 8080)


def test_the_source_after_postrouting_depends_on_the_plugin():
    """subnet/multitenant masquerade pod-to-service (OPENSHIFT-MASQUERADE); networkpolicy keeps the pod's
    address (OPENSHIFT-MASQUERADE-2 returns inside the cluster network) unless the pod reaches itself."""
    for plugin, expected in (("subnet", "gateway"), ("multitenant", "gateway"), ("networkpolicy", "pod")):
        c = cluster(plugin)
        pod, web2 = c.pod("pod1"), c.pod("web-2")
        source, why = source_after_nat(c, pod, EndpointAddress(web2.ip, 8080, web2.host, web2.node))
        assert source == (c.hostsubnet("node1").gateway if expected == "gateway" else pod.ip), (plugin, why)
    c = cluster("networkpolicy")
    web1 = c.pod("web-1")
    source, why = source_after_nat(c, web1, EndpointAddress(web1.ip, 8080, web1.host, web1.node))
    assert source == c.hostsubnet(web1.node).gateway and "hairpin" in why
    # the userspace datapath: the lab's own rule masquerades (OVS's conntrack cannot undo the kernel's DNAT)
    pod, web2 = c.pod("pod1"), c.pod("web-2")
    source, why = source_after_nat(c, pod, EndpointAddress(web2.ip, 8080, web2.host, web2.node), "netdev")
    assert source == c.hostsubnet("node1").gateway and "userspace" in why


TRACE_80_DROP = """\
Flow: tcp,in_port=3,vlan_tci=0x0000,dl_src=0a:58:0a:80:00:03,dl_dst=aa:bb:cc:dd:ee:ff,nw_src=10.128.0.3,nw_dst=172.30.10.10,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=40000,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. ip, priority 100
    goto_table:20
20. ip,in_port=3,nw_src=10.128.0.3, priority 100
    load:0xaf5d35->NXM_NX_REG0[]
    goto_table:21
21. priority 0
    goto_table:30
30. ip,nw_dst=172.30.0.0/16, priority 100
    goto_table:60
60. tcp,nw_dst=172.30.10.10,tp_dst=80, priority 100
    load:0x7f979d->NXM_NX_REG1[]
    load:0x2->NXM_NX_REG2[]
    goto_table:80
80. priority 0
    drop

Final flow: unchanged
Megaflow: recirc_id=0,eth,tcp,in_port=3,nw_src=10.128.0.3,nw_dst=172.30.10.10,nw_frag=no,tp_dst=80
Datapath actions: drop
"""


def test_registers_of_a_trace():
    trace = parse_trace(TRACE_80_DROP)
    assert trace.registers() == {0: 0xaf5d35, 1: 0x7f979d, 2: 2}
    assert trace.dropped and trace.tables[-1] == 80


def test_a_multitenant_drop_in_table_80_names_both_vnids():
    c = cluster("multitenant")
    c.set_netids({**c.netids, "lone": 0xaf5d35, "shop": 0x7f979d})
    note = explain_drop(c, parse_trace(TRACE_80_DROP))
    assert note == (f"multitenant isolation: source VNID {0xaf5d35} (lone) may not reach destination VNID "
                    f"{0x7f979d} (shop)")


PROC_CONNTRACK = """\
ipv4     2 udp      17 26 src=10.128.0.2 dst=172.30.10.10 sport=39394 dport=53 [UNREPLIED] src=10.128.0.4 dst=10.128.0.2 sport=5353 dport=39394 mark=0 zone=0 use=2
ipv4     2 tcp      6 117 TIME_WAIT src=10.128.0.2 dst=172.30.10.10 sport=46622 dport=80 src=10.129.0.3 dst=10.128.0.1 sport=8080 dport=46622 [ASSURED] mark=0 zone=0 use=2
ipv4     2 icmp     1 29 src=10.128.0.2 dst=10.129.0.2 type=8 code=0 id=7 src=10.129.0.2 dst=10.128.0.2 type=0 code=0 id=7 mark=0 zone=0 use=2
"""


def test_conntrack_lines_give_the_dnat_and_the_source_the_endpoint_saw():
    udp, tcp = parse_conntrack(PROC_CONNTRACK)
    assert (udp.proto, udp.dnat, udp.replied, udp.reply_src, udp.reply_sport, udp.reply_dst) == \
        ("udp", True, False, "10.128.0.4", 5353, "10.128.0.2")
    assert (tcp.sport, tcp.dnat, tcp.replied, tcp.reply_dst) == (46622, True, True, "10.128.0.1")
    # `conntrack -L` prints the same without the first two columns
    assert parse_conntrack(PROC_CONNTRACK.replace("ipv4     2 ", "")) == [udp, tcp]


def test_trace_request_flag():
    assert parse_trace_args("pod1 web.shop:80 --request") == TraceRequest("pod1", "web.shop", "tcp", 80, False, True)
    with pytest.raises(BadInput, match="--request goes with a service"):
        parse_trace_args("pod1 pod2 --request")
