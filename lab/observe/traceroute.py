"""traceroute with its hops mapped back to lab names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, List, Optional

_HOP = re.compile(r"^\s*(\d+)\s+(\S+)")


@dataclass
class Hop:
    ttl: int
    ip: Optional[str]
    name: Optional[str]


def parse_traceroute(text: str, resolve: Callable[[str], Optional[str]] = lambda ip: None) -> List[Hop]:
    hops = []
    for line in text.splitlines():
        m = _HOP.match(line)
        if not m:
            continue
        ip = None if m.group(2) == "*" else m.group(2)
        hops.append(Hop(int(m.group(1)), ip, resolve(ip) if ip else None))
    return hops


def traceroute(src, dst_ip: str, resolve: Callable[[str], Optional[str]] = lambda ip: None,
               proto: str = "udp", max_hops: int = 8) -> List[Hop]:
    """UDP (default) or ICMP traceroute, one probe per hop; the last hop is the destination."""
    flag = "-I" if proto == "icmp" else ""
    return parse_traceroute(src.cmd(f"traceroute -n -q 1 -w 1 -m {max_hops} {flag} {dst_ip}"), resolve)
