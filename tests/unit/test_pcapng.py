"""The pcapng writer read back by another reader (scapy's PcapNgReader), tcpdump's pcap stream parsed in
both precisions and byte orders, the VXLAN ports read from `ip -j` and `ovs-vsctl --format=json`."""

import io
import struct

from lab.observe import pcapng, pcapstream
from lab.observe.kernel import Link, Vxlan
from lab.observe.vxlan_ports import kernel_ports, ovs_ports


def frame(n: int) -> bytes:
    # Ethernet: dst, src, an unknown EtherType, an odd-sized payload (the block is padded)
    return bytes.fromhex("020000000001" "020000000002" "88b5") + bytes([n]) * (45 + n)


def test_scapy_reads_what_the_writer_wrote(tmp_path):
    from scapy.utils import PcapNgReader
    path = tmp_path / "two.pcapng"
    stamps = [1_796_526_670_902_146_067, 1_796_526_670_902_294_587, 1_796_526_671_000_000_001]
    with open(path, "wb") as f:
        w = pcapng.Writer(f, [pcapng.Interface("node1:eth0", bpf="udp"), pcapng.Interface("node2:eth0")],
                          comments=["lab x"])
        w.packet(0, stamps[0], frame(0))
        w.packet(1, stamps[1], frame(1), orig_len=200)
        w.packet(0, stamps[2], frame(2))
    with PcapNgReader(str(path)) as reader:
        pkts = list(reader)
        names = [opts.get("name") for _lt, _snap, opts in reader.interfaces]
        resol = {opts.get("tsresol") for _lt, _snap, opts in reader.interfaces}
    assert names == [b"node1:eth0", b"node2:eth0"] and resol == {10 ** 9}
    assert [p.sniffed_on for p in pkts] == ["node1:eth0", "node2:eth0", "node1:eth0"]
    assert [bytes(p) for p in pkts] == [frame(0), frame(1), frame(2)]
    assert [int(p.time * 10 ** 9) for p in pkts] == stamps
    assert pkts[1].wirelen == 200


def test_blocks_are_whole_32_bit_words_with_both_lengths():
    data = pcapng.section_header(["x"]) + pcapng.interface_description(pcapng.Interface("a:b"))
    data += pcapng.enhanced_packet(0, 5, b"abc")
    at, kinds = 0, []
    while at < len(data):
        kind, length = struct.unpack_from("=II", data, at)
        assert length % 4 == 0 and struct.unpack_from("=I", data, at + length - 4)[0] == length
        kinds.append(kind)
        at += length
    assert kinds == [pcapng.SHB, pcapng.IDB, pcapng.EPB] and at == len(data)


def pcap(order: str, magic: int, records) -> bytes:
    out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 262144, 1)
    for sec, frac, data in records:
        out += struct.pack(order + "IIII", sec, frac, len(data), len(data)) + data
    return out


def test_pcap_streams_come_out_in_nanoseconds_whatever_their_precision_and_byte_order():
    for order, magic, frac, ns in (("<", 0xA1B23C4D, 123456789, 123456789), (">", 0xA1B2C3D4, 123456, 123456000)):
        stream = io.BytesIO(pcap(order, magic, [(10, frac, b"xy"), (11, 0, b"")]))
        header = pcapstream.read_header(stream)
        got = list(pcapstream.frames(stream, header))
        assert header.linktype == 1
        assert [(f.timestamp_ns, f.data) for f in got] == [(10 * 10 ** 9 + ns, b"xy"), (11 * 10 ** 9, b"")]


def test_vxlan_ports_from_the_kernel_and_from_open_vswitch():
    flannel = Link(index=3, name="flannel.1", kind="vxlan", mtu=1450, state="UNKNOWN", up=True, master="",
                   mac="aa:bb:cc:dd:ee:01", peer=0, vxlan=Vxlan(vni=1, port=8472, remote="", local="172.16.1.11"))
    eth0 = Link(index=2, name="eth0", kind="veth", mtu=1500, state="UP", up=True, master="", mac="aa:bb:cc:dd:ee:02",
                peer=7)
    assert kernel_ports([flannel, eth0]) == {8472} and kernel_ports([]) == set()
    vsctl = ('{"data":[[["map",[["dst_port","4790"],["key","flow"],["remote_ip","flow"]]]],'
             '[["map",[["key","flow"]]]]],"headings":["options"]}')
    assert ovs_ports(vsctl) == {4790, 4789}


def test_drops_read_from_tcpdumps_summary_at_exit():
    from lab.observe.multicapture import dropped
    assert dropped("18 packets captured\n20 packets received by filter\n2 packets dropped by kernel\n") == 2
    assert dropped("0 packets captured\n") == 0
