"""No CLI mistake takes a lab down: `lab run --script` sessions full of mistakes, then proof the lab is up.

Each mistake must print exactly one `error: line N: ...` line (no traceback), the lines after it still
run, and the session ends with a ping that gets its answer. The docs' CLI walk-throughs run as printed
(docs/tutorial/cli.md, live-changes.md, docs/planes/flannel.md: docs_printed.printed fails when a page drifts).
"""

import re
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

import pytest
from docs_printed import printed

LAB = [sys.executable, "-m", "lab"]
_ERROR = re.compile(r"^error: line (\d+): (.*)$")


def session(tmp_path, args: List[str], lines: List[Tuple[str, Optional[str]]]):
    """Run `lab run ARGS --script` over lines of (CLI line, words its one error line holds, or None if good).

    Returns the finished process and {line number: section of the transcript after a `py '@@ ...'` mark}.
    """
    script = tmp_path / "session.mn"
    script.write_text("".join(line + "\n" for line, _ in lines))
    r = subprocess.run(LAB + ["run", *args, "--no-checks", "--script", str(script)], capture_output=True,
                       text=True, timeout=300, stdin=subprocess.DEVNULL)
    transcript = r.stdout + r.stderr
    assert "Traceback" not in transcript, transcript
    errors: Dict[int, List[str]] = {}
    for text in r.stdout.splitlines():
        m = _ERROR.match(text)
        if m:
            errors.setdefault(int(m.group(1)), []).append(m.group(2))
    expected = {n: words for n, (_, words) in enumerate(lines, 1) if words is not None}
    assert sorted(errors) == sorted(expected), f"error lines {errors}\nexpected at {expected}\n{transcript}"
    for n, words in expected.items():
        assert len(errors[n]) == 1 and words in errors[n][0], (lines[n - 1][0], errors[n])
    assert not [t for t in r.stdout.splitlines() if t.startswith("error:") and not _ERROR.match(t)], transcript
    return r, sections(r.stdout)


def sections(stdout: str) -> Dict[str, str]:
    """The transcript cut at the marks `py '@@ NAME'` prints."""
    out: Dict[str, List[str]] = {}
    current = None
    for text in stdout.splitlines():
        if text.startswith("@@ "):
            current = text[3:]
            out[current] = []
        elif text.startswith("*** Tearing down"):
            current = None
        elif current is not None:
            out[current].append(text)
    return {k: "\n".join(v) for k, v in out.items()}


WAIT_ARP_SETTLED = "for i in $(seq 60); do ip neigh show 172.20.0.3 | grep -q INCOMPLETE || exit 0; sleep 0.1; done; exit 1"


def mark(name: str) -> Tuple[str, None]:
    return (f"py '@@ {name}'", None)


CLI, LIVE, FLANNEL = "tutorial/cli.md", "tutorial/live-changes.md", "planes/flannel.md"
INDEX, README = "index.md", "../README.md"  # pages under docs/; the README beside it


@pytest.mark.root
def test_openshift_mistakes_leave_the_lab_up(tmp_path):
    r, out = session(tmp_path, [], [
        ("flows node1 abc", "table must be a number 0..254, not 'abc'"),
        ("flows node1 300", "table must be a number"),
        ("flows node9", "unknown node 'node9'"),
        ("flows", "usage: flows"),
        ("pingmatrix now", "usage: pingmatrix"),
        ("trace pod1 pod3 sctp", "protocol must be icmp, udp or tcp"),
        ("trace pod1 pod3 udp 70000", "a port is 1..65535"),
        ("trace pod9 pod3", "unknown pod 'pod9'"),
        ("trace pod1 nowhere", "unknown destination 'nowhere'"),
        ("trace pod1", "usage: trace"),
        ("oc get frobs", 'the server doesn\'t have a resource type "frobs"'),
        ("pod9 ping -c1 pod3", "unknown command or node 'pod9'"),
        ("frobnicate", "unknown command or node 'frobnicate'"),
        ("pod1", "give pod1 a command"),
        ("py net['nosuch']", "py: KeyError: 'nosuch'"),
        ("py 1/0", "py: ZeroDivisionError"),
        ("px raise ValueError('from px')", "px: ValueError: from px"),
        ("iperf pod1", "invalid number of args: iperf src dst"),  # Mininet's own command
        ("x pod9", "KeyError: 'pod9' (traceback in "),  # Mininet's own command raising
        ("time frobnicate", "unknown command or node 'frobnicate'"),  # a nested command counts once
        ("source /nonexistent/session.mn", "cannot read /nonexistent/session.mn"),
        # a node command that exits non-zero is not a mistake of the CLI, as in Mininet
        ("pod1 false", None),
        # `trace` with L4 ports builds a valid flow and follows it over VXLAN into node2
        mark("udp"), ("trace pod1 pod3 udp 53", None),
        mark("tcp"), ("trace pod1 pod3 tcp 8080", None),
        mark("ext"), ("trace pod1 ext tcp 80 -v", None),
        mark("self"), ("trace pod1 pod1", None),
        # docs/tutorial/cli.md, as printed (tcpdump bounded: a script cannot press Ctrl-C)
        mark("readme"),
        (printed(CLI, "node1 ovs-appctl ofproto/trace br0 in_port=3,icmp,nw_src=10.128.0.2,nw_dst=10.129.0.2"), None),
        (printed(CLI, "trace pod1 pod3 -v"), None),
        (printed(CLI, "flows node1 90"), None),
        (printed(CLI, "oc get hostsubnets"), None),
        (printed(CLI, "pod1 traceroute -n pod3"), None),
        ("node1 timeout 1 " + printed(CLI, "node1 tcpdump -ni eth0 udp port 4789")[len("node1 "):], None),
        # the first lab of README.md and docs/index.md, as printed
        (printed(README, printed(INDEX, "pod1 ping -c1 pod3")), None),
        (printed(README, printed(INDEX, "trace pod1 pod3")), None),
        mark("semicolons"), ("node1 ip -o link show tun0; node2 ip -o link show tun0", None),
        mark("pingmatrix"), ("pingmatrix", None),
        mark("up"), ("pod1 ping -c1 -W2 pod3", None),
    ])
    node1_vxlan = "node1: 0 > 20 > 21 > 30 > 90: output vxlan0 (tun_dst=172.16.1.12)"
    for proto in ("udp", "tcp"):
        lines = out[proto].splitlines()
        assert lines[0] == node1_vxlan and re.fullmatch(r"node2: 0 > 10 > 30 > 70 > 80: output veth\S+", lines[1]), \
            out[proto]
        assert "prerequisites" not in out[proto]
    assert out["ext"].splitlines()[0] == "node1: 0 > 20 > 21 > 30 > 100 > 101: output tun0"
    assert "  101. (any), priority 0" in out["ext"]  # -v: each table's flow
    assert out["self"].startswith("pod1 -> 10.128.0.2 is pod1's own address") and "drop" not in out["self"]
    assert "Datapath actions:" in out["readme"] and "table 90:" in out["readme"] and "10.129.0.0/23" in out["readme"]
    assert re.search(r"^ 1  10\.129\.0\.2 ", out["readme"], re.M), out["readme"]  # traceroute: one hop
    assert out["readme"].count("1 packets transmitted, 1 received") == 1, out["readme"]  # the first lab's ping
    assert node1_vxlan in out["readme"].splitlines(), out["readme"]  # its trace
    assert out["semicolons"].count("tun0:") == 2 and "command not found" not in out["semicolons"]
    assert " X" not in out["pingmatrix"] and out["pingmatrix"].count("ok") == 12
    assert "1 packets transmitted, 1 received" in out["up"]
    assert r.returncode == 1, r.stdout[-2000:]


@pytest.mark.root
def test_openshift_live_oc_session_as_the_readme_types_it(tmp_path):
    """docs/tutorial/live-changes.md: each line as printed; refused lines are one error line and change nothing."""
    r, out = session(tmp_path, ["openshift", "--plugin", "networkpolicy"], [
        mark("before"), (printed(LIVE, "pod1 ping -c1 -W1 pod2"), None),
        mark("deny"), (printed(LIVE, "oc apply -f examples/live/deny-all.yaml"), None),
        mark("changes"), (printed(LIVE, "changes"), None),
        mark("denied"), (printed(LIVE, "pod1 ping -c1 -W1 pod2"), None),
        (printed(LIVE, "oc create -f examples/live/allow-from-same-namespace.yaml"), None),
        mark("same"), (printed(LIVE, "pod4 ping -c1 -W1 pod2"), None),
        mark("netpol"), (printed(LIVE, "oc get networkpolicy -n p2"), None),
        (printed(LIVE, "oc apply -f examples/live/web.yaml"), None),
        mark("curl"), (printed(LIVE, "pod3 curl -s 172.30.0.80"), None),
        (printed(LIVE, "oc label pod web -n p1 app=api --overwrite"), None),
        mark("relabel"), (printed(LIVE, "changes"), None),
        (printed(LIVE, "oc delete networkpolicy deny-all allow-from-same-namespace -n p2"), None),
        (printed(LIVE, "oc delete pod nope -n p2"), 'Error from server (NotFound): pods "nope" not found'),
        ("oc create -f examples/live/web.yaml", 'Error from server (AlreadyExists): error when creating '
                                                 '"examples/live/web.yaml": pods "web" already exists'),
        ("oc adm pod-network isolate-projects p1", 'using plugin: "redhat/openshift-ovs-networkpolicy", managing '
                                                   "pod network is only supported"),
        ("oc label pod 'no such' x=1 -n p1", 'pods "no such" not found'),
        mark("after"), (printed(LIVE, "pod1 ping -c1 -W1 pod2"), None),
    ])
    assert "1 received" in out["before"] and "0 received" in out["denied"] and "1 received" in out["same"]
    assert out["deny"] == "networkpolicy.networking.k8s.io/deny-all created"
    assert out["changes"].splitlines()[1:] == ["node1:", f"  - table=80, priority=50, reg1={_P2}, "
                                               "actions=output:NXM_NX_REG2[]", "node2:",
                                               f"  - table=80, priority=50, reg1={_P2}, actions=output:NXM_NX_REG2[]"]
    assert out["netpol"].split()[:9] == ["NAME", "POD-SELECTOR", "AGE", "allow-from-same-namespace", "<none>", "1m",
                                     "deny-all", "<none>", "1m"]
    assert out["curl"].splitlines()[0] == "web"
    assert "+ -t filter -A KUBE-SERVICES -d 172.30.0.80/32" in out["relabel"]
    assert "- -t nat -N KUBE-SVC-" in out["relabel"]
    assert "1 received" in out["after"]
    assert r.returncode == 1, r.stdout[-2000:]


_P2 = 6936361  # project p2's NETID in every generated lab


@pytest.mark.root
def test_flannel_mistakes_join_leave_and_etcdctl(tmp_path):
    r, out = session(tmp_path, ["flannel"], [
        ("leave", "usage: leave <node>"),
        ("leave node9", "'node9' is not a node of this lab"),
        ("leave node1", "node1 still has pods (pod1, pod2)"),
        ("join node3", "usage: join"),
        mark("join"), ("join", None),
        ("leave node3", None),
        ("leave node3", "node3 has already left"),
        # join after leave: a new name and address, never node3's again; the free lease is taken
        mark("rejoin"), ("join", None),
        # both etcdctl forms in a node shell (etcdctl 3.4 refuses ETCDCTL_ENDPOINTS next to --endpoints)
        mark("member"), ("node1 etcdctl member list", None),
        mark("status"), ("node1 etcdctl --endpoints=http://172.16.1.2:2379 endpoint status -w table", None),
        mark("status2"), ("node2 etcdctl --endpoints http://172.16.1.2:2379 endpoint health", None),
        # docs/planes/flannel.md, as printed
        mark("readme"),
        (printed(FLANNEL, "node1 etcdctl get / --prefix --keys-only"), None),
        (printed(FLANNEL, "node1 etcdctl member list -w table"), None),
        (printed(FLANNEL, "node1 ip route show dev flannel.1; node1 bridge fdb show dev flannel.1; "
                          "node1 ip neigh show dev flannel.1"), None),
        mark("up"), ("pod1 ping -c1 -W2 pod3", None),
    ])
    assert out["join"].splitlines()[0] == "node3 joined with lease 10.244.2.0/24; every agent has followed"
    assert out["rejoin"].splitlines()[0] == "node4 joined with lease 10.244.2.0/24; every agent has followed"
    assert re.search(r"^[0-9a-f]+, started, etcd0, http://172\.16\.1\.2:2380", out["member"], re.M), out["member"]
    assert "| http://172.16.1.2:2379 |" in out["status"] and "conflicting" not in out["status"]
    assert "http://172.16.1.2:2379 is healthy" in out["status2"]
    readme = out["readme"]
    assert "/coreos.com/network/subnets/10.244.3.0-24" not in readme  # node4 took the free 10.244.2.0/24
    assert "/coreos.com/network/subnets/10.244.2.0-24" in readme and "| started | etcd0 |" in readme
    # node1 sees the leases of node2 (10.244.1.0) and node4 (10.244.2.0): route, FDB entry, neighbour
    for subnet in ("10.244.1.0", "10.244.2.0"):
        assert f"{subnet}/24 via {subnet} onlink" in readme and f"{subnet} lladdr " in readme
    assert "dst 172.16.1.12 self permanent" in readme and "dst 172.16.1.14 self permanent" in readme
    assert "command not found" not in readme
    assert "1 packets transmitted, 1 received" in out["up"]
    assert r.returncode == 1, r.stdout[-2000:]


@pytest.mark.root
def test_pingmatrix_of_containers_and_connect_twice(tmp_path):
    r, out = session(tmp_path, ["docker-vxlan"], [
        ("pingmatrix now", "usage: pingmatrix"),
        mark("isolated"), ("pingmatrix", None),  # the topology's endpoints are its containers
        # c1's ARP for c2 from that pingmatrix stays INCOMPLETE for its 3 probes; a ping queued behind it would be
        # answered "unreachable" when it fails, whatever connect did: wait (with a deadline) until it has
        (f"c1 sh -c '{WAIT_ARP_SETTLED}'", None),
        ("connect now", "usage: connect"),
        ("connect", None),
        ("connect", "already connected"),
        mark("up"), ("c1 ping -c1 -W2 172.20.0.3", None),
    ])
    assert "1 packets transmitted, 1 received" in out["up"]
    assert out["isolated"].split()[:8] == ["c1", "c2", "c1", "-", "X", "c2", "X", "-"], out["isolated"]
    assert r.returncode == 1, r.stdout[-2000:]


@pytest.mark.root
def test_pingmatrix_needs_two_endpoints(tmp_path):
    r, _ = session(tmp_path, ["--nodes", "1", "--pods-per-node", "1"], [
        ("pingmatrix", "fewer than two endpoints"),
    ])
    assert r.returncode == 1, r.stdout[-2000:]


@pytest.mark.root
def test_a_session_of_good_lines_exits_0(tmp_path):
    r, out = session(tmp_path, [], [
        ("pod1 false", None),  # a non-zero exit status in a node is not a failed line
        mark("up"), ("pod1 ping -c1 -W2 pod3; pod3 ping -c1 -W2 pod1", None),
    ])
    assert out["up"].count("1 packets transmitted, 1 received") == 2
    assert r.returncode == 0, r.stdout[-2000:]
