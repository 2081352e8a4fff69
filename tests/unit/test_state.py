"""lab.state and lab.apply without root: what a difference holds and the commands it turns into."""

import pytest

from lab import paths
from lab.apply import diff_script, state_script
from lab.state import (
    Address,
    FdbEntry,
    File,
    Flow,
    Iptables,
    Link,
    Neighbour,
    NodeState,
    OvsBridge,
    OvsPort,
    Route,
    StateDiff,
    Sysctl,
    diff,
)

FLOW_A = "table=0, priority=100, ip, actions=goto_table:20"
FLOW_B = "table=20, priority=100, cookie=0x0000abcd, in_port=3, ip, nw_src=10.128.0.2, actions=goto_table:21"

BASE = NodeState((
    Sysctl("net.ipv4.ip_forward", "1"),
    Link("cni0", kind="bridge", mtu=1450),
    OvsBridge("br0", (("fail_mode", "secure"),)),
    OvsPort("br0", "vxlan0", (("type", "vxlan"), ("ofport_request", "1"))),
    Address("10.244.0.1/24", "cni0"),
    Route("10.244.1.0/24", via="10.244.1.0", dev="flannel.1", onlink=True),
    Neighbour("10.244.1.0", "aa:bb:cc:00:00:01", "flannel.1"),
    FdbEntry("aa:bb:cc:00:00:01", "flannel.1", "172.16.1.12"),
    Flow("br0", FLOW_A),
))


def lines(script):
    return [line for line in script.splitlines() if line]


def test_equal_states_have_an_empty_difference_and_an_empty_script():
    same = NodeState(tuple(BASE.items))
    d = diff(BASE, same)
    assert not d and d == StateDiff()
    assert diff_script(d) == ""


def test_added_removed_and_replaced_items_are_told_apart():
    new = NodeState.of_items(
        [Route("10.244.1.0/24", via="172.16.1.12", dev="eth0") if isinstance(i, Route) else i
         for i in BASE.items if not isinstance(i, Neighbour)] + [Flow("br0", FLOW_B)])
    d = diff(BASE, new)
    assert d.added == (Flow("br0", FLOW_B),)
    assert d.removed == (Neighbour("10.244.1.0", "aa:bb:cc:00:00:01", "flannel.1"),)
    assert d.replaced == ((BASE.of(Route)[0], Route("10.244.1.0/24", via="172.16.1.12", dev="eth0")),)
    assert d.of(Flow) == StateDiff(added=(Flow("br0", FLOW_B),))
    assert lines(diff_script(d)) == [
        "ip -batch /dev/stdin <<'SDNLAB_EOF'",  # neighbouring ip commands: one process
        "neigh del 10.244.1.0 dev flannel.1",
        "route replace 10.244.1.0/24 via 172.16.1.12 dev eth0",
        "SDNLAB_EOF",
        "ovs-ofctl -O OpenFlow13 --bundle add-flows br0 /dev/stdin <<'SDNLAB_EOF'",
        f"add {FLOW_B}",
        "SDNLAB_EOF",
        "ovs-appctl revalidator/wait",  # a flow changed: the datapath's cached flows follow before we return
    ]


def test_a_flow_is_known_by_table_priority_and_match_not_by_actions_or_cookie():
    old = Flow("br0", "table=20, priority=100, cookie=0x1, in_port=3, ip, actions=drop")
    new = Flow("br0", "table=20, priority=100, cookie=0x2, ip, in_port=3, actions=goto_table:21")
    assert old.key == new.key and old != new
    d = diff(NodeState((old,)), NodeState((new,)))
    assert d.replaced == ((old, new),) and not d.added and not d.removed
    assert old.remove_commands() == ["delete_strict table=20, priority=100, in_port=3, ip"]
    assert Flow("br0", "table=253, actions=note:00.07").key[3] == 32768  # OpenFlow's default priority
    assert Flow("br0", "table=253, actions=note:00.07").remove_commands() == ["delete_strict table=253"]


def test_a_whole_state_is_applied_in_bring_up_order_with_one_vsctl_transaction():
    state = NodeState(tuple(reversed(BASE.items)))  # the order of rendering does not matter, the rank does
    script = lines(state_script(state))
    assert script[0] == "sysctl -qw net.ipv4.ip_forward=1"
    assert script[1] == "ip link show cni0 >/dev/null 2>&1 || ip link add cni0 mtu 1450 type bridge"
    vsctl = [s for s in script if s.startswith("ovs-vsctl")]
    assert vsctl == ["ovs-vsctl --may-exist add-br br0 -- set bridge br0 fail_mode=secure -- --may-exist "
                     "add-port br0 vxlan0 -- set interface vxlan0 type=vxlan ofport_request=1"]
    assert script[2] == "ip link set cni0 mtu 1450 up"
    order = [next(i for i, s in enumerate(script) if s.startswith(p) or s.startswith("ip " + p))
             for p in ("link set cni0", "ovs-vsctl", "addr replace", "neigh replace", "route replace",
                       "ovs-ofctl -O OpenFlow13 --bundle replace-flows br0")]
    assert order == sorted(order)
    assert FLOW_A in script  # replace-flows gets the bridge's whole flow table


def test_removals_run_in_reverse_order_before_additions():
    old = NodeState((OvsBridge("br0"), OvsPort("br0", "veth1"), Flow("br0", FLOW_B)))
    new = NodeState((OvsBridge("br0"), Address("10.0.0.1/24", "tun0")))
    assert lines(diff_script(diff(old, new))) == [
        "ovs-ofctl -O OpenFlow13 --bundle add-flows br0 /dev/stdin <<'SDNLAB_EOF'",
        "delete_strict table=20, priority=100, in_port=3, ip, nw_src=10.128.0.2",
        "SDNLAB_EOF",
        "ovs-vsctl --if-exists del-port br0 veth1",
        "ip addr replace 10.0.0.1/24 dev tun0",
        "ovs-appctl revalidator/wait",
    ]


def test_a_link_whose_type_changes_is_made_again_and_a_veth_peer_goes_into_its_host():
    old = Link("vxlan20", kind="vxlan", options="id 20 remote 172.16.1.12 dstport 4789 dev eth0")
    new = Link("vxlan20", kind="vxlan", options="id 21 remote 172.16.1.12 dstport 4789 dev eth0")
    cmds = diff_script(diff(NodeState((old,)), NodeState((new,))))
    assert lines(cmds)[:2] == ["ip link del vxlan20", "ip link show vxlan20 >/dev/null 2>&1 || ip link add vxlan20 "
                               "type vxlan id 21 remote 172.16.1.12 dstport 4789 dev eth0"]
    veth = Link("eth0", kind="veth", peer="veth1", peer_host="node1", mtu=1450)
    assert "peer name veth1 mtu 1450 netns 4242" in veth.commands({"node1": "4242"})[0]
    assert veth.commands()[0].endswith(f"netns {paths.netns_name('node1')}")
    assert Link("tun0").remove_commands() == []  # a device made by someone else is not ours to delete


def test_own_iptables_chains_are_refilled_and_their_jumps_kept_once():
    text = "*nat\n:FLANNEL-POSTRTG - [0:0]\n-A POSTROUTING -j FLANNEL-POSTRTG\n-A FLANNEL-POSTRTG -j RETURN\nCOMMIT\n"
    cmds = Iptables(text, noflush=True).commands()
    assert cmds[0].startswith("iptables-restore --noflush <<'SDNLAB_EOF'\n*nat\n:FLANNEL-POSTRTG")
    assert "-A POSTROUTING" not in cmds[0]
    assert cmds[1] == ("iptables -t nat -C POSTROUTING -j FLANNEL-POSTRTG 2>/dev/null || "
                       "iptables -t nat -A POSTROUTING -j FLANNEL-POSTRTG")
    assert Iptables(text, noflush=True).remove_commands()[-2:] == ["iptables -t nat -F FLANNEL-POSTRTG",
                                                                   "iptables -t nat -X FLANNEL-POSTRTG"]


def test_a_file_is_written_verbatim():
    cmds = File("/run/x/subnet.env", "A=1\nB='2'\n").commands()
    assert cmds == ["mkdir -p /run/x", "printf %s 'A=1\nB='\"'\"'2'\"'\"'\n' > /run/x/subnet.env"]


def test_two_different_items_with_one_identity_are_refused():
    with pytest.raises(ValueError):
        NodeState((Route("10.0.0.0/8", dev="eth0"), Route("10.0.0.0/8", dev="eth1")))
    assert len(NodeState.of_items([Route("10.0.0.0/8", dev="eth0"), Route("10.0.0.0/8", dev="eth0")])) == 1


def test_what_a_diff_adds_is_made_without_looking_for_it_first():
    link = Link("flannel.1", kind="vxlan", mtu=1450,
                options="id 1 local 172.16.1.11 dev eth0 dstport 8472 nolearning")
    rules = Iptables("*nat\n:FLANNEL-POSTRTG - [0:0]\n-A POSTROUTING -j FLANNEL-POSTRTG\nCOMMIT\n", noflush=True)
    script = lines(diff_script(diff(NodeState(), NodeState((link, rules)))))
    assert script[0] == "ip link add flannel.1 mtu 1450 type vxlan id 1 local 172.16.1.11 dev eth0 dstport 8472 nolearning"
    assert script[-6:] == ["iptables-restore --noflush <<'SDNLAB_EOF'", "*nat", ":FLANNEL-POSTRTG - [0:0]",
                           "-A POSTROUTING -j FLANNEL-POSTRTG", "COMMIT", "SDNLAB_EOF"]
    assert not any(s.startswith("iptables -t") for s in script)
    # the whole state, idempotent, looks first
    whole = lines(state_script(NodeState((link,))))
    assert whole[0].startswith("ip link show flannel.1 >/dev/null 2>&1 || ip link add")


class FakeHost:
    def __init__(self, name, pid):
        self.name, self.pid, self.dir = name, pid, "/nonexistent"


class FakeNet:
    def __init__(self, *hosts):
        self.hosts, self.switches = list(hosts), []


def test_converge_applies_everything_once_then_only_differences(monkeypatch):
    import lab.apply as apply
    ran = []
    monkeypatch.setattr(apply, "run_scripts",
                        lambda jobs: ran.append([(h.name, step, text) for h, step, text in jobs]))
    node, pod = FakeHost("node1", 101), FakeHost("pod1", 202)
    net = FakeNet(node, pod)
    pod_state = NodeState((Link("eth0", kind="veth", peer="veth1", peer_host="node1"),))
    changes = apply.converge(net, [(node, BASE), (pod, pod_state)], also=[(node, "mount", "mount --bind a b\n")])
    [[(n1, step1, text1), (n2, _step2, text2)]] = ran
    assert (n1, step1, n2) == ("node1", "apply-1", "pod1")
    assert text1 == state_script(BASE) + "mount --bind a b\n"  # one script per host: state, then the extra
    assert "netns 101" in text2  # the peer goes into the node's namespace, by its shell's pid
    assert changes["node1"].added == BASE.items
    ran.clear()
    assert not any(apply.converge(net, [(node, BASE), (pod, pod_state)]).values())
    assert ran == [[]]  # nothing to do: no host's shell is woken
    ran.clear()
    smaller = NodeState(BASE.items[:-1])
    changes = apply.converge(net, [(node, smaller)])
    assert changes["node1"].removed == (BASE.items[-1],) and node.last_change == changes["node1"]
    assert ran == [[("node1", "apply-2", diff_script(changes["node1"]))]] and apply.applied(node) == smaller


def test_a_diff_describes_itself_line_by_line():
    d = diff(NodeState((Flow("br0", FLOW_A),)), NodeState((Flow("br0", FLOW_B),)))
    assert d.describe() == [f"- {FLOW_A}", f"+ {FLOW_B}"]
