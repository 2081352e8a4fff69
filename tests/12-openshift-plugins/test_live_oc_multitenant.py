"""Live `oc` lines on the multitenant plugin, as a person types them: a pod, a service, then `oc adm
pod-network` join/isolate/global; each line changes exactly the flows the 3.11 goldens give (golden/), and
reachability follows."""

import textwrap

import pytest

from lab.observe.ping import ping
from lab.planes.openshift.observe.trace import trace_pod

pytestmark = pytest.mark.root


def reach(net, c, src: str, dst: str) -> bool:
    return ping(net[src], c.pod(dst).ip, count=1, timeout=2).ok


POD = """\
    apiVersion: v1
    kind: Pod
    metadata: {name: added, namespace: p1, labels: {app: added}}
    spec:
      nodeName: node1
      containers:
      - {name: web, image: busybox, ports: [{containerPort: 8080}]}
    """
SERVICE = """\
    apiVersion: v1
    kind: Service
    metadata: {name: db, namespace: p2}
    spec:
      selector: {app: db}
      clusterIP: 172.30.20.20
      ports: [{port: 5432}]
    """


def test_pod_network_lines_join_isolate_and_globalize_projects(mt_lab, helpers, tmp_path):
    net, c = mt_lab
    p1 = c.netids["p1"]
    helpers.assert_br0_is_golden(net, "multitenant")
    assert not reach(net, c, "pod1", "pod2") and not reach(net, c, "pod1", "pod4")
    hops = trace_pod(net, c, "pod1", "pod4")
    assert hops[-1][1].dropped and hops[-1][1].tables[-1] == 80, hops[-1][1].raw

    # the goldens' first multitenant run: a pod in p1, a service in p2, then join
    pod, svc = tmp_path / "pod.yaml", tmp_path / "svc.yaml"
    pod.write_text(textwrap.dedent(POD))
    svc.write_text(textwrap.dedent(SERVICE))
    helpers.oc(net, c, f"oc create -f {pod}", helpers.golden_change("change-pod-added-multitenant.diff"))
    helpers.oc(net, c, f"oc create -f {svc}", helpers.golden_change("change-service-added-multitenant.diff"))
    change = helpers.oc(net, c, "oc adm pod-network join-projects --to=p1 p2",
                        helpers.golden_change("change-join-projects.diff"))
    assert c.netids["p2"] == p1 and change.output == ""
    for hs in c.hostsubnets:  # p2's pods now load p1's VNID; p2's own table-80 rule is gone
        added, removed = change.flows(hs.name)
        assert all(f"load:{p1}->" in f for f in added) and len(added) == len(removed) - 1, (added, removed)
    for src, dst in (("pod1", "pod2"), ("pod1", "pod4"), ("pod4", "pod1"), ("pod2", "pod3")):
        assert reach(net, c, src, dst), (src, dst)

    joined = c.netids["p2"]
    isolated = []
    got = helpers.switch_changes(net, lambda: isolated.append(helpers.oc_unchecked(net, c, "oc adm pod-network isolate-projects p2")))
    assert c.netids["p2"] not in (0, p1)
    assert got == helpers.vnid_change(joined, c.netids["p2"], service=True)
    assert not reach(net, c, "pod1", "pod2") and not reach(net, c, "pod4", "pod1")
    assert reach(net, c, "pod2", "pod4")
    hops = trace_pod(net, c, "pod2", "pod3")
    assert hops[-1][1].dropped and hops[-1][1].tables[-1] == 80, hops[-1][1].raw

    helpers.oc(net, c, "oc adm pod-network make-projects-global p2", helpers.vnid_change(c.netids["p2"], 0, service=True))
    assert c.netids["p2"] == 0
    for src, dst in (("pod2", "pod1"), ("pod2", "pod3"), ("pod1", "pod2"), ("pod3", "pod4")):
        assert reach(net, c, src, dst), (src, dst)  # a global project reaches all and is reached by all
