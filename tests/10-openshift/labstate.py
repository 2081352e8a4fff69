"""What a running OpenShift lab holds, to compare before and after a change that failed, and a real failure to
provoke: ovs-ofctl refusing a flow rendered into one node's state."""

import os
import re
import textwrap

from lab.planes.openshift import live, realize
from lab.planes.openshift.api import apistate
from lab.shell import run
from lab.state import Flow, NodeState

DUMP = "ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0"
OC_GETS = ("get pods -o wide --all-namespaces", "get svc --all-namespaces", "get endpoints --all-namespaces",
           "get hostsubnets")
REFUSED = Flow("br0", "table=0, priority=1, actions=frobnicate")  # ovs-ofctl: unknown action


def lab_state(net, c) -> dict:
    """What the switches, the kernels, the lab's hosts, the model, `oc get` and api.json hold; only counters
    and iptables-save's date lines are left out."""
    shot = {"hosts": sorted(h.name for h in net.hosts), "api.json": apistate.read(net.name),
            "model": (list(c.pods), list(c.services), list(c.netnamespaces))}
    for hs in c.hostsubnets:
        node = net[hs.name]
        shot[hs.name, "br0"] = run(node, DUMP)
        shot[hs.name, "ports"] = run(node, "ovs-vsctl list-ports br0")
        shot[hs.name, "iptables-save"] = re.sub(r"\[\d+:\d+\]", "", "\n".join(
            line for line in run(node, "iptables-save").splitlines() if not line.startswith("#")))
        shot[hs.name, "addresses"] = run(node, "ip -4 -o addr show")
        with open(os.path.join(node.dir, "flows.expected")) as f:
            shot[hs.name, "flows.expected"] = f.read()
    for line in OC_GETS:
        shot[f"oc {line}"] = live.apply(net, c, line).output
    return shot


def differences(before: dict, after: dict) -> dict:
    return {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)}


def refuse_a_flow(monkeypatch, node: str, when) -> None:
    """Render one flow ovs-ofctl refuses into `node`'s state for the models `when` picks (the new one)."""
    render = realize.render_node

    def render_node(cluster, name, datapath):
        state = render(cluster, name, datapath)
        return NodeState(state.items + (REFUSED,)) if name == node and when(cluster) else state
    monkeypatch.setattr(realize, "render_node", render_node)


def manifest(tmp_path, text: str, name: str = "change.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)
