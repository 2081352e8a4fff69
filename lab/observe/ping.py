"""Ping one pair, or an all-pairs matrix with every source pinging in parallel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Tuple

if TYPE_CHECKING:
    from lab.host import LabHost

_STATS = re.compile(r"(\d+) packets transmitted, (\d+) received")
_RTT = re.compile(r"= [\d.]+/([\d.]+)/")


@dataclass
class PingResult:
    src: str
    dst: str
    sent: int
    received: int
    rtt_ms: Optional[float]

    @property
    def ok(self) -> bool:
        return self.received > 0


def parse_ping(src: str, dst: str, text: str) -> PingResult:
    m = _STATS.search(text)
    rtt = _RTT.search(text)
    return PingResult(src, dst, int(m.group(1)) if m else 0, int(m.group(2)) if m else 0,
                      float(rtt.group(1)) if rtt else None)


def ping_command(ip: str, count: int = 1, timeout: float = 2, interval: float = 0.2, extra: str = "") -> str:
    return f"ping -n -q -c {count} -i {interval} -W {timeout} {extra} {ip}"


def ping(src, dst_ip: str, count: int = 1, timeout: float = 2, extra: str = "", dst_name: Optional[str] = None) -> PingResult:
    return parse_ping(src.name, dst_name or dst_ip, src.cmd(ping_command(dst_ip, count, timeout, extra=extra)))


def ping_matrix(pairs: Iterable[Tuple[LabHost, str, str]], count: int = 1, timeout: float = 2) -> List[PingResult]:
    """pairs: (source host, destination name, destination IP). Sources work in parallel."""
    by_src: Dict[LabHost, List[Tuple[str, str]]] = {}
    for src, name, ip in pairs:
        by_src.setdefault(src, []).append((name, ip))
    for src, dsts in by_src.items():
        # one line: the shell's prompt after each line would end waitOutput() early
        body = " ".join(f"( {ping_command(ip, count, timeout)} 2>&1 | sed 's/^/{name} /' ) &" for name, ip in dsts)
        src.sendCmd(body + " wait")
    results = []
    for src, dsts in by_src.items():
        out = src.waitOutput()
        for name, _ip in dsts:
            text = "\n".join(line[len(name) + 1:] for line in out.splitlines() if line.startswith(name + " "))
            results.append(parse_ping(src.name, name, text))
    return results
