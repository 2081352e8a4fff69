"""Parsers of the real tools' output (samples recorded from an sdnlab node, OVS 3.1)."""

import os
import time

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.vxlan import VXLAN

from lab.observe.craft import echo_request, vxlan_datagram
from lab.observe.flows import format_tables, parse_dump
from lab.observe.ping import parse_ping
from lab.observe.probe import read_line
from lab.observe.trace import parse_trace
from lab.observe.traceroute import parse_traceroute

CROSS_NODE = """\
Flow: icmp,in_port=3,vlan_tci=0x0000,dl_src=0a:58:0a:80:00:02,dl_dst=0a:58:0a:81:00:02,nw_src=10.128.0.2,nw_dst=10.129.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,icmp_type=0,icmp_code=0

bridge("br0")
-------------
 0. ip, priority 100
    goto_table:20
20. ip,in_port=3,nw_src=10.128.0.2, priority 100
    load:0->NXM_NX_REG0[]
    goto_table:21
21. priority 0
    goto_table:30
30. ip,nw_dst=10.128.0.0/14, priority 100
    goto_table:90
90. ip,nw_dst=10.129.0.0/23, priority 100, cookie 0xc1f16a91
    move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31]
     -> NXM_NX_TUN_ID[0..31] is now 0
    set_field:172.16.1.12->tun_dst
    output:1
     -> output to native tunnel
     -> tunneling to 172.16.1.12 via br-phy

bridge("br-phy")
----------------
 0. priority 0
    NORMAL
     -> forwarding to learned port

Final flow: icmp,tun_dst=172.16.1.12,in_port=3
Megaflow: recirc_id=0,eth,ip,in_port=3,nw_src=10.128.0.2,nw_dst=10.129.0.0/23,nw_ecn=0,nw_frag=no
Datapath actions: tnl_push(tnl_port(5),header(size=50,type=4),out_port(2)),1
"""

LOCAL = """\
bridge("br0")
-------------
 0. ip, priority 100
    goto_table:20
70. ip,nw_dst=10.128.0.3, priority 100
    load:0->NXM_NX_REG1[]
    load:0x4->NXM_NX_REG2[]
    goto_table:80
80. priority 200
    output:NXM_NX_REG2[]
     -> output port is 4

Final flow: unchanged
Datapath actions: 6
"""

DROP = """\
bridge("br0")
-------------
 0. ip,in_port=1,nw_src=10.128.0.0/14, priority 200
    move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[]
     -> NXM_NX_REG0[] is now 0
    goto_table:10
10. priority 0
    drop

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,tun_src=172.16.1.11,in_port=1,nw_src=10.128.0.0/14,nw_frag=no
Datapath actions: drop
"""


def test_trace_across_the_tunnel():
    t = parse_trace(CROSS_NODE)
    assert t.tables == [0, 20, 21, 30, 90]
    assert t.output_port == 1 and t.tun_dst == "172.16.1.12" and not t.dropped
    assert t.steps[-1].cookie == "0xc1f16a91"
    assert "load:0->NXM_NX_REG0[]" in t.loads


def test_trace_to_a_local_port_through_reg2():
    t = parse_trace(LOCAL)
    assert t.path == "0 > 70 > 80" and t.output_port == 4 and t.tun_dst is None


def test_trace_drop():
    t = parse_trace(DROP)
    assert t.tables == [0, 10] and t.dropped
    assert t.summary() == "0 > 10: drop in table 10"


def test_dump_parse_and_normalise():
    text = """OFPST_FLOW reply (OF1.3) (xid=0x2):
 cookie=0xc1f16a91, duration=3.1s, table=10, n_packets=7, n_bytes=686, priority=100,tun_src=172.16.1.12 actions=goto_table:30
 cookie=0x0, duration=3.1s, table=253, n_packets=0, n_bytes=0, actions=note:00.07.00.00.00.00
"""
    flows = parse_dump(text)
    assert [(f.table, f.priority, f.cookie, f.n_packets, f.match) for f in flows] == [
        (10, 100, 0xC1F16A91, 7, "tun_src=172.16.1.12"), (253, 32768, 0, 0, "")]
    assert format_tables(flows) == ("table 10:\n  priority=100,tun_src=172.16.1.12 actions=goto_table:30\n"
                                    "table 253:\n  priority=32768 actions=note:00.07.00.00.00.00")


def test_ping_and_traceroute_parsers():
    r = parse_ping("pod1", "pod3", "1 packets transmitted, 1 received, 0% packet loss, time 0ms\n"
                                   "rtt min/avg/max/mdev = 0.536/0.536/0.536/0.000 ms")
    assert r.ok and r.rtt_ms == 0.536
    assert not parse_ping("a", "b", "1 packets transmitted, 0 received, 100% packet loss").ok
    hops = parse_traceroute("traceroute to 172.16.1.254 (172.16.1.254), 8 hops max, 60 byte packets\n"
                            " 1  10.128.0.1  0.3 ms\n 2  *\n 3  172.16.1.254  1.0 ms\n",
                            {"10.128.0.1": "node1", "172.16.1.254": "ext"}.get)
    assert [(h.ttl, h.ip, h.name) for h in hops] == [(1, "10.128.0.1", "node1"), (2, None, None),
                                                     (3, "172.16.1.254", "ext")]


def test_read_line_returns_one_line_and_times_out_instead_of_blocking():
    r, w = os.pipe()
    with os.fdopen(r, "rb", buffering=0) as reader, os.fdopen(w, "wb", buffering=0) as writer:
        writer.write(b"ready\nrest")
        assert read_line(reader, timeout=1) == b"ready\n"
        start = time.monotonic()
        with pytest.raises(TimeoutError, match="rest"):
            read_line(reader, timeout=0.3)  # "rest" never ends in a newline
        assert 0.25 < time.monotonic() - start < 2


def test_vxlan_datagram_is_an_rfc7348_header_then_the_frame():
    frame = bytes(echo_request("0a:58:0a:81:00:02", "0a:58:0a:80:00:02", "10.129.0.2", "10.128.0.2"))
    datagram = vxlan_datagram(0x0a0b0c, frame)
    assert datagram[:8] == bytes([0x08, 0, 0, 0, 0x0a, 0x0b, 0x0c, 0]) and datagram[8:] == frame
    parsed = VXLAN(datagram)
    assert parsed.vni == 0x0a0b0c and parsed[IP].dst == "10.128.0.2" and parsed[ICMP].type == 8
