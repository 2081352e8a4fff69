"""The egress exercises (egress-ip, egress-node-down, multicast, egress-firewall) on a model alone: their setup,
`oc` solution and reset turn the facts the grading reads from the switches (the rendered flows) on and off."""


import pytest

import topologies
from lab.errors import BadInput
from lab.planes.openshift.exercises import egress as eg
from lab.planes.openshift.exercises.common import unplug
from lab.planes.openshift.master import egress as master_egress
from lab.planes.openshift.node import egress
from lab.planes.openshift.node.render import BRIDGE, render_node
from lab.planes.openshift.oc import command as occmd
from lab.run import run_parser
from lab.workshop.catalogue import CATALOGUE
from lab.workshop.command import _run_args


class ModelLab:
    """What the egress exercises' setup, solve and flow-reading truths touch: `oc`, `unplug`, the record, and
    the flows of each node's switch answered from its render."""

    name = "wsunit"

    def __init__(self, ex_id):
        ex = CATALOGUE[ex_id]
        topology = topologies.load(ex.topology)
        self.cluster = topology.model(run_parser(topology).parse_args(_run_args(ex, "wsunit")[1:]))
        self.ex, self.lines, self.record = ex, [], {}
        self.inventory = {"netnamespaces": dict(self.cluster.netids)}

    def oc(self, line):
        self.lines.append(line)
        outcome = occmd.run(self.cluster, line)
        if outcome.cluster is not None:
            self.cluster = outcome.cluster
        return outcome

    def unplug(self, node, plugged=False):
        self.lines.append(f"{'plug' if plugged else 'unplug'} {node}")
        master_egress.set_node_offline(self.cluster, node, not plugged)

    def ask(self, verb, line):  # the lab's CLI verbs, as ExerciseLab.ask reaches them
        if verb in ("plug", "unplug"):
            return self.unplug(line, plugged=verb == "plug")
        assert verb == "oc", verb
        return self.oc(line).output

    def save(self):
        pass

    def flows(self, node, table=None):  # ExerciseLab.flows, answered from the node's render
        flows = render_node(self.cluster, node, "netdev").flows(BRIDGE)
        return [f for f in flows if table is None or f.startswith(f"table={table},")]

    def underlay_ip(self, node):
        return self.cluster.hostsubnet(node).host_ip

    def ip_of(self, host):
        return self.cluster.external.ip if host == "ext" else self.cluster.pod(host).ip


def test_egress_ip_solution_tunnels_p1_to_node2_which_marks_it():
    lab = ModelLab("egress-ip")
    lab.ex.setup(lab)
    assert not eg._egress_flow_via(lab, "node1", "node2").ok and eg._mark(lab) == ""
    lab.ex.solve(lab)
    assert eg._egress_flow_via(lab, "node1", "node2").ok
    vnid = lab.cluster.netids["p1"]
    assert eg._mark(lab) == egress.shown(egress.mark_for_vnid(vnid)) and eg._mark(lab) != ""
    assert lab.cluster.hostsubnet("node2").egress_ips == (eg.EGRESS_IP,)
    lab.ex.setup(lab)  # reset: no egress IP anywhere again
    assert eg._mark(lab) == "" and not any(n.egress_ips for n in lab.cluster.netnamespaces)
    assert all(not hs.egress_ips for hs in lab.cluster.hostsubnets)


def test_egress_node_down_black_holes_then_the_moved_ip_is_marked_on_node1():
    lab = ModelLab("egress-node-down")
    lab.ex.setup(lab)
    assert lab.cluster.offline_nodes == ("node2",)
    assert eg._dead_node_tun_dst(lab) == lab.underlay_ip("node2") and "seen" not in lab.record  # observed, not stored
    assert eg._deciding_table(lab) == "100" and not eg._egress_local(lab).ok
    lab.ex.solve(lab)
    assert eg._egress_local(lab).ok and eg._deciding_table(lab) == "100"
    assert lab.cluster.offline_nodes == ("node2",), "the solution does not plug node2 back"
    lab.ex.setup(lab)  # reset
    assert lab.cluster.hostsubnet("node2").egress_ips == (eg.EGRESS_IP,) and not lab.cluster.hostsubnet("node1").egress_ips
    assert not eg._egress_local(lab).ok and lab.lines.count("plug node2") == 2


def test_multicast_solution_fills_table_120_for_the_project():
    lab = ModelLab("multicast")
    assert {p.host: p.namespace for p in lab.cluster.pods} == {
        "source": "stream", "viewer1": "stream", "viewer2": "stream", "outsider": "other"}
    assert {p.host: p.node for p in lab.cluster.pods if p.namespace == "stream"} == {
        "source": "node1", "viewer1": "node1", "viewer2": "node2"}
    lab.ex.setup(lab)
    assert eg._multicast_table(lab) == ""
    lab.ex.solve(lab)
    assert eg._multicast_table(lab) == "120"
    lab.ex.setup(lab)
    assert eg._multicast_table(lab) == ""


def test_egress_firewall_solution_drops_p1_to_ext_in_table_101_and_reset_deletes_it():
    lab = ModelLab("egress-firewall")
    assert lab.cluster.external.ip == "172.16.1.254"  # the address deny-ext.yaml names
    lab.ex.setup(lab)
    assert lab.lines == ["get egressnetworkpolicy -n p1"] and not eg._denies_ext(lab).ok
    lab.ex.solve(lab)
    assert eg._denies_ext(lab).ok
    assert not any(f"reg0={lab.cluster.netids['p2']}," in f for f in lab.flows("node1", 101))
    lab.ex.setup(lab)
    assert "delete egressnetworkpolicy default -n p1" in lab.lines and not eg._denies_ext(lab).ok


@pytest.mark.parametrize("typed, stored", [("0x53cff0", "0x53cff0"), ("53CFF0", "0x53cff0"), ("0x0053cff0", "0x53cff0")])
def test_mark_answers_in_hex_with_or_without_0x(typed, stored):
    assert eg.hex_value(typed) == eg.hex_value(stored)


def test_unplug_outside_the_lab_process_asks_its_control_socket(tmp_path, monkeypatch):
    from lab import paths
    from lab.workshop.live import ExerciseLab
    monkeypatch.setattr(paths, "RUN_DIR", str(tmp_path))
    lab = ExerciseLab.__new__(ExerciseLab)
    lab.name = "nobodyruns"
    with pytest.raises(BadInput, match=r"^lab 'nobodyruns' is not running"):
        unplug(lab, "node2")
