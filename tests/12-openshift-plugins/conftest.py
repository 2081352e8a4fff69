"""2x2 clusters on the multitenant and networkpolicy plugins (pod1/pod3 in project p1, pod2/pod4 in p2),
helpers that compare a br0 with its render and apply a changed render as the node agent would."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Dict, List, Sequence, Tuple

import pytest

from lab.apply import converge
from lab.daemons import ovs
from lab.front.pytest_plugin import built_lab
from lab.observe.flows import as_stored
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.model import Cluster, ClusterNetwork, plugin_name
from lab.planes.openshift.node.flows import flows_file_text, render_node_flows
from lab.planes.openshift.node.policy import PolicyInput
from lab.planes.openshift.node.render import BRIDGE, render_node
from lab.shell import run
from lab.state import Flow, NodeState

DUMP = "ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0"


def plugin_lab(plugin: str):
    from lab.planes.openshift import realize
    cluster = build_cluster(nodes=2, pods_per_node=2, network=ClusterNetwork(plugin=plugin_name(plugin)))
    return built_lab(realize.build, cluster, ovs.PACKAGES)


def flows_of(node) -> List[str]:
    return sorted(line.strip() for line in run(node, DUMP).splitlines() if "actions=" in line)


def differs_from_render(node, flows: Sequence[str]) -> str:
    """`ovs-ofctl diff-flows` between br0 and the rendered flows: empty when the switch holds exactly them."""
    path = os.path.join(node.dir, "flows.test-render")
    with open(path, "w") as f:
        f.write(flows_file_text(as_stored(list(flows))))
    return run(node, f"ovs-ofctl -O OpenFlow13 diff-flows br0 {path} || true").strip()


def node_state(cluster: Cluster, node: str, datapath: str, policies: Sequence[PolicyInput] = ()) -> NodeState:
    """render_node with the networkpolicy plugin's policies in its flows."""
    state = render_node(cluster, node, datapath)
    flows = render_node_flows(cluster, node, policies=policies)
    return NodeState(tuple(i for i in state.items if not isinstance(i, Flow)) + tuple(Flow(BRIDGE, f) for f in flows))


def apply(net, cluster: Cluster, policies: Sequence[PolicyInput] = ()) -> Dict[str, Tuple[set, set]]:
    """Re-render every node and apply only the difference; returns per node (added, removed) flow texts."""
    changes = converge(net, [(net[hs.name], node_state(cluster, hs.name, net.datapath, policies))
                             for hs in cluster.hostsubnets])
    out = {}
    for node, change in changes.items():
        flows = change.of(Flow)
        out[node] = ({f.text for f in flows.added} | {n.text for _o, n in flows.replaced},
                     {f.text for f in flows.removed} | {o.text for o, _n in flows.replaced})
    return out


def oc_line(net, cluster: Cluster, line: str):
    """Run a live `oc` line; check it changed exactly the flows the render changed, and that every br0 then
    equals its render. Returns the lab.planes.openshift.live.Change."""
    from lab.planes.openshift import live
    before = {hs.name: set(render_node_flows(cluster, hs.name)) for hs in cluster.hostsubnets}
    change = live.apply(net, cluster, line)
    for hs in cluster.hostsubnets:
        after = set(render_node_flows(cluster, hs.name))
        assert change.flows(hs.name) == (after - before[hs.name], before[hs.name] - after), (line, hs.name)
        assert differs_from_render(net[hs.name], sorted(after)) == "", (line, hs.name)
    return change


@pytest.fixture(scope="module")
def mt_lab():
    with plugin_lab("multitenant") as lab:
        yield lab


@pytest.fixture(scope="module")
def np_lab():
    with plugin_lab("networkpolicy") as lab:
        yield lab


@pytest.fixture
def helpers():
    """This folder's helpers (test modules cannot import a conftest by name: every folder has one)."""
    return SimpleNamespace(apply=apply, differs_from_render=differs_from_render, flows_of=flows_of, oc=oc_line)
