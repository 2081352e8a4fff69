"""Live `oc` changes on a running OpenShift lab: the line changes a copy of the model (lab.planes.openshift.oc.command),
then the nodes are re-rendered and only the difference is applied (lab.planes.openshift.realize.apply_cluster),
as openshift-sdn's node agent and kube-proxy would. A refused line changes nothing, in the model or a node.

    change = live.apply(net, cluster, "oc apply -f deny-all.yaml")
    change.flows("node1")   # (added, removed) flow texts
    print(change.describe())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Set, Tuple

from lab.planes.openshift.api import apistate
from lab.planes.openshift.oc import command as occmd
from lab.planes.openshift import realize
from lab.planes.openshift.model import Cluster
from lab.state import Flow, Iptables, OvsPort, StateDiff


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
        for node, diff in self.nodes.items():
            ports = diff.of(OvsPort)
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
    API server would refuse the line."""
    change, new = _run(cluster, line)
    if new is None:
        return change
    _pods_moved(change, cluster, new)
    nodes = realize.apply_cluster(net, cluster, new, runtime=runtime)  # the model becomes `new` in place
    apistate.write(net.name, cluster)  # the API server's view, for other shells
    change.nodes = {hs.name: nodes[hs.name] for hs in cluster.hostsubnets}
    return change


def preview(cluster: Cluster, line: str, datapath: str = "netdev") -> Change:
    """What `apply` would change, computed from the renders alone (no lab, nothing changes): the Go tests'
    view of a change, flows added and removed per node."""
    from lab.planes.openshift.node.render import render_node
    from lab.state import diff
    change, new = _run(cluster, line)
    if new is None:
        return change
    _pods_moved(change, cluster, new)
    change.nodes = {hs.name: diff(render_node(cluster, hs.name, datapath), render_node(new, hs.name, datapath))
                    for hs in cluster.hostsubnets}
    return change
    change.mutated = True
    new = outcome.cluster
    change.nodes = {hs.name: diff(render_node(cluster, hs.name, datapath), render_node(new, hs.name, datapath))
                    for hs in cluster.hostsubnets}
    before, after = {p.host for p in cluster.pods}, {p.host for p in new.pods}
    change.pods_added = tuple(p.host for p in new.pods if p.host not in before)
    change.pods_removed = tuple(sorted(before - after))
    return change
