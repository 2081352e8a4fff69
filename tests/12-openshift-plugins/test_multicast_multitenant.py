"""Multicast on the multitenant plugin and its move on `oc adm pod-network join-projects`, on real switches:
the 2x2 lab of test_egress_ip.py (pod1 p1 ofport 3, pod2 p2 4 on node1; pod3 p1 3, pod4 p2 4 on node2).
Every event's br0 change is compared with a golden written from the 3.11 Go source
(golden/change-multicast-*-multitenant.diff, tools/make_egress_goldens.py multitenant_multicast; golden/README.md),
not with the lab's renderer, and nothing else may change on either node (no filter/nat rule either); what the
kernel delivers is checked with real datagrams to 239.1.1.1. Every test starts from and leaves br0 as
golden/multitenant-node{1,2}.flows."""

import sys
from typing import Dict, Iterable

import pytest

from lab.observe.capture import Capture
from lab.observe.probe import read_line
from lab.planes.openshift import live, realize
from lab.shell import bounded

pytestmark = pytest.mark.root

GROUP, PORT = "239.1.1.1", 5556
MULTICAST = "netnamespace.network.openshift.io/multicast-enabled"
LISTEN_S = 3


@pytest.fixture(autouse=True)
def br0_is_golden_before_and_after(mt_lab, helpers):
    """Each test starts from, and leaves, the 2x2 multitenant lab's br0 as golden/multitenant-node{1,2}.flows."""
    helpers.assert_br0_is_golden(mt_lab[0], "multitenant")
    yield
    helpers.assert_br0_is_golden(mt_lab[0], "multitenant")


def heard(net, c, sender: str = "pod1") -> Dict[str, bool]:
    """Every other pod listens on GROUP (its listener says `ready` once joined, within 5 s); `sender` sends three
    datagrams with TTL 1; per pod, whether any arrived within the listeners' LISTEN_S window."""
    procs = {}
    try:
        for p in c.pods:
            if p.host != sender:
                procs[p.host] = net[p.host].popen([sys.executable, "-m", "lab.observe.mcast", "listen", GROUP, str(PORT),
                                                   str(LISTEN_S)])
                assert read_line(procs[p.host].stdout, timeout=5).strip() == b"ready", p.host
        bounded(net[sender], f"{sys.executable} -m lab.observe.mcast send {GROUP} {PORT} hello 3", 10)
        out = {}
        for host, proc in procs.items():
            text, _ = proc.communicate(timeout=LISTEN_S + 10)
            out[host] = any(line.startswith("hello from ") for line in text.decode().splitlines())
        return out
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def only(*hosts: str, among: Iterable[str] = ("pod2", "pod3", "pod4")) -> Dict[str, bool]:
    return {h: h in hosts for h in among}


def oc(net, c, helpers, line: str, golden: str, undo: bool = False) -> None:
    """A live `oc` line; both switches changed exactly as `golden` says (reversed with undo), nothing else."""
    got = helpers.measure(net, lambda: live.apply(net, c, line))
    helpers.assert_event(got, net.datapath, golden, undo=undo)


def test_multicast_reaches_the_project_on_the_other_node_only_when_annotated(mt_lab, helpers):
    net, c = mt_lab
    assert [(p.name, p.namespace, p.node) for p in c.pods] == [
        ("pod1", "p1", "node1"), ("pod2", "p2", "node1"), ("pod3", "p1", "node2"), ("pod4", "p2", "node2")]
    assert heard(net, c) == only()
    try:
        oc(net, c, helpers, f"annotate netnamespace p1 {MULTICAST}=true", "change-multicast-enabled-multitenant.diff")
        with Capture(net["node1"], "eth0", "udp port 4789") as cap:
            got = heard(net, c)
        # p1's pod on the other node hears it; p2's pods, on either node, do not
        assert got == only("pod3"), got
        copies = [s for s in cap.seen if s.inner_dst == GROUP]
        assert copies and all(s.dst == c.hostsubnet("node2").host_ip and s.vni == c.netids["p1"] for s in copies), \
            [s.summary for s in cap.seen]
    finally:
        oc(net, c, helpers, f"annotate netnamespace p1 {MULTICAST}-", "change-multicast-enabled-multitenant.diff", undo=True)
    assert heard(net, c) == only()


def test_join_projects_moves_multicast_as_3_11_decides_it_per_vnid(mt_lab, helpers):
    """3.11 decides multicast per VNID: every namespace sharing it must be annotated (vnids.go
    GetMulticastEnabled). Joining the unannotated p2 to p1 switches p1's multicast off; annotating p2 too turns
    it on for all four pods; removing p1's annotation alone turns it off again."""
    net, c = mt_lab
    original = dict(c.netids)
    try:
        oc(net, c, helpers, f"annotate netnamespace p1 {MULTICAST}=true", "change-multicast-enabled-multitenant.diff")
        oc(net, c, helpers, "adm pod-network join-projects --to=p1 p2", "change-multicast-join-projects-multitenant.diff")
        assert c.netids["p2"] == c.netids["p1"] == original["p1"]
        assert heard(net, c) == only(), "p2 joined without the annotation: no multicast for the joint VNID"
        oc(net, c, helpers, f"annotate netnamespace p2 {MULTICAST}=true", "change-multicast-enabled-joined-multitenant.diff")
        assert heard(net, c) == only("pod2", "pod3", "pod4")
        assert heard(net, c, sender="pod4") == only("pod1", "pod2", "pod3", among=("pod1", "pod2", "pod3"))
        # p2 still annotated, p1 not: the VNID is no longer enabled as a whole
        oc(net, c, helpers, f"annotate netnamespace p1 {MULTICAST}-", "change-multicast-enabled-joined-multitenant.diff",
           undo=True)
        assert heard(net, c) == only()
    finally:
        for ns in [n.name for n in c.netnamespaces if MULTICAST in n.annotations]:
            live.apply(net, c, f"annotate netnamespace {ns} {MULTICAST}-")
        c.set_netids(original)
        realize.apply_change(net, c)


def test_multicast_does_not_follow_an_annotated_project_that_joins_another(mt_lab, helpers):
    """p2 annotated, p1 not: after `join-projects --to=p1 p2` p2's multicast flows go with its old VNID and p1's
    VNID stays off (p1 is not annotated), whatever the namespaces' names."""
    net, c = mt_lab
    original = dict(c.netids)
    try:
        oc(net, c, helpers, f"annotate netnamespace p2 {MULTICAST}=true", "change-multicast-enabled-p2-multitenant.diff")
        assert heard(net, c, sender="pod2") == only("pod4", among=("pod1", "pod3", "pod4"))
        oc(net, c, helpers, "adm pod-network join-projects --to=p1 p2",
           "change-multicast-join-projects-annotated-p2-multitenant.diff")
        assert heard(net, c, sender="pod2") == only(among=("pod1", "pod3", "pod4"))
    finally:
        for ns in [n.name for n in c.netnamespaces if MULTICAST in n.annotations]:
            live.apply(net, c, f"annotate netnamespace {ns} {MULTICAST}-")
        c.set_netids(original)
        realize.apply_change(net, c)
