"""kube-proxy 1.11's rules held to the reference's worked example (§1.7, default/web) line by line, and to
the facts kube-proxy's code fixes (hashes, probabilities, REJECT, NodePorts); table-60 flows; manifests."""

import re

import pytest

from lab.errors import BadInput
from lab.planes.openshift.api import manifests
from lab.planes.openshift.api.objects import EndpointAddress, Service, ServicePort
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.model import ClusterNetwork
from lab.planes.openshift.node.flows import render_service_flows
from lab.planes.openshift.node.iptables import render_node_iptables
from lab.planes.openshift.node.kubeproxy import port_proto_hash, probability, render_kube_proxy, sep_chain, svc_chain

WEB = Service("web", "default", "172.30.45.67", (ServicePort(8080),), {"app": "tomcat"})
PORT = WEB.ports[0]

# iptables-save -t nat of §1.7, without Docker's chain and rules (the lab's nodes run no dockerd)
EXAMPLE_NAT = """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-HOSTPORTS - [0:0]
:KUBE-MARK-DROP - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORT-CONTAINER - [0:0]
:KUBE-NODEPORT-HOST - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PORTALS-CONTAINER - [0:0]
:KUBE-PORTALS-HOST - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SEP-{sep} - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-{svc} - [0:0]
:OPENSHIFT-MASQUERADE - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER
-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-CONTAINER
-A PREROUTING -m comment --comment "kube hostport portals" -m addrtype --dst-type LOCAL -j KUBE-HOSTPORTS
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST
-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-HOST
-A OUTPUT -m comment --comment "kube hostport portals" -m addrtype --dst-type LOCAL -j KUBE-HOSTPORTS
-A POSTROUTING -m comment --comment "rules for masquerading OpenShift traffic" -j OPENSHIFT-MASQUERADE
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A POSTROUTING -s 127.0.0.0/8 -o tun0 -m comment --comment "SNAT for localhost access to hostports" -j MASQUERADE
-A KUBE-MARK-DROP -j MARK --set-xmark 0x8000/0x8000
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x1/0x1
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -m mark --mark 0x1/0x1 -j MASQUERADE
-A KUBE-SEP-{sep} -s 10.131.0.9/32 -m comment --comment "default/web:" -j KUBE-MARK-MASQ
-A KUBE-SEP-{sep} -p tcp -m comment --comment "default/web:" -m tcp -j DNAT --to-destination 10.131.0.9:8080
-A KUBE-SERVICES ! -s 10.128.0.0/14 -d 172.30.45.67/32 -p tcp -m comment --comment "default/web: cluster IP" -m tcp --dport 8080 -j KUBE-MARK-MASQ
-A KUBE-SERVICES -d 172.30.45.67/32 -p tcp -m comment --comment "default/web: cluster IP" -m tcp --dport 8080 -j KUBE-SVC-{svc}
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-SVC-{svc} -m comment --comment "default/web:" -j KUBE-SEP-{sep}
-A OPENSHIFT-MASQUERADE -s 10.128.0.0/14 -m comment --comment "masquerade pod-to-service and pod-to-external traffic" -j MASQUERADE
COMMIT"""

# iptables-save -t filter of §1.7 (Kubernetes and OpenShift rules only)
EXAMPLE_FILTER = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORT-NON-LOCAL - [0:0]
:KUBE-SERVICES - [0:0]
:OPENSHIFT-ADMIN-OUTPUT-RULES - [0:0]
:OPENSHIFT-FIREWALL-ALLOW - [0:0]
:OPENSHIFT-FIREWALL-FORWARD - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -m comment --comment "Ensure that non-local NodePort traffic can flow" -j KUBE-NODEPORT-NON-LOCAL
-A INPUT -m comment --comment "firewall overrides" -j OPENSHIFT-FIREWALL-ALLOW
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -i tun0 ! -o tun0 -m comment --comment "administrator overrides" -j OPENSHIFT-ADMIN-OUTPUT-RULES
-A FORWARD -m comment --comment "firewall overrides" -j OPENSHIFT-FIREWALL-FORWARD
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL -m comment --comment "kubernetes firewall for dropping marked packets" -m mark --mark 0x8000/0x8000 -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x1/0x1 -j ACCEPT
-A KUBE-FORWARD -s 10.128.0.0/14 -m comment --comment "kubernetes forwarding conntrack pod source rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-FORWARD -d 10.128.0.0/14 -m comment --comment "kubernetes forwarding conntrack pod destination rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A OPENSHIFT-FIREWALL-ALLOW -p udp -m udp --dport 4789 -m comment --comment "VXLAN incoming" -j ACCEPT
-A OPENSHIFT-FIREWALL-ALLOW -i tun0 -m comment --comment "from SDN to localhost" -j ACCEPT
-A OPENSHIFT-FIREWALL-ALLOW -i docker0 -m comment --comment "from docker to localhost" -j ACCEPT
-A OPENSHIFT-FIREWALL-FORWARD -s 10.128.0.0/14 -m comment --comment "attempted resend after connection close" -m conntrack --ctstate INVALID -j DROP
-A OPENSHIFT-FIREWALL-FORWARD -d 10.128.0.0/14 -m comment --comment "forward traffic from SDN" -j ACCEPT
-A OPENSHIFT-FIREWALL-FORWARD -s 10.128.0.0/14 -m comment --comment "forward traffic to SDN" -j ACCEPT
COMMIT"""


def ep(ip: str, port: int = 8080) -> EndpointAddress:
    return EndpointAddress(ip, port, "p", "n")


def node_text(endpoints) -> str:
    kube = render_kube_proxy([WEB], {WEB.key: {PORT: endpoints}}, "10.128.0.0/14")
    return render_node_iptables(ClusterNetwork(), kube)


def test_the_reference_example_line_by_line():
    text = node_text([ep("10.131.0.9")])
    svc, sep = svc_chain(WEB, PORT)[9:], sep_chain(WEB, PORT, ep("10.131.0.9"))[9:]
    expected = (EXAMPLE_FILTER + "\n" + EXAMPLE_NAT.replace("{svc}", svc).replace("{sep}", sep)).splitlines()
    assert text.splitlines() == expected


def test_chain_hashes_are_kube_proxys():
    assert port_proto_hash("default/kubernetes:https", "tcp") == "NPX46M4PTMTKRN6Y"  # the well-known one
    assert svc_chain(WEB, PORT) == "KUBE-SVC-" + port_proto_hash("default/web:", "tcp")
    assert sep_chain(WEB, PORT, ep("10.131.0.9")) == "KUBE-SEP-" + port_proto_hash("default/web:", "tcp", "10.131.0.9:8080")
    assert re.fullmatch(r"KUBE-SVC-[A-Z2-7]{16}", svc_chain(WEB, PORT))


def test_statistic_probabilities_as_iptables_prints_them():
    assert [probability(n) for n in (2, 3, 5, 6, 9, 10)] == [
        "0.50000000000", "0.33332999982", "0.20000000019", "0.16667000018", "0.11110999994", "0.10000000009"]


def test_three_endpoints_in_ip_string_order_with_probabilities():
    eps = [ep("10.128.2.3"), ep("10.129.0.5"), ep("10.131.0.9")]
    lines = [ln for ln in node_text(eps).splitlines() if ln.startswith(f"-A {svc_chain(WEB, PORT)} ")]
    assert [ln.split(" -j ")[1] for ln in lines] == [sep_chain(WEB, PORT, e) for e in eps]
    assert "--probability 0.33332999982" in lines[0] and "--probability 0.50000000000" in lines[1]
    assert "statistic" not in lines[2]


def test_no_endpoints_rejects_in_filter_and_has_no_svc_chain():
    text = node_text([])
    assert ('-A KUBE-SERVICES -d 172.30.45.67/32 -p tcp -m comment --comment "default/web: has no endpoints" '
            '-m tcp --dport 8080 -j REJECT --reject-with icmp-port-unreachable') in text.splitlines()
    assert "KUBE-SVC-" not in text


def test_node_port_rules():
    svc = Service("web", "default", "172.30.45.67", (ServicePort(8080, node_port=30080),), {"a": "b"}, "NodePort")
    kube = render_kube_proxy([svc], {svc.key: {svc.ports[0]: [ep("10.131.0.9")]}}, "10.128.0.0/14")
    chain = svc_chain(svc, svc.ports[0])
    nodeports = [r for r in kube.rules["nat"] if r.startswith("-A KUBE-NODEPORTS ")]
    assert nodeports == [
        '-A KUBE-NODEPORTS -p tcp -m comment --comment "default/web:" -m tcp --dport 30080 -j KUBE-MARK-MASQ',
        f'-A KUBE-NODEPORTS -p tcp -m comment --comment "default/web:" -m tcp --dport 30080 -j {chain}',
    ]
    empty = render_kube_proxy([svc], {}, "10.128.0.0/14")
    assert ('-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "default/web: has no endpoints" -m addrtype '
            '--dst-type LOCAL -m tcp --dport 30080 -j REJECT --reject-with icmp-port-unreachable') in empty.rules["filter"]


def test_table_60_flows_are_add_service_rules():
    svc = Service("db", "default", "172.30.99.99", (ServicePort(80), ServicePort(53, "UDP", "dns")))
    action = "priority=100, actions=load:0->NXM_NX_REG1[], load:2->NXM_NX_REG2[], goto_table:80"
    assert render_service_flows(svc) == [
        f"table=60, ip, nw_dst=172.30.99.99, ip_frag=later, {action}",
        f"table=60, ip, nw_dst=172.30.99.99, tcp, tcp_dst=80, {action}",
        f"table=60, ip, nw_dst=172.30.99.99, udp, udp_dst=53, {action}",
    ]


def docs(*objs):
    return [("f.yaml", o) for o in objs]


def pod(name, node=None, ns="default", labels=None, **extra):
    spec = {"containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 8080}]}]}
    if node:
        spec["nodeName"] = node
    spec.update(extra)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "spec": spec}


def service(name, cluster_ip=None, selector=None):
    spec = {"selector": selector or {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def test_manifest_pods_take_addresses_in_creation_order_and_endpoints_follow_selectors():
    cluster = build_cluster(2, 0)
    manifests.apply_documents(cluster, docs(pod("a", "node2", labels={"app": "web"}), pod("b", "node2"),
                                            pod("c", labels={"app": "web"}), service("web")))
    assert [(p.name, p.node, p.ip, p.mac) for p in cluster.pods] == [
        ("a", "node2", "10.129.0.2", "0a:58:0a:81:00:02"), ("b", "node2", "10.129.0.3", "0a:58:0a:81:00:03"),
        ("c", "node1", "10.128.0.2", "0a:58:0a:80:00:02")]
    svc = cluster.services[0]
    assert svc.cluster_ip == "172.30.0.2"
    assert [e.pod for e in cluster.endpoints(svc)[svc.ports[0]]] == ["c", "a"]  # IP-string order
    assert [n.name for n in cluster.namespaces] == ["default", "kube-public", "kube-system", "openshift", "openshift-infra"]


def test_a_name_in_two_namespaces_gets_two_host_names():
    cluster = build_cluster(1, 0)
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
    manifests.apply_documents(cluster, docs(pod("web"), pod("web", ns="shop"), ns))
    assert [p.host for p in cluster.pods] == ["web.default", "web.shop"]
    assert cluster.pod("shop/web").host == "web.shop"


@pytest.mark.parametrize("objs, message", [
    ([{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}], "unknown kind 'Secret'"),
    ([pod("x", hostNetwork=True)], "unknown field spec.hostNetwork"),
    ([pod("x", "node9")], "spec.nodeName 'node9' is not a node"),
    ([pod("x"), pod("x")], "Pod default/x exists already"),
    ([service("s", "10.0.0.1")], "is not in the service network"),
    ([service("s", "172.30.0.9"), service("t", "172.30.0.9")], "already allocated to default/s"),
    ([service("s", selector={"app": "a b"})], "is not a valid label value"),
    ([pod("x", ns="nowhere")], "namespace 'nowhere' does not exist"),
])
def test_bad_manifests_are_one_bad_input_and_change_nothing(objs, message):
    cluster = build_cluster(2, 1)
    before = (list(cluster.pods), list(cluster.services))
    with pytest.raises(BadInput, match=re.escape(message)) as exc:
        manifests.apply_documents(cluster, docs(*objs))
    assert str(exc.value).startswith("f.yaml: ") and "\n" not in str(exc.value)
    assert (cluster.pods, cluster.services) == before
