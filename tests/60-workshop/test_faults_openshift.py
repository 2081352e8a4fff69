"""Each OpenShift fault: inject it, see the symptom in the data plane, repair, see behaviour restored."""

import os
import subprocess
import sys

import pytest
from faultcheck import udp_answer

from lab.faults import WRONG_MAC
from lab.front import faults
from lab.observe.flows import hit_deltas

pytestmark = pytest.mark.root

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def lab(sdnlab):
    return sdnlab("openshift", nodes=2, pods_per_node=2)  # pod1, pod2 on node1; pod3, pod4 on node2


def test_deleted_table_90_flow_drops_in_table_90(lab):
    lab.assert_reachable("pod1", "pod3")
    said = faults.inject(lab.name, "flow-90", ["node1", "node2"])
    assert "table-90 flow" in said and "lab fault repair" in said
    assert not lab.ping("pod1", "pod3").ok
    (node, trace), = lab.trace("pod1", "pod3")
    assert node == "node1" and trace.dropped and trace.tables[-1] == 90, trace.summary()
    lab.assert_reachable("pod3", "pod4")  # node2's own flows are untouched: same-node traffic flows
    faults.repair(lab.name, "flow-90")
    lab.assert_reachable("pod1", "pod3")
    lab.assert_path("pod1", "pod3", [0, 20, 21, 30, 90, 0, 10, 30, 70, 80])


def test_missing_tun_src_drops_in_table_10_and_the_counter_moves(lab):
    faults.inject(lab.name, "tun-src", ["node2", "node1"])
    moved = hit_deltas(lab.net["node2"], lambda: lab.ping("pod1", "pod3", count=2))
    drops = {k: v for k, v in moved.items() if k[0] == 10 and k[1] == 0}
    assert drops and sum(drops.values()) >= 2, moved
    assert not lab.ping("pod1", "pod3").ok
    faults.repair(lab.name, "tun-src")
    moved = hit_deltas(lab.net["node2"], lambda: lab.assert_reachable("pod1", "pod3"))
    assert not [k for k in moved if k[0] == 10 and k[1] == 0], moved


def test_missing_masquerade_from_another_shell(lab):
    env = dict(os.environ, PYTHONPATH=REPO)
    lab.assert_reachable("pod1", "ext")
    r = subprocess.run([sys.executable, "-m", "lab", "fault", "inject", "--name", lab.name, "masquerade", "node1"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0 and "OPENSHIFT-MASQUERADE" in r.stdout, r.stdout + r.stderr
    assert not lab.ping("pod1", "ext").ok
    lab.assert_reachable("pod3", "ext")  # node2 still masquerades
    r = subprocess.run([sys.executable, "-m", "lab", "fault", "repair", "--name", lab.name, "masquerade"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    lab.assert_reachable("pod1", "ext")
    assert "-j MASQUERADE" in lab.cmd("node1", "iptables -t nat -S OPENSHIFT-MASQUERADE")


def test_mtu_mismatch_loses_big_packets(lab):
    assert lab.cmd("node1", f"ping -n -c1 -W2 -s 1460 {lab.ip_of('pod3')}").count(" 0% packet loss") == 1
    faults.inject(lab.name, "mtu", ["node1", "1500"])
    assert "100% packet loss" in lab.cmd("node1", f"ping -n -c1 -W2 -s 1460 {lab.ip_of('pod3')}")
    lab.assert_reachable("node1", "pod3")  # small packets still pass
    faults.repair(lab.name, "mtu")
    assert lab.cmd("node1", "cat /sys/class/net/tun0/mtu").strip() == "1450"
    assert " 0% packet loss" in lab.cmd("node1", f"ping -n -c1 -W2 -s 1460 {lab.ip_of('pod3')}")


def test_tx_checksum_offload_breaks_udp_not_ping(lab, record_datapath):
    if record_datapath(lab.net.datapath) != "netdev":
        pytest.fail("this fault belongs to the userspace datapath; this suite runs it there")
    assert udp_answer(lab, "pod1", "pod3") == f"hello from {lab.ip_of('pod1')}"
    faults.inject(lab.name, "tx-checksum", ["pod1"])
    lab.assert_reachable("pod1", "pod3")
    assert udp_answer(lab, "pod1", "pod3").startswith("no answer")
    faults.repair(lab.name, "tx-checksum")
    assert udp_answer(lab, "pod1", "pod3") == f"hello from {lab.ip_of('pod1')}"


def test_stale_arp_entry_in_a_pod(lab):
    faults.inject(lab.name, "stale-arp", ["pod1", "pod3"])
    assert WRONG_MAC in lab.cmd("pod1", f"ip neigh show {lab.ip_of('pod3')}")
    assert not lab.ping("pod1", "pod3").ok
    lab.assert_reachable("pod2", "pod3")
    faults.repair(lab.name, "stale-arp")
    lab.assert_reachable("pod1", "pod3")


def test_missing_route_on_a_node(lab):
    lab.assert_reachable("node1", "pod3")
    said = faults.inject(lab.name, "route", ["node1", "pod3"])
    assert "tun0" in said
    assert not lab.ping("node1", "pod3").ok
    faults.repair(lab.name, "route")
    lab.assert_reachable("node1", "pod3")


def test_a_fault_twice_or_unknown_is_refused(lab):
    faults.inject(lab.name, "flow-90")
    with pytest.raises(faults.BadInput, match="already injected"):
        faults.inject(lab.name, "flow-90")
    with pytest.raises(faults.BadInput, match="for flannel"):
        faults.inject(lab.name, "fdb")
    assert [d["fault"] for d in faults.injected(lab.name)] == ["flow-90"]
    faults.repair(lab.name, "flow-90")
    with pytest.raises(faults.BadInput, match="not injected"):
        faults.repair(lab.name, "flow-90")


def test_the_cli_verb_breaks_and_repairs_its_own_lab(tmp_path):
    from lab import paths
    script = tmp_path / "faults.mn"
    script.write_text("fault inject flow-90 node1 node2\npod1 ping -c1 -W1 pod3\nfault status\n"
                      "fault repair flow-90\npod1 ping -c1 -W2 pod3\n")
    name = paths.lab_name()[:11] + "y"
    r = subprocess.run([sys.executable, "-m", "lab", "run", "--name", name, "--no-checks", "--script", str(script)],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=REPO))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "injected flow-90: node1: deleted the table-90 flow" in out, out
    pings = [line for line in out.splitlines() if "packets transmitted" in line]
    assert len(pings) == 2 and " 0 received" in pings[0] and " 1 received" in pings[1], out
    assert "repaired flow-90" in out, out
