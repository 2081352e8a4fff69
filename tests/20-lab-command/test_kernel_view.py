"""lab.observe.kernel against a real namespace made here with `ip`: every kind of object the view gives (links
with a veth peer, a bridge master and a VXLAN's id/port/remote/local; addresses; routes of two tables; a policy
rule; a permanent neighbour; a VXLAN FDB entry) reads back as typed values, written as `ip` prints them; a
namespace that is not there raises and is not created; the read works from a thread of a process whose
signal handlers must not run in any child."""

import os
import signal
import subprocess

import pytest

from lab import paths
from lab.errors import LabError
from lab.observe import kernel

pytestmark = pytest.mark.root

SETUP = """
ip link add v0 type veth peer name v1
ip link add br9 type bridge
ip link set v1 master br9
ip link add vx9 type vxlan id 9 dstport 4799 local 10.9.0.1 remote 10.9.0.2 dev v0
ip link set v0 mtu 1400 up
ip link set v1 up
ip link set br9 up
ip link set vx9 up
ip addr add 10.9.0.1/24 dev v0
ip addr add 2001:db8::1/64 dev v0 nodad
ip route add 10.10.0.0/16 via 10.9.0.2
ip route add 10.11.0.7 dev v0
ip route add 192.0.2.0/24 via 10.9.0.2 table 7
ip route add blackhole 198.51.100.0/24 proto static
ip rule add from 10.9.0.0/24 table 7 pref 100
ip neigh add 10.9.0.5 lladdr 02:00:00:00:00:05 dev v0 nud permanent
bridge fdb append 02:00:00:00:00:09 dev vx9 dst 10.9.0.3 self permanent
"""


@pytest.fixture(scope="module")
def netns():
    name = f"{paths.lab_name()[:8]}-kview"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        subprocess.run(["ip", "netns", "exec", name, "sh", "-ec", SETUP], check=True, timeout=20,
                       capture_output=True, text=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=10)


def test_links_with_kind_mtu_master_peer_and_vxlan(netns):
    s = kernel.read_netns(netns)
    v0, v1, br, vx = s.link("v0"), s.link("v1"), s.link("br9"), s.link("vx9")
    assert (v0.kind, v0.mtu, v0.up, v0.peer) == ("veth", 1400, True, v1.index)
    assert (v1.master, br.kind, s.link("lo").kind) == ("br9", "bridge", "")
    assert vx.vxlan == kernel.Vxlan(vni=9, port=4799, remote="10.9.0.2", local="10.9.0.1")
    assert vx.kind == "vxlan" and vx.mac.count(":") == 5 and s.link_at(vx.index) == vx
    real = subprocess.run(["ip", "netns", "exec", netns, "cat", "/sys/class/net/v0/address"], capture_output=True,
                          text=True, timeout=10).stdout.strip()
    assert v0.mac == real


def test_addresses_routes_of_every_table_and_rules(netns):
    s = kernel.read_netns(netns)
    assert {(a.cidr, a.family, a.scope) for a in s.addresses_of("v0")} >= {("10.9.0.1/24", 4, "global"),
                                                                           ("2001:db8::1/64", 6, "global")}
    routes = {(r.table, r.type, r.dst, r.via, r.dev, r.proto) for r in s.routes}
    assert ("main", "unicast", "10.10.0.0/16", "10.9.0.2", "v0", "boot") in routes
    assert ("main", "unicast", "10.11.0.7", "", "v0", "boot") in routes  # a /32 as `ip route` prints it
    assert ("7", "unicast", "192.0.2.0/24", "10.9.0.2", "v0", "boot") in routes
    assert ("main", "blackhole", "198.51.100.0/24", "", "", "static") in routes
    assert ("local", "local", "10.9.0.1", "", "v0", "kernel") in routes
    assert ("main", "unicast", "10.9.0.0/24", "", "v0", "kernel") in routes
    assert [r.text() for r in s.rules if r.family == 4] == [
        "0: from all lookup local", "100: from 10.9.0.0/24 lookup 7", "32766: from all lookup main",
        "32767: from all lookup default"]


def test_neighbours_and_fdb_entries(netns):
    s = kernel.read_netns(netns)
    assert kernel.Neighbour("v0", "10.9.0.5", "02:00:00:00:00:05", "PERMANENT") in s.neighbours
    fdb = {(e.dev, e.mac, e.dst, e.state, e.self_entry) for e in s.fdb}
    assert ("vx9", "02:00:00:00:00:09", "10.9.0.3", "PERMANENT", True) in fdb
    assert ("vx9", "00:00:00:00:00:00", "10.9.0.2", "PERMANENT", True) in fdb  # the remote's default entry


def test_a_namespace_that_is_not_there_raises_and_is_not_made():
    name = f"{paths.lab_name()[:8]}-kgone"
    with pytest.raises(LabError, match="cannot be read"):
        kernel.read_netns(name)
    assert not os.path.exists(os.path.join(paths.NETNS_DIR, name))


def test_no_child_process_runs_the_callers_sigterm_handler(netns):
    """pyroute2's own IPRoute(netns=...) forks a child and stops it with SIGTERM: in a lab's process that child
    ran the lab's SIGTERM handler (teardown). The view reads in a thread: the handler never runs."""
    r, w = os.pipe()  # a child's handler writes here too: the pipe is shared, a list would not be
    os.set_blocking(r, False)
    old = signal.signal(signal.SIGTERM, lambda *_a: os.write(w, b"%d\n" % os.getpid()))
    try:
        for _ in range(3):
            kernel.read_netns(netns)
    finally:
        signal.signal(signal.SIGTERM, old)
    try:
        ran = os.read(r, 4096)
    except BlockingIOError:
        ran = b""
    finally:
        os.close(r)
        os.close(w)
    assert ran == b"", f"the SIGTERM handler ran in pids {ran.split()}"
