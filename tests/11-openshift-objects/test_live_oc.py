"""Live `oc` lines on the running cluster: a pod and a service applied at runtime answer through the
ClusterIP, each change is exactly its flows and rules on every node (and every br0 then equals its render),
labels move endpoints, `oc delete` takes them away, and a refused line changes no switch and no rule."""

import os
import re
import textwrap

import pytest

from lab.errors import BadInput, Refused
from lab.observe.request import requests
from lab.planes.openshift import live
from lab.planes.openshift.node.flows import render_node_flows, render_service_flows
from lab.shell import run

pytestmark = pytest.mark.root

API = """\
    apiVersion: v1
    kind: Pod
    metadata: {name: api-1, namespace: shop, labels: {app: api}}
    spec: {nodeName: node2, containers: [{name: api, image: busybox, ports: [{containerPort: 9090}]}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: api, namespace: shop}
    spec: {selector: {app: api}, clusterIP: 172.30.10.20, ports: [{port: 80, targetPort: 9090}]}
    """


def dump_differs_from_render(net, c) -> dict:
    """Per node, `ovs-ofctl diff-flows` of br0 against the node's render now (empty: exactly equal)."""
    out = {}
    for hs in c.hostsubnets:
        node = net[hs.name]
        path = os.path.join(node.dir, "flows.live-render")
        with open(path, "w") as f:
            from lab.observe.flows import as_stored
            f.write("".join(line + "\n" for line in as_stored(render_node_flows(c, hs.name))))
        diff = run(node, f"ovs-ofctl -O OpenFlow13 diff-flows br0 {path} || true").strip()
        if diff:
            out[hs.name] = diff
    return out


def snapshot(net, c) -> dict:
    """Every node's flows (no counters) and iptables-save (no counters, no date lines), byte for byte."""
    shot = {}
    for hs in c.hostsubnets:
        node = net[hs.name]
        shot[hs.name, "flows"] = run(node, "ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0")
        shot[hs.name, "iptables"] = re.sub(r"\[\d+:\d+\]", "", "\n".join(
            line for line in run(node, "iptables-save").splitlines() if not line.startswith("#")))
        shot[hs.name, "ports"] = run(node, "ovs-vsctl list-ports br0")
    return shot


def answered_by(net, src: str, ip: str, port: int, count: int = 9) -> set:
    return {a.pod or a.error for a in requests(net[src], ip, port, count=count)}


def test_a_pod_and_service_applied_live_answer_and_delete_takes_them_away(lab, tmp_path):
    net, c = lab
    path = tmp_path / "api.yaml"
    path.write_text(textwrap.dedent(API))
    change = live.apply(net, c, f"oc apply -f {path}")
    try:
        assert change.output.splitlines() == ["pod/api-1 created", "service/api created"]
        assert change.pods_added == ("api-1",) and "api-1" in net
        svc_flows = set(render_service_flows(c.service("shop/api")))
        pod = c.pod("api-1")
        for hs in c.hostsubnets:  # the service's table-60 flows everywhere, the pod's own on node2
            added, removed = change.flows(hs.name)
            own = {f for f in render_node_flows(c, hs.name) if pod.ip in f or f"in_port={pod.ofport}," in f} \
                if hs.name == "node2" else set()
            assert (added, removed) == (svc_flows | own, set()), hs.name
            rules, gone = change.rules(hs.name)
            assert not gone and sum("-j DNAT --to-destination " + f"{pod.ip}:9090" in r for r in rules) == 1, rules
        assert dump_differs_from_render(net, c) == {}
        for src in ("pod1", "pod3", "web-2"):  # from every node
            assert answered_by(net, src, "172.30.10.20", 80, count=3) == {"api-1"}, src

        # a label moves the endpoints: web-2 joins the service, then leaves it again
        change = live.apply(net, c, "oc label pod web-2 -n shop app=api --overwrite")
        assert change.output == "pod/web-2 labeled"
        assert all(change.flows(hs.name) == (set(), set()) for hs in c.hostsubnets)  # kube-proxy only
        assert all(any("KUBE-SEP-" in r for r in change.rules(hs.name)[0]) for hs in c.hostsubnets)
        assert "web-2" not in answered_by(net, "pod1", "172.30.10.10", 80)
        live.apply(net, c, "oc label pod web-2 -n shop app=web --overwrite")
        assert dump_differs_from_render(net, c) == {}

        change = live.apply(net, c, "oc delete svc api -n shop")
        assert change.output == 'service "api" deleted'
        for hs in c.hostsubnets:
            assert change.flows(hs.name) == (set(), svc_flows), hs.name
            assert not any("172.30.10.20" in r for r in run(net[hs.name], "iptables-save -t nat").splitlines())
        assert not any(a.ok for a in requests(net["pod1"], "172.30.10.20", 80, count=1, timeout=1))
    finally:
        for line in ("oc delete svc api -n shop", "oc delete pod api-1 -n shop"):
            try:
                live.apply(net, c, line)
            except Refused:
                pass
    assert "api-1" not in net and dump_differs_from_render(net, c) == {}
    assert pod.veth not in run(net["node2"], "ovs-vsctl list-ports br0").split()


def test_a_refused_line_changes_no_switch_and_no_rule(lab, tmp_path):
    net, c = lab
    bad = {
        "taken.yaml": API.split("---")[1].replace("name: api,", "name: again,").replace("172.30.10.20", "172.30.10.10"),
        "outside.yaml": API.split("---")[1].replace("172.30.10.20", "10.9.9.9"),
        "node.yaml": API.split("---")[0].replace("node2", "node7"),
        "selector.yaml": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\n"
                         "spec: {podSelector: {matchExpressions: [{key: a, operator: Near}]}}\n",
        "kind.yaml": "apiVersion: v1\nkind: Gadget\nmetadata: {name: x}\n",
    }
    lines = []
    for name, text in bad.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
        lines.append(f"oc apply -f {tmp_path / name}")
    lines += ["oc create -f " + str(tmp_path / "dup.yaml"), "oc delete pod nope -n shop", "oc delete gadget x",
              "oc label pod web-1 -n shop app=other", "oc adm pod-network join-projects --to=shop default"]
    (tmp_path / "dup.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    before, model = snapshot(net, c), (list(c.pods), list(c.services), list(c.policies), list(c.namespaces))
    hosts = sorted(net.keys())
    for line in lines:
        with pytest.raises(BadInput) as exc:
            live.apply(net, c, line)
        assert "\n" not in str(exc.value), line
    assert snapshot(net, c) == before
    assert (c.pods, c.services, c.policies, c.namespaces) == model and sorted(net.keys()) == hosts
