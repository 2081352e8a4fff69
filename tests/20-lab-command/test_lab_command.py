"""The `lab` command as a user drives it: bad input, run with --json/--script, kill -9, clean."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lab.front.pytest_plugin import assert_nothing_left, left_as_found, machine_owns
from lab.observe.probe import read_until
from lab.paths import lab_name, run_dir

LAB = [sys.executable, "-m", "lab"]


def lab(*args, env=None, timeout=120, **kw):
    return subprocess.run(LAB + list(args), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=env, **kw)


def root_namespace_state():
    """What the lab must never change in the machine's own namespace."""
    def out(*cmd):
        return subprocess.run(cmd, capture_output=True, text=True).stdout
    links = sorted(line.split(":")[1].strip().split("@")[0] for line in out("ip", "-o", "link").splitlines())
    # other labs (other names: other test workers) may come and go meanwhile; this lab's own may not stay
    mine = sorted(line.split()[0] for line in out("ip", "netns", "list").splitlines()
                  if line.startswith(lab_name() + "-"))
    return {"links": links, "routes": out("ip", "route"), "netns": mine,
            "iptables": sorted(line for line in out("iptables-save").splitlines() if not line.startswith(("#", ":")))}


def session(tmp_path, topology, lines):
    """`lab run TOPOLOGY --json --script` with these CLI lines; returns (stdout, inventory path)."""
    inventory, script = tmp_path / "inventory.json", tmp_path / "session.mn"
    script.write_text("\n".join(line.replace("{inventory}", str(inventory)) for line in lines) + "\n")
    r = lab("run", topology, "--json", str(inventory), "--script", str(script))
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout, inventory


@pytest.mark.parametrize("args, words", [
    (["run", "--cluster-cidr", "10.128.0.0/33"], "invalid cluster network CIDR"),
    (["run", "--host-subnet-length", "24"], "does not fit cluster network"),
    (["run", "--nodes", "3", "--host-subnet-length", "17"], "3 nodes need 3 host subnets"),
    (["run", "--pods-per-node", "600"], "do not fit a /23 host subnet"),
    (["run", "kubernetes-the-hard-way"], "unknown topology"),
    (["run", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["run", "--nodes", "two"], "invalid int value"),
    (["launch"], "unknown command"),
    (["run", "flannel", "--backend", "udp"], "invalid choice: 'udp'"),
    (["run", "flannel", "--network", "10.244.0.0/33"], "invalid flannel network"),
    (["run", "flannel", "--pods-per-node", "300"], "do not fit a /24 lease"),
])
@pytest.mark.rootless  # stops in the model, before root is looked at
def test_bad_input_is_one_line_exit_2_and_creates_nothing(args, words):
    r = lab(*args)
    assert r.returncode == 2, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and lines[0].startswith("lab: error: ")
    assert not os.path.exists(run_dir())


@pytest.mark.rootless
def test_list_names_the_topologies():
    r = lab("list")
    assert r.returncode == 0
    assert [line.split()[0] for line in r.stdout.splitlines()] == ["docker-vxlan", "flannel", "openshift", "vxlan-p2p"]


@pytest.mark.root
def test_not_root_is_a_clear_error():
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + LAB + ["run"],
                       capture_output=True, text=True, timeout=60, cwd="/")
    assert r.returncode == 2 and "must run as root" in r.stderr, r


@pytest.mark.root
def test_missing_os_package_names_the_install_command():
    env = dict(os.environ, PATH="/nonexistent")
    r = lab("run", env=env)
    assert r.returncode == 2
    assert "missing OS packages:" in r.stderr and "apt-get install -y" in r.stderr and "openvswitch-switch" in r.stderr
    assert not os.path.exists(run_dir())


@pytest.mark.root
def test_run_writes_inventory_before_the_script_and_leaves_nothing(tmp_path):
    before = root_namespace_state()
    out, inventory = session(tmp_path, "openshift", [
        "sh test -s {inventory} && echo INVENTORY-WRITTEN-BEFORE-SCRIPT",
        "pod1 ping -c1 -W2 pod3",
        "trace pod1 pod3",
        "flows node1 253",
        "oc get hostsubnets",
        "node1 ovs-ofctl -O OpenFlow13 --no-names dump-flows br0 table=10",
        "pod4 ip -o -4 addr show dev eth0",
        "pingmatrix",
    ])
    assert "INVENTORY-WRITTEN-BEFORE-SCRIPT" in out
    assert "1 packets transmitted, 1 received" in out
    assert "node1: 0 > 20 > 21 > 30 > 90: output vxlan0 (tun_dst=172.16.1.12)" in out
    assert "node2: 0 > 10 > 30 > 70 > 80: output veth" in out
    assert "note:00.07.00.00.00.00" in out
    assert "node2   node2   172.16.1.12   10.129.0.0/23" in out
    assert "tun_src=172.16.1.12 actions=goto_table:30" in out
    assert "inet 10.129.0.3/23" in out  # what the kernel holds, not the inventory
    assert " X" not in out.split("pingmatrix")[-1]
    for label in ("pod -> pod", "pod -> external (NAT)", "node -> pod (tun0)"):
        assert f"PASS  {label}" in out
    inv = json.loads(inventory.read_text())
    assert [n["name"] for n in inv["nodes"]] == ["node1", "node2"]
    assert inv["nodes"][0]["datapath"] in ("system", "netdev")
    assert inv["pods"][2] == {"name": "pod3", "node": "node2", "ip": "10.129.0.2", "mac": "0a:58:0a:81:00:02",
                              "veth": inv["pods"][2]["veth"], "ofport": 3,
                              "namespace": "default", "vnid": 0}
    assert inv["external"] == {"name": "ext", "ip": "172.16.1.254"}
    assert_nothing_left()
    assert root_namespace_state() == before


@pytest.mark.root
@pytest.mark.parametrize("topology, delay", [("openshift", 0.05), ("openshift", 0.2), ("openshift", 0.4),
                                             ("openshift", "ready"), ("flannel", 0.3), ("flannel", "ready")])
def test_kill_9_at_any_moment_then_clean_leaves_nothing(tmp_path, topology, delay):
    before = root_namespace_state()
    had_run_flannel = machine_owns("/run/flannel")  # another lab on the machine may use it
    script = tmp_path / "wait.mn"
    script.write_text("sh echo SCRIPT-STARTED\nsh sleep 60\n")
    proc = subprocess.Popen(LAB + ["run", topology, "--nodes", "3", "--no-checks", "--script", str(script)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    try:
        if delay == "ready":
            read_until(proc.stdout, "SCRIPT-STARTED", timeout=180)
        else:
            time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    r = lab("clean", lab_name())
    assert r.returncode == 0 and r.stdout.startswith(f"*** Removed lab '{lab_name()}'"), r
    time.sleep(0.2)
    assert_nothing_left()
    assert left_as_found("/run/flannel", had_run_flannel)
    assert root_namespace_state() == before


@pytest.mark.root
def test_a_second_lab_is_refused_while_one_runs(tmp_path):
    script = tmp_path / "wait.mn"
    script.write_text("sh echo SCRIPT-STARTED\nsh sleep 30\n")
    first = subprocess.Popen(LAB + ["run", "--no-checks", "--script", str(script)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    try:
        read_until(first.stdout, "SCRIPT-STARTED", timeout=180)
        second = lab("run", "--no-checks")
        assert second.returncode == 2 and f"lab '{lab_name()}' is already running" in second.stderr, second
    finally:
        first.send_signal(signal.SIGTERM)  # the lab tears itself down on SIGTERM
        first.wait(timeout=30)
    assert_nothing_left()


@pytest.mark.root
def test_datapath_choice_follows_the_kernel():
    from lab.daemons.ovs import detect_datapath
    if detect_datapath() == "system":
        r = lab("run", "--datapath", "netdev", "--no-checks", "--nodes", "1", "--pods-per-node", "1")
        assert r.returncode == 0 and "userspace datapath (netdev)" in r.stdout, r.stdout + r.stderr
    else:
        r = lab("run", "--datapath", "system")
        assert r.returncode == 2 and "needs the openvswitch kernel module" in r.stderr, r
        assert not os.path.exists(run_dir())


@pytest.mark.root
def test_flannel_session_with_join_and_leave(tmp_path):
    before = root_namespace_state()
    had_run_flannel = machine_owns("/run/flannel")
    out, inventory = session(tmp_path, "flannel", [
        "join",
        "node1 ip route show dev flannel.1",
        "leave node3",
        "node1 etcdctl get / --prefix --keys-only",
        "pod1 ping -c1 -W2 pod3",
    ])
    assert "node3 joined with lease 10.244.2.0/24" in out
    assert "10.244.2.0/24 via 10.244.2.0 onlink" in out
    assert "node3 left" in out
    after_leave = out.split("node3 left")[1]
    assert "/coreos.com/network/subnets/10.244.1.0-24" in after_leave and "10.244.2.0-24" not in after_leave
    assert "1 packets transmitted, 1 received" in out
    inv = json.loads(inventory.read_text())
    assert inv["etcd"] == {"name": "etcd", "endpoint": "http://172.16.1.2:2379"}
    assert [n["subnet"] for n in inv["nodes"]] == ["10.244.0.0/24", "10.244.1.0/24"]
    assert all(n["vtep_mac"] for n in inv["nodes"])
    assert_nothing_left()
    assert left_as_found("/run/flannel", had_run_flannel)  # the nodes' mountpoint is gone again
    assert root_namespace_state() == before
