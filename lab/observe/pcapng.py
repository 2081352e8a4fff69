"""A pcapng writer (the file format Wireshark, tshark and scapy read): one Section Header Block, an
Interface Description Block per captured interface, Enhanced Packet Blocks in the order they are given.

Written from the format's description (IETF draft-ietf-opsawg-pcapng): every block is
type, total length, body, total length again, all 32-bit words in this machine's byte order (the
section's byte-order magic tells readers which); options are code, length, value padded to 32 bits,
ended by opt_endofopt. Timestamps are integers in the interface's resolution (if_tsresol): here
nanoseconds, 10^-9, unless told otherwise.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO, List, Optional, Sequence, Tuple

SHB, IDB, EPB = 0x0A0D0D0A, 0x00000001, 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_ENDOFOPT, OPT_COMMENT = 0, 1
SHB_HARDWARE, SHB_OS, SHB_USERAPPL = 2, 3, 4
IF_NAME, IF_DESCRIPTION, IF_TSRESOL, IF_FILTER = 2, 3, 9, 11
LINKTYPE_ETHERNET = 1
SNAPLEN = 262144  # tcpdump's default snapshot length

Option = Tuple[int, bytes]


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def options(opts: Sequence[Option]) -> bytes:
    """The options area: each (code, value), then opt_endofopt; nothing at all when there are none."""
    if not opts:
        return b""
    out = b"".join(struct.pack("=HH", code, len(value)) + _pad(value) for code, value in opts)
    return out + struct.pack("=HH", OPT_ENDOFOPT, 0)


def block(kind: int, body: bytes) -> bytes:
    """A whole block: the body padded to 32 bits between its two length fields."""
    body = _pad(body)
    total = 12 + len(body)
    return struct.pack("=II", kind, total) + body + struct.pack("=I", total)


def section_header(comments: Sequence[str] = (), application: str = "sdnlab lab capture", os_name: str = "") -> bytes:
    opts: List[Option] = [(OPT_COMMENT, c.encode()) for c in comments]
    opts.append((SHB_USERAPPL, application.encode()))
    if os_name:
        opts.append((SHB_OS, os_name.encode()))
    # version 1.0; section length -1: not known in advance (a stream)
    return block(SHB, struct.pack("=IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + options(opts))


@dataclass(frozen=True)
class Interface:
    """One captured interface: its name as readers show it (`node1:eth0`), link type, BPF filter."""

    name: str
    linktype: int = LINKTYPE_ETHERNET
    description: str = ""
    bpf: str = ""
    tsresol: int = 9  # timestamps in 10^-tsresol seconds
    snaplen: int = SNAPLEN


def interface_description(intf: Interface) -> bytes:
    opts: List[Option] = [(IF_NAME, intf.name.encode())]
    if intf.description:
        opts.append((IF_DESCRIPTION, intf.description.encode()))
    opts.append((IF_TSRESOL, bytes([intf.tsresol])))
    if intf.bpf:
        opts.append((IF_FILTER, b"\0" + intf.bpf.encode()))  # 0: a libpcap filter string
    return block(IDB, struct.pack("=HHI", intf.linktype, 0, intf.snaplen) + options(opts))


def enhanced_packet(ifid: int, timestamp: int, data: bytes, orig_len: Optional[int] = None,
                    comment: str = "") -> bytes:
    """One packet of interface `ifid` (its place among the IDBs) at `timestamp` (interface units)."""
    high, low = timestamp >> 32, timestamp & 0xFFFFFFFF
    length = len(data) if orig_len is None else orig_len
    head = struct.pack("=IIIII", ifid, high, low, len(data), length)
    opts = options([(OPT_COMMENT, comment.encode())] if comment else [])
    return block(EPB, head + _pad(data) + opts)


class Writer:
    """`w = Writer(f, [Interface("node1:eth0")]); w.packet(0, ns, frame)`: the section header and the
    interfaces are written at once, each packet as it comes, flushed (a reader on a pipe sees it)."""

    def __init__(self, out: BinaryIO, interfaces: Sequence[Interface], comments: Sequence[str] = (),
                 os_name: str = ""):
        self.out, self.interfaces, self.count = out, list(interfaces), 0
        out.write(section_header(comments, os_name=os_name))
        for intf in self.interfaces:
            out.write(interface_description(intf))
        out.flush()

    def packet(self, ifid: int, timestamp: int, data: bytes, orig_len: Optional[int] = None) -> None:
        if not 0 <= ifid < len(self.interfaces):
            raise ValueError(f"no interface {ifid} (this section has {len(self.interfaces)})")
        self.out.write(enhanced_packet(ifid, timestamp, data, orig_len))
        self.out.flush()
        self.count += 1
