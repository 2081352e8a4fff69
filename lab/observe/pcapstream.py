"""Reads a classic pcap stream as tcpdump writes it (`tcpdump -w -`): a 24-byte file header, then a
16-byte record header before each frame. Timestamps come out in nanoseconds whatever the stream's
precision (magic 0xa1b2c3d4: microseconds, 0xa1b23c4d: nanoseconds), in either byte order."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Optional

MAGICS = {0xA1B2C3D4: 1000, 0xA1B23C4D: 1}  # magic -> nanoseconds per unit of the fraction field


class StreamError(ValueError):
    """The bytes are not a pcap stream."""


@dataclass(frozen=True)
class Frame:
    timestamp_ns: int
    data: bytes
    orig_len: int


@dataclass(frozen=True)
class Header:
    order: str  # struct's "<" or ">"
    ns_per_unit: int
    linktype: int
    snaplen: int


def _exactly(stream: BinaryIO, n: int) -> Optional[bytes]:
    """n bytes, or None at a clean end of stream (nothing read); a stream cut mid-record raises."""
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            if data:
                raise StreamError(f"the stream ended inside a header or frame ({len(data)} of {n} bytes)")
            return None
        data += chunk
    return data


def read_header(stream: BinaryIO) -> Header:
    raw = _exactly(stream, 24)
    if raw is None:
        raise StreamError("empty stream: no pcap file header")
    for order in ("<", ">"):
        magic = struct.unpack(order + "I", raw[:4])[0]
        if magic in MAGICS:
            _maj, _min, _zone, _sig, snaplen, linktype = struct.unpack(order + "HHiIII", raw[4:])
            return Header(order, MAGICS[magic], linktype & 0x0FFFFFFF, snaplen)
    raise StreamError(f"not a pcap stream (magic {raw[:4].hex()})")


def frames(stream: BinaryIO, header: Header) -> Iterator[Frame]:
    """The frames as they arrive, until the stream ends."""
    fmt = header.order + "IIII"
    while True:
        raw = _exactly(stream, 16)
        if raw is None:
            return
        sec, frac, incl, orig = struct.unpack(fmt, raw)
        data = _exactly(stream, incl) if incl else b""
        if data is None:
            raise StreamError("the stream ended before a frame's bytes")
        yield Frame(sec * 1_000_000_000 + frac * header.ns_per_unit, data, orig)
