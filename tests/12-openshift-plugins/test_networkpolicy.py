"""ovs-networkpolicy on real switches: br0 and iptables as the 3.11 goldens have them, conntrack on, a
namespace without policies allows all, and policies (deny-all, allow-from-same-namespace, namespaceSelector,
a port) change exactly the goldens' table-80 flows."""

import os

import pytest

from lab.observe import golden
from lab.observe.flows import hit_deltas
from lab.observe.ping import ping
from lab.planes.openshift.node.flows import render_node_flows
from lab.planes.openshift.node.policy import PolicyInput
from lab.shell import bounded

pytestmark = pytest.mark.root

OUT = "actions=output:NXM_NX_REG2[]"


def reach(net, c, src: str, dst: str) -> bool:
    return ping(net[src], c.pod(dst).ip, count=1, timeout=2).ok


def tcp_answers(net, c, src: str, dst: str, port: int) -> bool:
    """A TCP handshake from src to dst:port while a listener runs there: True if it completed, False if the
    SYN was dropped (connect timed out). Refused (listener not up yet) retries until a deadline."""
    server = net[dst]
    listener = (f"import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                f"s.bind(('', {port})); s.listen(); s.settimeout(15); s.accept()")
    pid = server.cmd(f'timeout 20 python3 -c "{listener}" >/dev/null 2>&1 & echo $!').strip().splitlines()[-1]
    probe = (f"import socket, sys, time\n"
             f"deadline = time.time() + 10\n"
             f"while time.time() < deadline:\n"
             f"    try:\n"
             f"        socket.create_connection(('{c.pod(dst).ip}', {port}), timeout=2); print('open'); sys.exit()\n"
             f"    except ConnectionRefusedError:\n"
             f"        time.sleep(0.1)\n"
             f"    except OSError:\n"
             f"        break\n"
             f"print('closed')\n")
    try:
        return bounded(net[src], f"python3 -c \"{probe}\" 2>&1 || true", 40).strip().endswith("open")
    finally:
        server.cmd(f"kill {int(pid)} 2>/dev/null; wait {int(pid)} 2>/dev/null")


def test_every_br0_and_iptables_equal_the_3_11_goldens(np_lab, helpers, record_datapath):
    """iptables: the golden, plus on the userspace datapath exactly the lab's own labelled MASQUERADE rule
    first in OPENSHIFT-MASQUERADE-2 (DISCREPANCIES D4); on the kernel datapath nothing else."""
    net, c = np_lab
    helpers.assert_br0_is_golden(net, "networkpolicy")
    dump = golden.dump_flows(net["node1"])
    assert "table=253, actions=note:02.07.00.00.00.00" in dump
    assert "priority=300,ct_state=-trk,ip actions=ct(table=0)" in dump
    want = golden.read_iptables(os.path.join(helpers.golden, "networkpolicy-node1.iptables"))
    if record_datapath(net.datapath) == "netdev":
        want[("nat", "OPENSHIFT-MASQUERADE-2")].insert(0, helpers.userspace_masquerade)
    assert golden.saved_iptables(net["node1"]) == want


def test_without_policies_every_namespace_allows_all_through_its_priority_50_flow(np_lab):
    net, c = np_lab
    allow_p2 = (80, 50, f"reg1={c.netids['p2']:#x}")
    for src, dst in (("pod1", "pod2"), ("pod1", "pod4"), ("pod3", "pod2")):
        node = net[c.pod(dst).node]
        answered = []
        moved = hit_deltas(node, lambda src=src, dst=dst, answered=answered: answered.append(reach(net, c, src, dst)))
        assert answered == [True] and moved.get(allow_p2, 0) >= 1, (src, dst, moved)


def test_policies_change_exactly_their_table_80_flows_and_what_passes(np_lab, helpers):
    net, c = np_lab
    p1, p2 = c.netids["p1"], c.netids["p2"]
    deny = PolicyInput("p2", "deny-all", pod_selector={}, ingress=[])
    same = PolicyInput("p2", "allow-from-same-namespace", pod_selector={}, ingress=[{"from": [{"podSelector": {}}]}])
    from_p1_port = PolicyInput("p2", "allow-8080-from-p1", pod_selector={},
                               ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"name": "p1"}}}],
                                         "ports": [{"protocol": "TCP", "port": 8080}]}])
    try:
        got = helpers.switch_changes(net, lambda: helpers.apply(net, c, [deny]))
        assert got == helpers.golden_change("change-networkpolicy-deny-all.diff")
        helpers.assert_br0_is_golden(net, "networkpolicy-deny-all")
        assert not reach(net, c, "pod1", "pod2") and not reach(net, c, "pod4", "pod2")
        assert reach(net, c, "pod2", "pod1")  # p1 has no policy; the reply comes back as ct +rpl

        got = helpers.switch_changes(net, lambda: helpers.apply(net, c, [deny, same]))
        assert got == helpers.golden_change("change-networkpolicy-allow-same-namespace.diff")
        helpers.assert_br0_is_golden(net, "networkpolicy-deny-all+allow-same")
        assert reach(net, c, "pod4", "pod2") and not reach(net, c, "pod1", "pod2")

        # namespaceSelector needs the namespace's labels: the lab's namespaces carry none, so give p1 one
        from lab.planes.openshift.node.policy import NamespaceInput
        namespaces = [NamespaceInput(n, {"name": n}) for n in c.netids]
        flows = {hs.name: render_node_flows(c, hs.name, policies=[deny, same, from_p1_port], namespaces=namespaces)
                 for hs in c.hostsubnets}
        assert f"table=80, priority=150, reg1={p2}, reg0={p1}, tcp, tp_dst=8080,  {OUT}" in flows["node1"]
        _apply_flows(net, c, flows)
        helpers.assert_br0_is_golden(net, "networkpolicy-three-policies")  # after `oc label namespace p1 name=p1`
        assert tcp_answers(net, c, "pod1", "pod2", 8080)
        assert not tcp_answers(net, c, "pod1", "pod2", 8081) and not reach(net, c, "pod1", "pod2")
    finally:
        helpers.apply(net, c, [])
    helpers.assert_br0_is_golden(net, "networkpolicy")  # deleting the policies restores the default allow, nothing else
    assert reach(net, c, "pod1", "pod2")


def _apply_flows(net, c, flows):
    from lab.apply import converge
    from lab.planes.openshift.node.render import BRIDGE, render_node
    from lab.state import Flow, NodeState
    targets = []
    for hs in c.hostsubnets:
        state = render_node(c, hs.name, net.datapath)
        items = tuple(i for i in state.items if not isinstance(i, Flow)) + tuple(Flow(BRIDGE, f) for f in flows[hs.name])
        targets.append((net[hs.name], NodeState(items)))
    converge(net, targets)
