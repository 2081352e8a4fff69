"""Live NetworkPolicies on the networkpolicy plugin, applied and deleted with `oc` lines: after each line
each line changed exactly the flows the 3.11 goldens give (golden/), the reported change says the same, and
reachability follows."""

import textwrap

import pytest

from lab.observe.ping import ping
from lab.planes.openshift import live

pytestmark = pytest.mark.root

OUT = "actions=output:NXM_NX_REG2[]"


def reach(net, c, src: str, dst: str) -> bool:
    return ping(net[src], c.pod(dst).ip, count=1, timeout=2).ok


DENY = """\
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: deny-all, namespace: p2}
    spec: {podSelector: {}}
    """
SAME = """\
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: allow-from-same-namespace, namespace: p2}
    spec:
      podSelector: {}
      ingress: [{from: [{podSelector: {}}]}]
    """


def test_policies_applied_and_deleted_with_oc(np_lab, helpers, tmp_path):
    net, c = np_lab
    p2 = c.netids["p2"]
    deny, same = tmp_path / "deny.yaml", tmp_path / "same.yaml"
    deny.write_text(textwrap.dedent(DENY))
    same.write_text(textwrap.dedent(SAME))
    assert reach(net, c, "pod1", "pod2") and reach(net, c, "pod4", "pod2")

    helpers.assert_br0_is_golden(net, "networkpolicy")
    deny_change = helpers.golden_change("change-networkpolicy-deny-all.diff")
    same_change = helpers.golden_change("change-networkpolicy-allow-same-namespace.diff")
    change = helpers.oc(net, c, f"oc apply -f {deny}", deny_change)
    assert change.output == "networkpolicy.networking.k8s.io/deny-all created"
    assert {n: change.flows(n) for n in ("node1", "node2")} == {
        n: (set(), {f"table=80, priority=50, reg1={p2}, {OUT}"}) for n in ("node1", "node2")}
    assert not reach(net, c, "pod1", "pod2") and not reach(net, c, "pod4", "pod2")

    change = helpers.oc(net, c, f"oc create -f {same}", same_change)
    assert {n: change.flows(n) for n in ("node1", "node2")} == {
        n: ({f"table=80, priority=150, reg1={p2}, reg0={p2},  {OUT}"}, set()) for n in ("node1", "node2")}
    assert reach(net, c, "pod4", "pod2") and not reach(net, c, "pod1", "pod2")
    assert "allow-from-same-namespace   <none>" in live.apply(net, c, "oc get networkpolicy -n p2").output

    helpers.oc(net, c, "oc delete networkpolicy allow-from-same-namespace -n p2", helpers.reverse(same_change))
    assert not reach(net, c, "pod4", "pod2")
    change = helpers.oc(net, c, "oc delete netpol deny-all -n p2", helpers.reverse(deny_change))
    assert change.output == 'networkpolicy.networking.k8s.io "deny-all" deleted'
    assert reach(net, c, "pod1", "pod2") and reach(net, c, "pod4", "pod2")
