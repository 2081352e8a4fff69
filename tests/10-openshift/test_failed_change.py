"""A live change that fails while it is being applied leaves the lab as it was: the nodes converge back to the
old model's render, the hosts the change added go, and the model, `oc get` and api.json say what they said
before. The failures are real: ovs-ofctl refuses a flow on one node while the others take the change."""

import os
import time

import pytest
from labstate import differences, lab_state, manifest, refuse_a_flow

from lab.errors import LabError
from lab.planes.openshift import live, realize
from lab.shell import run

pytestmark = pytest.mark.root

LATE = """\
    apiVersion: v1
    kind: Pod
    metadata: {name: late, labels: {app: late}}
    spec: {nodeName: node1, containers: [{name: late, image: busybox, ports: [{containerPort: 8080}]}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: late}
    spec: {selector: {app: late}, clusterIP: 172.30.0.77, ports: [{port: 80, targetPort: 8080}]}
    """


def ended(pid: int, seconds: float = 3.0) -> bool:
    """The process ends within `seconds` (a zombie has ended: only its parent has not read its status yet)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def has_late(cluster) -> bool:
    return any(p.name == "late" for p in cluster.pods)


def test_a_change_refused_by_one_switch_is_undone_everywhere(lab, tmp_path, monkeypatch):
    """node1 takes the new pod (veth, port, flows, server) and the service's rules; node2's switch refuses
    its bundle half-way (after its ports, before its iptables): both come back, the pod's host goes."""
    net, c = lab
    before = lab_state(net, c)
    refuse_a_flow(monkeypatch, "node2", has_late)
    with pytest.raises(LabError, match="frobnicate"):
        live.apply(net, c, f"oc apply -f {manifest(tmp_path, LATE)}")
    monkeypatch.undo()
    assert "late" not in net and not has_late(c)
    assert differences(before, lab_state(net, c)) == {}


def test_a_change_that_fails_after_every_node_took_it_is_undone(lab, tmp_path, monkeypatch):
    """Every switch and kernel took the change and the new pod's server runs, then a later step fails: the
    nodes go back, the server stops, the pod's host goes."""
    net, c = lab
    before = lab_state(net, c)
    serve, servers = realize._serve, []

    def serve_then_fail(net_, pods, rt):
        serve(net_, pods, rt)
        servers.extend(int(open(os.path.join(net_[p.host].dir, "podserver.pid")).read().split()[0]) for p in pods)
        raise LabError("a step after the nodes failed")
    monkeypatch.setattr(realize, "_serve", serve_then_fail)
    with pytest.raises(LabError, match="a step after the nodes failed"):
        live.apply(net, c, f"oc apply -f {manifest(tmp_path, LATE)}")
    monkeypatch.undo()
    assert len(servers) == 1 and ended(servers[0]), "the new pod's server still runs"
    assert differences(before, lab_state(net, c)) == {}


def test_a_failed_delete_puts_back_what_it_had_taken_away(lab, tmp_path, monkeypatch):
    """`oc delete svc` takes the service's rules off node1; node2's switch refuses: node1's rules come back."""
    net, c = lab
    live.apply(net, c, f"oc apply -f {manifest(tmp_path, LATE)}")
    try:
        before = lab_state(net, c)
        refuse_a_flow(monkeypatch, "node2", lambda cluster: not cluster.services)
        with pytest.raises(LabError, match="frobnicate"):
            live.apply(net, c, "oc delete svc late")
        monkeypatch.undo()
        assert differences(before, lab_state(net, c)) == {}
        assert any("172.30.0.77" in line for line in run(net["node1"], "iptables-save -t nat").splitlines())
    finally:
        monkeypatch.undo()
        live.apply(net, c, "oc delete svc late")
        live.apply(net, c, "oc delete pod late")
    assert "late" not in net and not has_late(c) and not c.services
