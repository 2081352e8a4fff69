"""The node kernel's conntrack table, read from /proc/net/nf_conntrack (or `conntrack -L` where the
kernel has no procfs view): which endpoint a DNAT chose, and the source the endpoint sees."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional

from lab.shell import run

_TUPLE = re.compile(r"src=(\S+) dst=(\S+)(?: sport=(\d+) dport=(\d+))?")


@dataclass(frozen=True)
class Connection:
    proto: str
    src: str  # the original direction, as the client sent it
    dst: str
    sport: int
    dport: int
    reply_src: str  # the reply direction: after a DNAT, the endpoint; its dst is the source after any SNAT
    reply_dst: str
    reply_sport: int
    reply_dport: int
    replied: bool  # the kernel saw an answer (no [UNREPLIED] mark)

    @property
    def dnat(self) -> bool:
        return (self.reply_src, self.reply_sport) != (self.dst, self.dport)


def parse_conntrack(text: str) -> List[Connection]:
    """Lines of /proc/net/nf_conntrack (`ipv4 2 tcp 6 ...`) or of `conntrack -L` (`tcp 6 ...`)."""
    out = []
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["ipv4"]:
            words = words[2:]
        if not words or words[0] not in ("tcp", "udp"):
            continue
        tuples = _TUPLE.findall(" ".join(words))
        if len(tuples) < 2:
            continue
        (s, d, sp, dp), (rs, rd, rsp, rdp) = tuples[:2]
        out.append(Connection(words[0], s, d, int(sp or 0), int(dp or 0), rs, rd, int(rsp or 0), int(rdp or 0),
                              "[UNREPLIED]" not in words))
    return out


def read_conntrack(node) -> List[Connection]:
    text = run(node, "cat /proc/net/nf_conntrack 2>/dev/null || conntrack -L 2>/dev/null || true")
    return parse_conntrack(text)


def find_connection(node, proto: str, src: str, sport: int, dst: str, dport: int) -> Optional[Connection]:
    """The node's entry for one connection, by its original tuple."""
    return next((c for c in read_conntrack(node) if (c.proto, c.src, c.sport, c.dst, c.dport)
                 == (proto, src, sport, dst, dport)), None)
