"""The one VXLAN follower (lab.planes.openshift.observe.follow) against host handles that only answer `.cmd()`,
as a running lab's hosts do from another shell: each next node is traced as it receives the packet."""

from lab.observe.trace import parse_trace
from lab.planes.openshift.observe.follow import follow_vxlan

NODE_IPS = {"node1": "172.16.1.11", "node2": "172.16.1.12", "node3": "172.16.1.13"}
PACKET = "icmp,dl_src=0a:58:0a:80:00:02,dl_dst=0a:58:0a:81:00:02,nw_src=10.128.0.2,nw_dst=10.129.0.2,nw_ttl=64"
SHOW = " 1(vxlan0): addr:aa:bb:cc:dd:ee:01\n 2(tun0): addr:aa:bb:cc:dd:ee:02\n 3(vethabc): addr:aa:bb:cc:dd:ee:03\n"


def tunnelled(to: str, vni: str) -> str:
    return f"""bridge("br0")
-------------
90. ip,nw_dst=10.129.0.0/23, priority 100, cookie 0xc1f16a91
    move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31]
     -> NXM_NX_TUN_ID[0..31] is now {vni}
    set_field:{to}->tun_dst
    output:1
Final flow: unchanged
Datapath actions: tnl_push(tnl_port(2),header(size=50,type=4,vxlan(flags=0x8000000,vni={vni})),out_port(6)),5
"""


DELIVERED = """bridge("br0")
-------------
 0. ip,in_port=1, priority 200
    goto_table:10
70. ip,nw_dst=10.129.0.2, priority 100
    load:0x53cff1->NXM_NX_REG1[]
    load:0x3->NXM_NX_REG2[]
    goto_table:80
80. priority 200
    output:NXM_NX_REG2[]
     -> output port is 3
Final flow: unchanged
Datapath actions: 4
"""


class Handle:
    """A host reached from another shell: `.cmd(str) -> str`, nothing else of Mininet."""

    def __init__(self, name, traces):
        self.name, self.traces, self.asked = name, list(traces), []

    def cmd(self, command):
        self.asked.append(command)
        out = SHOW if " show br0" in command else self.traces.pop(0)
        return out + "\n__sdnlab_rc=0\n"


def test_the_next_node_is_traced_from_port_1_with_what_the_sender_put_on_the_wire():
    hosts = {"node1": Handle("node1", [tunnelled("172.16.1.12", "0x53cff1")]), "node2": Handle("node2", [DELIVERED])}
    hops = follow_vxlan(hosts.__getitem__, NODE_IPS, "node1", PACKET, in_port=3)
    assert [(node, trace.tables) for node, trace in hops] == [("node1", [90]), ("node2", [0, 70, 80])]
    assert hops[0][1].output_name == "vxlan0" and hops[1][1].output_name == "vethabc"
    assert f"'in_port=3,{PACKET}'" in hosts["node1"].asked[0]
    assert f"'in_port=1,tun_src=172.16.1.11,tun_dst=172.16.1.12,tun_id={0x53cff1},{PACKET}'" in hosts["node2"].asked[0]


def test_the_follower_stops_where_a_tunnel_leads_nowhere_known_or_back():
    back = {"node1": Handle("node1", [tunnelled("172.16.1.12", "7")]),
            "node2": Handle("node2", [tunnelled("172.16.1.11", "7")])}
    assert [n for n, _t in follow_vxlan(back.__getitem__, NODE_IPS, "node1", PACKET, 3)] == ["node1", "node2"]
    lost = {"node1": Handle("node1", [tunnelled("172.16.1.99", "7")])}
    [(node, trace)] = follow_vxlan(lost.__getitem__, NODE_IPS, "node1", PACKET, 3)
    assert (node, trace.tun_dst) == ("node1", "172.16.1.99")


def test_the_tunnel_id_is_read_from_the_datapath_actions_when_the_move_is_not_restated():
    kernel = tunnelled("172.16.1.12", "0x69d6e9").replace("     -> NXM_NX_TUN_ID[0..31] is now 0x69d6e9\n", "")
    kernel = kernel.replace(kernel.splitlines()[-1], "Datapath actions: set(tunnel(tun_id=0x69d6e9,dst=172.16.1.12,"
                                                       "ttl=64,tp_dst=4789,flags(df|key))),2")
    assert parse_trace(kernel).tun_id == 0x69d6e9
    assert parse_trace(tunnelled("172.16.1.12", "0x53cff1")).tun_id == 0x53cff1
    assert parse_trace(DELIVERED).tun_id is None  # not tunnelled
