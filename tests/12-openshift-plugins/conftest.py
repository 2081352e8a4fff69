"""2x2 clusters on the multitenant and networkpolicy plugins (pod1/pod3 in project p1, pod2/pod4 in p2),
helpers that compare a br0 with the 3.11 goldens (golden/, written from the Go source; golden/README.md),
measure what an event changed on the switches, and apply a changed render as the node agent would."""

from __future__ import annotations

import os
import re
from types import SimpleNamespace
from typing import Dict, List, Sequence, Tuple

import pytest

from lab.apply import converge
from lab.daemons import ovs
from lab.front.pytest_plugin import built_lab
from lab.observe import golden
from lab.observe.flows import as_stored
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.model import Cluster, ClusterNetwork, plugin_name
from lab.planes.openshift.node.flows import flows_file_text, render_node_flows
from lab.planes.openshift.node.policy import PolicyInput
from lab.planes.openshift.node.render import BRIDGE, render_node
from lab.shell import run
from lab.state import Flow, NodeState

DUMP = "ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0"
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
NODES = ("node1", "node2")
# the sdnlab-only rule of the userspace datapath (README: services on the networkpolicy plugin; DISCREPANCIES D4)
USERSPACE_MASQUERADE = ('-A OPENSHIFT-MASQUERADE-2 -m conntrack --ctstate DNAT -m comment --comment "sdnlab: '
                        'userspace datapath: OVS cannot undo the kernel DNAT of pod-to-service" -j MASQUERADE')


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


def golden_change(name: str) -> Dict[str, golden.Change]:
    """A change golden as the lab makes it: the event and its SyncVNIDRules sections (golden/README.md)."""
    return golden.read_change(os.path.join(GOLDEN, name), settled=True)


def reverse(change: Dict[str, golden.Change]) -> Dict[str, golden.Change]:
    """The change that undoes one (deleting what a create added)."""
    return {node: (removed, added) for node, (added, removed) in change.items()}


def vnid_change(old: int, new: int, service: bool = False) -> Dict[str, golden.Change]:
    """p2 moving from VNID old to new, read from the join golden (its p2 -> p1 lines for pod2 on node1 and pod4
    on node2, and with service, the golden's service p2/db), with the table-80 rules EnsureVNIDRules(new) adds
    and SyncVNIDRules then drops for old; p1's rule stays in use by pod1 and pod3 throughout."""
    join = golden_change("change-join-projects.diff")

    def load(v: int) -> str:
        return "load:0->" if v == 0 else f"load:{v:#x}->"

    def rule(v: int) -> set:
        return set() if v in (0, 0x53cff1) else {f"table=80, priority=100,reg0={v:#x},reg1={v:#x} actions=output:NXM_NX_REG2[]"}
    out = {}
    for node, (_added, removed) in join.items():
        moved = {f for f in removed if (service or "172.30.20.20" not in f) and not f.startswith("table=80")}
        assert all("load:0x69d729->" in f for f in moved), moved
        out[node] = ({f.replace("load:0x69d729->", load(new)) for f in moved} | rule(new),
                     {f.replace("load:0x69d729->", load(old)) for f in moved} | rule(old))
    return out


def assert_br0_is_golden(net, name: str) -> None:
    """node1's and node2's br0, dumped, equal golden/<name>-node1.flows and -node2.flows line for line."""
    for node in NODES:
        got, want = golden.dump_flows(net[node]), golden.read_flows(os.path.join(GOLDEN, f"{name}-{node}.flows"))
        assert got == want, (node, name, golden.flows_diff(got, want))


def switch_changes(net, action) -> Dict[str, golden.Change]:
    return golden.changes({n: net[n] for n in NODES}, action)


def oc_line(net, cluster: Cluster, line: str, want: Dict[str, golden.Change]):
    """Run a live `oc` line; the switches changed exactly `want` (per node: these flows added, these removed,
    nothing else), and the Change the line reports counts as many. Returns the live Change."""
    from lab.planes.openshift import live
    done = []
    got = switch_changes(net, lambda: done.append(live.apply(net, cluster, line)))
    assert got == {n: want.get(n, (set(), set())) for n in NODES}, (line, got, want)
    change = done[0]
    for node in NODES:
        assert tuple(map(len, change.flows(node))) == tuple(map(len, got[node])), (line, node, change.flows(node))
    return change


# the egress node's table-100 flow (SetNamespaceEgressViaEgressIP, local): tun0's MAC, the mark, goto_table:101
_EGRESS_LOCAL = re.compile(r"reg0=0x([0-9a-f]+) actions=set_field:[0-9a-f:]+->eth_dst,set_field:0x[0-9a-f]+->pkt_mark,(goto_table:101)")


def egress_carrier(datapath: str):
    """The golden flow as the lab holds it on `datapath`: on the kernel datapath unchanged; on the userspace one
    pkt_mark does not reach the kernel, and the lab's documented carrier (golden/DISCREPANCIES.md D5) also sets
    eth_src to 02:e9:00:<VNID's three bytes> before goto_table:101 (mangle PREROUTING turns it into the mark)."""
    def edit(flow: str) -> str:
        m = _EGRESS_LOCAL.search(flow)
        if datapath == "system" or not m:
            return flow
        vnid = int(m.group(1), 16)
        mac = "02:e9:00:%02x:%02x:%02x" % (vnid >> 16 & 255, vnid >> 8 & 255, vnid & 255)
        return flow[:m.start(2)] + f"set_field:{mac}->eth_src," + flow[m.start(2):]
    return edit


def event_golden(name: str, datapath: str, undo: bool = False) -> Dict[str, golden.Change]:
    """A change golden for both nodes (a node it leaves out: no change), in the datapath's form; undo reverses it."""
    change = golden.fill_change(golden_change(name), egress_carrier(datapath))
    change = reverse(change) if undo else change
    return {n: change.get(n, (set(), set())) for n in NODES}


def iptables_golden(name: str, undo: bool = False) -> Dict[str, Dict[str, golden.Change]]:
    """A `change-*.iptables.diff` for both nodes' filter and nat (a table it leaves out: no change)."""
    change = golden.read_iptables_change(os.path.join(GOLDEN, name))
    out = {}
    for n in NODES:
        tables = {t: change.get(n, {}).get(t, (set(), set())) for t in ("filter", "nat")}
        out[n] = {t: ((r, a) if undo else (a, r)) for t, (a, r) in tables.items()}
    return out


def measure(net, action) -> SimpleNamespace:
    """Run action; per node the br0 change (added, removed) and per node and table the iptables rule change, read
    from the switch and iptables-save before and after; .result is what action returned."""
    nodes = {n: net[n] for n in NODES}
    rules = {n: golden.saved_rules(node) for n, node in nodes.items()}
    done = []
    flows = golden.changes(nodes, lambda: done.append(action()))
    return SimpleNamespace(flows=flows, result=done[0],
                           rules={n: golden.rule_changes(rules[n], golden.saved_rules(node)) for n, node in nodes.items()})


def assert_event(got: SimpleNamespace, datapath: str, flows: str, iptables: str = "", undo: bool = False) -> None:
    """The event changed br0 exactly as golden `flows` says (nothing else on any node) and, with `iptables`, the
    filter and nat rules exactly as that golden says; without it, no filter/nat rule changed."""
    want = event_golden(flows, datapath, undo)
    assert got.flows == want, (flows, "undo" if undo else "", got.flows, want)
    want_rules = iptables_golden(iptables, undo) if iptables else {n: {t: (set(), set()) for t in ("filter", "nat")} for n in NODES}
    assert got.rules == want_rules, (iptables or "no iptables change", got.rules, want_rules)


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
    from lab.planes.openshift import live
    return SimpleNamespace(oc_unchecked=live.apply, apply=apply, differs_from_render=differs_from_render, flows_of=flows_of, oc=oc_line,
                           golden_change=golden_change, reverse=reverse, vnid_change=vnid_change, assert_br0_is_golden=assert_br0_is_golden,
                           switch_changes=switch_changes, golden=GOLDEN, measure=measure,
                           assert_event=assert_event, event_golden=event_golden, userspace_masquerade=USERSPACE_MASQUERADE)
