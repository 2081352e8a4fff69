"""The front ends aim where they are told: `lab fault` at the lab --name names wherever it stands, at hosts
of the role the fault takes; pictures of manifest pods; outputs written whole or not at all; the built-in
checks sample past a size and say so."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lab.livelab import LiveLab
from lab.observe.flows import dump

pytestmark = pytest.mark.root
REPO = str(Path(__file__).resolve().parents[2])
WEB = os.path.join(REPO, "examples", "live", "web.yaml")
NOT_RUNNING = "nolab9"  # the default lab's name in these runs: a fault that ignored --name would aim here


def lab_cmd(*args, env_name=NOT_RUNNING, timeout=120):
    env = dict(os.environ, PYTHONPATH=REPO, SDNLAB_NAME=env_name)
    return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=REPO, stdin=subprocess.DEVNULL)


def table_90(lab):
    return [f.match for f in dump(lab.net["node1"], 90, stats=False)]


@pytest.mark.parametrize("order", ["after", "after=", "before"])
def test_fault_name_anywhere_aims_at_that_lab(sdnlab, order):
    """`lab fault inject flow-90 --name X` once ignored --name and broke the default lab (someone else's)."""
    lab = sdnlab("openshift", nodes=2, pods_per_node=1)
    before = table_90(lab)
    name = ["--name", lab.name] if order != "after=" else [f"--name={lab.name}"]
    args = ["inject", *name, "flow-90"] if order == "before" else ["inject", "flow-90", *name]
    r = lab_cmd("fault", *args)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(table_90(lab)) == len(before) - 1
    assert not lab.ping("pod1", "pod2").ok
    r = lab_cmd("fault", "repair", "flow-90", *name)
    assert r.returncode == 0, r.stdout + r.stderr
    assert table_90(lab) == before
    lab.assert_reachable("pod1", "pod2")


def tx_checksumming(lab, host):
    line = next(ln for ln in lab.cmd(host, "ethtool -k eth0").splitlines() if ln.startswith("tx-checksumming"))
    return line.split(":")[1].split()[0]


def test_faults_take_hosts_of_their_role_and_manifest_pods_are_pods(sdnlab):
    lab = sdnlab("openshift", nodes=2, pods_per_node=1, plugin="networkpolicy", filename=[WEB])
    node1 = tx_checksumming(lab, "node1")
    r = lab_cmd("fault", "inject", "tx-checksum", "node1", "--name", lab.name)  # once accepted; repair left it off
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r
    assert "has no pod 'node1'" in r.stderr and "web" in r.stderr, r.stderr
    assert tx_checksumming(lab, "node1") == node1
    r = lab_cmd("fault", "inject", "flow-90", "pod1", "--name", lab.name)
    assert r.returncode == 2 and "has no node 'pod1'" in r.stderr, r.stderr
    datapath = lab.cmd("node1", "ovs-vsctl get bridge br0 datapath_type").strip().strip('"')
    r = lab_cmd("fault", "inject", "tx-checksum", "web", "--name", lab.name)
    if datapath != "netdev":  # the kernel datapath (CI's VM) has no such fault: the refusal is the behaviour
        assert r.returncode == 2 and "userspace OVS datapath" in r.stderr, r
        return
    assert r.returncode == 0, r.stdout + r.stderr
    assert tx_checksumming(lab, "web") == "on"
    assert lab_cmd("fault", "repair", "tx-checksum", "--name", lab.name).returncode == 0
    assert tx_checksumming(lab, "web") == "off"


def test_a_path_picture_of_manifest_pods(sdnlab, tmp_path):
    lab = sdnlab("openshift", nodes=2, pods_per_node=1, plugin="networkpolicy", filename=[WEB])
    out = tmp_path / "path.svg"
    r = lab_cmd("draw", "--name", lab.name, "path", "pod1", "web", "-o", str(out))
    assert r.returncode == 0 and f"wrote {out}" in r.stdout, r.stdout + r.stderr
    svg = out.read_text()
    web = LiveLab(lab.name).ip_of("web")
    assert ">web" in svg and web in svg, svg[:500]  # the packet's destination, by name and address


def test_a_full_disk_leaves_no_picture_and_no_wrote(tmp_path):
    """An 8 KiB filesystem in a private mount namespace (the machine's mounts are untouched)."""
    small = tmp_path / "small"
    small.mkdir()
    script = ('mount -t tmpfs -o size=8k sdnlab-full "$1" || exit 97\n'
              'printf old > "$1/keep.svg"\n'
              f'"{sys.executable}" -m lab draw openshift --nodes 16 -o "$1/keep.svg"; rc=$?\n'
              'ls -A "$1"; cat "$1/keep.svg"; exit $rc\n')
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(small)],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=REPO), cwd=REPO)
    assert r.returncode == 2, r
    assert r.stderr.strip().startswith("lab: error: -o ") and "No space left on device" in r.stderr, r.stderr
    assert "wrote" not in r.stdout
    assert r.stdout.split() == ["keep.svg", "old"], r.stdout  # the old file whole, no temporary file


def test_checks_sample_pairs_past_a_size_and_say_so(tmp_path):
    """30 pods: 870 pod pairs, sampled to a bounded set covering every pod as source and destination."""
    name = "smp" + str(os.getpid() % 100000)
    empty = tmp_path / "empty.mn"
    empty.write_text("")
    r = lab_cmd("run", "openshift", "--nodes", "2", "--pods-per-node", "15", "--name", name,
                "--script", str(empty), env_name=name, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    m = re.search(r"PASS  pod -> pod: (\d+)/(\d+) sampled pairs reachable \(of 870; every source and destination", out)
    assert m and m.group(1) == m.group(2) and 30 <= int(m.group(2)) <= 400, out
    assert "PASS  pod -> external (NAT): 30/30 reachable" in out, out  # small groups are checked whole
