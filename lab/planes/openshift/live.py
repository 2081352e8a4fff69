"""Live changes on a running OpenShift lab: an `oc` line (or a pod added or removed, a cable pulled) makes a
new model from a copy (lab.planes.openshift.oc.command, .master), the nodes are re-rendered and only the
difference is applied (lab.planes.openshift.realize.apply_model), as openshift-sdn's node agent and
kube-proxy would, and only then is the new model committed. A refused line changes nothing, in the model or
a node; a change that fails while it is applied is undone, so the model, the nodes and `oc get` agree.

    change = live.apply(net, cluster, "oc apply -f deny-all.yaml")
    change.flows("node1")   # (added, removed) flow texts
    print(change.describe())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

from lab import underlay
from lab.errors import BadInput
from lab.planes.openshift import realize
from lab.planes.openshift.api import apistate
from lab.planes.openshift.master.egress import set_node_offline
from lab.planes.openshift.master.pods import new_pod
from lab.planes.openshift.model import Cluster
from lab.planes.openshift.node.render import render_node
from lab.planes.openshift.oc import command as occmd
from lab.state import Flow, Iptables, OvsPort, StateDiff, diff


@dataclass
class Change:
    """What one `oc` line did: its output, and per node the difference applied (empty where none)."""

    line: str
    output: str = ""
    nodes: Dict[str, StateDiff] = field(default_factory=dict)
    pods_added: Tuple[str, ...] = ()
    pods_removed: Tuple[str, ...] = ()
    mutated: bool = False  # the line changed the cluster (a read, `oc get`, does not)

    def __bool__(self) -> bool:
        return any(self.nodes.values()) or bool(self.pods_added or self.pods_removed)

    def flows(self, node: str) -> Tuple[Set[str], Set[str]]:
        """(added, removed) flow texts on a node; a changed flow (same match, new actions) is in both."""
        d = self.nodes.get(node, StateDiff()).of(Flow)
        return ({f.text for f in d.added} | {n.text for _o, n in d.replaced},
                {f.text for f in d.removed} | {o.text for o, _n in d.replaced})

    def rules(self, node: str) -> Tuple[List[str], List[str]]:
        """(added, removed) iptables lines on a node, as `-t TABLE -A ...` / `-t TABLE -N CHAIN`."""
        d = self.nodes.get(node, StateDiff()).of(Iptables)
        old = "".join(i.text for i in d.removed) + "".join(o.text for o, _n in d.replaced)
        new = "".join(i.text for i in d.added) + "".join(n.text for _o, n in d.replaced)
        before, after = iptables_lines(old), iptables_lines(new)
        seen_before, seen_after = set(before), set(after)
        return [r for r in after if r not in seen_before], [r for r in before if r not in seen_after]

    def describe(self) -> str:
        """Per node, what the change added (+) and removed (-): ports, flows, iptables rules."""
        if not self.line:
            return "no change yet"
        lines = [f"$ oc {self.line}"]
        for pod in self.pods_added:
            lines.append(f"+ pod {pod}")
        for pod in self.pods_removed:
            lines.append(f"- pod {pod}")
        if not self:
            return "\n".join(lines + ["no node changed"])
        for node, node_diff in self.nodes.items():
            ports = node_diff.of(OvsPort)
            added, removed = self.flows(node)
            rules_added, rules_removed = self.rules(node)
            body = ([f"- port {p.name}" for p in ports.removed] + [f"+ port {p.name}" for p in ports.added]
                    + [f"- {f}" for f in sorted(removed, key=_flow_order)]
                    + [f"+ {f}" for f in sorted(added, key=_flow_order)]
                    + [f"- {r}" for r in rules_removed] + [f"+ {r}" for r in rules_added])
            lines.append(f"{node}:" + ("" if body else " no change"))
            lines += ["  " + b for b in body]
        return "\n".join(lines)


def _flow_order(text: str) -> tuple:
    f = Flow("", text)
    return (f.table, -f.key[3], text)


def iptables_lines(text: str) -> List[str]:
    """iptables-restore text as `-t TABLE -N CHAIN` and `-t TABLE -A ...` lines (what a diff compares)."""
    out, table = [], "filter"
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            chain, policy = line[1:].split()[:2]
            if policy == "-":
                out.append(f"-t {table} -N {chain}")
        elif line.startswith("-A "):
            out.append(f"-t {table} {line}")
    return out


def _run(cluster: Cluster, line: str):
    """The line read against the model (the leading `oc` is optional): its Change so far, and the cluster
    it would make (None for a read)."""
    text = line.strip()
    if text.startswith("oc "):
        text = text[3:].strip()
    outcome = occmd.run(cluster, text)
    change = Change(text, outcome.output)
    change.mutated = outcome.cluster is not None
    return change, outcome.cluster


def _pods_moved(change: Change, before: Cluster, after: Cluster) -> None:
    old = {p.host for p in before.pods}
    new = {p.host for p in after.pods}
    change.pods_added = tuple(p.host for p in after.pods if p.host not in old)
    change.pods_removed = tuple(sorted(old - new))


def apply(net, cluster: Cluster, line: str, runtime: str = "netns") -> Change:
    """Run one `oc` line against a running lab. Reads answer with their text; changes are applied to every
    node as their difference. Raises BadInput (Refused: worded as oc words it) with nothing changed when the
    API server would refuse the line; if applying fails, the lab is put back as it was and the error raised.
    (runtime: kept for callers; the lab's own pod runtime decides.)"""
    change, new = _run(cluster, line)
    if new is None:
        return change
    _pods_moved(change, cluster, new)
    nodes = change_model(net, cluster, new)
    change.nodes = {hs.name: nodes[hs.name] for hs in cluster.hostsubnets}
    return change


def change_model(net, cluster: Cluster, new: Cluster) -> Dict[str, StateDiff]:
    """The one way a running lab's model changes: render `new`, apply the difference to the lab, and only once
    that succeeded commit `new` into `cluster` (the object the CLI, the tests and the tracer hold) and into
    the API server's view for other shells; then the pods that went away are stopped. A failed apply leaves
    the lab, `cluster` and the view as they were. Returns each node's difference."""
    _added, gone = realize.pods_changed(net, cluster, new)
    changes = realize.apply_model(net, cluster, new)
    cluster.commit(new)
    apistate.write(net.name, cluster)
    realize.retire_pods(net, gone)
    return changes


def add_pod(net, cluster: Cluster, node_name: str, pod_name: Optional[str] = None) -> StateDiff:
    """A pod starts on a node at runtime (placed by lab.planes.openshift.master.pods): its namespace and veth,
    then the nodes are re-rendered and only the difference is applied (the port and the pod's flows in tables
    20, 40 and 70). Returns its node's change. With Docker pods the namespace is a new pause container's,
    and the app containers start once the pod is wired, as at bring-up."""
    pod = new_pod(cluster, node_name, pod_name)
    new = cluster.copy()
    new.pods.append(pod)
    return change_model(net, cluster, new)[node_name]


def remove_pod(net, cluster: Cluster, pod_name: str) -> StateDiff:
    """A pod goes away: the nodes drop its port and flows (only those), then its namespace is deleted (with
    Docker pods, its containers are removed first). Returns its node's change."""
    try:
        pod = cluster.pod(pod_name)
    except KeyError:
        raise BadInput(f"no pod named {pod_name!r}") from None
    new = cluster.copy()
    new.pods.remove(pod)
    return change_model(net, cluster, new)[pod.node]


def unplug_node(net, cluster: Cluster, node_name: str, plugged: bool = False) -> Dict[str, StateDiff]:
    """Pull a node's underlay cable (plugged=True: plug it back), then apply what 3.11's egress VXLAN monitor
    concludes after a few seconds: the node offline (online again). Only a namespace with several egress IPs
    moves to its next one; with one egress IP nothing changes and its traffic is black-holed. Returns the
    nodes' changes."""
    underlay.set_link(net, node_name, plugged)
    if node_name not in (hs.name for hs in cluster.hostsubnets):
        return {}
    new = cluster.copy()
    set_node_offline(new, node_name, not plugged)
    try:
        return change_model(net, cluster, new)
    except BaseException:
        underlay.set_link(net, node_name, not plugged)  # the cable as it was, as the model still says
        raise


def preview(cluster: Cluster, line: str, datapath: str = "netdev") -> Change:
    """What `apply` would change, computed from the renders alone (no lab, nothing changes): the Go tests'
    view of a change, flows added and removed per node."""
    change, new = _run(cluster, line)
    if new is None:
        return change
    _pods_moved(change, cluster, new)
    change.nodes = {hs.name: diff(render_node(cluster, hs.name, datapath), render_node(new, hs.name, datapath))
                    for hs in cluster.hostsubnets}
    return change
