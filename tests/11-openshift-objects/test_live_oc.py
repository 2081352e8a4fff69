"""Live `oc` lines on the running cluster: a pod and a service applied at runtime answer through the
ClusterIP, each change is exactly the flows the 3.11 goldens give (golden/change-*.diff, for this pod and
service) and its rules on every node, every br0 back at its golden after the deletes,
labels move endpoints, `oc delete` takes them away, and a refused line changes no switch and no rule."""

import os
import re
import textwrap

import pytest

from lab.errors import BadInput, Refused
from lab.observe import golden
from lab.observe.request import requests
from lab.planes.openshift import live
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


GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
NODES = ("node1", "node2", "node3")


def golden_pod_added(pod) -> dict:
    """change-pod-added-subnet.diff (pod `added`, node1, 10.128.0.4, ofport 5) for another pod: its node,
    address (also in the masked ARP source MAC) and ofport; setupPodFlows' lines are the same otherwise."""
    added, _removed = golden.read_change(os.path.join(GOLDEN, "change-pod-added-subnet.diff"))["node1"]
    mac = "00:00:{:02x}:{:02x}:{:02x}:{:02x}/".format(*map(int, pod.ip.split(".")))
    swaps = [("10.128.0.4", pod.ip), ("00:00:0a:80:00:04/", mac), ("in_port=5,", f"in_port={pod.ofport},"),
             ("output:5", f"output:{pod.ofport}"), ("load:0x5->NXM_NX_REG2", f"load:{pod.ofport:#x}->NXM_NX_REG2")]

    def moved(flow: str) -> str:
        for old, new in swaps:
            flow = flow.replace(old, new)
        return flow
    return {pod.node: ({moved(f) for f in added}, set())}


def golden_service_added(cluster_ip: str) -> dict:
    """change-service-added-subnet.diff (172.30.20.20, port 80/TCP) for another ClusterIP with that port."""
    change = golden.read_change(os.path.join(GOLDEN, "change-service-added-subnet.diff"))
    return {n: ({f.replace("172.30.20.20", cluster_ip) for f in a}, set()) for n, (a, _r) in change.items()}


def merged(*changes: dict) -> dict:
    out = {n: (set(), set()) for n in NODES}
    for change in changes:
        for node, (added, removed) in change.items():
            out[node][0].update(added)
            out[node][1].update(removed)
    return out


def assert_every_br0_is_golden(net) -> None:
    for node in NODES:
        got = golden.dump_flows(net[node])
        want = golden.read_flows(os.path.join(GOLDEN, f"services-subnet-{node}.flows"))
        assert got == want, (node, golden.flows_diff(got, want))


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
    assert_every_br0_is_golden(net)
    done = []
    switches = golden.changes({n: net[n] for n in NODES}, lambda: done.append(live.apply(net, c, f"oc apply -f {path}")))
    change = done[0]
    try:
        assert change.output.splitlines() == ["pod/api-1 created", "service/api created"]
        assert change.pods_added == ("api-1",) and "api-1" in net
        pod = c.pod("api-1")
        svc_change = golden_service_added("172.30.10.20")
        # the service's table-60 flows everywhere, the pod's own on node2: the goldens' lines, nothing else
        assert switches == merged(svc_change, golden_pod_added(pod)), switches
        for hs in c.hostsubnets:  # the reported change counts the same
            assert tuple(map(len, change.flows(hs.name))) == tuple(map(len, switches[hs.name])), hs.name
            rules, gone = change.rules(hs.name)
            assert not gone and sum("-j DNAT --to-destination " + f"{pod.ip}:9090" in r for r in rules) == 1, rules
        for src in ("pod1", "pod3", "web-2"):  # from every node
            assert answered_by(net, src, "172.30.10.20", 80, count=3) == {"api-1"}, src

        # a label moves the endpoints: web-2 joins the service, then leaves it again
        done.clear()
        switches = golden.changes({n: net[n] for n in NODES},
                                  lambda: done.append(live.apply(net, c, "oc label pod web-2 -n shop app=api --overwrite")))
        change = done[0]
        assert switches == merged(), switches
        assert change.output == "pod/web-2 labeled"
        assert all(change.flows(hs.name) == (set(), set()) for hs in c.hostsubnets)  # kube-proxy only
        assert all(any("KUBE-SEP-" in r for r in change.rules(hs.name)[0]) for hs in c.hostsubnets)
        assert "web-2" not in answered_by(net, "pod1", "172.30.10.10", 80)
        switches = golden.changes({n: net[n] for n in NODES},
                                  lambda: live.apply(net, c, "oc label pod web-2 -n shop app=web --overwrite"))
        assert switches == merged(), switches

        done.clear()
        switches = golden.changes({n: net[n] for n in NODES},
                                  lambda: done.append(live.apply(net, c, "oc delete svc api -n shop")))
        change = done[0]
        assert change.output == 'service "api" deleted'
        assert switches == merged({n: (r, a) for n, (a, r) in svc_change.items()}), switches
        for hs in c.hostsubnets:
            assert not any("172.30.10.20" in r for r in run(net[hs.name], "iptables-save -t nat").splitlines())
        assert not any(a.ok for a in requests(net["pod1"], "172.30.10.20", 80, count=1, timeout=1))
    finally:
        for line in ("oc delete svc api -n shop", "oc delete pod api-1 -n shop"):
            try:
                live.apply(net, c, line)
            except Refused:
                pass
    assert "api-1" not in net
    assert_every_br0_is_golden(net)
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
