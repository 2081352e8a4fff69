"""`lab diff` on running labs (one OpenShift, one Flannel, each shared by the module): a fresh lab diffs clean
(exit 0, nothing printed); a change made by hand in a host's kernel or switch shows as its +/- line under its
`@@ HOST KIND @@` group (exit 1); undone, clean again. Bad input exits 2. The CLI verb `diff` answers inside the
lab's own process (a script's lines), without waiting on its own control socket."""

import os
import select
import subprocess
import sys
import time

import pytest

from lab import paths
from lab.daemons import ovs

pytestmark = pytest.mark.root
LAB = [sys.executable, "-m", "lab"]
MARK = "SCRIPT-STARTED"


def name(suffix: str) -> str:
    return (paths.lab_name()[:8] + suffix)[:12]


def lab(*args, timeout=120):
    return subprocess.run(LAB + list(args), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def sh(lab_name: str, host: str, command: str) -> str:
    env = dict(os.environ, OVS_RUNDIR=ovs.ovs_dir(os.path.join(paths.run_dir(lab_name), host)))
    return subprocess.run(["ip", "netns", "exec", paths.netns_name(host, lab_name), "sh", "-c", command], env=env,
                          capture_output=True, text=True, timeout=20, check=True).stdout


class Running:
    """A lab run with a script whose last line waits; its transcript up to the script's mark."""

    def __init__(self, lab_name: str, args, script_path, lines):
        self.name = lab_name
        script_path.write_text("\n".join(lines + [f"sh echo {MARK}", "sh sleep 900"]) + "\n")
        self.proc = subprocess.Popen(LAB + ["run", *args, "--name", lab_name, "--script", str(script_path)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     stdin=subprocess.DEVNULL)
        self.transcript = ""
        deadline = time.monotonic() + 240
        os.set_blocking(self.proc.stdout.fileno(), False)
        while MARK not in self.transcript:
            left = deadline - time.monotonic()
            ready = select.select([self.proc.stdout], [], [], max(left, 0))[0] if left > 0 else []
            chunk = os.read(self.proc.stdout.fileno(), 65536).decode(errors="replace") if ready else ""
            if not chunk:  # the deadline passed, or the lab ended
                self.stop()
                raise AssertionError(f"lab {lab_name} did not start:\n{self.transcript}")
            self.transcript += chunk

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        lab("clean", self.name)


@pytest.fixture(scope="module")
def shift(tmp_path_factory):
    lab_name = name("df")
    route = "ip route add 203.0.113.0/24 dev tun0"
    running = Running(lab_name, ["openshift", "--nodes", "2", "--pods-per-node", "1", "--no-checks"],
                      tmp_path_factory.mktemp("df") / "diff.mn",
                      [f"node1 {route}", "diff node1", "node1 ip route del 203.0.113.0/24 dev tun0", "diff"])
    yield running
    running.stop()


@pytest.fixture(scope="module")
def flannel(tmp_path_factory):
    running = Running(name("dff"), ["flannel", "--backend", "vxlan", "--no-checks"],
                      tmp_path_factory.mktemp("dff") / "wait.mn", [])
    yield running
    running.stop()


def diff(running, *hosts):
    r = lab("diff", "--name", running.name, *hosts)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    return r.returncode, r.stdout


def test_a_fresh_openshift_lab_diffs_clean(shift):
    t = time.monotonic()
    assert diff(shift) == (0, "")
    print(f"lab diff of a fresh 2x1 OpenShift lab: {time.monotonic() - t:.2f} s")
    assert diff(shift, "node1", "pod1") == (0, "")


def test_the_cli_verb_shows_a_route_typed_in_the_cli_then_nothing_once_it_is_gone(shift):
    text = shift.transcript
    assert "@@ node1 routes @@\n+ 203.0.113.0/24 dev tun0\n" in text, text
    assert "no differences: every host holds what the lab renders" in text, text
    assert "error:" not in text and "busy" not in text, text


def test_an_extra_route_in_a_node_is_a_plus_line(shift):
    sh(shift.name, "node2", "ip route add 198.51.100.0/24 dev tun0")
    try:
        code, out = diff(shift)
        assert code == 1 and out == "@@ node2 routes @@\n+ 198.51.100.0/24 dev tun0\n", out
    finally:
        sh(shift.name, "node2", "ip route del 198.51.100.0/24 dev tun0")
    assert diff(shift) == (0, "")


def test_a_deleted_flow_is_a_minus_line(shift):
    note = sh(shift.name, "node1", "ovs-ofctl -O OpenFlow13 --no-stats --no-names dump-flows br0 table=253").strip()
    assert note.count("\n") == 0 and "actions=note:" in note, note
    sh(shift.name, "node1", "ovs-ofctl -O OpenFlow13 del-flows br0 table=253")
    try:
        assert sh(shift.name, "node1", "ovs-ofctl -O OpenFlow13 dump-flows br0 table=253").count("table=253") == 0
        code, out = diff(shift, "node1")
        lines = out.splitlines()
        assert code == 1 and lines[0] == "@@ node1 flows @@" and len(lines) == 2, out
        assert lines[1].startswith("- br0 table=253") and "note:" in lines[1], out
    finally:
        sh(shift.name, "node1", f"ovs-ofctl -O OpenFlow13 add-flow br0 '{note}'")
    assert diff(shift) == (0, "")


def test_an_added_iptables_rule_is_a_plus_line(shift):
    sh(shift.name, "node1", "iptables -t filter -I FORWARD -s 10.128.0.99 -j ACCEPT")
    try:
        code, out = diff(shift, "node1", "node2")
        assert code == 1 and out == "@@ node1 iptables @@\n+ -t filter -A FORWARD -s 10.128.0.99/32 -j ACCEPT\n", out
    finally:
        sh(shift.name, "node1", "iptables -t filter -D FORWARD -s 10.128.0.99 -j ACCEPT")
    assert diff(shift, "node1") == (0, "")


def test_a_wrong_permanent_neighbour_from_the_stale_arp_fault_is_a_plus_line(shift):
    r = lab("fault", "inject", "--name", shift.name, "stale-arp", "pod1", "pod2")
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        held = sh(shift.name, "pod1", "ip neigh show dev eth0")
        assert "02:de:ad:be:ef:01 PERMANENT" in held, held  # the kernel holds it
        code, out = diff(shift)
        assert code == 1 and out.startswith("@@ pod1 neighbours @@\n+ ") and out.count("\n") == 2, out
        assert "lladdr 02:de:ad:be:ef:01 dev eth0" in out, out
    finally:
        r = lab("fault", "repair", "--name", shift.name, "stale-arp")
        assert r.returncode == 0, r.stdout + r.stderr
    assert diff(shift) == (0, "")


@pytest.mark.parametrize("args, says", [
    (["nohost"], "no host 'nohost'"),
    (["--bogus"], "unrecognized arguments"),
])
def test_bad_input_is_one_line_and_exit_2(shift, args, says):
    r = lab("diff", "--name", shift.name, *args)
    assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1, r.stdout + r.stderr
    assert r.stderr.startswith("lab: error: ") and says in r.stderr, r.stderr


def test_a_lab_that_does_not_run_is_exit_2():
    r = lab("diff", "--name", name("nolab"))
    assert r.returncode == 2 and "no lab named" in r.stderr, r.stderr


def test_a_fresh_flannel_lab_diffs_clean_and_a_removed_fdb_entry_is_a_minus_line(flannel):
    assert diff(flannel) == (0, "")
    entry = next(ln.split() for ln in sh(flannel.name, "node1", "bridge fdb show dev flannel.1").splitlines()
                 if " dst " in f" {ln} ")
    mac, dst = entry[0], entry[entry.index("dst") + 1]
    sh(flannel.name, "node1", f"bridge fdb del {mac} dev flannel.1 dst {dst} self")
    try:
        assert mac not in sh(flannel.name, "node1", "bridge fdb show dev flannel.1")
        code, out = diff(flannel)
        assert code == 1 and out == f"@@ node1 fdb @@\n- {mac} dst {dst} dev flannel.1\n", out
    finally:
        sh(flannel.name, "node1", f"bridge fdb append {mac} dev flannel.1 dst {dst} self permanent")
    assert diff(flannel) == (0, "")
    r = lab("fault", "inject", "--name", flannel.name, "neigh", "node2", "node1")
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        code, out = diff(flannel)
        assert code == 1 and out.startswith("@@ node2 neighbours @@\n- ") and out.endswith(" dev flannel.1\n"), out
    finally:
        assert lab("fault", "repair", "--name", flannel.name, "neigh").returncode == 0
    assert diff(flannel) == (0, "")
    sh(flannel.name, "node2", "ip route add 198.51.100.0/24 via 172.16.1.1 dev eth0 || ip route add 198.51.100.0/24 dev eth0")
    try:
        code, out = diff(flannel, "node2")
        assert code == 1 and out.startswith("@@ node2 routes @@\n+ 198.51.100.0/24 "), out
    finally:
        sh(flannel.name, "node2", "ip route del 198.51.100.0/24")
    assert diff(flannel) == (0, "")


@pytest.fixture(scope="module")
def p2p(tmp_path_factory):
    running = Running(name("dfx"), ["vxlan-p2p", "--no-checks"], tmp_path_factory.mktemp("dfx") / "wait.mn", [])
    yield running
    running.stop()


def test_a_raw_vxlan_lab_diffs_its_links_addresses_and_fdb(p2p):
    assert diff(p2p) == (0, "")
    sh(p2p.name, "host1", "ip addr add 192.0.2.9/32 dev vxlan20; "
                          "bridge fdb append 02:00:00:00:00:09 dev vxlan20 dst 172.16.1.99 self permanent")
    sh(p2p.name, "host2", "ip link set vxlan20 down; ip link del vxlan20")
    try:
        code, out = diff(p2p)
        assert code == 1 and out == ("@@ host1 addresses @@\n+ 192.0.2.9/32 dev vxlan20\n"
                                     "@@ host1 fdb @@\n+ 02:00:00:00:00:09 dst 172.16.1.99 dev vxlan20\n"
                                     "@@ host2 links @@\n- vxlan20 vxlan id 20 remote 172.16.1.11 dstport 4789\n"
                                     "@@ host2 addresses @@\n- 10.0.136.12/24 dev vxlan20\n"
                                     "@@ host2 fdb @@\n- 00:00:00:00:00:00 dst 172.16.1.11 dev vxlan20\n"), out
    finally:
        sh(p2p.name, "host1", "ip addr del 192.0.2.9/32 dev vxlan20; "
                              "bridge fdb del 02:00:00:00:00:09 dev vxlan20 dst 172.16.1.99 self")
        sh(p2p.name, "host2", "ip link add vxlan20 type vxlan id 20 remote 172.16.1.11 dstport 4789 dev eth0; "
                              "ip addr add 10.0.136.12/24 dev vxlan20; ip link set vxlan20 up")
    assert diff(p2p) == (0, "")


def test_a_students_cli_refuses_diff_and_the_teachers_lab_diff_shows_the_exercises_fault():
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(
        "integrity_session", os.path.join(os.path.dirname(here), "60-workshop", "test_integrity_session.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    student = name("dfw")
    term = module.Terminal(LAB + ["workshop", "start", "masquerade", "--name", student])
    try:
        term.read_until("sdnlab> ", timeout=120)
        said = term.type("diff")
        assert "error:" in said and "not part of a workshop lab's CLI" in said, said
        assert "OPENSHIFT-MASQUERADE" not in said, said
        r = lab("diff", "--name", student, "node1")
        assert r.returncode == 1, r.stdout + r.stderr
        assert "@@ node1 iptables @@\n- -t nat -A OPENSHIFT-MASQUERADE" in r.stdout, r.stdout  # what was broken
        term.type("exit", until="*** Done in")
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()
        lab("clean", student)
