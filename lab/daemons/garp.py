"""Gratuitous ARP, as `arping -q -A -c 1 -I IFACE IP` (an ARP reply) and `arping -q -U ...` (a request) send it,
run inside a lab host: `python -m lab.daemons.garp IFACE IP [reply|request]`. Neighbours that have the IP cached
take the sender's MAC (openshift-sdn announces an egress IP this way when a node claims it). Stdlib only."""

from __future__ import annotations

import socket
import struct
import sys

BROADCAST = b"\xff" * 6


def frame(mac: bytes, ip: str, op: int) -> bytes:
    """Ethernet broadcast + ARP with sender = target = ip; op 2 (reply, -A) or 1 (request, -U)."""
    addr = socket.inet_aton(ip)
    target_mac = mac if op == 2 else b"\x00" * 6
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, mac, addr, target_mac, addr)
    return BROADCAST + mac + struct.pack("!H", 0x0806) + arp


def announce(iface: str, ip: str, op: int = 2) -> None:
    with open(f"/sys/class/net/{iface}/address") as f:
        mac = bytes.fromhex(f.read().strip().replace(":", ""))
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((iface, 0))
        s.send(frame(mac, ip, op))


def main(argv) -> int:
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] not in ("reply", "request")):
        print(__doc__)
        return 2
    announce(argv[0], argv[1], 1 if len(argv) == 3 and argv[2] == "request" else 2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
