"""The gaming attempts of issue 15 on the OpenShift break/fix exercises, each on its exercise's broken lab:
`check` must fail, with the criterion the attempt aimed at among the failures; then the reference solution
passes. The labs are started as `lab workshop verify` starts them (in this process, no terminal)."""

from contextlib import contextmanager

import pytest

import topologies
from lab import paths, run
from lab.cleanup import leftovers
from lab.workshop import session
from lab.workshop.catalogue import exercise
from lab.workshop.command import _run_args
from lab.workshop.live import ExerciseLab, hold, release

pytestmark = pytest.mark.root


def name(suffix: str) -> str:
    return (paths.lab_name()[:8] + suffix)[:12]


@contextmanager
def exercise_lab(ex_id: str, suffix: str):
    """The exercise's lab, broken by its setup, with the record a student's lab has."""
    ex, lab_name = exercise(ex_id), name(suffix)
    topology = topologies.load(ex.topology)
    args, model = run.from_argv(topology, _run_args(ex, lab_name)[1:])
    net = run.start(topology, args, model, name=lab_name)
    try:
        hold(lab_name, topology.control_handlers(net, model))
        session.begin(lab_name, ex, "en", topology.inventory(net, model))
        yield ExerciseLab(lab_name)
    finally:
        release(lab_name)
        net.stop()
    assert not any(leftovers(lab_name).values())


def reach_stage_of(lab, criterion: str) -> None:
    """A staged exercise: the stages before the one grading `criterion` done as a student does them (each
    stage's own reference answers, `check`, then on); an exercise without stages grades it at once."""
    ex = exercise(lab.exercise_id)
    for i, stage in enumerate(ex.stages):
        if any(criterion in c.name["en"] for c in stage.criteria):
            return
        assert session.current_stage(lab.name) == i
        session.solve(lab.name)
        session.advance(lab.name)


def rows(g) -> dict:
    return {r.criterion: r for r in g.results}


def failing(g, start: str):
    """The result whose criterion name starts with `start` (exactly one), which must have failed."""
    found = [r for r in g.results if r.criterion.startswith(start)]
    assert len(found) == 1, f"no single criterion {start!r}: {list(rows(g))}"
    assert not found[0].ok, f"{found[0].criterion} passed: {found[0].seen}"
    return found[0]


def solved_to_the_end(lab_name: str):
    """The reference solution, stage after stage; every stage's check passes; the last grade."""
    ex = exercise(session.opened(lab_name)[0].exercise_id)
    while True:
        session.solve(lab_name)
        g = session.check(lab_name)
        assert g.passed, [(r.criterion, r.seen) for r in g.results if not r.ok]
        if not ex.stages or session.current_stage(lab_name) + 1 == len(ex.stages):
            return g
        session.advance(lab_name)


def test_masquerade_rule_that_never_matches_plus_a_loopback_alias_fails():
    """Issue 15: 2/2 with a MASQUERADE rule for a foreign source and ext's address on pod1's loopback."""
    with exercise_lab("masquerade", "gm") as lab:
        ext = lab.ip_of("ext")
        lab.sh("node1", "iptables -t nat -A OPENSHIFT-MASQUERADE -s 192.168.77.0/24 -j MASQUERADE")
        lab.sh("pod1", f"ip addr add {ext}/32 dev lo")
        assert " 0% packet loss" in lab.sh("pod1", f"ping -n -c1 -W1 {ext}")  # the alias answers pod1 itself

        g = session.check(lab.name)
        assert not g.passed, [(r.criterion, r.seen) for r in g.results]
        assert "never saw the request" in failing(g, "pod1 reaches ext").seen
        failing(g, "a MASQUERADE rule of node1")  # the foreign-source rule's counter stays still
        assert "saw no echo request from pod1" in failing(g, "ext sees pod1's packets").seen

        lab.sh("pod1", f"ip addr del {ext}/32 dev lo")  # the attempt undone; the real fix passes
        graded = solved_to_the_end(lab.name)
        assert "172.16.1.11 > 172.16.1.254" in rows(graded)["ext sees pod1's packets from node1's address"].seen


def test_mtu_local_alias_fails_the_big_ping():
    """Issue 15: mtu's ping check passed with a local alias (pod2's address on node1's loopback)."""
    with exercise_lab("mtu", "gu") as lab:
        pod2 = lab.ip_of("pod2")
        lab.sh("node1", f"ip addr add {pod2}/32 dev lo")
        assert " 0% packet loss" in lab.sh("node1", f"ping -n -c1 -W1 -s 1460 {pod2}")

        g = session.check(lab.name)
        assert not g.passed
        assert "pod2 never saw the request" in failing(g, "node1 reaches pod2 (ping with 1460-byte payloads").seen

        lab.sh("node1", f"ip addr del {pod2}/32 dev lo")
        graded = solved_to_the_end(lab.name)
        big = next(r for r in graded.results if r.criterion.startswith("node1 reaches pod2 (ping with 1460"))
        assert "pod2 saw the request itself" in big.seen


def test_flow_90_with_the_wrong_tun_dst_fails_its_flow_check():
    """Issue 15: a table-90 flow with the wrong tun_dst passed the flow check (only the ping caught it)."""
    with exercise_lab("flow-90", "gf") as lab:
        reach_stage_of(lab, "table 90")
        node1, node2 = lab.underlay_ip("node1"), lab.underlay_ip("node2")
        subnet = str(lab.addresses("node2")["tun0"].network)
        lab.sh("node1", "ovs-ofctl -O OpenFlow13 add-flow br0 'table=90,priority=100,ip,nw_dst=" + subnet
               + f",actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:{node1}->tun_dst,output:1'")

        g = session.check(lab.name)
        assert not g.passed
        flow = failing(g, "node1 table 90")
        assert f"set_field:{node1}->tun_dst" in flow.seen and node2 in flow.seen  # what it set, what it must be
        failing(g, "pod1's packet to pod2 reaches node2 over VXLAN")  # nothing arrives at node2

        graded = solved_to_the_end(lab.name)  # the repaired flow replaces the wrong one (same match)
        assert session.current_stage(lab.name) == len(exercise("flow-90").stages) - 1
        assert [r.criterion for r in graded.results][:2] == ["answer tun_dst", "answer port"]


def test_wrong_vnid_let_through_by_a_hand_made_table_80_flow_fails_on_the_wire():
    """A hand-made allow-all flow in node2's table 80 lets pod1 reach pod3 with the wrong VNID: the VXLAN node2
    receives still carries it, pod1's port still loads it, and p1 is no longer isolated from p2."""
    with exercise_lab("wrong-vnid", "gv") as lab:
        reach_stage_of(lab, "over VXLAN")
        lab.sh("node2", "ovs-ofctl -O OpenFlow13 add-flow br0 'table=80,priority=400,actions=output:NXM_NX_REG2[]'")

        g = session.check(lab.name)
        assert not g.passed
        assert next(r for r in g.results if r.criterion.startswith("pod1 reaches pod3")).ok  # it reaches pod3...
        wire = failing(g, "pod1's packet to pod3 reaches node2 over VXLAN")
        assert "vni 2457" in wire.seen  # ...with 0x999 on the wire, as node2's capture shows
        failing(g, "pod1's port carries its project's VNID")
        assert "arrived at pod4" in failing(g, "pod1 stays isolated from pod4").seen

        lab.sh("node2", "ovs-ofctl -O OpenFlow13 --strict del-flows br0 'table=80,priority=400'")
        graded = solved_to_the_end(lab.name)
        assert f"vni {int(lab.inventory['netnamespaces']['p1'])}" in next(
            r.seen for r in graded.results if "over VXLAN" in r.criterion)
