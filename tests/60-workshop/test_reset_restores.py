"""`reset` on a real lab restores the exercise's start (issue 15): the student's extra addresses, iptables
rules and a renamed tun0 are gone, every pair of pods and nodes answers again, and every host's dump equals
the checkpoint taken right after the setup. One lab (the `masquerade` exercise) for the module."""

import json
import os
import re
import stat

import pytest

from lab import paths
from lab.workshop import checkpoint, session
from lab.workshop.catalogue import exercise
from lab.workshop.live import ExerciseLab, hold, release

pytestmark = pytest.mark.root
PEERS = ("pod1", "pod2", "node1", "node2")


def started(ex, name: str):
    """The exercise's lab, started as `lab workshop start` does, without a terminal (as verify does)."""
    import topologies
    from lab import run
    from lab.workshop.command import _run_args
    topology = topologies.load(ex.topology)
    args, model = run.from_argv(topology, _run_args(ex, name)[1:])
    net = run.start(topology, args, model, name=name)
    hold(name, topology.control_handlers(net, model))
    session.begin(name, ex, "en", topology.inventory(net, model))
    return net


@pytest.fixture(scope="module")
def lab():
    name = (paths.lab_name()[:8] + "rs")[:12]
    net = started(exercise("masquerade"), name)
    try:
        live = ExerciseLab(name)
        live.fresh = pingall(live)  # what a fresh start answers (the exercise's own fault included)
        yield live
    finally:
        release(name)
        net.stop()


def pingall(lab, warm: bool = False) -> dict:
    """(src, dst) -> echo replies lost of 2, over every ordered pair of pods and nodes (warm: after one echo
    whose answer does not count, so that a neighbour being resolved is not counted as a drop)."""
    lost = {}
    for a in PEERS:
        for b in PEERS:
            if a == b:
                continue
            first = f"ping -n -c1 -W1 {lab.ip_of(b)} >/dev/null 2>&1; " if warm else ""
            out = lab.sh(a, f"{first}ping -n -c2 -i0.2 -W1 {lab.ip_of(b)} 2>&1", check=False)
            m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
            lost[(a, b)] = 2 - (int(m.group(2)) if m else 0)
    return lost


def dropped(lab, warm: bool = False) -> float:
    """The share of echo requests lost that a fresh start answers (0.0: every pair answers as it did)."""
    now = pingall(lab, warm)
    answered_fresh = [pair for pair, n in lab.fresh.items() if n == 0]
    return sum(now[p] for p in answered_fresh) / (2 * len(answered_fresh))


def test_reset_undoes_addresses_rules_and_a_renamed_tun0(lab):
    """The issue's case: on main, reset said "as it was at the start" and pingall still dropped packets."""
    ext_ip = lab.ip_of("ext")
    lab.sh("pod1", f"ip addr add {ext_ip}/32 dev lo && ip addr add 10.99.0.1/32 dev lo")
    lab.sh("node1", "iptables -t nat -I POSTROUTING -s 192.0.2.0/24 -j MASQUERADE && iptables -I FORWARD -j DROP")
    lab.sh("node1", "ip link set tun0 down && ip link set tun0 name tun9 && ip link set tun9 up")
    assert dropped(lab) > 0.2  # the student's changes do break the lab

    assert lab.fresh[("pod1", "pod2")] == 0 and lab.fresh[("node1", "pod2")] == 0
    out = session.reset(lab.name)

    assert dropped(lab, warm=True) == 0.0, out
    assert lab.run("node1", "ip link show tun0").returncode == 0
    assert "tun9" not in lab.sh("node1", "ip -o link show")
    assert ext_ip not in lab.sh("pod1", "ip -4 -o addr show dev lo") and "10.99.0.1" not in lab.sh("pod1", "ip addr")
    saved = lab.sh("node1", "iptables-save")
    assert "192.0.2.0/24" not in saved and "-A FORWARD -j DROP" not in saved
    cp = checkpoint.load(lab.name, 0)
    assert cp is not None and checkpoint.differences(cp["hosts"], checkpoint.dump(lab)) == []
    assert "restored from the checkpoint taken at" in out, out


def test_reset_after_solve_puts_the_fault_back_and_solve_works_again(lab):
    """The switch and the kernel are as after the setup: the exercise's broken MASQUERADE is broken again."""
    session.solve(lab.name)
    assert lab.ping("pod1", lab.ip_of("ext"))
    session.reset(lab.name)
    assert not lab.ping("pod1", lab.ip_of("ext"), tries=2)
    assert not session.check(lab.name).passed
    session.solve(lab.name)  # the fault's record came back with the checkpoint: solve repairs it again
    assert lab.ping("pod1", lab.ip_of("ext")) and session.check(lab.name).passed
    session.reset(lab.name)


def test_reset_restores_flows_neighbours_sysctls_and_an_ovs_port(lab):
    """A deleted table-90 flow, a poisoned permanent neighbour, ip_forward off and tun0's OVS port deleted
    (OVS makes it again: its addresses and routes come back with the restore)."""
    before = lab.sh("node1", "ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0 table=90")
    lab.sh("node1", "ovs-ofctl -O OpenFlow13 del-flows br0 table=90 && sysctl -qw net.ipv4.ip_forward=0")
    lab.sh("node2", "ovs-vsctl del-port br0 tun0")
    lab.sh("pod2", f"ip neigh replace {lab.ip_of('pod1')} dev eth0 lladdr 02:00:00:00:00:99 nud permanent")
    assert dropped(lab) > 0.2
    out = session.reset(lab.name)
    assert dropped(lab, warm=True) == 0.0, out
    assert lab.sh("node1", "ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0 table=90") == before
    assert lab.sh("node1", "cat /proc/sys/net/ipv4/ip_forward").strip() == "1"
    assert "02:00:00:00:00:99" not in lab.sh("pod2", "ip neigh")
    assert "restored from the checkpoint" in out, out


def test_a_lost_link_is_said_precisely_with_what_to_do(lab):
    """A deleted veth cannot be put back by a restore: reset names it and says how to start afresh."""
    lab.sh("pod2", "ip link del eth0")
    out = session.reset(lab.name)
    assert "pod2: the link eth0 is gone" in out and f"lab clean {lab.name}" in out, out


def test_checkpoints_are_private(lab):
    d = os.path.join(paths.run_dir(lab.name), checkpoint.DIR)
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    for f in os.listdir(d):
        if f.endswith(".json"):
            assert stat.S_IMODE(os.stat(os.path.join(d, f)).st_mode) == 0o600
            assert json.load(open(os.path.join(d, f)))["hosts"]
