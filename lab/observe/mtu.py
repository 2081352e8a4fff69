"""Path MTU evidence: widen a host's own links for a test, and read the ICMP "fragmentation needed" answers."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, List, Sequence, Tuple


def link_mtu(host, dev: str) -> int:
    from lab.shell import run
    return int(run(host, f"cat /sys/class/net/{dev}/mtu"))


@contextmanager
def raised_mtu(links: Sequence[Tuple[object, str]], mtu: int) -> Iterator[None]:
    """Set each (host, device) to `mtu` and put every old value back afterwards, in reverse order.

    A test uses it to make the sender accept a packet the path cannot carry, so that the drop
    (and the ICMP error) happens on the path instead of in the sender's own interface.
    """
    from lab.shell import run
    done: List[Tuple[object, str, int]] = []
    try:
        for host, dev in links:
            old = link_mtu(host, dev)
            run(host, f"ip link set dev {dev} mtu {mtu}")
            done.append((host, dev, old))
        yield
    finally:
        for host, dev, old in reversed(done):
            run(host, f"ip link set dev {dev} mtu {old}")
        for host in {id(h): h for h, _ in links}.values():
            run(host, "ip route flush cache")  # forget the path MTUs learnt while widened


def frag_needed(packets) -> List[Tuple[str, int, str, int]]:
    """(ICMP source, next-hop MTU, original destination, original length) of each type 3 code 4 in a capture."""
    from scapy.layers.inet import ICMP, IP, IPerror
    found = []
    for p in packets:
        if IP in p and ICMP in p and p[ICMP].type == 3 and p[ICMP].code == 4 and IPerror in p:
            found.append((p[IP].src, int(p[ICMP].nexthopmtu), p[IPerror].dst, int(p[IPerror].len)))
    return found
