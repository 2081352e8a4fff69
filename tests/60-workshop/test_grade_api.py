"""The API exercises graded on what only the real fix earns (issue 15): each gaming attempt a student made is
done here on a real lab (a hand-made table-80 or table-101 flow instead of the API object, an edited api.json,
the NETID the lab holds now as the answer, the answer read from workshop.json) and must leave the grade
failing, while the switch or the kernel shows the attempt really took effect; the drift check
(lab.workshop.drift) reports each kind of hand-made state, and nothing on a fresh lab or after `oc`.

The labs run in this process, as `lab workshop verify` runs them (the `rendered`, `api` and `oc` verbs answered
directly); one lab per exercise, shared by the tests of that exercise (a process runs one lab at a time: the
shared lab's tests come last)."""

import json
import os
import re
import time
from contextlib import contextmanager

import pytest

import topologies
from lab import paths, run
from lab.cleanup import leftovers
from lab.planes.openshift.exercises import egress as eg
from lab.planes.openshift.exercises import live as lv
from lab.planes.openshift.exercises.common import oc
from lab.workshop import drift, session
from lab.workshop.catalogue import exercise
from lab.workshop.command import _run_args
from lab.workshop.live import ExerciseLab, hold, read_record, record_path, release

pytestmark = pytest.mark.root


BASE = paths.lab_name()[:8]  # (a lab started here becomes the process's current lab)


def name(suffix: str) -> str:
    return (BASE + suffix)[:12]


@contextmanager
def exercise_lab(ex_id: str, suffix: str):
    """The exercise's lab, its record and setup in place (as `lab workshop start` leaves it); stopped after."""
    ex, lab_name = exercise(ex_id), name(suffix)
    topology = topologies.load(ex.topology)
    args, model = run.from_argv(topology, _run_args(ex, lab_name)[1:])
    net = run.start(topology, args, model, name=lab_name)
    try:
        hold(lab_name, topology.control_handlers(net, model))
        session.begin(lab_name, ex, "en", topology.inventory(net, model))
        yield lab_name
    finally:
        release(lab_name)
        net.stop()
    assert not any(leftovers(lab_name).values())


def results(lab_name: str) -> dict:
    """criterion -> (ok, seen) of `check` now (the current stage's)."""
    return {r.criterion: (r.ok, r.seen) for r in session.check(lab_name).results}


def failing(lab_name: str) -> dict:
    return {k: seen for k, (ok, seen) in results(lab_name).items() if not ok}


# the gaming attempts, written here as a student types them (not the catalogues' code: these tests also ran
# against main's exercises, where they had to fail)

def vnid(lab, project: str) -> int:
    return int(json.loads(lab.ask("api", ""))["netnamespaces"][project])


def hand_made_allow(lab, add: bool = True) -> None:
    """The flow the NetworkPolicy would make in table 80 of web's node, added (or deleted) by hand."""
    match = (f"table=80,priority=150,tcp,reg1={vnid(lab, 'shop')},nw_src={lab.ip_of('frontend')},"
             f"nw_dst={lab.ip_of('web')},tp_dst={lv.WEB_PORT}")
    lab.sh(lab.node_of("web"), f"ovs-ofctl -O OpenFlow13 add-flow br0 '{match},actions=output:NXM_NX_REG2[]'" if add
           else f"ovs-ofctl -O OpenFlow13 del-flows --strict br0 '{match}'")


def hand_made_drop(lab, add: bool = True) -> None:
    """A table-101 drop of p1's traffic to ext on every node, by hand (or deleted)."""
    match = f"table=101,priority=1,ip,reg0={vnid(lab, 'p1')},nw_dst={lab.ip_of('ext')}"
    for node in lab.nodes:
        lab.sh(node, f"ovs-ofctl -O OpenFlow13 add-flow br0 '{match},actions=drop'" if add
               else f"ovs-ofctl -O OpenFlow13 del-flows --strict br0 '{match}'")


def edit_api_json(lab_name: str, edit) -> dict:
    path = os.path.join(paths.run_dir(lab_name), "api.json")
    with open(path) as f:
        state = json.load(f)
    edit(state)
    with open(path, "w") as f:
        json.dump(state, f)
    with open(path) as f:
        return json.load(f)


DRIFT = "nothing made by hand on every host (flows, iptables, addresses, routes): all of it as the lab renders"


@pytest.fixture(scope="module")
def shop():
    with exercise_lab("networkpolicy-one-app", "gan") as lab_name:
        yield lab_name


# -- join-projects


def test_join_projects_is_graded_on_the_labs_state_not_an_edited_api_json():
    with exercise_lab("join-projects", "gaj") as projects:
        _join_projects_api_json(projects)


def _join_projects_api_json(projects):
    lab = ExerciseLab(projects)
    p1 = vnid(lab, "p1")
    edited = edit_api_json(projects, lambda state: state["netnamespaces"].update(p2=p1))  # p2 "joined" to p1
    assert edited["netnamespaces"]["p2"] == p1
    session.answer(projects, "netid", str(p1))
    assert not session.check(projects).passed
    bad = failing(projects)
    assert "NetNamespaces p1 and p2 share one NETID" in bad and "answer netid" in bad, bad
    assert not lab.ping("pod1", lab.ip_of("pod2"), tries=1)  # the switches still keep them apart

    oc(lab, "adm pod-network join-projects --to=p1 p2")
    assert lab.ping("pod1", lab.ip_of("pod2"))
    assert failing(projects) == {}


# -- service-endpoints-by-label


def test_service_endpoints_are_graded_on_the_labs_state_not_an_edited_api_json():
    with exercise_lab("service-endpoints-by-label", "gas") as lab_name:
        lab = ExerciseLab(lab_name)
        def edit(state):  # web labelled app=web and listed as the Service's endpoint
            next(p for p in state["pods"] if p["name"] == "web")["labels"] = {"app": "web"}
            next(s for s in state["services"] if s["name"] == "web")["endpoints"] = ["web"]
        state = edit_api_json(lab_name, edit)
        assert next(s for s in state["services"] if s["name"] == "web")["endpoints"] == ["web"]
        assert not session.check(lab_name).passed
        bad = failing(lab_name)
        assert "oc get endpoints web lists the pod web" in bad, bad
        assert "pod1 gets web's answer through the ClusterIP" in bad  # kube-proxy still has no endpoint
        assert not lab.request("pod1", "172.30.0.80", 80).ok

        oc(lab, "label pod web app=web")
        assert lab.request("pod1", "172.30.0.80", 80).pod == "web"
        assert failing(lab_name) == {}


# -- global-project


def test_global_project_the_netid_the_lab_holds_now_is_not_the_answer():
    with exercise_lab("global-project", "gag") as lab_name:
        lab = ExerciseLab(lab_name)
        listed = oc(lab, "get netnamespaces")
        now = re.search(r"^monitoring\s+(\d+)", listed, re.M).group(1)
        assert now != "0"
        session.answer(lab_name, "netid", now)  # what the lab shows before any fix
        assert "answer netid" in failing(lab_name)  # (main: 'matches the lab')

        oc(lab, "adm pod-network make-projects-global monitoring")
        assert lab.ping("monitor", lab.ip_of("pod2"))
        assert "answer netid" in failing(lab_name)  # still the old number: wrong
        session.answer(lab_name, "netid", "0")
        assert failing(lab_name) == {}


# -- egress-node-down


def test_egress_node_down_the_answer_is_observed_not_kept_in_workshop_json():
    with exercise_lab("egress-node-down", "gae") as lab_name:
        lab = ExerciseLab(lab_name)
        node2_ip = lab.underlay_ip("node2")
        record = open(record_path(lab_name)).read()
        assert "seen" not in json.loads(record) and "tun_dst" not in record  # nothing to read the answer from

        # where node1 really sends p1's external traffic: the VXLAN packets captured on its underlay
        line = lab.first_packet("node1", "eth0", "udp port 4789", "pod1", f"ping -n -c1 -W1 {lab.ip_of('ext')}")
        assert re.search(rf"> {re.escape(node2_ip)}\.4789:", line), line

        # a note planted in the record (as main kept one) and answered is not the truth
        rec = read_record(lab_name)
        rec["seen"] = {"tun_dst": "172.16.1.99"}
        lab.record = rec
        lab.save()
        session.answer(lab_name, "tun_dst", "172.16.1.99")
        assert "answer tun_dst" in failing(lab_name)
        session.answer(lab_name, "tun_dst", node2_ip)  # what the capture showed
        assert "answer tun_dst" not in failing(lab_name)


# -- egress-firewall


def test_egress_firewall_a_table_101_flow_without_the_policy_fails():
    with exercise_lab("egress-firewall", "gaf") as lab_name:
        lab = ExerciseLab(lab_name)
        assert eg.listener_source(lab, "pod1") == lab.underlay_ip("node1")  # p1 reaches ext at the start
        hand_made_drop(lab)
        assert eg.listener_source(lab, "pod1", seconds=0) == ""  # the hand-made flow drops it
        assert oc(lab, "get egressnetworkpolicy -n p1").strip() in ("", "No resources found.")
        assert not session.check(lab_name).passed  # (main: 4/4)
        bad = failing(lab_name)
        assert "oc get egressnetworkpolicy -n p1: a policy denies ext" in bad, bad
        assert DRIFT in bad and "table=101" in bad[DRIFT], bad
        assert "node1 table 101: p1's traffic to ext is dropped" not in bad  # the flow alone would pass

        hand_made_drop(lab, add=False)
        oc(lab, f"create -f {eg.DENY_EXT}")
        assert failing(lab_name) == {}


# -- drift


def test_a_flow_typed_in_the_students_cli_fails_check_from_another_shell_over_the_control_socket():
    """`rendered` and `api` reached over the lab's control socket (the lab runs in its own process, in a pty)."""
    from test_workshop import LAB, Terminal, lab

    student = name("gat")
    term = Terminal(LAB + ["workshop", "start", "networkpolicy-one-app", "--name", student])
    try:
        term.read_until("sdnlab> ", timeout=120)
        term.type("node2 ovs-ofctl -O OpenFlow13 add-flow br0 'table=80,priority=150,tcp,tp_dst=8080,"
                  "actions=output:NXM_NX_REG2[]'")
        assert "tp_dst=8080" in term.type("node2 ovs-ofctl -O OpenFlow13 --no-names dump-flows br0 table=80")
        r = lab("workshop", "check", "--name", student)
        assert r.returncode == 1, r.stdout + r.stderr
        assert re.search(r"FAIL\s+nothing made by hand on every host .*node2 flows: \+ br0 table=80 priority=150,"
                         r"tcp,tp_dst=8080 actions=output:NXM_NX_REG2\[\]", r.stdout), r.stdout
        assert re.search(r"PASS\s+frontend gets an answer from web on port 8080", r.stdout), r.stdout  # the hack works
        assert re.search(r"FAIL\s+oc get networkpolicy -n shop", r.stdout), r.stdout
        term.type("exit", until="*** Done in")
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()
        lab("clean", student)
    assert not any(leftovers(student).values())


def test_a_fresh_lab_and_a_change_through_oc_report_no_drift(shop):
    lab = ExerciseLab(shop)
    assert drift.differences(lab) == []
    web_node, shop_vnid = lab.node_of("web"), vnid(lab, "shop")
    before = [f for f in lab.flows(web_node, 80) if f"reg1={shop_vnid:#x}" in f]
    assert "created" in oc(lab, f"apply -f {lv.ALLOW_FRONTEND}")
    try:
        after = [f for f in lab.flows(web_node, 80) if f"reg1={shop_vnid:#x}" in f]
        assert len(after) > len(before), after  # the switch changed: the policy's flow is there
        assert drift.differences(lab) == []
        assert "drift: none" in drift.report(lab)
    finally:
        oc(lab, "delete networkpolicy allow-frontend -n shop")
    assert drift.differences(lab) == []


def test_a_hand_added_flow_rule_address_and_route_are_each_reported(shop):
    lab = ExerciseLab(shop)
    made = [("node2", "ovs-ofctl -O OpenFlow13 add-flow br0 'table=80,priority=123,tcp,tp_dst=9999,actions=drop'",
             "ovs-ofctl -O OpenFlow13 del-flows --strict br0 'table=80,priority=123,tcp,tp_dst=9999'"),
            ("node1", "iptables -t filter -I FORWARD -s 10.128.0.99 -j ACCEPT",
             "iptables -t filter -D FORWARD -s 10.128.0.99 -j ACCEPT"),
            ("node1", "ip addr add 192.0.2.1/32 dev tun0", "ip addr del 192.0.2.1/32 dev tun0"),
            ("node2", "ip route add 198.51.100.0/24 dev tun0", "ip route del 198.51.100.0/24 dev tun0")]
    try:
        for host, do, _undo in made:
            lab.sh(host, do)
        # the kernel and the switch hold them
        assert any("priority=123" in f and "tp_dst=9999" in f for f in lab.flows("node2", 80))
        assert "-A FORWARD -s 10.128.0.99/32 -j ACCEPT" in lab.sh("node1", "iptables-save -t filter")
        assert "192.0.2.1/32" in lab.sh("node1", "ip -o addr show dev tun0")
        assert "198.51.100.0/24 dev tun0" in lab.sh("node2", "ip route")
        t = time.monotonic()
        found = drift.differences(lab)
        seconds = time.monotonic() - t
        assert "node2 flows: + br0 table=80 priority=123,tcp,tp_dst=9999 actions=drop" in found, found
        assert "node1 iptables: + -t filter -A FORWARD -s 10.128.0.99/32 -j ACCEPT" in found, found
        assert "node1 addresses: + 192.0.2.1/32 dev tun0" in found, found
        assert "node2 routes: + 198.51.100.0/24 dev tun0" in found, found
        assert len(found) == 4, found
        assert seconds < 10, seconds
        ok, seen = results(shop)[DRIFT]
        assert not ok and "node1" in seen and "node2" in seen
    finally:
        for host, _do, undo in made:
            lab.sh(host, undo, check=False)
    assert drift.differences(lab) == []


# -- networkpolicy-one-app


def test_a_hand_made_table_80_flow_without_a_networkpolicy_fails_then_the_policy_passes_both_stages(shop):
    lab = ExerciseLab(shop)
    assert session.current_stage(shop) == 0
    before = failing(shop)
    assert "frontend gets an answer from web on port 8080" in before  # deny-all: nothing gets in

    hand_made_allow(lab)  # the student's flow: frontend's requests reach web through the switch
    try:
        answer = lab.request("frontend", lab.ip_of("web"), lv.WEB_PORT)
        assert answer.ok and answer.pod == "web", answer
        names = [p["name"] for p in json.loads(lab.ask("api", ""))["networkpolicies"]]
        assert names == ["deny-all"]  # no NetworkPolicy object was made
        assert not session.check(shop).passed  # (main: 3/3)
        bad = failing(shop)
        assert "frontend gets an answer from web on port 8080" not in bad  # the behaviour alone would pass
        assert any(k.startswith("oc get networkpolicy -n shop") for k in bad), bad
        assert DRIFT in bad and "table=80 priority=150" in bad[DRIFT], bad
    finally:
        hand_made_allow(lab, add=False)

    assert "created" in oc(lab, f"apply -f {lv.ALLOW_FRONTEND}")
    assert failing(shop) == {}
    session.advance(shop)  # stage 2: prove which flow the policy made
    assert session.current_stage(shop) == 1
    session.answer(shop, "node", "node1")
    session.answer(shop, "priority", "100")
    assert set(failing(shop)) == {"answer node", "answer priority"}
    flow = next(f for f in lab.flows("node2", 80) if f"nw_src={lab.ip_of('frontend')}" in f)
    session.answer(shop, "node", "node2")
    session.answer(shop, "priority", re.search(r"priority=(\d+)", flow).group(1))
    assert failing(shop) == {}
