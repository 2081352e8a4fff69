"""Bad input to `lab run`, for every topology: one `lab: error:` line, exit code 2, nothing created.

These runs stop in the pure model (before root, packages or the lock are looked at), so they need no lab lock.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab.paths import NETNS_DIR, RUN_DIR

pytestmark = pytest.mark.rootless  # stops before root is needed (see the docstring)

REPO = str(Path(__file__).resolve().parents[2])

CASES = [
    # openshift: overlaps between any two of cluster network, service network and underlay
    (["--service-network", "10.128.0.0/16"],
     ["cluster network (--cluster-cidr) 10.128.0.0/14 overlaps service network (--service-network) 10.128.0.0/16"]),
    (["openshift", "--cluster-cidr", "172.28.0.0/14"],
     ["cluster network (--cluster-cidr) 172.28.0.0/14 overlaps service network (--service-network) 172.30.0.0/16"]),
    (["--underlay", "10.128.5.0/24"],
     ["cluster network (--cluster-cidr) 10.128.0.0/14 overlaps underlay (--underlay) 10.128.5.0/24"]),
    (["--underlay", "172.30.1.0/24"], ["service network (--service-network) 172.30.0.0/16 overlaps underlay"]),
    # openshift: reserved ranges
    (["--cluster-cidr", "127.0.0.0/14"], ["--cluster-cidr", "127.0.0.0/14 lies in the loopback range 127.0.0.0/8"]),
    (["--cluster-cidr", "224.0.0.0/14"], ["--cluster-cidr", "lies in the multicast range 224.0.0.0/4"]),
    (["--cluster-cidr", "240.0.0.0/14"], ["--cluster-cidr", "lies in the reserved range 240.0.0.0/4"]),
    (["--service-network", "169.254.0.0/16"], ["--service-network", "lies in the link-local range 169.254.0.0/16"]),
    (["--underlay", "0.0.0.0/24"], ["--underlay", 'lies in the "this network" range 0.0.0.0/8']),
    (["--underlay", "192.0.0.0/2"], ["--underlay", "overlaps the multicast range 224.0.0.0/4"]),
    # openshift: MTU, port, sizes
    (["--mtu", "9000"],
     ["--mtu 9000 does not fit the 1500-byte underlay with the 50-byte overlay header: at most 1450"]),
    (["--mtu", "1451"], ["--mtu 1451", "at most 1450"]),
    (["--mtu", "500"], ["--mtu 500 is below the IPv4 minimum of 576"]),
    (["--mtu", "big"], ["argument --mtu: invalid int value: 'big'"]),
    (["--vxlan-port", "0"], ["--vxlan-port 0 is out of range 1-65535"]),
    (["--vxlan-port", "70000"], ["--vxlan-port 70000 is out of range 1-65535"]),
    (["--vxlan-port", "-1"], ["--vxlan-port -1 is out of range 1-65535"]),
    (["--nodes", "0"], ["--nodes must be at least 1, not 0"]),
    (["--pods-per-node", "-1"], ["--pods-per-node must be 0 or more, not -1"]),
    (["--underlay", "172.16.1.0/29"], ["underlay (--underlay) 172.16.1.0/29 is too small for --nodes 2", "at most 0"]),
    (["--underlay", "172.16.1.0/28", "--nodes", "4"], ["is too small for --nodes 4", "at most 3 nodes"]),
    (["--host-subnet-length", "24"], ["--host-subnet-length 24 does not fit cluster network 10.128.0.0/14"]),
    (["--host-subnet-length", "1"], ["--host-subnet-length 1 is invalid", "at least 2"]),
    (["--nodes", "3", "--host-subnet-length", "17"], ["3 nodes need 3 host subnets", "has only 2"]),
    (["--pods-per-node", "600"], ["--pods-per-node 600", "do not fit a /23 host subnet (at most 509)"]),
    (["--cluster-cidr", "10.128.0.1/14"], ["invalid cluster network CIDR (--cluster-cidr)", "host bits set"]),
    (["--underlay", "fd00::/64"], ["invalid underlay CIDR (--underlay) 'fd00::/64': only IPv4"]),
    (["--frobnicate"], ["unrecognized arguments: --frobnicate"]),
    (["--datapath", "kernel"], ["argument --datapath: invalid choice: 'kernel'"]),
    (["kubernetes-the-hard-way"], ["unknown topology 'kubernetes-the-hard-way'"]),
    # flannel: its network against the underlay segments, reserved ranges, sizes
    (["flannel", "--network", "172.16.0.0/16"],
     ["flannel network (--network) 172.16.0.0/16 overlaps underlay segment 172.16.1.0/24"]),
    (["flannel", "--network", "172.16.2.0/23", "--routed"],
     ["flannel network (--network) 172.16.2.0/23 overlaps second underlay segment (--routed) 172.16.2.0/24"]),
    (["flannel", "--network", "224.0.0.0/16"],
     ["flannel network (--network) 224.0.0.0/16 lies in the multicast range"]),
    (["flannel", "--network", "127.0.0.0/16"], ["--network", "lies in the loopback range"]),
    (["flannel", "--network", "169.254.0.0/16"], ["--network", "lies in the link-local range"]),
    (["flannel", "--network", "10.244.0.0/24"], ["subnet length 24 does not fit flannel network (--network)"]),
    (["flannel", "--network", "10.244.0.0/23", "--nodes", "3"], ["3 nodes need 3 leases", "holds only 2 /24 subnets"]),
    (["flannel", "--network", "banana"], ["invalid flannel network (--network) 'banana'"]),
    (["flannel", "--nodes", "0"], ["--nodes must be at least 1, not 0"]),
    (["flannel", "--nodes", "201"], ["--nodes 201 does not fit the underlay: at most 200 nodes"]),
    (["flannel", "--pods-per-node", "-5"], ["--pods-per-node must be 0 or more, not -5"]),
    (["flannel", "--pods-per-node", "254"], ["--pods-per-node 254", "do not fit a /24 lease (at most 253)"]),
    (["flannel", "--backend", "udp"], ["argument --backend: invalid choice: 'udp'"]),
    (["flannel", "--mtu", "1400"], ["unrecognized arguments: --mtu 1400"]),
    # raw VXLAN labs: fixed addressing, so every option beyond theirs is refused
    (["vxlan-p2p", "--nodes", "3"], ["unrecognized arguments: --nodes 3"]),
    (["vxlan-p2p", "--mtu", "9000"], ["unrecognized arguments: --mtu 9000"]),
    (["vxlan-p2p", "extra"], ["unrecognized arguments: extra"]),
    (["vxlan-p2p", "--datapath", "netdev"], ["unrecognized arguments: --datapath netdev"]),  # no OVS in a raw lab
    (["docker-vxlan", "--connected=yes"], ["argument --connected: ignored explicit argument 'yes'"]),
    (["docker-vxlan", "--pods-per-node", "2"], ["unrecognized arguments: --pods-per-node 2"]),
    (["docker-vxlan", "--vxlan-port", "70000"], ["unrecognized arguments: --vxlan-port 70000"]),
    (["docker-vxlan", "--network", "172.20.0.0/16"], ["unrecognized arguments: --network"]),
    # files and names, checked before the first namespace
    (["--json", "/"], ["--json / is a directory, not a file"]),
    (["flannel", "--json", "/nonexistent-sdnlab-dir/inventory.json"], ["directory /nonexistent-sdnlab-dir does not exist"]),
    (["--json", ""], ["--json: the file name is empty"]),  # once: a lab built and exit 0
    (["--json", "/proc/inventory.json"], ["--json /proc/inventory.json: /proc is a proc filesystem"]),
    (["--script", ""], ["--script: the file name is empty"]),
    (["--script", "/nonexistent-sdnlab-session.mn"], ["--script /nonexistent-sdnlab-session.mn: no such file"]),
    (["vxlan-p2p", "--script", "/"], ["--script / is a directory, not a file"]),
    (["--name", "Bad-Name"], ["invalid lab name 'Bad-Name'"]),
    (["flannel", "--name", "abcdefghijklm"], ["invalid lab name 'abcdefghijklm'"]),
]


def netns_entries() -> set:
    return set(os.listdir(NETNS_DIR)) if os.path.isdir(NETNS_DIR) else set()


def under_run(path: str) -> bool:
    return os.path.realpath(path).startswith("/run/")


# Another lab (a developer's, or a parallel CI module) may add namespaces while a case runs, so as root
# each run gets a private mount namespace with an empty /run: whatever it creates there is its own.
SANDBOX = os.geteuid() == 0 and bool(shutil.which("unshare")) and under_run(NETNS_DIR) and under_run(RUN_DIR)
SANDBOX_SCRIPT = ('mount -t tmpfs sdnlab-bad-input /run || exit 97\n'
                  '"$@"; rc=$?\nfind /run -mindepth 1 > "$SDNLAB_TEST_LISTING"\nexit $rc\n')


def run_watched(command, tmp_path):
    """Run `command`; returns the result and what it created under /run (or, without root, new namespaces)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    if not SANDBOX:
        netns_before, run_dir_before = netns_entries(), os.path.exists(RUN_DIR)
        r = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
                           env=env, cwd=REPO)
        created = sorted(netns_entries() - netns_before)
        if not run_dir_before and os.path.exists(RUN_DIR):
            created.append(RUN_DIR)
        return r, created
    listing = tmp_path / "run-listing"
    env["SDNLAB_TEST_LISTING"] = str(listing)
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", SANDBOX_SCRIPT, "sh", *command],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60, env=env, cwd=REPO)
    assert r.returncode != 97, f"could not make the private /run: {r.stderr}"
    return r, listing.read_text().split()


@pytest.mark.parametrize("args, words", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_creates_nothing(args, words, tmp_path):
    # PATH without the lab's tools: a run that slipped past validation stops at the package check, builds nothing
    r, created = run_watched(["env", "PATH=/nonexistent", sys.executable, "-m", "lab", "run", *args], tmp_path)
    assert r.returncode == 2, r
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lab: error: "), r.stderr
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    assert r.stdout == "", f"printed progress, so it got further than validation: {r.stdout!r}"
    assert created == [], f"created: {created}"


@pytest.mark.skipif(not SANDBOX, reason="the private /run needs root and unshare")
def test_the_private_run_shows_what_a_command_creates(tmp_path):
    """The check above can fail: a namespace bound under the netns directory is seen (and dies with the sandbox)."""
    name = "sdnlab-bad-input-probe"
    r, created = run_watched(["ip", "netns", "add", name], tmp_path)
    assert r.returncode == 0, r
    assert os.path.join(os.path.realpath(NETNS_DIR), name) in created, created
    assert name not in netns_entries()  # it never reached the machine's own /run
