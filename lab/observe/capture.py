"""tcpdump on any interface of any lab host around an action; packets parsed by scapy, VXLAN-aware."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, List, Optional

from lab.errors import LabError

if TYPE_CHECKING:
    from scapy.packet import Packet  # at run time scapy (slow to import) is loaded only to read a capture


@dataclass
class Seen:
    """One captured frame: the outer IP header, and for VXLAN the tunnel and the inner packet."""

    src: Optional[str]
    dst: Optional[str]
    proto: str
    sport: Optional[int] = None
    dport: Optional[int] = None
    vni: Optional[int] = None
    inner_src: Optional[str] = None
    inner_dst: Optional[str] = None
    inner_proto: Optional[str] = None
    summary: str = ""

    @property
    def is_vxlan(self) -> bool:
        return self.vni is not None


_PROTOS = {1: "icmp", 6: "tcp", 17: "udp"}


def _load_layers(vxlan_ports) -> None:
    """Register Ethernet/IP/ARP and VXLAN on the lab's UDP ports with scapy."""
    from scapy.layers.inet import UDP
    from scapy.layers.vxlan import VXLAN
    from scapy.packet import bind_layers
    for port in vxlan_ports:
        bind_layers(UDP, VXLAN, dport=port)


def describe(pkt, vxlan_ports=(4789,)) -> Seen:
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import ARP
    from scapy.layers.vxlan import VXLAN
    _load_layers(vxlan_ports)
    if ARP in pkt:
        return Seen(pkt[ARP].psrc, pkt[ARP].pdst, "arp", summary=pkt.summary())
    if IP not in pkt:
        return Seen(None, None, pkt.lastlayer().name.lower(), summary=pkt.summary())
    ip = pkt[IP]
    l4 = ip[UDP] if UDP in ip else ip[TCP] if TCP in ip else None
    seen = Seen(ip.src, ip.dst, _PROTOS.get(ip.proto, str(ip.proto)), summary=pkt.summary(),
                sport=getattr(l4, "sport", None), dport=getattr(l4, "dport", None))
    if VXLAN in pkt:
        inner = pkt[VXLAN].payload
        seen.vni = pkt[VXLAN].vni
        if IP in inner:
            seen.inner_src, seen.inner_dst = inner[IP].src, inner[IP].dst
            seen.inner_proto = _PROTOS.get(inner[IP].proto, str(inner[IP].proto))
        elif ARP in inner:
            seen.inner_src, seen.inner_dst, seen.inner_proto = inner[ARP].psrc, inner[ARP].pdst, "arp"
    return seen


class Capture:
    """with Capture(host, 'eth0', 'udp port 4789') as cap: ...; then cap.packets / cap.seen."""

    def __init__(self, host, intf: str, bpf: str = "", vxlan_ports=(4789,), settle: float = 2.0):
        self.host, self.intf, self.bpf, self.vxlan_ports, self.settle = host, intf, bpf, vxlan_ports, settle
        fd, self.path = tempfile.mkstemp(prefix=f"{host.name}-{intf}-", suffix=".pcap", dir=host.dir)
        os.close(fd)  # a name of our own; tcpdump (kept root by -Z root) rewrites the file
        self.packets: List[Packet] = []
        self.proc: Optional[subprocess.Popen[bytes]] = None

    def __enter__(self) -> "Capture":
        # --immediate-mode: without it packets wait in the capture ring and are lost at SIGINT
        cmd = ["tcpdump", "--immediate-mode", "-Z", "root", "-i", self.intf, "-n", "-U", "-w", self.path]
        cmd += self.bpf.split() if self.bpf else []
        proc: subprocess.Popen[bytes] = self.host.popen(cmd)
        self.proc = proc
        assert proc.stderr is not None  # Mininet's popen() pipes stderr unless told otherwise
        deadline = time.monotonic() + 5
        err = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stderr], [], [], 0.1)
            if ready:
                err += os.read(proc.stderr.fileno(), 4096)
                if b"listening on" in err:
                    return self
            if proc.poll() is not None:
                break
        proc.kill()
        raise LabError(f"tcpdump on {self.host.name}:{self.intf} did not start: {err.decode(errors='replace').strip()}")

    def _wait_written(self) -> None:
        """Until tcpdump (-U: a packet is written as it arrives) has written nothing for 0.1 s: frames still
        on their way at the block's end get in; `settle` bounds the wait, no fixed pause is slept."""
        deadline, size = time.monotonic() + self.settle, -1
        while time.monotonic() < deadline:
            now = os.path.getsize(self.path)
            if now == size:
                return
            size = now
            time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        self._wait_written()
        proc = self.proc
        assert proc is not None  # __enter__ started it (or raised, and then no __exit__ runs)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        from scapy.utils import rdpcap
        _load_layers(self.vxlan_ports)  # before reading: frames are decoded as they are read
        self.packets = list(rdpcap(self.path)) if os.path.getsize(self.path) > 24 else []
        os.unlink(self.path)

    @property
    def seen(self) -> List[Seen]:
        return [describe(p, self.vxlan_ports) for p in self.packets]


def capture(host, intf: str, action: Callable[[], object], bpf: str = "", vxlan_ports=(4789,)) -> List[Seen]:
    with Capture(host, intf, bpf, vxlan_ports) as cap:
        action()
    return cap.seen
