"""Render and realize apart: re-applying a render changes nothing, a pod added or removed at runtime
changes exactly its own flows on its own node, as openshift-sdn's node agent does."""

import difflib
import os
import re

import pytest

from lab.apply import converge, reapply
from lab.observe.ping import ping
from lab.planes.openshift import live, realize
from lab.shell import run

pytestmark = pytest.mark.root

DUMP = "ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0"


def _lines(text):
    return sorted(line.strip() for line in text.splitlines() if line.strip())


def flows_of(node):
    return _lines(run(node, DUMP))


def without_netns_errors(text: str) -> str:
    """`ip` complains on stderr when it cannot name a veth peer's namespace (one that has come or gone
    since its id was handed out, e.g. a removed pod's): noise about the tool, not a change in the host."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("Error: Peer netns reference"))


def snapshot(net, c):
    """What the kernel and each switch hold, minus what moves by itself (counters, ages)."""
    shot = {}
    for h in net.hosts:
        if h.role == "node":
            shot[(h.name, "flows")] = flows_of(h)
            iptables = run(h, "iptables-save")
            shot[(h.name, "iptables")] = [re.sub(r"\[\d+:\d+\]", "", line) for line in iptables.splitlines()
                                          if not line.startswith("#")]
            shot[(h.name, "ovsdb")] = run(h, "ovs-vsctl show")
        shot[(h.name, "route")] = run(h, "ip route")
        # IPv6 duplicate address detection ends in its own time (seconds on a slow VM): not a change
        shot[(h.name, "addr")] = without_netns_errors(run(h, "ip addr").replace(" tentative", ""))
        shot[(h.name, "link")] = without_netns_errors(run(h, "ip -o link"))
    return shot


def apply_scripts(net):
    return {h.name: sorted(f for f in os.listdir(h.dir) if f.startswith("apply-") and f.endswith(".sh"))
            for h in net.hosts}


def test_applying_the_same_render_again_changes_nothing(lab):
    net, c = lab
    states = realize.render_all(c, net.datapath)
    targets = [(net[name], state) for name, state in states.items()]
    before, scripts = snapshot(net, c), apply_scripts(net)
    changes = converge(net, targets)
    assert set(changes) == set(states) and not any(changes.values()), changes
    assert apply_scripts(net) == scripts  # an empty difference runs nothing, in no host
    reapply(net, targets)  # the whole state once more, as a first bring-up runs it
    assert all(len(apply_scripts(net)[n]) == len(scripts[n]) + 1 for n in states)
    after = snapshot(net, c)
    changed = {k: "\n".join(difflib.unified_diff(_as_lines(before[k]), _as_lines(v), lineterm=""))
               for k, v in after.items() if v != before[k]}
    assert changed == {}, "\n".join(f"{k}:\n{d}" for k, d in changed.items())


def _as_lines(value):
    return value if isinstance(value, list) else value.splitlines()


def test_a_pod_added_and_removed_changes_only_its_own_flows(lab, record_datapath):
    net, c = lab
    node1, node2 = net["node1"], net["node2"]
    before1, before2 = flows_of(node1), flows_of(node2)
    change = live.add_pod(net, c, "node1")
    pod = c.pods[-1]
    assert pod.node == "node1" and pod.name in net
    try:
        after1 = flows_of(node1)
        gained = sorted(set(after1) - set(before1))
        assert set(before1) <= set(after1), "node1 lost flows"
        # the pod's anti-spoofing (20: arp and ip), ARP (40) and delivery (70) flows, nothing else
        assert sorted(re.search(r"table=(\d+)", f).group(1) for f in gained) == ["20", "20", "40", "70"], gained
        assert all(pod.ip in f for f in gained), gained
        assert len(after1) == len(before1) + 4
        assert flows_of(node2) == before2
        # the recorded change says the same: the port, its veth brought up, the four flows (and, on the
        # userspace datapath, the veth's arp_ignore, so the node's kernel never routes around br0)
        node_items = ["Flow"] * 4 + ["Link", "OvsPort"] + (["Sysctl"] if record_datapath(net.datapath) == "netdev" else [])
        kinds = sorted(type(i).__name__ for i in change.added)
        assert kinds == node_items and not change.removed and not change.replaced
        ports = run(node1, "ovs-vsctl --format=csv --no-headings --columns=name,ofport list interface")
        assert f"{pod.veth},{pod.ofport}" in ports.replace('"', "")
        remote = next(p for p in c.pods if p.node == "node2")
        assert ping(net[pod.name], remote.ip, count=2).ok, f"{pod.name} -> {remote.name}"
        assert ping(net[pod.name], c.external.ip, count=2).ok, f"{pod.name} -> {c.external.name}"
    finally:
        if pod in c.pods:
            removal = live.remove_pod(net, c, pod.name)
    assert sorted(type(i).__name__ for i in removal.removed) == node_items
    assert flows_of(node1) == before1 and flows_of(node2) == before2
    assert pod.veth not in run(node1, "ovs-vsctl list-ports br0").split()
    assert pod.name not in net
