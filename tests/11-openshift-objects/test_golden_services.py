"""The services lab (`lab`: 3 nodes, subnet, cluster.yaml) against the goldens written from the Go source
(golden/README.md): every br0 and node1's iptables-save as 3.11's node agent and kube-proxy 1.11 make them,
then a pod and a service added live, each changing exactly the goldens' flows and rules."""

import os
import re
import textwrap

import pytest

from lab.observe import golden
from lab.planes.openshift import live
from lab.shell import run

pytestmark = pytest.mark.root

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
NODES = ("node1", "node2", "node3")
# chains whose rule order Go does not fix: service groups come in map order (golden/README.md, Formats)
UNORDERED = {("nat", "KUBE-SERVICES"), ("filter", "KUBE-SERVICES"), ("nat", "KUBE-NODEPORTS"),
             ("filter", "KUBE-EXTERNAL-SERVICES")}

POD = """\
    apiVersion: v1
    kind: Pod
    metadata: {name: added, namespace: default, labels: {app: added}}
    spec:
      nodeName: node1
      containers:
      - {name: web, image: busybox, ports: [{containerPort: 8080}]}
    """
SERVICE = """\
    apiVersion: v1
    kind: Service
    metadata: {name: added, namespace: default}
    spec:
      selector: {app: added}
      clusterIP: 172.30.20.20
      ports: [{port: 80, targetPort: 8080}]
    """


def comparable(chains: dict) -> dict:
    """Rules per chain in order, except where Go leaves the order to a map (then sorted); kube-proxy's
    NodePorts jump stays last in nat KUBE-SERVICES whatever the map did."""
    out = {k: (sorted(v) if k in UNORDERED else v) for k, v in chains.items()}
    services = chains.get(("nat", "KUBE-SERVICES"), [])
    if services:
        assert services[-1].endswith("-j KUBE-NODEPORTS"), services[-1]
    return out


def saved_lines(node) -> set:
    """node's iptables-save lines (filter, nat), counters zeroed, no comment or COMMIT lines."""
    text = run(node, "iptables-save -t filter; iptables-save -t nat")
    return {re.sub(r"\[\d+:\d+\]$", "[0:0]", line) for line in text.splitlines() if line[:1] in ":-"}


def test_every_br0_and_node1s_iptables_equal_the_3_11_goldens(lab):
    net, c = lab
    for node in NODES:
        got = golden.dump_flows(net[node])
        want = golden.read_flows(os.path.join(GOLDEN, f"services-subnet-{node}.flows"))
        assert got == want, (node, golden.flows_diff(got, want))
    want = golden.read_iptables(os.path.join(GOLDEN, "services-node1.iptables"))
    assert comparable(golden.saved_iptables(net["node1"])) == comparable(want)


def test_a_pod_then_a_service_added_live_change_exactly_the_goldens_flows_and_rules(lab, tmp_path):
    net, c = lab
    pod, svc = tmp_path / "pod.yaml", tmp_path / "svc.yaml"
    pod.write_text(textwrap.dedent(POD))
    svc.write_text(textwrap.dedent(SERVICE))
    nodes = {n: net[n] for n in NODES}
    empty = {n: (set(), set()) for n in NODES}
    try:
        got = golden.changes(nodes, lambda: live.apply(net, c, f"oc create -f {pod}"))
        assert got == {**empty, **golden.read_change(os.path.join(GOLDEN, "change-pod-added-subnet.diff"))}
        before = saved_lines(net["node1"])
        got = golden.changes(nodes, lambda: live.apply(net, c, f"oc create -f {svc}"))
        assert got == {**empty, **golden.read_change(os.path.join(GOLDEN, "change-service-added-subnet.diff"))}
        after = saved_lines(net["node1"])
        # the golden's `@@ node1 nat` and `@@ node1 filter` sections, together
        want = golden.read_change(os.path.join(GOLDEN, "change-service-added-subnet-node1.iptables.diff"), settled=True)
        assert (after - before, before - after) == want["node1"]
    finally:
        live.apply(net, c, "oc delete service added -n default")
        live.apply(net, c, "oc delete pod added -n default")
    test_every_br0_and_node1s_iptables_equal_the_3_11_goldens(lab)  # the deletes undo exactly that
