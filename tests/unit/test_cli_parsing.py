"""The CLI's pure parts: line splitting, argument checks, trace flows, script failure counting, join names."""

import os
import sys

import pytest

from lab.errors import BadInput, LabError
from lab.front import mncli
from lab.front.mncli import make_cli, one_line, split_commands
from lab.observe.flows import parse_table
from lab.planes.flannel.model import build_flannel_cluster
from lab.planes.openshift.observe.trace import own_address_note, packet_fields
from lab.planes.openshift.observe.trace_command import TraceRequest, parse_trace_args

NODES = ["node1", "node2", "pod1", "pod3"]


@pytest.mark.parametrize("line, parts", [
    # the README's Flannel line: three commands, not one line whose later `node1`s become addresses
    ("node1 ip route show dev flannel.1; node1 bridge fdb show dev flannel.1; node1 ip neigh show dev flannel.1",
     ["node1 ip route show dev flannel.1", "node1 bridge fdb show dev flannel.1", "node1 ip neigh show dev flannel.1"]),
    ("node1 ip route;node2 ip route", ["node1 ip route", "node2 ip route"]),
    ("node1 ip route; node2 ip route;", ["node1 ip route", "node2 ip route"]),
    # Mininet's address substitution stays possible within each part
    ("pod1 ping -c1 pod3; pod3 ping -c1 pod1", ["pod1 ping -c1 pod3", "pod3 ping -c1 pod1"]),
])
def test_lines_of_node_commands_split_at_semicolons(line, parts):
    assert split_commands(line, NODES) == parts


@pytest.mark.parametrize("line", [
    "pod1 ping -c1 pod3",                              # no `;`: one command, as in Mininet
    "node1 cd /tmp; ls",                                # `ls` is no node: one shell line for node1
    "node1 sh -c 'ip route; node2 is a word here'",     # `;` inside quotes
    'node1 echo "a; node2 b"',
    r"node1 echo a\; node2 b",                          # an escaped `;`
    "node1 ip route;",                                  # a trailing `;` is the shell's business
    "node9 ip route; node1 ip route",                   # an unknown first word: not ours to split
])
def test_other_lines_stay_whole(line):
    assert split_commands(line, NODES) == [line]


def test_flows_table_is_a_number_in_range():
    assert parse_table("0") == 0 and parse_table("254") == 254
    for bad in ("abc", "-1", "255", "1.5", ""):
        with pytest.raises(LabError, match="table must be a number 0..254"):
            parse_table(bad)


def test_a_multi_line_error_is_one_line():
    assert one_line("node1: `ovs-ofctl` failed:\n  ovs-ofctl: br0 is not a bridge\n\n") == \
        "node1: `ovs-ofctl` failed: | ovs-ofctl: br0 is not a bridge"


@pytest.mark.parametrize("line, request_", [
    ("pod1 pod3", TraceRequest("pod1", "pod3", "icmp", None, False)),
    ("pod1 pod3 -v", TraceRequest("pod1", "pod3", "icmp", None, True)),
    ("pod1 pod3 udp", TraceRequest("pod1", "pod3", "udp", 33434, False)),
    ("pod1 pod3 udp 53", TraceRequest("pod1", "pod3", "udp", 53, False)),
    ("pod1 pod3 tcp 8080", TraceRequest("pod1", "pod3", "tcp", 8080, False)),
    ("pod1 ext tcp 80 -v", TraceRequest("pod1", "ext", "tcp", 80, True)),
    ("pod1 -v 10.0.0.1 TCP", TraceRequest("pod1", "10.0.0.1", "tcp", 80, True)),
])
def test_trace_arguments(line, request_):
    assert parse_trace_args(line) == request_


@pytest.mark.parametrize("line, words", [
    ("", "usage: trace"), ("pod1", "usage: trace"), ("pod1 pod3 udp 53 54", "usage: trace"),
    ("pod1 pod3 sctp", "protocol must be icmp, udp or tcp"), ("pod1 pod3 icmp 8", "icmp has no ports"),
    ("pod1 pod3 udp 0", "a port is 1..65535"), ("pod1 pod3 tcp 65536", "a port is 1..65535"),
    ("pod1 pod3 tcp http", "a port is 1..65535"),
])
def test_trace_argument_mistakes(line, words):
    with pytest.raises(BadInput, match=words):
        parse_trace_args(line)


def test_trace_flows_carry_the_protocols_own_port_fields():
    a = ("10.128.0.2", "0a:58:0a:80:00:02", "10.129.0.2", "0a:58:0a:81:00:02")
    # OVS's tp_src is an alias of tcp_src: a UDP flow needs udp_src/udp_dst or its prerequisites fail
    assert packet_fields(*a, "udp", 53) == ("udp,dl_src=0a:58:0a:80:00:02,dl_dst=0a:58:0a:81:00:02,"
                                            "nw_src=10.128.0.2,nw_dst=10.129.0.2,nw_ttl=64,udp_src=40000,udp_dst=53")
    assert packet_fields(*a, "tcp", 8080).endswith(",tcp_src=40000,tcp_dst=8080")
    assert packet_fields(*a, "tcp").endswith(",tcp_dst=80")
    assert packet_fields(*a, "icmp").startswith("icmp,") and packet_fields(*a).endswith(",icmp_type=8,icmp_code=0")
    assert "tp_src" not in packet_fields(*a, "udp") and "tp_dst" not in packet_fields(*a, "tcp")
    with pytest.raises(BadInput):
        packet_fields(*a, "sctp")


def test_a_trace_to_the_pods_own_address_is_explained():
    note = own_address_note("pod1", "10.128.0.2", "10.128.0.2")
    assert "own address" in note and "loopback" in note and "br0" in note and "\n" not in note
    assert own_address_note("pod1", "10.128.0.2", "10.129.0.2") is None


def test_join_after_leave_reuses_no_live_or_departed_name_or_address_and_no_held_lease():
    c = build_flannel_cluster(nodes=3, pods_per_node=0)
    first = c.next_node()
    assert (first.name, first.ip, first.subnet) == ("node4", "172.16.1.14", "10.244.3.0/24")
    node2 = c.node("node2")
    c.nodes.remove(node2)
    c.departed.append(node2)
    again = c.next_node()
    # node2's lease is free again (as flannel would hand it out); its name and address are not
    assert (again.name, again.ip, again.subnet) == ("node4", "172.16.1.14", "10.244.1.0/24")
    node3 = c.node("node3")
    c.nodes.remove(node3)
    c.departed.append(node3)
    # the highest node left too: still no reuse of node3; a lease etcd still lists is skipped
    later = c.next_node(held_leases=["10.244.1.0/24"])
    assert (later.name, later.ip, later.subnet) == ("node4", "172.16.1.14", "10.244.2.0/24")


class FakeNet(dict):
    """Enough of a Mininet network for the CLI's own commands (no node commands)."""
    nameToNode: dict = {}


def run_script(tmp_path, monkeypatch, lines, verbs):
    for handler in mncli.lg.handlers:  # Mininet's output() and error() into the captured stdout, as run_cli does
        monkeypatch.setattr(handler, "stream", sys.stdout)
    monkeypatch.setattr(mncli.paths, "host_dir", lambda host: str(tmp_path / "run" / host))
    os.makedirs(tmp_path / "run", exist_ok=True)
    script = tmp_path / "session.mn"
    script.write_text("\n".join(lines) + "\n")
    with open(os.devnull) as stdin:
        cli = make_cli(verbs)(FakeNet(), script=str(script), stdin=stdin)
    return cli.failures


def test_a_script_runs_on_after_failures_and_counts_failed_lines(tmp_path, monkeypatch, capsys):
    ran = []

    def ok(line):
        ran.append(line)
        print(f"ok {line}")

    def refuse(line):
        raise LabError(f"refused {line}\nsecond line")

    def crash(line):
        return {}[line]

    verbs = {"ok": (ok, ""), "refuse": (refuse, ""), "crash": (crash, "")}
    lines = ["ok 1", "refuse x", "crash y", "frobnicate", "py 1/0", "px raise ValueError('v')",
             "ok 2", "# a comment", "", "py 6*7", "source /nonexistent/file", "ok 3"]
    assert run_script(tmp_path, monkeypatch, lines, verbs) == 6
    captured = capsys.readouterr()
    out = captured.out
    assert ran == ["1", "2", "3"]
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: line 2: refused x | second line",
        f"error: line 3: KeyError: 'y' (traceback in {tmp_path}/run/cli-errors.log)",
        "error: line 4: unknown command or node 'frobnicate' (`help` lists the commands, `nodes` the nodes)",
        "error: line 5: py: ZeroDivisionError: division by zero",
        "error: line 6: px: ValueError: v",
        "error: line 11: cannot read /nonexistent/file: No such file or directory",
    ]
    assert "42" in out and "Traceback" not in out + captured.err
    assert "KeyError" in (tmp_path / "run" / "cli-errors.log").read_text()


def test_a_script_of_good_lines_has_no_failures(tmp_path, monkeypatch, capsys):
    assert run_script(tmp_path, monkeypatch, ["py 1+1", "help"], {}) == 0
    assert "error:" not in capsys.readouterr().out


def test_exit_ends_a_script(tmp_path, monkeypatch, capsys):
    assert run_script(tmp_path, monkeypatch, ["exit", "frobnicate"], {}) == 0


def test_mininets_own_argument_errors_count_and_read_as_errors(tmp_path, monkeypatch, capsys):
    assert run_script(tmp_path, monkeypatch, ["iperf a b c", "link x", "nodes"], {}) == 2
    out = capsys.readouterr().out
    assert "error: line 1: invalid number of args: iperf src dst" in out
    assert "error: line 2: invalid number of args: link end1 end2 [up down]" in out


@pytest.mark.parametrize("name", ["x\n", "x\n\n", "\nx", "x ", "X", "1x", "x-y", "x/y", "", "a" * 13, "x\x00"])
def test_a_lab_name_is_the_whole_string(name):
    from lab import paths
    from lab.errors import BadInput
    with pytest.raises(BadInput, match=r"^invalid lab name"):
        paths.check_name(name)


@pytest.mark.parametrize("argv", [["oc", "--name", "x\n", "get", "pods"], ["clean", "x\n"],
                                  ["run", "--name", "x\n", "--no-checks"]])
def test_a_name_with_a_newline_is_one_line_and_exit_2(argv, capsys):
    from lab.front.cli import main
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("lab: error: invalid lab name") and err.count("\n") == 1
